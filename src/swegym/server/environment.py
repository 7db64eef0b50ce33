"""`SWEGymEnvironment`: an OpenEnv `Environment` that runs one `SWEEnv` episode per session.

Everything an episode does goes through `SWEEnv` (the sandbox, the tools, the limits) and its
reward is `SWEEnv`'s: the final diff graded in a fresh sandbox by `grade_diff`. The server adds
only a bound on how many episodes are graded at once (grading runs the task's tests; a finish
beyond the bound waits for a slot), and a choice of task among the server's own: a client names
a task by id or seed, never supplies one.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from typing import Any

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import EnvironmentMetadata

from swegym.agent.env import EnvConfig, SWEEnv
from swegym.agent.loop import AgentConfig
from swegym.agent.wrappers import ContextLimit, TimeLimit, TurnLimit
from swegym.harness.verdict import Verdict
from swegym.server.config import ServeError
from swegym.server.models import ResetBody, SWEAction, SWEObservation, SWEState
from swegym.tasks.model import Task


class TaskPool:
    """The server's tasks; a reset picks one by instance id, by seed, or round robin."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        if not tasks:
            raise ServeError("no tasks to serve: check --tasks and --id")
        self.tasks = list(tasks)
        self.by_id = {t.instance_id: t for t in self.tasks}
        self._next = itertools.count()

    def pick(self, instance_id: str | None, seed: int | None) -> Task:
        if instance_id is not None:
            task = self.by_id.get(instance_id)
            if task is None:
                shown = instance_id[:120]  # a client's string, echoed back: bounded
                raise ServeError(f"unknown instance_id {shown!r}: this server has {len(self.tasks)} tasks")
            return task
        index = seed if seed is not None else next(self._next)
        return self.tasks[index % len(self.tasks)]


class _GatedSWEEnv(SWEEnv):
    """`SWEEnv` whose grading (the test run, after the episode's sandbox is closed) waits for one
    of the server's grading slots; the verdict is `SWEEnv`'s own."""

    def __init__(self, config: EnvConfig, gate: threading.Semaphore) -> None:
        super().__init__(config)
        self.gate = gate

    def _grade(self, diff: str) -> Verdict:
        with self.gate:
            return super()._grade(diff)


class SWEGymEnvironment(Environment[SWEAction, SWEObservation, SWEState]):
    """One session: reset starts a task's sandbox, step runs a tool call, finish grades."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(
        self, pool: TaskPool, env_config: EnvConfig, agent: AgentConfig, gate: threading.Semaphore
    ) -> None:
        super().__init__()
        self.pool, self.env_config, self.agent, self.gate = pool, env_config, agent, gate
        self._env: Any = None  # the wrapped SWEEnv, made on the first reset
        self._state = SWEState()
        self.busy = 0
        """Requests running now (the idle reaper leaves a busy session alone)."""
        self.closed = False

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> SWEObservation:
        # Unknown parameters (a client-supplied `task`, `options`...) are refused, not ignored.
        body = ResetBody(seed=seed, episode_id=episode_id, **kwargs)
        self._check_open()
        task = self.pool.pick(body.instance_id, body.seed)
        self.busy += 1
        start = time.perf_counter()
        try:
            if self._env is None:
                env: Any = _GatedSWEEnv(self.env_config, self.gate)
                env = TurnLimit(env, self.agent.max_turns)
                env = TimeLimit(env, self.agent.max_seconds)
                self._env = ContextLimit(env, self.agent.max_context_tokens)
            obs, info = self._env.reset(seed=body.seed, options={"task": task})
        finally:
            self.busy -= 1
        self._state = SWEState(episode_id=body.episode_id, instance_id=task.instance_id)
        return SWEObservation(
            output=obs,
            instance_id=task.instance_id,
            tools=info["tools"],
            reward=0.0,
            step_seconds=time.perf_counter() - start,
        )

    def step(self, action: SWEAction, timeout_s: float | None = None, **kwargs: Any) -> SWEObservation:
        self._check_open()
        if self._env is None:
            raise ServeError("step before reset: reset the session first")
        self.busy += 1
        start = time.perf_counter()
        try:
            call = {"id": action.id, "name": action.name, "arguments": action.arguments}
            obs, reward, terminated, truncated, info = self._env.step(call)
        finally:
            self.busy -= 1
        seconds = time.perf_counter() - start
        st = self._state
        st.step_count += 1
        st.turns = self._env.unwrapped.turns
        done = bool(terminated or truncated)
        out = SWEObservation(
            output=obs,
            instance_id=st.instance_id or "",
            turn=st.turns,
            tool=str(info.get("tool", "")),
            tool_error=bool(info.get("tool_error")),
            done=done,
            reward=float(reward),
            truncated=bool(truncated),
            step_seconds=seconds,
        )
        if done:
            st.done, st.outcome, st.reward = True, str(info["outcome"]), float(reward)
            out.outcome, out.reason, out.resolved = st.outcome, info.get("reason"), info.get("resolved")
            out.diff, out.error = info.get("diff"), info.get("error")
        return out

    def kill(self) -> None:
        """Stop the episode's sandbox now, from any thread, even while a step runs in it (its
        client is gone): the step's command dies and the step returns; `close` then finishes."""
        self.closed = True
        sandbox = getattr(self._env.unwrapped, "sandbox", None) if self._env is not None else None
        if sandbox is not None:
            sandbox.close()

    @property
    def state(self) -> SWEState:
        return self._state.model_copy()

    def close(self) -> None:
        """End the session: the episode's sandbox is closed (an unfinished episode is not graded)."""
        self.closed = True
        if self._env is not None:
            self._env.close()

    def get_metadata(self) -> EnvironmentMetadata:
        return EnvironmentMetadata(
            name="swegym",
            description=(
                f"Software-engineering tasks in a sandbox ({len(self.pool.tasks)} tasks): tools "
                "execute_bash, str_replace_editor, finish; reward 1.0 when the final diff resolves the task."
            ),
            version="1",
            documentation_url="docs/rl.md",
        )

    def _check_open(self) -> None:
        if self.closed:
            raise ServeError("this session was closed (idle timeout or close); open a new one")
