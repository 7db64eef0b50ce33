"""Options and helpers shared by the commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from swegym.sandbox.config import SandboxConfig
from swegym.sources.materialize import mirrors_under, parse_mirrors
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

if TYPE_CHECKING:
    from swegym.executors import Executor

TASKS_HELP = (
    "Tasks: a .jsonl/.json/.parquet file, a directory, bundled[:lite|full], swe-gym[:lite[:PATH]] "
    "or hf:NAME[:SPLIT]."
)
TasksOpt = typer.Option("bundled:lite", "--tasks", "-t", help=TASKS_HELP)
IdsOpt = typer.Option(None, "--id", help="Only these instance ids (repeatable).")
MirrorOpt = typer.Option(None, "--mirror", help="owner/repo=PATH: clone from a local mirror.")
MirrorRootOpt = typer.Option(
    None,
    "--mirror-root",
    help="A directory of mirrors: DIR/<owner>+<name>/repo or DIR/<owner>__<name> (a --mirror wins).",
)
SkipOpt = typer.Option(False, "--skip-invalid", help="Load the good rows, report the bad ones.")


def default_workers() -> int:
    """Parallel tasks by default: one per core."""
    return max(1, os.cpu_count() or 1)


def get_tasks(source: str, ids: list[str] | None, skip_invalid: bool) -> list[Task]:
    """Load tasks, printing one line per skipped bad row."""
    result = load_tasks(source, skip_invalid=skip_invalid, ids=ids or None)
    for err in result.errors:
        typer.secho(f"skipped: {err}", fg="yellow", err=True)
    return result.tasks


def mirrors(items: list[str] | None, root: Path | None = None) -> dict[str, str]:
    """Parse --mirror options over the mirrors found under --mirror-root."""
    return {**(mirrors_under(root) if root else {}), **parse_mirrors(items or [])}


ExecutorOpt = typer.Option(
    "local",
    "--executor",
    help="Where units run: local (a thread pool here) or ray (a Ray cluster; pip install 'swegym[ray]').",
)
RayAddressOpt = typer.Option(
    None,
    "--ray-address",
    help="The Ray cluster for --executor ray (default: $RAY_ADDRESS, else a Ray started here).",
)


def executor_scope(name: str, address: str | None, sandbox: SandboxConfig | None = None) -> Executor:
    """The executor that --executor/--ray-address name, for ``with use_executor(...)``; a unit
    reserves what one sandbox with ``sandbox``'s limits may use."""
    from swegym.executors import UnitResources, make_executor

    if address and name != "ray":
        raise typer.BadParameter("--ray-address needs --executor ray")
    limits = sandbox or SandboxConfig()
    resources = UnitResources.from_sandbox(limits.memory_mb)
    return make_executor(name, address=address, resources=resources)
