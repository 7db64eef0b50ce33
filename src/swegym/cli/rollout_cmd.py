"""`swegym rollout`, `swegym report`, `swegym export`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from swegym.cli.common import (
    ExecutorOpt,
    MirrorOpt,
    MirrorRootOpt,
    RayAddressOpt,
    SkipOpt,
    TasksOpt,
    executor_scope,
    get_tasks,
    mirrors,
)
from swegym.errors import SwegymError

if TYPE_CHECKING:
    from swegym.agent.loop import EpisodeResult
    from swegym.agent.models.factory import ModelConfig
    from swegym.metrics.report import Report
    from swegym.rollouts.run import RolloutConfig
    from swegym.rollouts.store import RunStore
    from swegym.tasks.model import Task


_MODEL_HELP = "local (the built-in model, served on this machine), oracle, wrong, or a served model name."
MODEL = typer.Option("local", "--model", "-m", help=_MODEL_HELP)
BASE_URL = typer.Option(
    None,
    "--base-url",
    help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1; repeat it for replicas of the "
    "model (requests go to the least busy).",
)
K = typer.Option(1, "--k", min=1, help="Episodes per task.")
TEMPERATURE = typer.Option(0.0, "--temperature", "-T")
MAX_TURNS = typer.Option(30, "--max-turns", min=1)
MAX_SECONDS = typer.Option(1800, "--max-seconds")
MAX_CONTEXT = typer.Option(32000, "--max-context-tokens")
MAX_TOKENS = typer.Option(1024, "--max-tokens", help="Most tokens per model reply.")
MAX_OBS = typer.Option(20000, "--max-observation-chars", help="Cut longer tool outputs (middle elided).")
WORKERS = typer.Option(0, "--workers", "-w", help="Parallel episodes (0: by cores and memory).")
TEXT_CALLS = typer.Option(
    None,
    "--text-tool-calls/--native-tool-calls",
    help="Tool-call format (default: text for local, native otherwise).",
)
API_KEY_ENV = typer.Option("OPENAI_API_KEY", "--api-key-env")
MODEL_PATH = typer.Option(None, "--model-path", help="A GGUF file for --model local.")
N_CTX = typer.Option(8192, "--n-ctx", min=256, help="Context size of the local server.")
LOCAL_BACKEND = typer.Option(
    "transformers",
    "--local-backend",
    help="Server of --model local: transformers (torch) or llamacpp (swegym[llamacpp]).",
)
TOOL_GRAMMAR = typer.Option(
    True,
    "--tool-grammar/--free-replies",
    help="Constrain --model local to one well-formed tool call per reply.",
)
IDS = typer.Option(None, "--id", help="Only these instance ids.")
MAX_TASKS = typer.Option(
    0, "--max-tasks", min=0, help="Only N tasks, taken in turn from each repository (0: all)."
)


def rollout(
    out: Path = typer.Option(..., "--out", "-o", help="Run directory (runs/NAME); rerun to resume."),
    tasks: str = TasksOpt,
    model: str = MODEL,
    base_url: list[str] | None = BASE_URL,
    k: int = K,
    temperature: float = TEMPERATURE,
    max_turns: int = MAX_TURNS,
    max_seconds: float = MAX_SECONDS,
    max_context: int = MAX_CONTEXT,
    max_tokens: int = MAX_TOKENS,
    max_obs: int = MAX_OBS,
    workers: int = WORKERS,
    text_tool_calls: bool | None = TEXT_CALLS,
    api_key_env: str = API_KEY_ENV,
    model_path: Path | None = MODEL_PATH,
    n_ctx: int = N_CTX,
    local_backend: str = LOCAL_BACKEND,
    tool_grammar: bool = TOOL_GRAMMAR,
    ids: list[str] = IDS,
    max_tasks: int = MAX_TASKS,
    mirror: list[str] = MirrorOpt,
    mirror_root: Path | None = MirrorRootOpt,
    skip_invalid: bool = SkipOpt,
    executor: str = ExecutorOpt,
    ray_address: str | None = RayAddressOpt,
) -> None:
    """Roll out an agent: K episodes per task, in parallel, into runs/NAME/rollouts.db.

    Example: swegym rollout --tasks bundled:lite --model oracle --k 2 --out runs/oracle
    """
    from swegym.agent.env import EnvConfig
    from swegym.agent.loop import AgentConfig
    from swegym.executors import use_executor
    from swegym.rollouts.run import RolloutConfig
    from swegym.tasks.select import round_robin_by_repo

    m = _model_config(
        model, base_url or [], temperature, max_tokens, text_tool_calls, api_key_env, local_backend
    )
    # Validated again (model_copy would not), so the config's bounds hold for these fields too.
    m = type(m).model_validate(
        {**m.model_dump(), "model_path": model_path, "n_ctx": n_ctx, "tool_grammar": tool_grammar}
    )
    # The local server's window holds the prompt and the reply.
    context = min(max_context, n_ctx - max_tokens) if m.starts_local_server else max_context
    agent = AgentConfig(
        max_turns=max_turns,
        max_seconds=max_seconds,
        max_context_tokens=context,
        text_tool_calls=m.uses_text_tool_calls,
        max_observation_chars=max_obs,
    )
    env = EnvConfig(mirrors=mirrors(mirror, mirror_root))
    cfg = RolloutConfig(tasks=tasks, k=k, model=m, agent=agent, env=env, workers=workers)
    rows = round_robin_by_repo(get_tasks(tasks, ids, skip_invalid), max_tasks)
    if executor == "ray" and m.starts_local_server:
        raise SwegymError(
            "--executor ray with --model local: the built-in server runs on this machine only; "
            "serve the model on the cluster and pass each endpoint with --base-url"
        )
    with use_executor(executor_scope(executor, ray_address, env.sandbox)):
        store = _run_with_progress(rows, cfg, out)
    _write_report(out, store, quiet=False)


def _model_config(
    name: str,
    base_urls: list[str],
    temperature: float,
    max_tokens: int,
    text_tool_calls: bool | None,
    api_key_env: str,
    local_backend: str,
) -> ModelConfig:
    from swegym.agent.models.factory import ModelConfig

    if local_backend not in ("transformers", "llamacpp"):
        raise SwegymError(f"--local-backend {local_backend!r}: use transformers or llamacpp")
    return ModelConfig(
        name=name,
        base_url=base_urls[0] if base_urls else None,
        base_urls=base_urls if len(base_urls) > 1 else [],
        temperature=temperature,
        max_tokens=max_tokens,
        text_tool_calls=text_tool_calls,
        api_key_env=api_key_env,
        local_backend=local_backend,  # type: ignore[arg-type]
    )


def _run_with_progress(rows: list[Task], cfg: RolloutConfig, out: Path) -> RunStore:
    """Run the rollout under a progress bar (episodes done, resolved so far), then say what ran."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from swegym.rollouts.run import run_rollout

    progress = Progress(
        TextColumn("[bold]rollout"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("resolved {task.fields[resolved]}"),
    )
    bar = progress.add_task("rollout", total=0, resolved=0)
    resolved = [0]

    def on_start(planned: int, done: int, already_resolved: int) -> None:
        resolved[0] = already_resolved
        progress.update(bar, total=planned, completed=done, resolved=already_resolved)

    def on_done(res: EpisodeResult) -> None:
        resolved[0] += int(bool(res.resolved))
        progress.update(bar, advance=1, resolved=resolved[0])

    start = time.perf_counter()
    with progress:
        stats, store = run_rollout(rows, cfg, out, on_start=on_start, on_done=on_done)
    typer.echo(
        f"ran {stats.ran} episodes in {time.perf_counter() - start:.0f} s ({stats.resolved} resolved); "
        f"{stats.already_done} were already done, {stats.dropped_unfinished} unfinished restarted -> {out}"
    )
    return store


def _write_report(run: Path, store: RunStore, quiet: bool) -> Report:
    from swegym.metrics.render import render_text
    from swegym.metrics.report import write_report

    report = write_report(run, store)
    if not quiet:
        typer.echo(render_text(report))
    return report


def report(
    run: Path = typer.Argument(..., help="A run directory made by `swegym rollout`."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots (needs matplotlib)."),
    as_json: bool = typer.Option(False, "--json", help="Print report.json instead of tables."),
) -> None:
    """Resolve rate, pass@k with bootstrap CIs, per-repo table, tokens, time split, failures.

    Example: swegym report runs/oracle
    """
    from swegym.rollouts.store import RunStore

    store = RunStore(run, create=False)
    rep = _write_report(run, store, quiet=as_json)
    if plots:
        from swegym.metrics.plots import write_plots

        try:
            paths = write_plots(rep, run / "plots")
        except RuntimeError as exc:
            raise SwegymError(str(exc)) from None
        if not as_json:
            typer.echo(f"plots: {', '.join(str(p) for p in paths)}")
    if as_json:
        typer.echo(json.dumps(rep.model_dump(mode="json"), indent=2))


def export(
    run: Path = typer.Argument(..., help="A run directory made by `swegym rollout`."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl, parquet, hf or predictions."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (directory for hf)."),
    sample: int = typer.Option(0, "--sample", help="Which sample to write as predictions."),
) -> None:
    """Export a run's episodes (messages with tool calls) or SWE-bench predictions.

    Example: swegym export runs/oracle --format predictions --out preds.jsonl
    """
    from swegym.rollouts.export import export_run
    from swegym.rollouts.store import RunStore

    n = export_run(RunStore(run, create=False), fmt, out, sample=sample)
    typer.echo(f"wrote {n} rows to {out}")
