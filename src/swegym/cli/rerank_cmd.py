"""`swegym rerank`: Best@K with a trained verifier (optionally plus execution signals)."""

from __future__ import annotations

from pathlib import Path

import typer


def rerank(
    runs: list[Path] = typer.Option(..., "--runs", help="Rollout run directories (repeatable)."),
    verifier: str = typer.Option(..., "--verifier", help="Checkpoint from `swegym train verifier`."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output directory (default RUN/rerank)."),
    score: str = typer.Option("verifier", "--score", help="verifier, or hybrid (adds execution signals)."),
    tasks: str | None = typer.Option(None, "--tasks", help="Task source for hybrid (default: the run's)."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap replicates for the CIs."),
) -> None:
    """Score every episode, pick the best per task, report Best@k / Pass@k / Random@k with CIs.

    Example: swegym rerank --runs runs/qwen-t05 --verifier ckpt/verifier --score hybrid
    """
    from swegym.errors import TrainError
    from swegym.train.rerank import RerankConfig
    from swegym.train.rerank import rerank as run_rerank

    if score not in ("verifier", "hybrid"):
        raise TrainError(f"unknown --score {score!r}; choose verifier or hybrid")
    cfg = RerankConfig(runs=runs, verifier=verifier, out=out, score=score, tasks=tasks, n_boot=n_boot)  # type: ignore[arg-type]
    rep = run_rerank(cfg)
    typer.echo(f"{'k':>3} {'tasks':>5} {'Best@k':>14} {'Pass@k':>14} {'Random@k':>14}")
    for r in rep["metrics"]:
        cells = [
            f"{100 * r[f'{n}_at_k']:5.1f} [{100 * r[f'{n}_ci'][0]:3.0f},{100 * r[f'{n}_ci'][1]:3.0f}]"
            for n in ("best", "pass", "random")
        ]
        typer.echo(f"{r['k']:>3} {r['tasks']:>5} " + " ".join(f"{c:>14}" for c in cells))
    tampered = f", {rep['picked_tampered']} tampered" if rep.get("picked_tampered") else ""
    typer.echo(f"picked {rep['picked_resolved']}/{rep['tasks']} resolved{tampered}; wrote {rep['out']}")
