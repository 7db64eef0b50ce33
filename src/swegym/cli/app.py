"""Entry point: builds the typer app and turns every ``SwegymError`` into one clear line."""

from __future__ import annotations

import sys

import typer

from swegym.cli import (
    curate_cmd,
    env_cmd,
    eval_cmd,
    experiment_cmd,
    rerank_cmd,
    rollout_cmd,
    serve_cmd,
    tasks_cmd,
    train_cmd,
    validate_cmd,
    view_cmd,
)
from swegym.errors import SwegymError

app = typer.Typer(
    name="swegym",
    help="Executable training environments for software-engineering agents, without Docker.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(tasks_cmd.app, name="tasks")
app.add_typer(env_cmd.app, name="env")
app.add_typer(curate_cmd.app, name="curate")
app.command("validate")(validate_cmd.validate)
app.command("eval")(eval_cmd.evaluate)
app.command("rollout")(rollout_cmd.rollout)
app.command("report")(rollout_cmd.report)
app.command("export")(rollout_cmd.export)
app.add_typer(train_cmd.app, name="train")
app.command("rerank")(rerank_cmd.rerank)
app.add_typer(experiment_cmd.app, name="experiment")
app.command("serve-env")(serve_cmd.serve_env)
app.command("view")(view_cmd.view)


def main() -> None:
    """Run the CLI; errors of ours become `error: <message>` and exit status 2."""
    try:
        app()
    except SwegymError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted: rerun the same command to resume", fg="yellow", err=True)
        sys.exit(130)
