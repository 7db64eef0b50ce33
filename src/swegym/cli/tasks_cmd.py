"""`swegym tasks list|show|export|build`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

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
)

app = typer.Typer(help="Inspect, export and build task sets.", no_args_is_help=True)


@app.command("list")
def list_tasks(
    tasks: str = TasksOpt,
    skip_invalid: bool = SkipOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
) -> None:
    """List tasks. Example: swegym tasks list --tasks bundled"""
    rows = get_tasks(tasks, None, skip_invalid)
    if as_json:
        for t in rows:
            typer.echo(
                json.dumps(
                    {
                        "instance_id": t.instance_id,
                        "repo": t.repo,
                        "version": t.version,
                        "split": t.split,
                        "FAIL_TO_PASS": len(t.FAIL_TO_PASS),
                    }
                )
            )
        return
    table = Table(title=f"{len(rows)} tasks from {tasks}")
    for col in ("instance_id", "repo", "version", "split", "F2P", "P2P"):
        table.add_column(col)
    for t in rows:
        table.add_row(
            t.instance_id,
            t.repo,
            t.version,
            t.split or "",
            str(len(t.FAIL_TO_PASS)),
            str(len(t.PASS_TO_PASS)),
        )
    Console().print(table)


@app.command("show")
def show(
    instance_id: str = typer.Argument(..., help="The task's instance_id."),
    tasks: str = typer.Option("bundled", "--tasks", "-t"),
    patches: bool = typer.Option(False, "--patches", help="Also print the gold and test patches."),
) -> None:
    """Show one task. Example: swegym tasks show pallets__click-2500"""
    (task,) = get_tasks(tasks, [instance_id], False)
    data = task.model_dump()
    if not patches:
        data["patch"] = f"<{len(task.patch.splitlines())} lines; --patches to show>"
        data["test_patch"] = f"<{len(task.test_patch.splitlines())} lines; --patches to show>"
    typer.echo(json.dumps(data, indent=2))


@app.command("export")
def export(
    out: Path = typer.Argument(..., help="Output file: .jsonl or .parquet."),
    tasks: str = TasksOpt,
    ids: list[str] = IdsOpt,
    skip_invalid: bool = SkipOpt,
    json_strings: bool = typer.Option(
        False, "--json-strings", help="Write FAIL_TO_PASS/PASS_TO_PASS as JSON strings (SWE-bench)."
    ),
) -> None:
    """Export tasks. Example: swegym tasks export lite.parquet --tasks bundled:lite"""
    from swegym.tasks.export import export_tasks

    rows = get_tasks(tasks, ids, skip_invalid)
    export_tasks(rows, out, json_strings=json_strings)
    typer.echo(f"wrote {len(rows)} tasks to {out}")


@app.command("build")
def build(
    recipes: Path = typer.Argument(..., help="Directory of task recipes (one sub-directory each)."),
    out: Path = typer.Option(..., "--out", "-o", help="Validated tasks (.jsonl)."),
    runs: int = typer.Option(3, "--runs", help="Validation runs per task."),
    workers: int = typer.Option(default_workers(), "--workers", "-w"),
) -> None:
    """Build tasks from recipes and keep those that validate.

    Example: swegym tasks build datasets/bundled --out src/swegym/data/bundled.jsonl
    """
    from swegym.cli.validate_cmd import print_summary
    from swegym.harness.validation_run import validate_tasks
    from swegym.sources.recipes import load_recipe, recipe_dirs

    loaded = [load_recipe(d) for d in recipe_dirs(recipes)]
    summary = validate_tasks(loaded, out, runs=runs, workers=workers, mirrors={}, fresh=False, quiet=False)
    print_summary(summary, as_json=False)


@app.command("check")
def check(
    tasks: str = TasksOpt,
    runs: int = typer.Option(3, "--runs", min=1, help="Validation runs per task."),
    workers: int = typer.Option(default_workers(), "--workers", "-w"),
    out: Path = typer.Option(Path("runs/check"), "--out", "-o", help="Journal, logs and report."),
    ids: list[str] = IdsOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    mirror: list[str] = MirrorOpt,
    mirror_root: Path | None = MirrorRootOpt,
    executor: str = ExecutorOpt,
    ray_address: str | None = RayAddressOpt,
) -> None:
    """Re-verify a dataset: every task must validate again with identical labels and no leak.

    Exits 1 when any task fails. Example: swegym tasks check --tasks bundled:lite
    """
    from collections import Counter

    from swegym.cli.common import mirrors as parse_mirror_opts
    from swegym.cli.validate_cmd import print_summary
    from swegym.curate.dataset_check import check_dataset
    from swegym.executors import use_executor

    rows = get_tasks(tasks, ids, False)
    with use_executor(executor_scope(executor, ray_address)):
        found = parse_mirror_opts(mirror, mirror_root)
        checked = check_dataset(rows, out, runs=runs, workers=workers, mirrors=found)
    print_summary(checked.validation, as_json=True)  # the revalidation's summary, as before
    results = checked.results
    counts = Counter(r.status for r in results)
    report: dict[str, object] = {
        "total": len(results),
        **{k: counts.get(k, 0) for k in ("ok", "changed", "invalid", "error", "leak")},
    }
    report["failing"] = [r.model_dump() for r in results if r.status != "ok"]
    (out / "check.json").write_text(json.dumps(report, indent=2))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        for r in results:
            if r.status != "ok":
                typer.secho(f"{r.instance_id}: {r.status}: {r.detail}", fg="yellow")
        typer.echo(
            " ".join(f"{k} {v}" for k, v in report.items() if k != "failing") + f" -> {out / 'check.json'}"
        )
    if report["ok"] != report["total"]:
        raise typer.Exit(1)


@app.command("version")
def version(
    tasks: str = TasksOpt,
    mirror: list[str] = typer.Option(None, "--mirror", help="owner/repo=PATH: a clone with tags."),
    mirror_root: Path | None = MirrorRootOpt,
    ids: list[str] = IdsOpt,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the tasks with empty versions filled (.jsonl/.parquet)."
    ),
    redetect: bool = typer.Option(
        False, "--all", help="Detect every task's version, also those that have one (to compare)."
    ),
) -> None:
    """Detect the versions of tasks that have none (SWE-Gym's rule per repository).

    Exits 1 when a version cannot be detected. Example:
    swegym tasks version --tasks rebuilt.jsonl --mirror getmoto/moto=../moto --out filled.jsonl
    """
    from swegym.cli.common import mirrors as parse_mirror_opts
    from swegym.harness.versioncmd import sandbox_runner
    from swegym.sources.versions import detect_versions
    from swegym.tasks.export import export_tasks

    rows_in = get_tasks(tasks, ids, False)
    filled, rows = detect_versions(
        rows_in, parse_mirror_opts(mirror, mirror_root), redetect=redetect, run_command=sandbox_runner()
    )
    for r in rows:
        if r.error:
            typer.secho(f"{r.instance_id}: {r.error}", fg="red", err=True)
        elif r.detected:
            same = (
                ""
                if not r.given
                else ("  (same as given)" if r.given == r.detected else f"  (given {r.given})")
            )
            typer.echo(f"{r.instance_id}\t{r.detected}\t{r.method}: {r.raw}{same}")
        else:
            typer.echo(f"{r.instance_id}\t{r.given}\tgiven")
    if out is not None:
        export_tasks(filled, out)
        typer.echo(f"wrote {len(filled)} tasks to {out}")
    if any(r.error for r in rows):
        raise typer.Exit(1)
