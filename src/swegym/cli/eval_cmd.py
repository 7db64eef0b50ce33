"""`swegym eval`: grade SWE-bench-format predictions."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from swegym.cli.common import MirrorOpt, SkipOpt, TasksOpt, default_workers, get_tasks, mirrors
from swegym.errors import PredictionFormatError
from swegym.harness.batch import fingerprint_of, read_done, run_batch
from swegym.harness.evaluate import InstanceReport, evaluate_prediction, load_predictions
from swegym.harness.report import evaluation_summary


def evaluate(
    predictions: Path = typer.Option(..., "--predictions", "-p", help="SWE-bench predictions .jsonl"),
    tasks: str = TasksOpt,
    workers: int = typer.Option(default_workers(), "--workers", "-w", min=1),
    out: Path = typer.Option(Path("runs/eval"), "--out", "-o", help="Directory for results and report."),
    mirror: list[str] = MirrorOpt,
    skip_invalid: bool = SkipOpt,
    fresh: bool = typer.Option(False, "--fresh", help="Ignore earlier results in --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Grade predictions in fresh sandboxes.

    Example: swegym eval --tasks bundled --predictions preds.jsonl --out runs/eval-mymodel
    """
    preds = load_predictions(predictions)
    rows = {t.instance_id: t for t in get_tasks(tasks, None, skip_invalid)}
    unknown = [i for i in preds if i not in rows]
    if unknown:
        raise PredictionFormatError(
            f"{predictions}: instance_id {unknown[0]!r} is not in {tasks}"
            + (f" (+{len(unknown) - 1} more)" if len(unknown) > 1 else "")
        )
    journal = out / "results.jsonl"
    if fresh:
        journal.unlink(missing_ok=True)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    items = [(rows[i], p.model_patch) for i, p in preds.items()]
    run_batch(
        items,
        lambda it: evaluate_prediction(
            it[0], it[1], mirrors=mirrors(mirror), log_path=logs / f"{it[0].instance_id}.log"
        ),
        journal,
        key=lambda it: it[0].instance_id,
        workers=workers,
        label="eval",
        describe=lambda r: f"{r.instance_id}: {r.status}",
        quiet=as_json,
        fingerprint=lambda it: fingerprint_of(it[0], it[1]),
        on_error=lambda it, exc: InstanceReport(
            instance_id=it[0].instance_id, status="error", error=f"{type(exc).__name__}: {exc}"
        ),
    )
    reports = [InstanceReport.model_validate(v) for k, v in read_done(journal).items() if k in preds]
    summary = evaluation_summary([r.model_dump() for r in reports], len(rows), preds)
    summary["instances"] = {r.instance_id: r.model_dump(exclude={"instance_id"}) for r in reports}
    (out / "report.json").write_text(json.dumps(summary, indent=2))
    if as_json:
        typer.echo(json.dumps({k: v for k, v in summary.items() if k != "instances"}, indent=2))
    else:
        typer.echo(
            f"resolved {summary['resolved_instances']}/{summary['submitted_instances']} submitted "
            f"({summary['total_instances']} tasks); unresolved {summary['unresolved_instances']}, "
            f"empty {summary['empty_patch_instances']}, errors {summary['error_instances']} "
            f"-> {out / 'report.json'}"
        )
