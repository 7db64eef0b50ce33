"""`swegym rollout` as a library call: settings recorded, the model started, K episodes per task.

::

    stats = run_rollout(tasks, RolloutConfig(tasks="bundled:lite", model=ModelConfig(name="oracle")),
                        Path("runs/oracle"))

The run directory's store keeps finished episodes, so the same call resumes an interrupted run;
the settings stored with it must match (`swegym.rollouts.settings`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from swegym.agent.env import EnvConfig
from swegym.agent.loop import AgentConfig, EpisodeResult
from swegym.agent.models.factory import ModelConfig, make_model
from swegym.rollouts.runner import RolloutStats, default_workers, rollout
from swegym.rollouts.settings import RunSettings, record_settings
from swegym.rollouts.store import RunStore
from swegym.tasks.model import Task


class RolloutConfig(BaseModel):
    """Everything that shapes a rollout run."""

    tasks: str = ""
    """Where the tasks came from (recorded with the run; more tasks may join on resume)."""
    k: int = Field(default=1, ge=1)
    """Episodes per task."""
    model: ModelConfig = Field(default_factory=ModelConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    env: EnvConfig = Field(default_factory=EnvConfig)
    workers: int = Field(default=0, ge=0)
    """Parallel episodes; 0 = by cores and memory, or 1 for the built-in local server (it answers
    one request at a time and keeps one prompt cache, which parallel episodes would only evict)."""

    def settings(self) -> RunSettings:
        """What a resumed run must share with this one."""
        m, local = self.model, self.model.starts_local_server
        return RunSettings(
            model=m.name,
            base_url=m.base_url,
            temperature=m.temperature,
            tasks=self.tasks,
            agent=self.agent,
            local_backend=m.local_backend if local else None,
            tool_grammar=m.tool_grammar if local else None,
        )

    def worker_count(self) -> int:
        if self.workers:
            return self.workers
        return 1 if self.model.starts_local_server else default_workers(self.env.sandbox.memory_mb)


ProgressStart = Callable[[int, int, int], None]
"""Called once before the episodes start with (planned, already done, already resolved)."""


def run_rollout(
    tasks: list[Task],
    config: RolloutConfig,
    out: Path,
    *,
    on_start: ProgressStart | None = None,
    on_done: Callable[[EpisodeResult], None] | None = None,
) -> tuple[RolloutStats, RunStore]:
    """Run (or resume) ``config`` on ``tasks`` into ``out/rollouts.db``; return its stats and store."""
    store = RunStore(out)
    record_settings(store, out, config.settings())
    with make_model(config.model) as factory:
        if on_start is not None:
            done = store.done_keys()
            resolved = sum(1 for e in store.episodes() if e.resolved)
            on_start(len(tasks) * config.k, len(done), resolved)
        stats = rollout(
            tasks,
            factory,
            store,
            k=config.k,
            workers=config.worker_count(),
            temperature=config.model.temperature,
            agent=config.agent,
            env=config.env,
            on_done=on_done,
        )
    return stats, store
