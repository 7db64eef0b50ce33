"""Quality screens for curated tasks before validation: leaks of the gold patch."""

from __future__ import annotations

from swegym.curate.leaks import check_leaks
from swegym.sources.materialize import materialize
from swegym.tasks.model import Task


def screen_leaks(tasks: list[Task]) -> tuple[list[Task], dict[str, list[str]]]:
    """Split ``tasks`` into leak-free ones and {instance_id: reasons} for those that leak."""
    clean: list[Task] = []
    leaked: dict[str, list[str]] = {}
    for task in tasks:
        reasons = check_leaks(task, materialize(task))
        if reasons:
            leaked[task.instance_id] = reasons
        else:
            clean.append(task)
    return clean, leaked
