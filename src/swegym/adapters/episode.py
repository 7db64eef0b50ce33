"""`TextEpisode`: one `SWEEnv` episode driven by the model's text, the core every adapter wraps.

A reply is parsed for SWE-Gym's ``<function=...>`` tool call (`swegym.agent.textcalls`); a reply
without one costs a turn and gets the agent loop's reminder, as in `swegym rollout`. The episode
ends on ``finish`` or a limit (turns, time, context: the loop's own wrappers), and then the final
diff is graded in a fresh sandbox by the one grading path, so an adapter's reward is the same
number `swegym rollout` would record. Nothing the model writes reaches the grader but its diff.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from swegym.agent.env import EnvConfig
from swegym.agent.loop import NO_TOOL_CALL, AgentConfig, clip, make_env
from swegym.agent.models.base import ToolCall
from swegym.agent.textcalls import parse_text_tool_calls
from swegym.errors import SwegymError
from swegym.harness.verdict import Outcome
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task
from swegym.train.grpo_rollout import episode_messages


class AdapterConfig(BaseModel):
    """What every adapter's episodes share: limits and the sandbox."""

    max_turns: int = Field(default=30, ge=1)
    max_seconds: float = Field(default=1800.0, gt=0)
    max_context_tokens: int = Field(default=32_000, ge=1)
    max_observation_chars: int = Field(default=20_000, ge=100)
    env: EnvConfig = Field(default_factory=EnvConfig)

    def agent(self) -> AgentConfig:
        return AgentConfig(
            max_turns=self.max_turns,
            max_seconds=self.max_seconds,
            max_context_tokens=self.max_context_tokens,
            text_tool_calls=True,
            max_observation_chars=self.max_observation_chars,
        )


class StepResult(BaseModel):
    """One reply's effect: the observation message (None once the episode is over), the reward
    (the tests' reward on the last step, 0 before), and whether the episode is over."""

    observation: dict[str, str] | None
    reward: float = 0.0
    done: bool = False
    info: dict[str, Any] = Field(default_factory=dict)


def find_task(source: str, instance_id: str) -> Task:
    """Task ``instance_id`` from ``source`` (e.g. ``bundled:lite``); one line if it is not there."""
    tasks = load_tasks(source, ids=[instance_id]).tasks
    if not tasks:
        raise SwegymError(f"{source}: no task {instance_id!r}")
    return tasks[0]


def parse_reply(text: str) -> ToolCall:
    """The reply's first tool call, or an error call carrying the loop's reminder."""
    calls = parse_text_tool_calls(text)
    return calls[0] if calls else ToolCall(name="", arguments={"_error": NO_TOOL_CALL})


class TextEpisode:
    """`SWEEnv` (with the loop's limits) on one task, stepped with the model's reply text."""

    def __init__(self, task: Task, config: AdapterConfig | None = None) -> None:
        self.task, self.config = task, config or AdapterConfig()
        self.env: Any = make_env(self.config.env, self.config.agent())
        self.result: dict[str, Any] | None = None

    def reset(self) -> list[dict[str, str]]:
        """Start the sandbox; the first messages (system prompt with the tools, the issue)."""
        self.result = None
        self.env.reset(options={"task": self.task})
        return episode_messages(self.task)

    def step(self, reply: str) -> StepResult:
        """Run the reply's tool call; at the episode's end, grade and close the sandbox."""
        if self.result is not None:
            raise SwegymError(f"{self.task.instance_id}: the episode is over; reset it first")
        call = parse_reply(reply)
        obs, reward, terminated, truncated, info = self.env.step(call)
        if terminated or truncated:
            self.result = info
            return self._final(float(reward), info)
        text = clip(obs, self.config.max_observation_chars)
        content = f"EXECUTION RESULT of [{call.name or 'invalid call'}]:\n{text}"
        return StepResult(observation={"role": "user", "content": content}, info={"tool": call.name})

    def end(self, reason: str) -> StepResult:
        """End a running episode now (the framework stopped it: a limit of its own); graded."""
        if self.result is None:
            _, self.result = self.env.unwrapped.end_episode(reason)
        return self._final(0.0 if self.result is None else float(self.result["reward"]), self.result)

    def _final(self, reward: float, info: dict[str, Any]) -> StepResult:
        verdict = info["verdict"]
        return StepResult(
            observation=None,
            reward=reward,
            done=True,
            info={
                "outcome": str(verdict.outcome.value),
                "resolved": None if verdict.outcome is Outcome.INFRA_ERROR else verdict.credited,
                "reason": info.get("reason"),
                "diff": info.get("diff", ""),
            },
        )

    def close(self) -> None:
        """Free the sandbox (an episode closed before its end is not graded)."""
        self.env.close()
