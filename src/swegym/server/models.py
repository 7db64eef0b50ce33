"""Wire models: OpenEnv's Action / Observation / State for swegym, and the HTTP session bodies.

A client sends an `SWEAction` (one tool call) and gets an `SWEObservation`; OpenEnv puts its
``reward`` and ``done`` beside the observation on the wire. The reward is only ever the grader's:
no field of an action can carry one (OpenEnv's models forbid unknown fields, and ``metadata`` is
never read).
"""

from __future__ import annotations

from typing import Any

from openenv.core.env_server.types import Action, Observation, State
from pydantic import BaseModel, ConfigDict, Field


class SWEAction(Action):
    """One tool call: ``execute_bash``, ``str_replace_editor`` or ``finish`` (see ``tools`` in the
    reset observation for their JSON schemas)."""

    name: str = Field(description="The tool to call.")
    arguments: dict[str, Any] | str = Field(
        default_factory=dict, description="The tool's arguments (an object, or its JSON text)."
    )
    id: str = Field(default="", max_length=255, description="The caller's id of this call (echoed).")


class SWEObservation(Observation):
    """What the agent sees: the task prompt after reset, a tool's output after a step, and at the
    end of the episode how it ended (``done`` and ``reward`` travel beside it)."""

    output: str = Field(default="", description="The task prompt (reset) or the tool's output (step).")
    instance_id: str = ""
    turn: int = Field(default=0, description="Tool calls made so far in this episode.")
    tool: str = Field(default="", description="The tool this output came from.")
    tool_error: bool = Field(default=False, description="The call failed (bad arguments, unknown tool...).")
    tools: list[dict[str, Any]] = Field(
        default_factory=list, description="OpenAI function schemas of the tools (reset only)."
    )
    step_seconds: float = Field(
        default=0.0, description="Environment-side seconds of this reset or step (grading included)."
    )
    truncated: bool = Field(default=False, description="A turn, time or context limit ended the episode.")
    outcome: str | None = Field(default=None, description="How the episode ended (at the end only).")
    reason: str | None = Field(default=None, description="finish, turn_limit, time_limit, context_limit...")
    resolved: bool | None = Field(default=None, description="The final diff resolves the task (graded).")
    diff: str | None = Field(default=None, description="The episode's final diff (at the end only).")
    error: str | None = None


class SWEState(State):
    """A session's episode: which task, how far, and how it ended."""

    instance_id: str | None = None
    turns: int = 0
    done: bool = False
    outcome: str | None = None
    reward: float | None = None


class ResetBody(BaseModel):
    """Body of ``POST /sessions/{id}/reset`` (also the data of a WebSocket reset)."""

    model_config = ConfigDict(extra="forbid")

    seed: int | None = Field(default=None, ge=0, description="Picks task number seed % len(tasks).")
    episode_id: str | None = Field(default=None, max_length=255)
    instance_id: str | None = Field(default=None, description="Picks this task (one of the server's).")


class StepBody(BaseModel):
    """Body of ``POST /sessions/{id}/step``."""

    model_config = ConfigDict(extra="forbid")

    action: SWEAction


class SessionCreated(BaseModel):
    """Answer of ``POST /sessions``: the session's id, the only handle on it (unguessable)."""

    session_id: str


class Capacity(BaseModel):
    """Answer of ``GET /capacity``."""

    active_sessions: int
    max_sessions: int
    grade_workers: int
    tasks: int
