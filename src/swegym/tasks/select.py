"""Choosing a subset of a task set. Pure functions."""

from __future__ import annotations

from swegym.tasks.model import Task


def round_robin_by_repo(tasks: list[Task], n: int) -> list[Task]:
    """The first ``n`` tasks taken in turn from each repository (all of them when ``n`` is 0), in
    their original order: a small sample that still spans every project."""
    if not n or n >= len(tasks):
        return tasks
    by_repo: dict[str, list[Task]] = {}
    for task in tasks:
        by_repo.setdefault(task.repo, []).append(task)
    picked: list[Task] = []
    while len(picked) < n:
        for queue in by_repo.values():
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    order = {id(t): i for i, t in enumerate(tasks)}
    return sorted(picked, key=lambda t: order[id(t)])
