"""`swegym tasks check`: re-verify a dataset, task by task, against its own labels."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from swegym.harness.validate import ValidationResult
from swegym.harness.validation_run import ValidationSummary
from swegym.tasks.model import Task


class CheckResult(BaseModel):
    """The verdict on one task of a dataset."""

    instance_id: str
    status: Literal["ok", "changed", "invalid", "error", "leak"]
    detail: str = ""


class DatasetCheck(BaseModel):
    """The verdicts on a dataset's tasks, and the summary of their fresh validation."""

    results: list[CheckResult]
    validation: ValidationSummary


def unlabeled(task: Task) -> Task:
    """The task without its labels, so that validation derives them afresh."""
    return task.model_copy(update={"FAIL_TO_PASS": [], "PASS_TO_PASS": []})


def compare(task: Task, result: ValidationResult, leaks: list[str]) -> CheckResult:
    """Compare fresh labels (from ``result``) with the task's stored ones."""
    iid = task.instance_id
    if leaks:
        return CheckResult(instance_id=iid, status="leak", detail="; ".join(leaks)[:300])
    if result.status != "valid":
        return CheckResult(instance_id=iid, status=result.status, detail=result.reason[:300])
    flaky = set(result.flaky)
    problems = []
    for name, stored, fresh in (
        ("FAIL_TO_PASS", task.FAIL_TO_PASS, result.FAIL_TO_PASS),
        ("PASS_TO_PASS", task.PASS_TO_PASS, result.PASS_TO_PASS),
    ):
        old, new = set(stored) - flaky, set(fresh)
        if old != new:
            gone, added = sorted(old - new), sorted(new - old)
            problems.append(f"{name}: {len(gone)} no longer hold {gone[:2]}, {len(added)} new {added[:2]}")
    if flaky & set(task.FAIL_TO_PASS):
        problems.append(f"flaky FAIL_TO_PASS: {sorted(flaky & set(task.FAIL_TO_PASS))[:2]}")
    if problems:
        return CheckResult(instance_id=iid, status="changed", detail="; ".join(problems))
    return CheckResult(instance_id=iid, status="ok")


def check_dataset(
    tasks: list[Task], out: Path, *, runs: int, workers: int, mirrors: dict[str, str]
) -> DatasetCheck:
    """Validate every task afresh (resumable journal under ``out``) and compare labels."""
    from swegym.curate.leaks import check_leaks
    from swegym.harness.batch import out_paths, read_done
    from swegym.harness.validation_run import validate_tasks
    from swegym.sources.materialize import materialize

    out.mkdir(parents=True, exist_ok=True)
    tasks_file = out / "revalidated.jsonl"
    summary = validate_tasks(
        [unlabeled(t) for t in tasks],
        tasks_file,
        runs=runs,
        workers=workers,
        mirrors=mirrors,
        fresh=False,
        quiet=True,
    )
    done = read_done(out_paths(tasks_file)[0])
    results = []
    for task in tasks:
        row = done.get(task.instance_id)
        if row is None:
            results.append(CheckResult(instance_id=task.instance_id, status="error", detail="not run"))
            continue
        leaks = check_leaks(task, materialize(task, mirrors))
        results.append(compare(task, ValidationResult.model_validate(row), leaks))
    return DatasetCheck(results=results, validation=summary)
