"""Validating mined tasks: a history leak check first, then labels without date-stamped test ids.

Mined tasks get their own journal (``validate.results.jsonl``) keyed also by the proposed spec,
so that a changed proposal revalidates; and the reasons of the drops are counted for the summary.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from swegym.curate.leaks import history_leaks
from swegym.curate.mine.extract import leak_kind
from swegym.envs.spec import EnvSpec, SpecDirs
from swegym.harness.batch import fingerprint_of
from swegym.harness.validate import ValidationResult, validate_task
from swegym.harness.validation_run import run_validations
from swegym.sources.materialize import materialize
from swegym.tasks.model import Task


def validate_mined(
    tasks: list[Task],
    specs: dict[str, EnvSpec],
    mirrors: dict[str, str],
    out: Path,
    *,
    runs: int,
    workers: int,
    spec_dirs: SpecDirs,
    quiet: bool,
) -> list[ValidationResult]:
    """Validate ``tasks`` after checking their materialized repos for history leaks.

    Journal and logs go under ``out``; ``spec_dirs`` holds the proposed specs.
    """
    logs = out / "logs"

    def work(task: Task) -> ValidationResult:
        repo_dir = materialize(task, mirrors)
        leaks = history_leaks(task, repo_dir)
        if leaks:
            return ValidationResult(
                instance_id=task.instance_id, status="invalid", reason="leak: " + leaks[0]
            )
        result = validate_task(task, runs=runs, mirrors=mirrors, log_dir=logs, spec_dirs=spec_dirs)
        return drop_unstable_ids(result)

    return run_validations(
        tasks,
        work,
        out / "validate.results.jsonl",
        runs=runs,
        workers=workers,
        quiet=quiet,
        fingerprint=lambda t: fingerprint_of(t, runs, specs[t.version]),
    )


def unstable_id(test_id: str, today: dt.date | None = None) -> bool:
    """A test id that embeds the day it ran (parametrized with ``datetime.now()``): it will not
    exist under that name when the task is graded later."""
    d = today or dt.date.today()
    forms = (d.isoformat(), d.strftime("%m-%d-%Y"), d.strftime("%d/%m/%Y"), d.strftime("%m/%d/%Y"))
    return any(f in test_id for f in forms)


def drop_unstable_ids(result: ValidationResult) -> ValidationResult:
    """Remove unstable test ids from a valid result's labels; invalid if no FAIL_TO_PASS is left."""
    if result.status != "valid" or result.task is None:
        return result
    f2p = [t for t in result.FAIL_TO_PASS if not unstable_id(t)]
    p2p = [t for t in result.PASS_TO_PASS if not unstable_id(t)]
    dropped = len(result.FAIL_TO_PASS) + len(result.PASS_TO_PASS) - len(f2p) - len(p2p)
    if not dropped:
        return result
    if not f2p:
        return result.model_copy(
            update={"status": "invalid", "task": None, "reason": "FAIL_TO_PASS tests have date-stamped ids"}
        )
    task = result.task.model_copy(update={"FAIL_TO_PASS": f2p, "PASS_TO_PASS": p2p})
    task.meta = {**task.meta, "unstable_ids_dropped": dropped}
    return result.model_copy(update={"FAIL_TO_PASS": f2p, "PASS_TO_PASS": p2p, "task": task})


def validation_drops(results: list[ValidationResult]) -> tuple[dict[str, int], list[dict[str, str]]]:
    """Counts of the kinds of reasons non-valid results give, and one rejected row for each."""
    reasons: dict[str, int] = {}
    rows = []
    for r in results:
        if r.status != "valid":
            key = f"{r.status}: {reason_kind(r.reason)}"
            reasons[key] = reasons.get(key, 0) + 1
            rows.append(
                {"instance_id": r.instance_id, "stage": "validated", "reason": f"{r.status}: {r.reason}"}
            )
    return reasons, rows


def reason_kind(reason: str) -> str:
    """A validation reason without its test ids (for counting)."""
    if reason.startswith("leak: "):
        return "leak: " + leak_kind(reason[6:])
    return re.split(r" \(|: ", reason, maxsplit=1)[0][:80]
