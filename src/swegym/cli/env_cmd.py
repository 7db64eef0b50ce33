"""`swegym env build|shell`."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import typer

from swegym.cli.common import IdsOpt, MirrorOpt, SkipOpt, TasksOpt, default_workers, get_tasks, mirrors

app = typer.Typer(help="Build environments and open shells in task sandboxes.", no_args_is_help=True)


@app.command("build")
def build(
    tasks: str = TasksOpt,
    ids: list[str] = IdsOpt,
    mirror: list[str] = MirrorOpt,
    skip_invalid: bool = SkipOpt,
    force: bool = typer.Option(False, "--force", help="Rebuild even if built."),
    workers: int = typer.Option(default_workers(), "--workers", "-w", min=1),
) -> None:
    """Build the environments the tasks need (one per repo and version).

    Example: swegym env build --tasks bundled:lite
    """
    from concurrent.futures import ThreadPoolExecutor

    from swegym.envs.builder import build_env
    from swegym.envs.spec import get_spec
    from swegym.sources.materialize import materialize

    rows = get_tasks(tasks, ids, skip_invalid)
    firsts: dict[tuple[str, str], object] = {}
    for t in rows:
        firsts.setdefault((t.repo, t.version), t)
    mir = mirrors(mirror)

    def one(task: object) -> str:
        from swegym.tasks.model import Task

        assert isinstance(task, Task)
        start = time.perf_counter()
        env = build_env(get_spec(task.repo, task.version), materialize(task, mir), force=force)
        took = time.perf_counter() - start
        return f"{task.repo} {task.version}: {env.path} ({env.info.get('size_mb')} MB, {took:.1f} s)"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for line in pool.map(one, firsts.values()):
            typer.echo(line)


@app.command("shell")
def shell(
    instance_id: str = typer.Argument(..., help="Task whose sandbox to open."),
    tasks: str = typer.Option("bundled", "--tasks", "-t"),
    mirror: list[str] = MirrorOpt,
    network: bool = typer.Option(False, "--network", help="Share the host network (off by default)."),
    gold: bool = typer.Option(False, "--gold", help="Apply the gold patch first."),
) -> None:
    """Open an interactive shell in a task's sandbox (repo at /testbed, env activated).

    Example: swegym env shell pallets__click-2500
    """
    from swegym.harness.runner import prepare
    from swegym.sandbox.bwrap import INPUT_MOUNT, build_argv, find_bwrap
    from swegym.sandbox.config import SandboxConfig
    from swegym.sandbox.limits import Limits
    from swegym.sandbox.local import LocalSandbox

    (task,) = get_tasks(tasks, [instance_id], False)
    prep = prepare(task, mirrors(mirror))
    config = SandboxConfig(network=network)
    sbx = LocalSandbox(prep.layout(), config)
    layout, work = sbx._prepare("shell")
    patch = work / "gold.patch"
    patch.write_text(task.patch)
    layout.ro_binds = [*layout.ro_binds, (work, INPUT_MOUNT)]
    limits = Limits(config.memory_mb, config.pids)
    limits.setup()
    argv = build_argv(
        find_bwrap(), layout, network=network, tmp_size_mb=config.tmp_size_mb, repo_mode=config.repo_mode
    )
    argv += ["--setenv", "TERM", os.environ.get("TERM", "xterm"), "--setenv", "PS1", f"({instance_id}) \\w$ "]
    inner = f"git apply {INPUT_MOUNT}/gold.patch && echo 'gold patch applied'; " if gold else ""
    try:
        typer.echo(f"{task.instance_id}: repo at /testbed, env at /opt/swegym/env; exit to leave")
        subprocess.run(limits.wrap([*argv, "/bin/bash", "-c", inner + "exec /bin/bash --norc -i"]))
    finally:
        limits.cleanup()
        import shutil

        shutil.rmtree(Path(work), ignore_errors=True)
