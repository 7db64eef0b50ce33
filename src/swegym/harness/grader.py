"""The one grading path: a diff on a prepared task -> `Verdict`.

``swegym eval``, `SWEEnv` (and so the agent loop, the run store and training data) all grade
through :func:`grade_diff`: apply the diff in a fresh sandbox, restore and apply the task's tests,
run them, read outcomes from the side channel, apply SWE-bench's rule.
"""

from __future__ import annotations

from pathlib import Path

from swegym.errors import SwegymError
from swegym.harness.grading import grade
from swegym.harness.runner import Prepared, prepare, run_tests
from swegym.harness.verdict import Outcome, Verdict
from swegym.sandbox.config import SandboxConfig
from swegym.sources.materialize import Mirrors
from swegym.tasks.model import Task


def grade_diff(
    prep: Prepared,
    diff: str,
    *,
    config: SandboxConfig | None = None,
    log_path: Path | None = None,
) -> Verdict:
    """Grade ``diff`` on the prepared task.

    `no_diff`; `patch_failed` (the diff does not apply, or names a path outside the work tree:
    ``error`` says which); `tampered` (the run's outcomes were interfered with); `tests_failed`,
    also when the run broke after the diff was applied (a restore the diff defeats, a test
    patch it blocks, a timeout: ``error`` says what), since the same steps passed with the gold
    patch; `resolved`; `infra_error` only when the harness failed before the diff was applied."""
    task = prep.task
    early = _before_running(task, diff)
    if early is not None:
        return early
    run = run_tests(prep, diff, config=config, log_path=log_path)
    seconds = round(run.duration_s, 2)
    if run.rejected:
        return Verdict(outcome=Outcome.PATCH_FAILED, error=f"diff rejected: {run.rejected}", seconds=seconds)
    if run.tampered:
        return Verdict(outcome=Outcome.TAMPERED, patch_applied=True, error=run.tampered, seconds=seconds)
    if run.error and not run.candidate_applied:
        return Verdict(outcome=Outcome.INFRA_ERROR, error=run.error, seconds=seconds)
    if not run.patch_applied:
        return Verdict(outcome=Outcome.PATCH_FAILED, seconds=seconds)
    g = grade(run.status, task.FAIL_TO_PASS, task.PASS_TO_PASS)
    resolved = g.resolved and not run.error
    return Verdict(
        outcome=Outcome.RESOLVED if resolved else Outcome.TESTS_FAILED,
        resolved=resolved,
        patch_applied=True,
        tests_status={"FAIL_TO_PASS": g.FAIL_TO_PASS, "PASS_TO_PASS": g.PASS_TO_PASS},
        error=run.error or run.note,
        seconds=seconds,
    )


def grade_task(
    task: Task,
    diff: str,
    *,
    mirrors: Mirrors | None = None,
    config: SandboxConfig | None = None,
    log_path: Path | None = None,
) -> Verdict:
    """:func:`grade_diff` after preparing the task; a repo or env that cannot be had is `infra_error`."""
    early = _before_running(task, diff)
    if early is not None:
        return early
    try:
        prep = prepare(task, mirrors)
    except SwegymError as exc:
        return Verdict(outcome=Outcome.INFRA_ERROR, error=str(exc))
    return grade_diff(prep, diff, config=config, log_path=log_path)


def _before_running(task: Task, diff: str) -> Verdict | None:
    """The verdicts that need no sandbox: an empty diff, a task without labels."""
    if not diff.strip():
        return Verdict(outcome=Outcome.NO_DIFF)
    if not task.FAIL_TO_PASS:
        return Verdict(
            outcome=Outcome.INFRA_ERROR,
            error=f"{task.instance_id}: the task has no FAIL_TO_PASS tests; validate it first",
        )
    return None
