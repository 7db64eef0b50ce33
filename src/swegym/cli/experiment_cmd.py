"""`swegym experiment scaling`: the data-scaling study as one command."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Experiments that chain training and rollouts.", no_args_is_help=True)


@app.command("scaling")
def scaling(
    config: Path = typer.Option(..., "--config", "-c", help="Experiment file (JSON or TOML)."),
) -> None:
    """Fine-tune on nested subsets of N1 < N2 < ... trajectories, roll each out, report resolve rates.

    Example: swegym experiment scaling --config experiments/scaling.toml   (on a GPU machine with vLLM)
    """
    from swegym.train.scaling import load_scaling_config, run_scaling

    rep = run_scaling(load_scaling_config(config))
    for r in rep["results"]:
        typer.echo(f"{r['trajectories']:>6} trajectories: resolve rate {100 * r['resolve_rate']:.1f}%")
    typer.echo(f"wrote {rep['out']}/scaling.json")
