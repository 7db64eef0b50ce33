"""PNG plots of a rollout report (needs matplotlib: ``pip install 'swegym[plots]'``).

matplotlib is imported lazily inside :func:`write_plots`, so importing this module never
requires it. Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg
canvas directly; pyplot's global state and the user's configured backend are left alone.
Each plot is one function that draws a `Report` section on a new figure.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from swegym.metrics.schema import PassAtK, Report

__all__ = ["PLOT_FILES", "write_plots"]

#: File names written by :func:`write_plots`, in order.
PLOT_FILES: tuple[str, ...] = ("pass_at_k.png", "outcomes.png", "repo_resolve_rate.png", "turns_hist.png")

_MAX_REPOS = 40

Figure = Any
"""A matplotlib Figure class or instance (matplotlib is optional, so it is not imported here)."""


def _no_data(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=ax.transAxes, color="gray")
    ax.set_xticks([])
    ax.set_yticks([])


def _annotate_task_counts(ax: Any, rows: list[PassAtK]) -> None:
    """Label each point with its number of tasks when they differ along the curve."""
    if len({r.tasks for r in rows}) <= 1:
        return
    # Larger k only uses tasks with >= k graded samples: show how many, the curve mixes sets.
    for r in rows:
        ax.annotate(
            f"{r.tasks}",
            (r.k, 100 * (r.value or 0.0)),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=7,
            color="gray",
        )
    ax.text(
        0.01, 0.99, "numbers: tasks with n >= k", transform=ax.transAxes, va="top", fontsize=7, color="gray"
    )


def _pass_at_k(report: Report, figure: Figure) -> Figure:
    """The pass@k curve with its bootstrap CI band."""
    fig = figure(figsize=(6, 4))
    ax = fig.add_subplot()
    rows = [r for r in report.pass_at_k if r.value is not None]
    if rows:
        ks = [r.k for r in rows]
        ax.plot(ks, [100 * (r.value or 0.0) for r in rows], marker="o", color="C0", label="pass@k")
        ax.fill_between(
            ks,
            [100 * (r.ci_low or 0.0) for r in rows],
            [100 * (r.ci_high or 0.0) for r in rows],
            color="C0",
            alpha=0.2,
            label="95% CI (bootstrap over tasks)",
        )
        _annotate_task_counts(ax, rows)
        ax.set_xticks(ks)
        ax.set_xlim(min(ks) - 0.25, max(ks) + 0.25)
        top = max(100 * (r.ci_high or 0.0) for r in rows)
        ax.set_ylim(0, min(100, max(5.0, top * 1.15)))
        ax.set_xlabel("k (attempts per task)")
        ax.set_ylabel("pass@k (%)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    else:
        _no_data(ax, "graded episodes")
    ax.set_title(f"pass@k ({report.totals.tasks} tasks, {report.totals.episodes} episodes)")
    return fig


def _outcomes(report: Report, figure: Figure) -> Figure:
    """Episodes per outcome (outcomes with none are left out)."""
    outcomes = {k: v for k, v in report.outcomes.items() if v}
    fig = figure(figsize=(7, 4))
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
    return fig


def _repo_resolve_rate(report: Report, figure: Figure) -> Figure:
    """Resolve rate per repository (horizontal bars, most tasks first from the top)."""
    repos = [r for r in report.per_repo if r.resolve_rate is not None][:_MAX_REPOS]
    fig = figure(figsize=(7, max(2.5, 0.6 + 0.28 * len(repos))))
    ax = fig.add_subplot()
    if repos:
        labels = [f"{r.repo} ({r.tasks})" for r in repos][::-1]
        rates = [100 * (r.resolve_rate or 0.0) for r in repos][::-1]
        bars = ax.barh(labels, rates, color="C0")
        ax.bar_label(bars, labels=[f"{v:.0f}%" for v in rates], fontsize=7, padding=2)
        ax.set_xlim(0, 110)
        ax.set_xlabel("resolve rate over graded episodes (%)  [label: repo (tasks)]")
        ax.tick_params(axis="y", labelsize=8)
    else:
        _no_data(ax, "graded episodes")
    ax.set_title("resolve rate per repository")
    return fig


def _turns_hist(report: Report, figure: Figure) -> Figure:
    """Histogram of turns per episode (one bin per turn count when they span 60 or fewer)."""
    turns = report.distributions.turns
    fig = figure(figsize=(6, 4))
    ax = fig.add_subplot()
    if turns:
        lo, hi = min(turns), max(turns)
        bins: Any = [x - 0.5 for x in range(lo, hi + 2)] if hi - lo + 1 <= 60 else 40
        ax.hist(turns, bins=bins, color="C0", edgecolor="white")
        ax.set_xlabel("turns per episode")
        ax.set_ylabel("episodes")
        ax.grid(alpha=0.3, axis="y")
    else:
        _no_data(ax, "turn counts")
    ax.set_title("turns per episode")
    return fig


_DRAW: tuple[Callable[[Report, Figure], Figure], ...] = (
    _pass_at_k,
    _outcomes,
    _repo_resolve_rate,
    _turns_hist,
)


def write_plots(report: Report, out_dir: Path, dpi: int = 120) -> list[Path]:
    """Write the report's plots as PNG files into ``out_dir`` (created if missing).

    Files (see :data:`PLOT_FILES`): ``pass_at_k.png`` (pass@k curve with its bootstrap CI
    band), ``outcomes.png`` (episodes per outcome), ``repo_resolve_rate.png`` (resolve rate per
    repository, at most 40 repositories with the most tasks) and ``turns_hist.png`` (histogram
    of turns per episode). A plot with nothing to show still gets a file, saying so.

    Returns:
        The paths written, in :data:`PLOT_FILES` order.

    Raises:
        RuntimeError: if matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as MplFigure
    except ImportError as exc:
        raise RuntimeError(
            "plotting needs matplotlib, which is not installed; install it with: pip install 'swegym[plots]'"
        ) from exc

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, draw in zip(PLOT_FILES, _DRAW, strict=True):
        fig = draw(report, MplFigure)
        FigureCanvasAgg(fig)
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=dpi)
        written.append(out_dir / name)
    return written
