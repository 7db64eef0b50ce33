"""`swegym validate`: gold and empty patch runs, labels, flaky tests, a summary."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from swegym.cli.common import (
    IdsOpt,
    MirrorOpt,
    SkipOpt,
    TasksOpt,
    default_workers,
    get_tasks,
    mirrors,
    out_paths,
)
from swegym.harness.batch import fingerprint_of, read_done, run_batch
from swegym.harness.report import validation_summary
from swegym.harness.validate import ValidationResult, validate_task
from swegym.tasks.export import export_tasks
from swegym.tasks.model import Task


def validate(
    tasks: str = TasksOpt,
    runs: int = typer.Option(1, "--runs", min=1, help="Repeat each run to find flaky tests."),
    workers: int = typer.Option(default_workers(), "--workers", "-w", min=1),
    out: Path = typer.Option(
        Path("runs/validate/tasks.jsonl"),
        "--out",
        "-o",
        help="Validated tasks (.jsonl); a results journal, summary and logs go beside it.",
    ),
    ids: list[str] = IdsOpt,
    mirror: list[str] = MirrorOpt,
    skip_invalid: bool = SkipOpt,
    fresh: bool = typer.Option(False, "--fresh", help="Ignore earlier results for this --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Validate tasks: the empty patch must fail and the gold patch pass the FAIL_TO_PASS tests.

    Example: swegym validate --tasks bundled --runs 3 --json
    """
    rows = get_tasks(tasks, ids, skip_invalid)
    run_validation(
        rows, out, runs=runs, workers=workers, mirrors=mirrors(mirror), fresh=fresh, as_json=as_json
    )


def run_validation(
    rows: list[Task],
    out: Path,
    *,
    runs: int,
    workers: int,
    mirrors: dict[str, str],
    fresh: bool,
    as_json: bool,
) -> dict[str, object]:
    """Validate ``rows`` (resuming from the journal next to ``out``) and write the results."""
    journal, summary_path, logs = out_paths(out)
    if fresh:
        journal.unlink(missing_ok=True)
    ids = {t.instance_id for t in rows}
    run_batch(
        rows,
        lambda t: validate_task(t, runs=runs, mirrors=mirrors, log_dir=logs),
        journal,
        key=lambda t: t.instance_id,
        workers=workers,
        label="validate",
        describe=lambda r: f"{r.instance_id}: {r.status}",
        quiet=as_json,
        fingerprint=lambda t: fingerprint_of(t, runs),
        on_error=lambda t, exc: ValidationResult(
            instance_id=t.instance_id, status="error", reason=f"{type(exc).__name__}: {exc}", runs=runs
        ),
    )
    done = {k: v for k, v in read_done(journal).items() if k in ids}
    results = [ValidationResult.model_validate(v) for v in done.values()]
    order = {t.instance_id: i for i, t in enumerate(rows)}
    valid = sorted((r.task for r in results if r.task is not None), key=lambda t: order[t.instance_id])
    export_tasks(valid, out)
    summary = validation_summary([r.model_dump() for r in results])
    summary.update({"runs": runs, "tasks_file": str(out), "results_file": str(journal)})
    summary_path.write_text(json.dumps(summary, indent=2))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print(summary, results)
    return summary


def _print(summary: dict[str, object], results: list[ValidationResult]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="validation")
    for col in ("instance_id", "status", "F2P", "P2P", "flaky", "seconds", "reason"):
        table.add_column(col)
    for r in sorted(results, key=lambda r: r.instance_id):
        color = {"valid": "green", "invalid": "yellow", "error": "red"}[r.status]
        table.add_row(
            r.instance_id,
            f"[{color}]{r.status}",
            str(len(r.FAIL_TO_PASS)),
            str(len(r.PASS_TO_PASS)),
            str(len(r.flaky)),
            f"{r.seconds:.1f}",
            r.reason[:80],
        )
    console = Console()
    console.print(table)
    console.print(
        f"total {summary['total']}  valid {summary['valid']}  invalid {summary['invalid']}  "
        f"errors {summary['errors']}  -> {summary['tasks_file']}"
    )
