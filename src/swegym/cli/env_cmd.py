"""`swegym env build|shell`."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from swegym.cli.common import (
    IdsOpt,
    MirrorOpt,
    MirrorRootOpt,
    SkipOpt,
    TasksOpt,
    default_workers,
    get_tasks,
    mirrors,
)

app = typer.Typer(help="Build environments and open shells in task sandboxes.", no_args_is_help=True)


@app.command("build")
def build(
    tasks: str = TasksOpt,
    ids: list[str] = IdsOpt,
    mirror: list[str] = MirrorOpt,
    mirror_root: Path | None = MirrorRootOpt,
    skip_invalid: bool = SkipOpt,
    force: bool = typer.Option(False, "--force", help="Rebuild even if built."),
    workers: int = typer.Option(default_workers(), "--workers", "-w", min=1),
) -> None:
    """Build the environments the tasks need (one per repo and version).

    Example: swegym env build --tasks bundled:lite
    """
    from swegym.envs.task_envs import build_task_envs
    from swegym.harness.versioncmd import sandbox_runner

    rows = get_tasks(tasks, ids, skip_invalid)
    found = build_task_envs(
        rows, mirrors=mirrors(mirror, mirror_root), force=force, workers=workers, run_command=sandbox_runner()
    )
    for rep in found:
        typer.echo(f"{rep.repo} {rep.version}: {rep.path} ({rep.size_mb} MB, {rep.seconds:.1f} s)")


@app.command("shell")
def shell(
    instance_id: str = typer.Argument(..., help="Task whose sandbox to open."),
    tasks: str = typer.Option("bundled", "--tasks", "-t"),
    mirror: list[str] = MirrorOpt,
    mirror_root: Path | None = MirrorRootOpt,
    network: bool = typer.Option(False, "--network", help="Share the host network (off by default)."),
    gold: bool = typer.Option(False, "--gold", help="Apply the gold patch first."),
) -> None:
    """Open an interactive shell in a task's sandbox (repo at /testbed, env activated).

    Example: swegym env shell pallets__click-2500
    """
    import tempfile

    from swegym.harness.runner import prepare
    from swegym.sandbox.config import SandboxConfig
    from swegym.sandbox.factory import open_sandbox
    from swegym.sandbox.layout import INPUT_MOUNT

    (task,) = get_tasks(tasks, [instance_id], False)
    prep = prepare(task, mirrors(mirror, mirror_root))
    with tempfile.TemporaryDirectory(prefix="swegym-shell-") as tmp:
        (Path(tmp) / "gold.patch").write_text(task.patch)
        layout = prep.layout().with_binds((Path(tmp), INPUT_MOUNT))
        sandbox = open_sandbox(layout, SandboxConfig(network=network))
        setup = f"git apply {INPUT_MOUNT}/gold.patch && echo 'gold patch applied'" if gold else ""
        typer.echo(f"{task.instance_id}: repo at /testbed, env at /opt/swegym/env; exit to leave")
        env = {"TERM": os.environ.get("TERM", "xterm"), "PS1": f"({instance_id}) \\w$ "}
        sandbox.interactive(setup, env)
