"""Running K episodes per task on W workers, into a resumable store."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from swegym.agent.env import EnvConfig
from swegym.agent.loop import AgentConfig, EpisodeResult, run_episode
from swegym.agent.models.factory import ModelFactory  # re-exported: it used to live here
from swegym.parallel import completed
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

    def one(item: tuple[Task, int]) -> EpisodeResult:
        task, sample = item
        store.claim(task.instance_id, sample, task.repo)
        res = run_episode(task, model_for(task, sample), agent, env, sample=sample, temperature=temperature)
        store.save(res)
        return res

    with contextlib.closing(completed(one, todo, workers)) as results:
        for res in results:  # only this thread counts, so no lock is needed
            stats.ran += 1
            stats.resolved += int(bool(res.resolved))
            if on_done is not None:
                on_done(res)
    return stats
