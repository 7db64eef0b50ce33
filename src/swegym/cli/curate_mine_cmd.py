"""`swegym curate mine`: fix commits from a repository's history, validated into tasks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from swegym.cli.common import default_workers

STAGE_LABELS = {
    "commits_scanned": "commits scanned (mainline)",
    "candidates": "change code and tests",
    "raw": "raw instances",
    "leak_free": "leak-free",
    "spec_proposed": "env spec proposed",
    "selected": "selected (--max-tasks)",
    "env_built": "env built",
    "validated": "validated tasks",
}


def mine(
    repo: str = typer.Option(..., "--repo", help="A git URL or a local repository (bare mirrors work)."),
    out: Path = typer.Option(Path("runs/mine"), "--out", "-o", help="Output directory."),
    name: str | None = typer.Option(
        None, "--name", help="owner/name for the tasks (default: from the URL or origin remote)."
    ),
    ref: str = typer.Option("HEAD", "--ref", help="Branch or commit whose mainline is walked."),
    since: str | None = typer.Option(None, "--since", help="Only commits after this date (git syntax)."),
    until: str | None = typer.Option(None, "--until", help="Only commits before this date."),
    max_commits: int | None = typer.Option(None, "--max-commits", min=1, help="Walk this many commits."),
    max_tasks: int | None = typer.Option(
        None, "--max-tasks", min=1, help="Validate at most this many instances (newest first)."
    ),
    workers: int = typer.Option(default_workers(), "--workers", "-w", min=1),
    runs: int = typer.Option(1, "--runs", min=1, help="Validation runs per task (flaky tests)."),
    validate: bool = typer.Option(True, "--validate/--no-validate", help="Build envs and validate."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Mine fix commits that change code and tests; validate them into tasks.

    Base commit = the parent, gold patch = the Python code of the diff, test patch = its test
    files. Problem statements come from the linked GitHub issue when GITHUB_TOKEN is set and the
    API answers, else from the commit and PR message (marked in each task's meta).

    Example: swegym curate mine --repo https://github.com/pallets/itsdangerous --max-tasks 20
    """
    from swegym.curate.mine.pipeline import MineConfig, run_mine

    cfg = MineConfig(
        repo=repo,
        out=out,
        name=name,
        ref=ref,
        since=since,
        until=until,
        max_commits=max_commits,
        max_tasks=max_tasks,
        workers=workers,
        runs=runs,
        validate=validate,
        quiet=as_json,
    )
    summary = run_mine(cfg)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        print_summary(summary, out)


def print_summary(summary: dict[str, Any], out: Path) -> None:
    """The stage funnel as a table, then where the outputs are."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"curate mine: {summary['repo']}")
    table.add_column("stage")
    table.add_column("count", justify="right")
    table.add_column("top reasons for drops")
    stages: dict[str, int] = summary["stages"]
    dropped: dict[str, dict[str, int]] = summary.get("dropped", {})
    for key, count in stages.items():
        reasons = dropped.get(key, {})
        if key == "validated":
            reasons = summary.get("validation_dropped", {})
        top = ", ".join(f"{r} ({n})" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:3])
        table.add_row(STAGE_LABELS.get(key, key), str(count), top)
    console = Console()
    console.print(table)
    envs = summary.get("envs")
    if envs:
        console.print(
            f"specs proposed {summary['specs_proposed']}, envs needed {envs['needed']}, "
            f"built {envs['built']}, kept {len(summary.get('specs_kept', []))}"
        )
    secs = ", ".join(f"{k} {v:.0f}s" for k, v in summary["seconds"].items())
    console.print(f"time: {secs}")
    console.print(f"outputs in {out}: raw.jsonl, tasks.jsonl, specs/, rejected.jsonl, summary.json")
