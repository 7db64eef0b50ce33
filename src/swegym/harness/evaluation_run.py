"""`swegym eval` as a library call: grade a predictions file against tasks, resumably.

Each prediction is graded in a fresh sandbox (:func:`~swegym.harness.evaluate.evaluate_prediction`),
its report journaled in ``OUT/results.jsonl`` as it lands (a rerun skips finished ones), the
SWE-bench-shaped run report written to ``OUT/report.json``.
"""

from __future__ import annotations

from pathlib import Path

from swegym.errors import PredictionFormatError
from swegym.harness.batch import fingerprint_of, read_done, run_batch
from swegym.harness.evaluate import InstanceReport, Prediction, evaluate_prediction
from swegym.harness.report import EvaluationReport, evaluation_summary
from swegym.sources.materialize import Mirrors
from swegym.tasks.model import Task


def evaluate_predictions(
    tasks: list[Task],
    predictions: dict[str, Prediction],
    out: Path,
    *,
    workers: int,
    mirrors: Mirrors | None = None,
    fresh: bool = False,
    quiet: bool = False,
    source: str = "the tasks",
) -> EvaluationReport:
    """Grade every prediction; return (and write to ``out/report.json``) SWE-bench's run report,
    with the per-instance reports under ``instances``. A prediction for an unknown task is a
    `PredictionFormatError` naming it (``source`` says where the tasks came from)."""
    rows = {t.instance_id: t for t in tasks}
    unknown = [i for i in predictions if i not in rows]
    if unknown:
        more = f" (+{len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise PredictionFormatError(f"instance_id {unknown[0]!r} is not in {source}{more}")
    journal = out / "results.jsonl"
    if fresh:
        journal.unlink(missing_ok=True)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    items = [(rows[i], p.model_patch) for i, p in predictions.items()]
    run_batch(
        items,
        lambda it: evaluate_prediction(
            it[0], it[1], mirrors=mirrors, log_path=logs / f"{it[0].instance_id}.log"
        ),
        journal,
        key=lambda it: it[0].instance_id,
        workers=workers,
        label="eval",
        describe=lambda r: f"{r.instance_id}: {r.status}",
        quiet=quiet,
        fingerprint=lambda it: fingerprint_of(it[0], it[1]),
        on_error=lambda it, exc: InstanceReport(
            instance_id=it[0].instance_id, status="error", error=f"{type(exc).__name__}: {exc}"
        ),
    )
    done = read_done(journal)
    reports = [InstanceReport.model_validate(v) for k, v in done.items() if k in predictions]
    summary = evaluation_summary(reports, len(rows), predictions)
    (out / "report.json").write_text(summary.to_json())
    return summary
