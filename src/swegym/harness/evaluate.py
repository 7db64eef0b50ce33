"""Evaluation of predictions (SWE-bench format) against a task's labels."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from swegym.errors import PredictionFormatError
from swegym.harness.grader import grade_task
from swegym.harness.grading import TestsStatus
from swegym.harness.verdict import Outcome, Verdict
from swegym.sandbox.config import SandboxConfig
from swegym.sources.materialize import Mirrors
from swegym.tasks.model import Task


class Prediction(BaseModel):
    """One row of a SWE-bench predictions file."""

    instance_id: str
    model_name_or_path: str = "unknown"
    model_patch: str | None = None


class InstanceReport(BaseModel):
    """SWE-bench's per-instance report, plus our ``status`` and ``error``."""

    instance_id: str
    status: str = Field(description="resolved | unresolved | empty_patch | tampered | error")
    outcome: Outcome | None = Field(default=None, description="The grading outcome behind `status`.")
    patch_is_None: bool = False
    patch_exists: bool = False
    patch_successfully_applied: bool = False
    resolved: bool = False
    tests_status: dict[str, TestsStatus] = Field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    fingerprint: str = ""


def load_predictions(path: Path) -> dict[str, Prediction]:
    """Read predictions (.jsonl, or a .json list/dict); one-line errors name the line."""
    if not path.exists():
        raise PredictionFormatError(f"{path}: no such predictions file")
    rows: list[tuple[str, object]] = []
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PredictionFormatError(f"{path}: not valid JSON ({exc.msg})") from None
        items = list(data.values()) if isinstance(data, dict) else data
        rows = [(f"{path}[{i}]", r) for i, r in enumerate(items)]
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((f"{path}:{n}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise PredictionFormatError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
    out: dict[str, Prediction] = {}
    for where, row in rows:
        try:
            pred = Prediction.model_validate(row)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise PredictionFormatError(f"{where}: field '{field}': {err['msg']}") from None
        out[pred.instance_id] = pred
    return out


_REPORT_STATUS = {
    Outcome.RESOLVED: "resolved",
    Outcome.TESTS_FAILED: "unresolved",
    Outcome.PATCH_FAILED: "unresolved",
    Outcome.NO_DIFF: "empty_patch",
    # Its own status, not "unresolved": the run interfered with how its tests were reported,
    # so the prediction is neither an honest failure nor an infrastructure error.
    Outcome.TAMPERED: "tampered",
}


def instance_report(instance_id: str, model_patch: str | None, verdict: Verdict) -> InstanceReport:
    """A `Verdict` in SWE-bench's per-instance report shape."""
    return InstanceReport(
        instance_id=instance_id,
        status=_REPORT_STATUS.get(verdict.outcome, "error"),
        outcome=verdict.outcome,
        patch_is_None=model_patch is None,
        patch_exists=bool(model_patch and model_patch.strip()),
        patch_successfully_applied=verdict.patch_applied,
        resolved=verdict.credited,
        tests_status=verdict.tests_status,
        error=verdict.error,
        seconds=verdict.seconds,
    )


def evaluate_prediction(
    task: Task,
    model_patch: str | None,
    *,
    mirrors: Mirrors | None = None,
    config: SandboxConfig | None = None,
    log_path: Path | None = None,
) -> InstanceReport:
    """Grade ``model_patch`` on ``task`` in a fresh sandbox (SWE-bench rules)."""
    verdict = grade_task(task, model_patch or "", mirrors=mirrors, config=config, log_path=log_path)
    return instance_report(task.instance_id, model_patch, verdict)
