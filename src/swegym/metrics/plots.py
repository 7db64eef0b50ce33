"""PNG plots of a rollout report (needs matplotlib: ``pip install 'swegym[plots]'``).

matplotlib is imported lazily inside :func:`write_plots`, so importing this module never
requires it. Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg
canvas directly; pyplot's global state and the user's configured backend are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["PLOT_FILES", "write_plots"]

#: File names written by :func:`write_plots`, in order.
PLOT_FILES: tuple[str, ...] = ("pass_at_k.png", "outcomes.png", "repo_resolve_rate.png", "turns_hist.png")

_MAX_REPOS = 40


def _no_data(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=ax.transAxes, color="gray")
    ax.set_xticks([])
    ax.set_yticks([])


def write_plots(report: Mapping[str, Any], out_dir: Path, dpi: int = 120) -> list[Path]:
    """Write the report's plots as PNG files into ``out_dir`` (created if missing).

    Files (see :data:`PLOT_FILES`): ``pass_at_k.png`` (pass@k curve with its bootstrap CI
    band), ``outcomes.png`` (episodes per outcome), ``repo_resolve_rate.png`` (resolve rate per
    repository, at most 40 repositories with the most tasks) and ``turns_hist.png`` (histogram
    of turns per episode). A plot with nothing to show still gets a file, saying so.

    Args:
        report: the dict returned by :func:`swegym.metrics.report.build_report`.
        out_dir: destination directory.
        dpi: resolution of the PNGs.

    Returns:
        The paths written, in :data:`PLOT_FILES` order.

    Raises:
        RuntimeError: if matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise RuntimeError(
            "plotting needs matplotlib, which is not installed; install it with: pip install 'swegym[plots]'"
        ) from exc

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        FigureCanvasAgg(fig)
        fig.tight_layout()
        path = out_dir / name
        fig.savefig(path, dpi=dpi)
        written.append(path)

    totals = report.get("totals", {})
    subtitle = f"{totals.get('tasks', '?')} tasks, {totals.get('episodes', '?')} episodes"

    # 1. pass@k curve with CI band.
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    rows = [r for r in report.get("pass_at_k", []) if r.get("value") is not None]
    if rows:
        ks = [r["k"] for r in rows]
        ax.plot(ks, [100 * r["value"] for r in rows], marker="o", color="C0", label="pass@k")
        ax.fill_between(
            ks,
            [100 * r["ci_low"] for r in rows],
            [100 * r["ci_high"] for r in rows],
            color="C0",
            alpha=0.2,
            label="95% CI (bootstrap over tasks)",
        )
        if len({r["tasks"] for r in rows}) > 1:
            # Larger k only uses tasks with >= k graded samples: show how many, the curve mixes sets.
            for r in rows:
                ax.annotate(
                    f"{r['tasks']}",
                    (r["k"], 100 * r["value"]),
                    textcoords="offset points",
                    xytext=(0, 7),
                    ha="center",
                    fontsize=7,
                    color="gray",
                )
            ax.text(
                0.01,
                0.99,
                "numbers: tasks with n >= k",
                transform=ax.transAxes,
                va="top",
                fontsize=7,
                color="gray",
            )
        ax.set_xticks(ks)
        ax.set_xlim(min(ks) - 0.25, max(ks) + 0.25)
        top = max(100 * r["ci_high"] for r in rows)
        ax.set_ylim(0, min(100, max(5.0, top * 1.15)))
        ax.set_xlabel("k (attempts per task)")
        ax.set_ylabel("pass@k (%)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    else:
        _no_data(ax, "graded episodes")
    ax.set_title(f"pass@k ({subtitle})")
    save(fig, PLOT_FILES[0])

    # 2. Outcome bar chart.
    outcomes = {k: v for k, v in report.get("outcomes", {}).items() if v}
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    if outcomes:
        names = list(outcomes)
        colors = ["C2" if n == "resolved" else ("C3" if n.endswith("error") else "C1") for n in names]
        bars = ax.bar(names, list(outcomes.values()), color=colors)
        ax.bar_label(bars, fontsize=8)
        ax.set_ylabel("episodes")
        ax.tick_params(axis="x", labelrotation=30)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    else:
        _no_data(ax, "episodes")
    ax.set_title("episode outcomes")
    save(fig, PLOT_FILES[1])

    # 3. Per-repository resolve rate (horizontal bars, most tasks first from the top).
    repos = [r for r in report.get("per_repo", []) if r.get("resolve_rate") is not None][:_MAX_REPOS]
    fig = Figure(figsize=(7, max(2.5, 0.6 + 0.28 * len(repos))))
    ax = fig.add_subplot()
    if repos:
        labels = [f"{r['repo']} ({r['tasks']})" for r in repos][::-1]
        rates = [100 * r["resolve_rate"] for r in repos][::-1]
        bars = ax.barh(labels, rates, color="C0")
        ax.bar_label(bars, labels=[f"{v:.0f}%" for v in rates], fontsize=7, padding=2)
        ax.set_xlim(0, 110)
        ax.set_xlabel("resolve rate over graded episodes (%)  [label: repo (tasks)]")
        ax.tick_params(axis="y", labelsize=8)
    else:
        _no_data(ax, "graded episodes")
    ax.set_title("resolve rate per repository")
    save(fig, PLOT_FILES[2])

    # 4. Histogram of turns.
    turns = list(report.get("distributions", {}).get("turns", []))
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    if turns:
        lo, hi = min(turns), max(turns)
        span = hi - lo + 1
        if span <= 60:
            bins: Any = [x - 0.5 for x in range(lo, hi + 2)]
        else:
            bins = 40
        ax.hist(turns, bins=bins, color="C0", edgecolor="white")
        ax.set_xlabel("turns per episode")
        ax.set_ylabel("episodes")
        ax.grid(alpha=0.3, axis="y")
    else:
        _no_data(ax, "turn counts")
    ax.set_title("turns per episode")
    save(fig, PLOT_FILES[3])

    return written
