"""`swegym validate`: gold and empty patch runs, labels, flaky tests, a summary."""

from __future__ import annotations

from pathlib import Path

import typer

from swegym.cli.common import (
    ExecutorOpt,
    IdsOpt,
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
from swegym.executors import use_executor
from swegym.harness.validation_run import ValidationSummary, validate_tasks
from swegym.sandbox.config import SandboxConfig


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
    mirror_root: Path | None = MirrorRootOpt,
    skip_invalid: bool = SkipOpt,
    fresh: bool = typer.Option(False, "--fresh", help="Ignore earlier results for this --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    clock: str | None = typer.Option(
        None,
        "--clock",
        help="'task': tests see the task's date (libfaketime); 'real': the host's clock. "
        "Default: $SWEGYM_CLOCK, else 'task'.",
    ),
    date_check: bool = typer.Option(
        True,
        "--date-check/--no-date-check",
        help="Run each patch once more at a distant second date to flag date-dependent tests.",
    ),
    labels: str = typer.Option(
        "published",
        "--labels",
        help="Tasks that carry FAIL_TO_PASS/PASS_TO_PASS: 'published' keeps and checks them "
        "(truncated ids mapped), 'derived' grades with the labels the runs derive. Either way "
        "the agreement of the two is reported. Tasks without labels always get derived ones.",
    ),
    executor: str = ExecutorOpt,
    ray_address: str | None = RayAddressOpt,
) -> None:
    """Validate tasks: the empty patch must fail and the gold patch pass the FAIL_TO_PASS tests.

    Example: swegym validate --tasks bundled --runs 3 --json
    """
    rows = get_tasks(tasks, ids, skip_invalid)
    if clock not in (None, "task", "real"):
        raise typer.BadParameter("--clock must be 'task' or 'real'")
    if labels not in ("published", "derived"):
        raise typer.BadParameter("--labels must be 'published' or 'derived'")
    config = SandboxConfig.model_validate({"clock": clock} if clock else {})
    with use_executor(executor_scope(executor, ray_address, config)):
        summary = validate_tasks(
            rows,
            out,
            runs=runs,
            workers=workers,
            mirrors=mirrors(mirror, mirror_root),
            fresh=fresh,
            quiet=as_json,
            config=config,
            date_check=date_check,
            labels="derived" if labels == "derived" else "published",
        )
    print_summary(summary, as_json=as_json)


def print_summary(summary: ValidationSummary, *, as_json: bool) -> None:
    """The summary as JSON (with every task's result), or a table of them and the totals."""
    if as_json:
        typer.echo(summary.to_json(with_results=True))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="validation")
    cols = ("instance_id", "status", "F2P", "P2P", "flaky", "dated", "build s", "test s", "labels", "reason")
    for col in cols:
        table.add_column(col)
    for r in sorted(summary.results, key=lambda r: r.instance_id):
        color = {"valid": "green", "invalid": "yellow", "error": "red"}[r.status]
        table.add_row(
            r.instance_id,
            f"[{color}]{r.status}",
            str(len(r.FAIL_TO_PASS)),
            str(len(r.PASS_TO_PASS)),
            str(len(r.flaky)),
            str(len(r.date_dependent)),
            f"{r.build_seconds:.1f}",
            f"{r.test_seconds:.1f}",
            r.agreement.describe()[:40] if r.agreement else r.labels,
            r.reason[:80],
        )
    console = Console()
    console.print(table)
    console.print(
        f"total {summary.total}  valid {summary.valid}  invalid {summary.invalid}  "
        f"errors {summary.errors}  -> {summary.tasks_file}"
    )
    if summary.agreement:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.agreement.items()))
        console.print(f"published labels vs derived: {counts} (why: --json, or {summary.results_file})")
    logs = sorted({r.build_log for r in summary.results if r.build_log})
    if logs:
        console.print("env build logs: " + ", ".join(logs))
    if summary.date_dependent:
        clocks = ", ".join(f"{k} {v}" for k, v in sorted(summary.clocks.items()))
        console.print(
            f"date-dependent tests ('dated') in {len(summary.date_dependent)} tasks; clock: {clocks}"
        )
