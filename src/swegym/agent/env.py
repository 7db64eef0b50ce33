"""`SWEEnv`: a Gymnasium environment over a task's sandbox.

``reset(options={"task": task})`` starts a sandbox on the task and returns the task prompt;
``step(tool_call)`` runs one tool call and returns ``(observation, reward, terminated, truncated,
info)``. The reward is 0 until the episode ends; then it is 1.0 if the final diff resolves the
task, graded in a fresh sandbox from the diff alone, so nothing the agent left running can touch
grading. Limits on turns, time and context are wrappers (``swegym.agent.wrappers``).
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec
from pydantic import BaseModel, Field

from swegym.agent.diffscript import DIFF_OUT, EXTRA_PATHS, diff_script
from swegym.agent.models.base import ToolCall
from swegym.agent.prompts import task_prompt
from swegym.agent.schemas import TOOLS
from swegym.agent.spaces import TextSpace, ToolCallSpace
from swegym.agent.tools import ToolExecutor, parse_arguments
from swegym.errors import SwegymError
from swegym.harness.grader import grade_diff
from swegym.harness.runner import Prepared, prepare
from swegym.harness.verdict import Outcome, Verdict
from swegym.sandbox.base import Sandbox
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.factory import open_sandbox
from swegym.tasks.model import Task

ENV_ID = "swegym/SWEEnv-v0"
"""Gymnasium id: ``gymnasium.make(ENV_ID, task=task)``."""

__all__ = ["ENV_ID", "EnvConfig", "SWEEnv", "TextSpace", "ToolCallSpace", "to_tool_call"]


class EnvConfig(BaseModel):
    """Configuration of `SWEEnv`."""

    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    """Isolation and limits of the episode's sandbox."""
    bash_timeout: float = 120.0
    """Default timeout of one `execute_bash` call, in seconds."""
    grade: bool = True
    """Grade the final diff when the episode ends (reward 1.0 if it resolves the task)."""
    mirrors: dict[str, str] = Field(default_factory=dict)
    """owner/repo -> local git mirror, for git-sourced tasks."""


def to_tool_call(action: Any) -> ToolCall:
    """Normalize an action into a `ToolCall`; malformed input becomes an error call."""
    if isinstance(action, ToolCall):
        return action
    if isinstance(action, str):
        try:
            action = json.loads(action)
        except json.JSONDecodeError:
            return ToolCall(name="", arguments={"_error": "the action is not valid JSON"})
    if isinstance(action, dict) and isinstance(action.get("name"), str):
        return ToolCall(
            id=str(action.get("id", "")),
            name=action["name"],
            arguments=parse_arguments(action.get("arguments", {})),
        )
    return ToolCall(name="", arguments={"_error": "an action needs a tool `name` and `arguments`"})


