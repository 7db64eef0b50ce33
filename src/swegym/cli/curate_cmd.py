"""`swegym curate`: make new tasks from a repository's history or from injected bugs."""

from __future__ import annotations

import typer

from swegym.cli import curate_mine_cmd, curate_synth_cmd

app = typer.Typer(help="Curate new tasks: mine fix commits, or synthesize bugs.", no_args_is_help=True)
app.command("synth")(curate_synth_cmd.synth)
app.command("mine")(curate_mine_cmd.mine)
