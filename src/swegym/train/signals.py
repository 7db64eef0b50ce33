"""Execution signals that need no gold tests, for `swegym rerank --score hybrid` (as R2E-Gym does).

For a candidate diff: does it apply at the base commit; do the repository's existing tests for the
modules it changes still pass; do the tests the agent itself wrote or changed pass. The task's
test patch and FAIL_TO_PASS / PASS_TO_PASS labels are never used.
"""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

from pydantic import BaseModel

from swegym.harness.patches import deleted_files, touched_files
from swegym.harness.runner import prepare, run_tests
from swegym.harness.testfiles import is_test_path
from swegym.sources.materialize import Mirrors
from swegym.tasks.model import Task

MAX_EXISTING = 10


def is_test_module(path: str) -> bool:
    """A test module pytest can run: test code (:func:`is_test_path`) named ``test_*.py`` or
    ``*_test.py`` (a changed ``conftest.py`` or test helper is test code but not a target)."""
    name = PurePosixPath(path).name
    return (
        is_test_path(path)
        and (name.startswith("test_") or name.endswith("_test.py"))
        and name.endswith(".py")
    )


def pick_targets(diff: str, repo_files: list[str]) -> tuple[list[str], list[str]]:
    """(existing test files for the changed modules, test files the diff adds or changes)."""
    changed = touched_files(diff)
    gone = deleted_files(diff)
    agent = [f for f in changed if is_test_module(f) and f not in gone]
    stems = {Path(f).stem for f in changed if f.endswith(".py") and not is_test_path(f)}
    names = {f"test_{s}.py" for s in stems} | {f"{s}_test.py" for s in stems}
    existing = [f for f in repo_files if Path(f).name in names and f not in agent][:MAX_EXISTING]
    return existing, agent


def _fraction(status: dict[str, str], files: list[str]) -> float | None:
    mine = [v for k, v in status.items() if k.split("::", 1)[0] in files]
    if not files or not mine:
        return None if not files else 0.0
    return sum(v in ("PASSED", "XFAIL") for v in mine) / len(mine)


class ExecutionSignals(BaseModel):
    """What running a candidate diff without the gold tests shows."""

    applies: bool = False
    """The diff applies at the base commit."""
    existing_tests: float | None = None
    """Pass fraction of the repository's tests for the modules it changes (None: there are none)."""
    agent_tests: float | None = None
    """Pass fraction of the tests the diff adds or changes (None: it touches none)."""


def execution_signals(task: Task, diff: str, mirrors: Mirrors | None = None) -> ExecutionSignals:
    """Apply ``diff`` in a fresh sandbox and run the existing and the agent's own test files."""
    if not diff.strip():
        return ExecutionSignals()
    prep = prepare(task, mirrors)
    files = subprocess.run(
        ["git", "ls-files"], cwd=prep.repo_dir, capture_output=True, text=True, check=False
    ).stdout.split()
    existing, agent = pick_targets(diff, files)
    run = run_tests(prep, diff, targets=existing + agent)
    if not run.patch_applied:
        return ExecutionSignals()
    return ExecutionSignals(
        applies=True,
        existing_tests=_fraction(run.status, existing),
        agent_tests=_fraction(run.status, agent),
    )


def hybrid_score(p_yes: float, signals: ExecutionSignals, weights: dict[str, float]) -> float:
    """A weighted mean of P(YES) and the signals that exist (missing ones drop out of the mean)."""
    parts = {"verifier": p_yes, "applies": float(signals.applies)}
    for key, value in (("existing_tests", signals.existing_tests), ("agent_tests", signals.agent_tests)):
        if value is not None:
            parts[key] = float(value)
    total = sum(weights.get(k, 0.0) for k in parts)
    if total <= 0:
        return p_yes
    return sum(weights.get(k, 0.0) * v for k, v in parts.items()) / total
