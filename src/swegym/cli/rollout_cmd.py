"""`swegym rollout`, `swegym report`, `swegym export`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from swegym.cli.common import MirrorOpt, SkipOpt, TasksOpt, get_tasks, mirrors
from swegym.errors import SwegymError

if TYPE_CHECKING:
    from swegym.metrics.report import Report
    from swegym.rollouts.store import RunStore


def rollout(
    out: Path = typer.Option(..., "--out", "-o", help="Run directory (runs/NAME); rerun to resume."),
    tasks: str = TasksOpt,
    model: str = typer.Option(
        "local",
        "--model",
        "-m",
        help="local (the built-in model, served on this machine), oracle, wrong, or a served model name.",
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1"
    ),
    k: int = typer.Option(1, "--k", min=1, help="Episodes per task."),
    temperature: float = typer.Option(0.0, "--temperature", "-T"),
    max_turns: int = typer.Option(30, "--max-turns", min=1),
    max_seconds: float = typer.Option(1800, "--max-seconds"),
    max_context: int = typer.Option(32000, "--max-context-tokens"),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Most tokens per model reply."),
    max_obs: int = typer.Option(
        20000, "--max-observation-chars", help="Cut longer tool outputs (middle elided)."
    ),
    workers: int = typer.Option(0, "--workers", "-w", help="Parallel episodes (0: by cores and memory)."),
    text_tool_calls: bool | None = typer.Option(
        None,
        "--text-tool-calls/--native-tool-calls",
        help="Tool-call format (default: text for local, native otherwise).",
    ),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env"),
    model_path: Path | None = typer.Option(None, "--model-path", help="A GGUF file for --model local."),
    n_ctx: int = typer.Option(8192, "--n-ctx", help="Context size of the local server."),
    local_backend: str = typer.Option(
        "transformers",
        "--local-backend",
        help="Server of --model local: transformers (torch) or llamacpp (swegym[llamacpp]).",
    ),
    tool_grammar: bool = typer.Option(
        True,
        "--tool-grammar/--free-replies",
        help="Constrain --model local to one well-formed tool call per reply.",
    ),
    ids: list[str] = typer.Option(None, "--id", help="Only these instance ids."),
    max_tasks: int = typer.Option(
        0, "--max-tasks", min=0, help="Only N tasks, taken in turn from each repository (0: all)."
    ),
    mirror: list[str] = MirrorOpt,
    skip_invalid: bool = SkipOpt,
) -> None:
    """Roll out an agent: K episodes per task, in parallel, into runs/NAME/rollouts.db.

    Example: swegym rollout --tasks bundled:lite --model oracle --k 2 --out runs/oracle
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from swegym.agent.env import EnvConfig
    from swegym.agent.loop import AgentConfig
    from swegym.agent.models.factory import ModelConfig, make_model
    from swegym.rollouts.runner import default_workers
    from swegym.rollouts.runner import rollout as run_rollout
    from swegym.rollouts.store import RunStore

    if local_backend not in ("transformers", "llamacpp"):
        raise SwegymError(f"--local-backend {local_backend!r}: use transformers or llamacpp")
    model_cfg = ModelConfig(
        name=model,
        base_url=base_url,
        temperature=temperature,
        max_tokens=max_tokens,
        text_tool_calls=text_tool_calls,
        api_key_env=api_key_env,
        local_backend=local_backend,  # type: ignore[arg-type]
        model_path=model_path,
        n_ctx=n_ctx,
        tool_grammar=tool_grammar,
    )
    rows = _spread(get_tasks(tasks, ids, skip_invalid), max_tasks)
    env_cfg = EnvConfig(mirrors=mirrors(mirror))
    agent = AgentConfig(
        max_turns=max_turns,
        max_seconds=max_seconds,
        max_context_tokens=min(max_context, n_ctx - max_tokens)
        if model_cfg.starts_local_server
        else max_context,
        text_tool_calls=model_cfg.uses_text_tool_calls,
    )
    store = RunStore(out)
    settings = {
        "model": model,
        "base_url": base_url,
        "temperature": temperature,
        "tasks": tasks,
        "agent": agent.model_dump(),
    }
    previous = store.get_meta("settings") or {}
    changed = sorted(k for k in settings if k != "tasks" and k in previous and previous[k] != settings[k])
    if changed:
        raise SwegymError(
            f"{out} holds a run made with other settings ({', '.join(changed)}); resume with the same "
            "settings or pick another --out"
        )
    store.set_meta("settings", settings)
    # The local server answers one request at a time and keeps one prompt cache, so parallel
    # episodes would only evict each other's cache.
    n_workers = workers or (
        1 if model_cfg.starts_local_server else default_workers(env_cfg.sandbox.memory_mb)
    )
    with make_model(model_cfg) as factory:
        progress = Progress(
            TextColumn("[bold]rollout"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("resolved {task.fields[resolved]}"),
        )
        with progress:
            bar = progress.add_task(
                "rollout", total=len(rows) * k, resolved=0, completed=len(store.done_keys())
            )
            counter = {"resolved": sum(1 for e in store.episodes() if e.resolved)}

            def on_done(res: Any) -> None:
                counter["resolved"] += int(bool(res.resolved))
                progress.update(bar, advance=1, resolved=counter["resolved"])

            start = time.perf_counter()
            stats = run_rollout(
                rows,
                factory,
                store,
                k=k,
                workers=n_workers,
                temperature=temperature,
                agent=agent,
                env=env_cfg,
                on_done=on_done,
            )
    typer.echo(
        f"ran {stats.ran} episodes in {time.perf_counter() - start:.0f} s ({stats.resolved} resolved); "
        f"{stats.already_done} were already done, {stats.dropped_unfinished} unfinished restarted -> {out}"
    )
    _write_report(out, store, quiet=False)


def _spread(rows: list[Any], n: int) -> list[Any]:
    """The first ``n`` tasks taken round-robin over repositories (all when ``n`` is 0), in order."""
    if not n or n >= len(rows):
        return rows
    by_repo: dict[str, list[Any]] = {}
    for row in rows:
        by_repo.setdefault(row.repo, []).append(row)
    picked: list[Any] = []
    while len(picked) < n:
        for queue in by_repo.values():
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    return sorted(picked, key=rows.index)


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
