"""`swegym curate synth`: synthetic bugs in a project its own tests catch, validated into tasks."""

from __future__ import annotations

from pathlib import Path

import typer

from swegym.cli.common import ExecutorOpt, RayAddressOpt, default_workers, executor_scope


def synth(
    source: str = typer.Option(..., "--source", help="pypi:NAME==VERSION: the project to inject bugs into."),
    n: int = typer.Option(20, "--n", min=1, help="Bugs to keep before validation."),
    out: Path = typer.Option(Path("runs/synth"), "--out", "-o", help="Output directory."),
    repo: str | None = typer.Option(None, "--repo", help="owner/name of the env spec (default: guessed)."),
    version: str | None = typer.Option(None, "--version", help="Env spec version (default: the source's)."),
    tests: list[str] = typer.Option(["tests"], "--tests", help="Test paths to cover (repeatable)."),
    kinds: list[str] = typer.Option(None, "--kind", help="Only these edit kinds (repeatable)."),
    seed: int = typer.Option(0, "--seed"),
    max_tries: int | None = typer.Option(None, "--max-tries", help="Candidates to try (default 8 x n)."),
    workers: int = typer.Option(default_workers(), "--workers", "-w", min=1),
    max_test_files: int = typer.Option(
        3, "--max-test-files", min=1, help="Test files a task runs (those reaching the bug most)."
    ),
    runs: int = typer.Option(3, "--runs", min=1, help="Validation runs per kept bug."),
    validate: bool = typer.Option(True, "--validate/--no-validate", help="Validate kept bugs into tasks."),
    model: str | None = typer.Option(
        None, "--model", help="Rewrite problem statements with this model (served at --base-url)."
    ),
    base_url: str = typer.Option(
        "http://127.0.0.1:8000/v1", "--base-url", help="OpenAI-compatible endpoint."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    executor: str = ExecutorOpt,
    ray_address: str | None = RayAddressOpt,
) -> None:
    """Inject bugs that the project's own tests catch; keep and validate them as tasks.

    Example: swegym curate synth --source pypi:cachetools==5.3.2 --repo tkem/cachetools --n 25
    """
    from swegym.curate.synth.mutations import KINDS
    from swegym.curate.synth.pipeline import run_synth
    from swegym.curate.synth.sources import synth_config
    from swegym.curate.synth.statements import openai_rewriter
    from swegym.executors import use_executor

    cfg = synth_config(
        source,
        repo=repo,
        version=version,
        n=n,
        tests=tests,
        kinds=kinds or list(KINDS),
        seed=seed,
        max_tries=max_tries,
        workers=workers,
        max_test_files=max_test_files,
    )
    rewriter = openai_rewriter(model, base_url) if model else None
    with use_executor(executor_scope(executor, ray_address)):
        summary = run_synth(cfg, out, runs=runs, validate=validate, rewriter=rewriter, progress=not as_json)
    if summary.validation is not None:
        typer.echo(summary.validation.to_json())  # the validation summary, printed first as before
    if as_json:
        typer.echo(summary.to_json())
    else:
        typer.echo(
            f"tried {summary.tried}  kept {summary.kept}  leak-free {summary.raw}  "
            f"validated {'-' if summary.validated is None else summary.validated}  {summary.seconds} s "
            f"({summary.seconds_per_task} s per task) -> {out}"
        )
