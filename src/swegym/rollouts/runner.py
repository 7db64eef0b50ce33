"""Running K episodes per task on W workers, into a resumable store."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from swegym.agent.env import EnvConfig
from swegym.agent.loop import AgentConfig, EpisodeResult, run_episode
from swegym.agent.models.factory import ModelFactory  # re-exported: it used to live here
from swegym.executors import current_executor, env_group
from swegym.rollouts.store import RunStore
from swegym.tasks.model import Task


def default_workers(memory_mb: int) -> int:
    """Workers bounded by cores and by memory (each sandbox may use ``memory_mb``)."""
    cores = os.cpu_count() or 1
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1 << 20)
    except (ValueError, OSError):
        avail = memory_mb * cores
    return max(1, min(cores, int(avail // max(memory_mb, 1))))


@dataclass
class RolloutStats:
    """Counts of this invocation (earlier finished episodes are kept, not rerun)."""

    planned: int
    already_done: int
    dropped_unfinished: int
    ran: int = 0
    resolved: int = 0


def rollout(
    tasks: list[Task],
    model_for: ModelFactory,
    store: RunStore,
    *,
    k: int,
    workers: int,
    temperature: float = 0.0,
    agent: AgentConfig | None = None,
    env: EnvConfig | None = None,
    on_done: Callable[[EpisodeResult], None] | None = None,
) -> RolloutStats:
    """Run every (task, sample) for sample < k not already finished in ``store``."""
    dropped = store.drop_unfinished()
    done = store.done_keys()
    todo = [(t, s) for t in tasks for s in range(k) if (t.instance_id, s) not in done]
    stats = RolloutStats(
        planned=len(tasks) * k, already_done=len(tasks) * k - len(todo), dropped_unfinished=dropped
    )

    # The episode runs where the executor puts it; the store is written here, by the driver only
    # (a claim when an episode starts, the episode when its result is back).
    def one(item: tuple[Task, int]) -> EpisodeResult:
        task, sample = item
        return run_episode(task, model_for(task, sample), agent, env, sample=sample, temperature=temperature)

    def claim(item: tuple[Task, int]) -> None:
        store.claim(item[0].instance_id, item[1], item[0].repo)

    units = current_executor().map(one, todo, workers=workers, group=env_group, on_start=claim)
    with contextlib.closing(units) as results:
        for res in results:  # only this thread counts, so no lock is needed
            store.save(res)
            stats.ran += 1
            stats.resolved += int(bool(res.resolved))
            if on_done is not None:
                on_done(res)
    return stats
