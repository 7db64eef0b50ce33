"""`swegym serve-env`: the tasks as an OpenEnv environment server (needs the ``rl`` extra)."""

from __future__ import annotations

from pathlib import Path

import typer

from swegym.cli.common import IdsOpt, MirrorOpt, MirrorRootOpt, TasksOpt, mirrors


def serve_env(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind; anything but loopback needs a token."
    ),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535),
    tasks: str = TasksOpt,
    ids: list[str] = IdsOpt,
    max_sessions: int | None = typer.Option(
        None,
        "--max-sessions",
        min=1,
        help="Concurrent sessions (default: 8 per grading slot); more are refused.",
    ),
    grade_workers: int | None = typer.Option(
        None, "--grade-workers", min=1, help="Episodes graded at once (default: by cores and memory)."
    ),
    session_timeout: float = typer.Option(
        900.0, "--session-timeout", help="Close sessions idle this long (s)."
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="SWEGYM_SERVE_TOKEN",
        help="Required of every request (Bearer or Basic password).",
    ),
    allow_origin: list[str] = typer.Option(
        [],
        "--allow-origin",
        help="A browser origin (https://host:port) allowed to call the server; repeatable.",
    ),
    max_body_mb: float = typer.Option(
        8.0, "--max-body-mb", min=0.01, help="Largest request body / WebSocket message (MiB)."
    ),
    max_turns: int = typer.Option(30, "--max-turns", min=1),
    max_seconds: float = typer.Option(1800.0, "--max-seconds", help="Wall-clock limit of an episode."),
    prepare: bool = typer.Option(
        True, "--prepare/--no-prepare", help="Build the tasks' envs before listening."
    ),
    mirror: list[str] = MirrorOpt,
    mirror_root: Path | None = MirrorRootOpt,
) -> None:
    """Serve reset / step / state / close over WebSocket (/ws, OpenEnv's protocol) and HTTP
    (/sessions), one sandbox per session, the reward from the grader.

    Example: swegym serve-env --tasks bundled:lite --port 8000   (then see docs/rl.md)
    """
    from swegym.agent.env import EnvConfig
    from swegym.agent.loop import AgentConfig
    from swegym.extras import import_extra
    from swegym.server.config import INSTALL_RL, ServeConfig, ServeError, check_bind

    cfg = ServeConfig(
        host=host,
        port=port,
        tasks=tasks,
        ids=ids or [],
        max_sessions=max_sessions,
        grade_workers=grade_workers,
        session_timeout=session_timeout,
        token=token,
        allow_origins=allow_origin or [],
        max_body_mb=max_body_mb,
        prepare=prepare,
        env=EnvConfig(mirrors=mirrors(mirror, mirror_root)),
        agent=AgentConfig(max_turns=max_turns, max_seconds=max_seconds),
    )
    check_bind(cfg)  # before anything slow: a refused bind costs nothing
    server = import_extra(
        "swegym.server.app",
        needed_by="swegym serve-env",
        package="openenv-core",
        install=INSTALL_RL,
        error=ServeError,
    )
    served = server.load_served_tasks(cfg)
    app = server.create_app(cfg, served)
    typer.echo(
        f"swegym serve-env: {len(served)} tasks, up to {cfg.sessions()} sessions, "
        f"{cfg.graders()} graded at once; http://{cfg.host}:{cfg.port} (WebSocket /ws, HTTP /sessions)"
    )
    server.run(app, cfg)
