"""Screen a task set for tasks whose FAIL_TO_PASS tests read the clock.

A test that builds ``date.today()`` or ``datetime.now()`` can pass or fail with the bug depending
on the day it runs (a month/day swap is invisible while the day of the month is <= 12). The
sandbox runs every task's tests at the task's date (``SandboxConfig.clock = "task"``, see
``swegym.harness.dates``), which makes such tasks deterministic, so they are listed for review;
with ``--real-clock`` (tasks to be graded on the host's clock) a task whose every FAIL_TO_PASS test
reads the clock must not ship. Static: reads the tests' source, runs nothing; validation's second
date run (``date_dependent``) is the check that runs them.

    .venv/bin/python scripts/screen_clock.py [--tasks bundled:full] [--real-clock]
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

from swegym.sources.materialize import materialize, source_task
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

CLOCK = re.compile(r"\b(today|now|utcnow|time\.time|time_ns|localtime|gmtime)\s*\(|freeze_time|freezegun")


def reads_clock(repo: Path, test_id: str) -> bool:
    """Whether the test function named by ``test_id`` mentions the clock in its own body."""
    path, _, rest = test_id.partition("::")
    name = rest.split("[", 1)[0].split("::")[-1]
    try:
        source = (repo / path).read_text()
        tree = ast.parse(source)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name == name
        and CLOCK.search(ast.get_source_segment(source, node) or "") is not None
        for node in ast.walk(tree)
    )


def screen(tasks: list[Task]) -> list[tuple[Task, list[str]]]:
    """(task, its clock-reading FAIL_TO_PASS tests) for every task with at least one."""
    repos: dict[tuple[str, str, str | None], Path] = {}
    out = []
    for task in tasks:
        key = (task.repo, task.version, task.source)
        if key not in repos:
            repos[key] = materialize(source_task(task) if task.base_patch else task)
        hits = [t for t in task.FAIL_TO_PASS if reads_clock(repos[key], t)]
        if hits:
            out.append((task, hits))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--tasks", default="bundled:full")
    ap.add_argument("--real-clock", action="store_true", help="exit 1 if a task must go on the real clock")
    args = ap.parse_args()
    tasks = load_tasks(args.tasks).tasks
    flagged = screen(tasks)
    must_go = 0
    for task, hits in flagged:
        every = len(hits) == len(task.FAIL_TO_PASS)
        must_go += every
        verdict = "review"
        if every:
            verdict = "MUST GO on the real clock" if args.real_clock else "date dependent (fixed clock)"
        print(
            f"{task.instance_id} [{task.split}]: {len(hits)}/{len(task.FAIL_TO_PASS)} "
            f"F2P read the clock: {verdict}"
        )
    print(
        f"{len(tasks)} tasks screened, {len(flagged)} with clock-reading F2P tests, {must_go} where every "
        f"F2P test reads it ({'must go' if args.real_clock else 'fine under the fixed clock'})"
    )
    return 1 if must_go and args.real_clock else 0


if __name__ == "__main__":
    sys.exit(main())
