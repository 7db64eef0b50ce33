"""A `Report` as a compact plain-text summary (what ``swegym report`` prints), one block per section."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from swegym.metrics.schema import Report, TimeSplit, ToolCallStats, Totals

__all__ = ["render_text"]

Kind = Literal["num", "pct", "int"]


def _fmt(value: float | None, kind: Kind = "num") -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{100.0 * value:.1f}%"
    if kind == "int":
        return f"{int(value):,}"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        # First column left-aligned (names), the rest right-aligned (numbers).
        parts = [cells[0].ljust(widths[0])] + [
            cell.rjust(w) for cell, w in zip(cells[1:], widths[1:], strict=True)
        ]
        return (indent + "  ".join(parts)).rstrip()

    out = [line(headers), indent + "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in rows)
    return out


def _totals(t: Totals) -> list[str]:
    per_task = str(t.K) if t.min_samples == t.K else f"{t.min_samples}..{t.K}"
    dup = f"  duplicate samples {t.duplicate_samples}" if t.duplicate_samples else ""
    # Shown only when there is one, so that a run with none reads as before.
    tampered = f"  tampered {t.tampered:,}" if t.tampered else ""
    return [
        f"episodes {t.episodes:,}  tasks {t.tasks:,}  repos {t.repos:,}  samples/task {per_task}",
        f"resolved {t.resolved:,}/{t.graded:,} graded ({_fmt(t.resolve_rate, 'pct')})  "
        f"errors {t.errors:,} ({_fmt(t.error_rate, 'pct')})" + tampered + dup,
    ]


def _pass_at_k(report: Report) -> list[str]:
    rows = [
        [
            str(r.k),
            str(r.tasks),
            _fmt(r.value, "pct"),
            "-" if r.value is None else f"[{_fmt(r.ci_low, 'pct')}, {_fmt(r.ci_high, 'pct')}]",
        ]
        for r in report.pass_at_k
    ]
    return ["", "pass@k (95% bootstrap CI over tasks)", *_table(["k", "tasks", "pass@k", "CI"], rows)]


def _outcomes(report: Report) -> list[str]:
    outcomes = {k: v for k, v in report.outcomes.items() if v}
    total = sum(outcomes.values()) or 1
    rows = [[name, f"{n:,}", _fmt(n / total, "pct")] for name, n in outcomes.items()]
    return ["", "outcomes", *_table(["outcome", "episodes", "share"], rows)]


def _per_repo(report: Report, max_repos: int) -> list[str]:
    repos = report.per_repo
    more = f" (top {max_repos} of {len(repos)} by tasks)" if len(repos) > max_repos else ""
    rows = [
        [r.repo, str(r.tasks), str(r.episodes), _fmt(r.resolve_rate, "pct"), _fmt(r.pass_at_1, "pct")]
        for r in repos[:max_repos]
    ]
    return ["", "per repository" + more, *_table(["repo", "tasks", "episodes", "resolve", "pass@1"], rows)]


def _by_config(report: Report) -> list[str]:
    if not report.by_config:
        return []
    rows = [
        [
            r.model,
            "-" if r.temperature is None else f"{r.temperature:g}",
            str(r.tasks),
            str(r.episodes),
            _fmt(r.resolve_rate, "pct"),
            _fmt(r.pass_at_1, "pct"),
        ]
        for r in report.by_config
    ]
    headers = ["model", "temp", "tasks", "episodes", "resolve", "pass@1"]
    return ["", "per model / temperature", *_table(headers, rows)]


def _per_episode(report: Report) -> list[str]:
    rows = [[field, _fmt(s.mean), _fmt(s.median)] for field, s in report.episode_stats.items() if s.count]
    return ["", "per episode", *_table(["", "mean", "median"], rows)]


def _time_split(split: TimeSplit) -> list[str]:
    if split.model_share is None:
        return []
    return [
        f"  time split: model {_fmt(split.model_share, 'pct')}, "
        f"env {_fmt(split.env_share, 'pct')}, other {_fmt(split.other_share, 'pct')}"
    ]


def _tool_calls(calls: ToolCallStats) -> list[str]:
    if not calls.episodes:
        return []  # a run made before swegym counted tool calls
    return [
        f"  tool calls: {_fmt(calls.mean)} per episode (median {_fmt(calls.median)}), "
        f"{calls.total:,} in all, {_fmt(calls.parsed_share, 'pct')} parsed"
    ]


def render_text(report: Report, max_repos: int = 20) -> str:
    """Render a report from :func:`~swegym.metrics.report.build_report` as plain text.

    Args:
        report: the report.
        max_repos: show at most this many repositories (those with the most tasks).
    """
    lines = [
        *_totals(report.totals),
        *_pass_at_k(report),
        *_outcomes(report),
        *_per_repo(report, max_repos),
        *_by_config(report),
        *_per_episode(report),
        *_time_split(report.time_split),
        *_tool_calls(report.tool_calls),
    ]
    return "\n".join(lines) + "\n"
