"""`swegym rerank`: score every episode, pick the best per task, report Best@k / Pass@k / Random@k."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from swegym.errors import TrainError
from swegym.harness.verdict import Outcome
from swegym.metrics.bestk import best_at_k, bootstrap_mean_ci, random_at_k
from swegym.metrics.passk import pass_at_k
from swegym.rollouts.records import EpisodeRecord
from swegym.train.episodes import load_episodes

DEFAULT_WEIGHTS = {"verifier": 0.5, "applies": 0.2, "existing_tests": 0.2, "agent_tests": 0.1}


class RerankConfig(BaseModel):
    """`swegym rerank`: which runs, which verifier, how to combine signals, where to write."""

    runs: list[Path]
    verifier: str
    """A checkpoint made by `swegym train verifier` (or any causal LM name or directory)."""
    out: Path | None = None
    """Output directory (default: `<first run>/rerank`)."""
    score: Literal["verifier", "hybrid"] = "verifier"
    """`hybrid` adds execution signals that need no gold tests (needs the tasks and sandbox)."""
    tasks: str | None = None
    """Task source for `hybrid` (default: the one the run was made with)."""
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    n_boot: int = Field(default=1000, ge=1)
    seed: int = 0


class Scored(BaseModel):
    """An episode with the score that ranks it among its task's episodes."""

    episode: EpisodeRecord
    score: float


def _success(ep: EpisodeRecord) -> bool:
    # A tampered episode stays a candidate (the reranker cannot know) but is never a success.
    return bool(ep.resolved) and not ep.tampered


def metrics_table(groups: dict[str, list[Scored]], n_boot: int, seed: int) -> list[dict[str, Any]]:
    """Best@k, Pass@k and Random@k with bootstrap CIs for k = 1..K (tasks with n >= k)."""
    kmax = max(len(g) for g in groups.values())
    rows = []
    for k in range(1, kmax + 1):
        tasks = [g for g in groups.values() if len(g) >= k]
        vals: dict[str, list[float]] = {"best": [], "pass": [], "random": []}
        for g in tasks:
            scores = [s.score for s in g]
            res = [_success(s.episode) for s in g]
            vals["best"].append(best_at_k(scores, res, k))
            vals["pass"].append(pass_at_k(len(res), sum(res), k))
            vals["random"].append(random_at_k(res, k))
        row: dict[str, Any] = {"k": k, "tasks": len(tasks)}
        for name, v in vals.items():
            lo, hi = bootstrap_mean_ci(v, n_boot=n_boot, seed=seed)
            row[f"{name}_at_k"] = sum(v) / len(v)
            row[f"{name}_ci"] = [lo, hi]
        rows.append(row)
    return rows


def pick_best(groups: dict[str, list[Scored]]) -> list[EpisodeRecord]:
    """The highest-scored episode of each task (the earliest sample on ties)."""
    return [max(g, key=lambda s: (s.score, -s.episode.sample)).episode for _, g in sorted(groups.items())]


def _scorer(cfg: RerankConfig) -> Callable[[EpisodeRecord], dict[str, Any]]:
    from swegym.train.verifier import Verifier

    verifier = Verifier(cfg.verifier)
    if cfg.score == "verifier":
        return lambda ep: {"p_yes": verifier.score(ep)}
    from swegym.tasks.loaders import load_tasks
    from swegym.train.signals import execution_signals, hybrid_score

    tasks_src = cfg.tasks or _run_tasks_source(cfg.runs[0])
    tasks = {t.instance_id: t for t in load_tasks(tasks_src).tasks}

    def score(ep: EpisodeRecord) -> dict[str, Any]:
        task = tasks.get(ep.instance_id)
        if task is None:
            raise TrainError(f"task {ep.instance_id} is not in {tasks_src}; pass --tasks")
        p = verifier.score(ep)
        sig = execution_signals(task, ep.diff or "")
        return {"p_yes": p, "signals": sig.model_dump(), "hybrid": hybrid_score(p, sig, cfg.weights)}

    return score


def _run_tasks_source(run: Path) -> str:
    from swegym.rollouts.store import RunStore

    store = RunStore(run, create=False)
    try:
        src = (store.get_meta("settings") or {}).get("tasks")
    finally:
        store.close()
    if not src:
        raise TrainError(f"{run}: the run does not say which tasks it used; pass --tasks")
    return str(src)


def rerank(cfg: RerankConfig, on_scored: Callable[[], None] | None = None) -> dict[str, Any]:
    """Score, pick, and write ``predictions.jsonl``, ``scores.jsonl``, ``rerank.json``, ``rerank.png``."""
    episodes = [e for e in load_episodes(cfg.runs) if e.outcome != Outcome.INFRA_ERROR]
    if not episodes:
        raise TrainError("no graded episode to rerank (all ended in infrastructure errors)")
    out = cfg.out or cfg.runs[0] / "rerank"
    out.mkdir(parents=True, exist_ok=True)
    scorer = _scorer(cfg)
    groups: dict[str, list[Scored]] = defaultdict(list)
    with (out / "scores.jsonl").open("w") as fh:
        for ep in episodes:
            info = scorer(ep)
            scored = Scored(episode=ep, score=info["hybrid"] if cfg.score == "hybrid" else info["p_yes"])
            groups[ep.instance_id].append(scored)
            row = {"instance_id": ep.instance_id, "sample": ep.sample, "run": ep.run, "resolved": ep.resolved}
            fh.write(json.dumps({**row, "score": scored.score, **info}) + "\n")
            if on_scored:
                on_scored()
    best = pick_best(groups)
    with (out / "predictions.jsonl").open("w") as fh:
        for ep in best:
            pred = {"instance_id": ep.instance_id, "model_name_or_path": f"{ep.model}+rerank"}
            fh.write(json.dumps({**pred, "model_patch": ep.diff or ""}) + "\n")
    report = {
        "score": cfg.score,
        "verifier": cfg.verifier,
        "tasks": len(groups),
        "episodes": len(episodes),
        "picked_resolved": sum(_success(e) for e in best),
        "picked_tampered": sum(e.tampered for e in best),
        "metrics": metrics_table(groups, cfg.n_boot, cfg.seed),
    }
    (out / "rerank.json").write_text(json.dumps(report, indent=2))
    plot_rerank(report, out / "rerank.png")
    report["out"] = str(out)
    return report


def plot_rerank(report: dict[str, Any], path: Path) -> None:
    """Best@k, Pass@k and Random@k against k, with their bootstrap bands."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rows = report["metrics"]
    ks = [r["k"] for r in rows]
    for i, (name, label) in enumerate((("pass", "Pass@k"), ("best", "Best@k"), ("random", "Random@k"))):
        ax.plot(ks, [100 * r[f"{name}_at_k"] for r in rows], marker="o", color=f"C{i}", label=label)
        lo = [100 * r[f"{name}_ci"][0] for r in rows]
        hi = [100 * r[f"{name}_ci"][1] for r in rows]
        ax.fill_between(ks, lo, hi, color=f"C{i}", alpha=0.15)
    ax.set_xticks(ks)
    ax.set_ylim(0, 105)
    ax.set_xlabel("k (samples per task)")
    ax.set_ylabel("resolved (%)")
    ax.set_title(f"rerank ({report['score']}): {report['tasks']} tasks, 95% bootstrap CIs")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
