"""`swegym curate synth`: synthetic bugs in a project its own tests catch, validated into tasks."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import typer

from swegym.cli.common import default_workers
from swegym.errors import SwegymError


def _repo_for(project: str) -> str:
    """The spec table's repo whose name is ``project`` (e.g. 'click' -> 'pallets/click')."""
    from swegym.envs.spec import load_spec_table

    norm = re.sub(r"[-_.]+", "-", project).lower()
    hits = [r for r in load_spec_table() if re.sub(r"[-_.]+", "-", r.split("/")[1]).lower() == norm]
    if len(hits) != 1:
        why = "no spec names it" if not hits else f"several specs match: {', '.join(hits)}"
        raise SwegymError(f"--source {project}: {why}; pass --repo OWNER/NAME")
    return hits[0]


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
) -> None:
    """Inject bugs that the project's own tests catch; keep and validate them as tasks.

    Example: swegym curate synth --source pypi:cachetools==5.3.2 --repo tkem/cachetools --n 25
    """
    from swegym.cli.validate_cmd import run_validation
    from swegym.curate.mutations import KINDS
    from swegym.curate.synth import SynthConfig, probe_task, synthesize
    from swegym.curate.synthcheck import screen_leaks
    from swegym.sources.gitsource import resolve_rev
    from swegym.sources.materialize import resolve_source
    from swegym.sources.pypi import download_sdist, parse_pypi_source
    from swegym.tasks.export import export_tasks

    if source.startswith("pypi:"):
        ref = parse_pypi_source(source)
        repo = repo or _repo_for(ref.name)
        version = version or ref.version
        project = ref.name
    elif source.startswith("git:"):
        url, _, rev = source[4:].rpartition("@")
        if not url or not rev or not repo or not version:
            raise SwegymError(f"--source {source}: use git:URL@REV with --repo OWNER/NAME and --version KEY")
        project = repo.split("/")[1]
    else:
        raise SwegymError(f"--source {source}: expected pypi:NAME==VERSION or git:URL@REV")
    cfg = SynthConfig(
        source=source if source.startswith("pypi:") else url,
        project=project,
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
    start = time.perf_counter()
    if source.startswith("pypi:"):
        _, commit = resolve_source(source, repo)
        _, sha = download_sdist(parse_pypi_source(source))
    else:
        commit, sha = resolve_rev(cfg.source, rev), None
    rewriter = _rewriter(model, base_url) if model else None
    raw, report = synthesize(cfg, out, probe_task(cfg, commit, sha), rewriter=rewriter, progress=not as_json)
    clean, leaked = screen_leaks(raw)
    export_tasks(clean, out / "raw.jsonl")
    summary: dict[str, object] = {**report.model_dump(), "leaked": leaked, "raw": len(clean)}
    if validate and clean:
        vsum = run_validation(
            clean, out / "tasks.jsonl", runs=runs, workers=workers, mirrors={}, fresh=False, as_json=True
        )
        validated = int(str(vsum.get("valid", 0)))
        summary["validated"] = validated
    else:
        validated = len(clean)
    total = time.perf_counter() - start
    summary["seconds"] = round(total, 1)
    kept = validated
    summary["seconds_per_task"] = round(total / kept, 1) if kept else None
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(
            f"tried {report.tried}  kept {report.kept}  leak-free {len(clean)}  "
            f"validated {summary.get('validated', '-')}  {summary['seconds']} s "
            f"({summary['seconds_per_task']} s per task) -> {out}"
        )


REWRITE_PROMPT = (
    "Rewrite this bug report as a GitHub issue written by a user of the library: a short title, "
    "what they did, what happened, what they expected. Keep the reproduction code and the error "
    "message. Do not guess where the bug is or how to fix it. Reply with the issue only.\n\n"
)


def _rewriter(model: str, base_url: str) -> Callable[[str], str]:
    """A statement rewriter over an OpenAI-compatible endpoint."""
    from swegym.agent.models.openai_compat import OpenAICompatModel, OpenAIConfig

    client = OpenAICompatModel(OpenAIConfig(model=model, base_url=base_url, temperature=0.3, max_tokens=800))

    def run(statement: str) -> str:
        reply = client.complete([{"role": "user", "content": REWRITE_PROMPT + statement}], [])
        return reply.content

    return run
