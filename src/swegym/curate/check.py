"""`swegym tasks check`: re-verify a dataset, task by task, against its own labels."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from swegym.harness.validate import ValidationResult
from swegym.tasks.model import Task


class CheckResult(BaseModel):
    """The verdict on one task of a dataset."""

    instance_id: str
    status: Literal["ok", "changed", "invalid", "error", "leak"]
    detail: str = ""


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
) -> list[CheckResult]:
    """Validate every task afresh (resumable journal under ``out``) and compare labels."""
    from swegym.cli.common import out_paths
    from swegym.cli.validate_cmd import run_validation
    from swegym.curate.leaks import check_leaks
    from swegym.harness.batch import read_done
    from swegym.sources.materialize import materialize

    out.mkdir(parents=True, exist_ok=True)
    tasks_file = out / "revalidated.jsonl"
    run_validation(
        [unlabeled(t) for t in tasks],
        tasks_file,
        runs=runs,
        workers=workers,
        mirrors=mirrors,
        fresh=False,
        as_json=True,
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
    return results
