"""`swegym view`: a local, read-only web viewer over one or more rollout runs."""

from __future__ import annotations

from pathlib import Path

import typer


def view(
    runs: list[Path] = typer.Argument(..., help="Run directories (runs/NAME), made by `swegym rollout`."),
    port: int = typer.Option(8765, "--port", "-p", min=0, max=65535, help="Port (0: any free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    scores: list[Path] = typer.Option(
        None, "--scores", help="A rerank's scores.jsonl per run, in run order (default RUN/rerank/)."
    ),
) -> None:
    """Browse runs in a web browser: overview, episode list, trajectories, diffs, grades.

    Example: swegym view runs/qwen-t05 runs/oracle --port 8765
    """
    from swegym.viewer.server import ViewerConfig, is_loopback, make_server

    server = make_server(ViewerConfig(runs=runs, host=host, port=port, scores=list(scores or [])))
    if not is_loopback(host):
        typer.secho(
            f"warning: {host} is not loopback: anyone who reaches it can read these runs", fg="yellow"
        )
    total = sum(r.episodes for r in server.index.runs)
    typer.echo(f"serving {len(runs)} run(s), {total} episodes at {server.url} (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()