class SWEEnv(gym.Env[str, Any]):
    """One task episode in a sandbox; see the module docstring for the contract."""

    # gymnasium's declared attribute; render() is text, the fps only tells viewers not to expect video.
    metadata = {"render_modes": ["ansi"], "render_fps": 1}  # noqa: RUF012

    def __init__(
        self, config: EnvConfig | None = None, task: Task | None = None, render_mode: str | None = None
    ) -> None:
        self.config = config or EnvConfig()
        self.task = task
        self.render_mode = render_mode
        if self.spec is None:
            # Declared nondeterministic: info carries wall-clock timings and agent commands may
            # read the clock, so Gymnasium's same-seed-same-step check does not apply.
            self.spec = EnvSpec(
                ENV_ID,
                entry_point=f"{__name__}:SWEEnv",
                nondeterministic=True,
                kwargs={"config": self.config, "task": task},
            )
        self.observation_space = TextSpace()
        self.action_space = ToolCallSpace()
        self.tools = TOOLS
        self.prep: Prepared | None = None
        self.sandbox: Sandbox | None = None
        self.executor: ToolExecutor | None = None
        self.turns = 0
        self.started = 0.0
        self.context_chars = 0
        self.reported_prompt_tokens = 0
        self.env_seconds = 0.0
        self.ended: dict[str, Any] | None = None

    # -- gymnasium API -------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self._close_sandbox()
        task = (options or {}).get("task", self.task)
        if isinstance(task, dict):
            task = Task.model_validate(task)
        if not isinstance(task, Task):
            raise SwegymError("SWEEnv.reset needs options={'task': Task} (or a task given at construction)")
        start = time.perf_counter()
        self.task = task
        self.prep = prepare(task, self.config.mirrors)
        self.sandbox = open_sandbox(self.prep.layout(), self.config.sandbox)
        self.sandbox.start()
        self.executor = ToolExecutor(self.sandbox, self.config.bash_timeout)
        self.turns, self.started, self.ended = 0, time.monotonic(), None
        self.env_seconds = time.perf_counter() - start
        obs = task_prompt(task)
        self.context_chars = len(obs)
        self.reported_prompt_tokens = 0
        # A fresh copy each time: a caller mutating one reset's info must not change the next one.
        return obs, {"instance_id": task.instance_id, "repo": task.repo, "tools": copy.deepcopy(self.tools)}

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.executor is None or self.ended is not None:
            raise SwegymError("SWEEnv.step called before reset() or after the episode ended")
        call = to_tool_call(action)
        result = self.executor(call)
        self.turns += 1
        self.env_seconds += result.seconds
        self.context_chars += len(result.observation) + len(json.dumps(call.arguments))
        info: dict[str, Any] = {"tool": call.name, "tool_seconds": result.seconds, "tool_error": result.error}
        if result.finished:
            reward, end = self.end_episode("finish")
            return result.observation, reward, True, False, {**info, **end}
        return result.observation, 0.0, False, False, info

    def close(self) -> None:
        self._close_sandbox()

    def render(self) -> str | None:
        return f"{self.task.instance_id if self.task else '-'}: turn {self.turns}"

    # -- episode end ---------------------------------------------------------------------
    @property
    def context_tokens(self) -> int:
        """The conversation's size: the model's last prompt count, or about 4 chars a token."""
        return max(self.reported_prompt_tokens, self.context_chars // 4)

    def report_usage(self, prompt_tokens: int) -> None:
        """Tell the env how long the model's last prompt was (for the context limit)."""
        self.reported_prompt_tokens = max(self.reported_prompt_tokens, prompt_tokens)

    def diff(self) -> str:
        """The episode's changes to /testbed as a patch (build artefacts and caches left out):
        the bytes of its files against the base commit, whatever the agent did to git (see
        `diff_script`)."""
        assert self.sandbox is not None and self.prep is not None and self.task is not None
        extra = self.prep.env.repo_extra_files
        if extra:  # files the env build wrote into the repo are not the agent's changes
            self.sandbox.write_file(EXTRA_PATHS, "\0".join(extra).encode())
        r = self.sandbox.run(diff_script(self.task.base_commit, bool(extra)), timeout=120)
        if r.exit_code != 0:
            raise SwegymError(f"could not read the episode's diff: {r.output.strip()[-200:]}")
        return self.sandbox.read_file(DIFF_OUT, 64 << 20).decode("utf-8", errors="replace")

    def end_episode(self, reason: str) -> tuple[float, dict[str, Any]]:
        """End the episode: take the diff, grade it in a fresh sandbox, close the sandbox.

        ``info`` holds ``verdict`` (a `Verdict`), and for convenience its ``outcome``,
        ``resolved``, ``report``, ``error`` and ``reward``, plus ``diff``, ``reason`` and
        ``grade_seconds``.
        """
        if self.ended is not None:
            return float(self.ended["reward"]), self.ended
        start = time.perf_counter()
        diff, failed = "", None
        try:
            diff = self.diff()
        except SwegymError as exc:
            failed = Verdict(outcome=Outcome.INFRA_ERROR, error=str(exc))
        self._close_sandbox()  # before grading: the episode's processes must not outlive it
        verdict = (failed or self._grade(diff)).at_end(reason)
        self.ended = {
            "reason": reason,
            "diff": diff,
            "verdict": verdict,
            "outcome": verdict.outcome,
            "resolved": verdict.credited,
            "report": verdict.report,
            "error": verdict.error,
            "reward": verdict.reward,
            "grade_seconds": time.perf_counter() - start,
        }
        return verdict.reward, self.ended

    def _grade(self, diff: str) -> Verdict:
        if self.prep is None:
            return Verdict(outcome=Outcome.INFRA_ERROR, error="the episode was never reset")
        if not self.config.grade and diff.strip():
            return Verdict(outcome=Outcome.UNGRADED)
        # Grading never has the network, whatever the episode's sandbox had.
        return grade_diff(self.prep, diff, config=self.config.sandbox.model_copy(update={"network": False}))

    def _close_sandbox(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None
        self.executor = None


if ENV_ID not in gym.registry:
    gym.register(ENV_ID, entry_point=f"{__name__}:SWEEnv", nondeterministic=True)
