"""The environments a task set needs: one build per (repo, version), in parallel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel

from swegym.envs.builder import build_env
from swegym.envs.spec import EnvSpec, SpecDirs, spec_for_task
from swegym.sources.materialize import Mirrors, materialize
from swegym.sources.versions import CommandRunner, with_version
from swegym.tasks.model import Task


class EnvBuildReport(BaseModel):
    """One environment, built or found in the cache."""

    repo: str
    version: str
    path: str
    size_mb: float | None = None
    seconds: float = 0.0


def build_task_envs(
    tasks: list[Task],
    *,
    mirrors: Mirrors | None = None,
    force: bool = False,
    workers: int = 1,
    spec_dirs: SpecDirs = (),
    run_command: CommandRunner | None = None,
) -> Iterator[EnvBuildReport]:
    """Build (or reuse) the environment of every (repo, version) among ``tasks``, in task order;
    one per task where the spec takes its date or commit from the task.

    A task without a version gets the detected one first, as ``harness.runner.prepare`` does
    (``run_command`` runs a repository's version command, e.g. ``harness.versioncmd.sandbox_runner()``)."""
    firsts: dict[tuple[str, str, str | None, str | None], tuple[Task, EnvSpec]] = {}
    for t in tasks:
        if not t.version:
            t = with_version(t, mirrors, materialize(t, mirrors), run_command)
        spec = spec_for_task(t, spec_dirs)
        firsts.setdefault((t.repo, t.version, spec.exclude_newer, spec.commit), (t, spec))

    def one(item: tuple[Task, EnvSpec]) -> EnvBuildReport:
        task, spec = item
        start = time.perf_counter()
        env = build_env(spec, materialize(task, mirrors), force=force, mirrors=mirrors)
        size = env.info.get("size_mb")
        return EnvBuildReport(
            repo=task.repo,
            version=task.version,
            path=str(env.path),
            size_mb=float(size) if isinstance(size, int | float) else None,
            seconds=round(time.perf_counter() - start, 1),
        )

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        yield from pool.map(one, firsts.values())
