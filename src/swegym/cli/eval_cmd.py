"""`swegym eval`: grade SWE-bench-format predictions."""

from __future__ import annotations

from pathlib import Path

import typer

from swegym.cli.common import (
    ExecutorOpt,
    MirrorOpt,
    MirrorRootOpt,
    RayAddressOpt,
    SkipOpt,
    TasksOpt,
    default_workers,
    executor_scope,
    get_tasks,
    mirrors,
)


def evaluate(
    predictions: Path = typer.Option(..., "--predictions", "-p", help="SWE-bench predictions .jsonl"),
    tasks: str = TasksOpt,
    workers: int = typer.Option(default_workers(), "--workers", "-w", min=1),
    out: Path = typer.Option(Path("runs/eval"), "--out", "-o", help="Directory for results and report."),
    mirror: list[str] = MirrorOpt,
    mirror_root: Path | None = MirrorRootOpt,
    skip_invalid: bool = SkipOpt,
    fresh: bool = typer.Option(False, "--fresh", help="Ignore earlier results in --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    executor: str = ExecutorOpt,
    ray_address: str | None = RayAddressOpt,
) -> None:
    """Grade predictions in fresh sandboxes.

    Example: swegym eval --tasks bundled --predictions preds.jsonl --out runs/eval-mymodel
    """
    from swegym.errors import PredictionFormatError
    from swegym.executors import use_executor
    from swegym.harness.evaluate import load_predictions
    from swegym.harness.evaluation_run import evaluate_predictions

    preds = load_predictions(predictions)
    rows = get_tasks(tasks, None, skip_invalid)
    try:
        with use_executor(executor_scope(executor, ray_address)):
            summary = evaluate_predictions(
                rows,
                preds,
                out,
                workers=workers,
                mirrors=mirrors(mirror, mirror_root),
                fresh=fresh,
                quiet=as_json,
                source=tasks,
            )
    except PredictionFormatError as exc:
        raise PredictionFormatError(f"{predictions}: {exc}") from None
    if as_json:
        typer.echo(summary.to_json(with_instances=False))
    else:
        # Named only when there is one: a tampered prediction is rare and must not go unseen.
        tampered = f"tampered {summary.tampered_instances}, " if summary.tampered_instances else ""
        typer.echo(
            f"resolved {summary.resolved_instances}/{summary.submitted_instances} submitted "
            f"({summary.total_instances} tasks); unresolved {summary.unresolved_instances}, "
            f"empty {summary.empty_patch_instances}, {tampered}errors {summary.error_instances} "
            f"-> {out / 'report.json'}"
        )
