"""Episode limits as Gymnasium wrappers: turns, wall-clock time, context size.

When a limit is hit the wrapper ends the episode (the final diff is still graded, as SWE-Gym
does) and returns ``truncated=True`` with the grading info.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym

from swegym.agent.env import SWEEnv


class _Limit(gym.Wrapper[str, Any, str, Any]):
    reason = "limit"

    def _hit(self) -> bool:
        raise NotImplementedError

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not (terminated or truncated) and self._hit():
            base = self.env.unwrapped
            assert isinstance(base, SWEEnv)
            reward, end = base.end_episode(self.reason)
            return obs, reward, False, True, {**info, **end}
        return obs, float(reward), terminated, truncated, info


class TurnLimit(_Limit):
    """Truncate after ``max_turns`` tool calls."""

    reason = "turn_limit"

    def __init__(self, env: gym.Env[str, Any], max_turns: int) -> None:
        super().__init__(env)
        self.max_turns = max_turns
        self.count = 0

    def reset(self, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        self.count = 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self.count += 1
        return super().step(action)

    def _hit(self) -> bool:
        return self.count >= self.max_turns


class TimeLimit(_Limit):
    """Truncate once ``max_seconds`` of wall-clock time have passed since reset."""

    reason = "time_limit"

    def __init__(self, env: gym.Env[str, Any], max_seconds: float) -> None:
        super().__init__(env)
        self.max_seconds = max_seconds
        self.start = time.monotonic()

    def reset(self, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        self.start = time.monotonic()
        return self.env.reset(**kwargs)

    def _hit(self) -> bool:
        return time.monotonic() - self.start >= self.max_seconds


class ContextLimit(_Limit):
    """Truncate when the conversation exceeds ``max_tokens`` (model-reported or estimated)."""

    reason = "context_limit"

    def __init__(self, env: gym.Env[str, Any], max_tokens: int) -> None:
        super().__init__(env)
        self.max_tokens = max_tokens

    def _hit(self) -> bool:
        base = self.env.unwrapped
        assert isinstance(base, SWEEnv)
        return base.context_tokens >= self.max_tokens
