"""Aggregate a run's episode records into a `Report` (pass@k, per-repo table, costs, failures).

Conventions used throughout:

* An episode is *graded* when ``resolved`` is not ``None``. Episodes with ``resolved is None``
  are counted as errors and excluded from resolve rates and from pass@k: for a task, ``n`` is
  its number of graded episodes and ``c`` the number that resolved it. Tasks can therefore
  have different ``n``; pass@k only uses tasks with ``n >= k``.
* A *tampered* episode is graded and never resolved (`EpisodeRecord` makes sure of it), so it
  counts against resolve rates and pass@k like any failure, and the totals also count it alone.
* ``K`` is the largest number of episodes (graded or not) recorded for one task.
* Each section of the report is built by one function below, from the records alone.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from swegym.errors import SwegymError
from swegym.harness.verdict import OUTCOMES
from swegym.metrics.passk import bootstrap_ci, mean_pass_at_k
from swegym.metrics.schema import (
    ConfigRow,
    Distributions,
    FieldStats,
    GroupSummary,
    PassAtK,
    RepoRow,
    Report,
    RepoToolCalls,
    TimeSplit,
    ToolCallSection,
    ToolCallStats,
    Totals,
)
from swegym.rollouts.records import STAT_FIELDS, EpisodeRecord

if TYPE_CHECKING:
    from swegym.rollouts.store import RunStore

__all__ = ["Report", "build_report", "write_report"]

Counts = Mapping[str, tuple[int, int]]
"""``instance_id -> (graded episodes n, resolved episodes c)``."""


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _repo(ep: EpisodeRecord) -> str:
    return ep.repo or "unknown"


def _task_counts(episodes: Iterable[EpisodeRecord]) -> dict[str, tuple[int, int]]:
    """`Counts` of the episodes; tasks with n == 0 included."""
    n: dict[str, int] = defaultdict(int)
    c: dict[str, int] = defaultdict(int)
    for ep in episodes:
        n[ep.instance_id] += 0
        if ep.resolved is not None:
            n[ep.instance_id] += 1
            c[ep.instance_id] += int(ep.resolved)
    return {iid: (n[iid], c[iid]) for iid in n}


def _group_summary(episodes: Sequence[EpisodeRecord]) -> GroupSummary:
    counts = _task_counts(episodes)
    usable = [nc for nc in counts.values() if nc[0] >= 1]
    graded = [ep for ep in episodes if ep.resolved is not None]
    resolved = sum(1 for ep in graded if ep.resolved)
    return GroupSummary(
        tasks=len(counts),
        episodes=len(episodes),
        graded=len(graded),
        resolved=resolved,
        resolve_rate=_rate(resolved, len(graded)),
        pass_at_1=mean_pass_at_k(usable, 1) if usable else None,
    )


def _by_repo(episodes: Iterable[EpisodeRecord]) -> dict[str, list[EpisodeRecord]]:
    groups: dict[str, list[EpisodeRecord]] = defaultdict(list)
    for ep in episodes:
        groups[_repo(ep)].append(ep)
    return groups


def _numbers(episodes: Iterable[EpisodeRecord], field: str) -> list[float]:
    return [float(v) for v in (getattr(ep, field) for ep in episodes) if v is not None]


def _validate(episodes: Sequence[EpisodeRecord]) -> None:
    if not episodes:
        raise ValueError("build_report: no episodes given (is the rollout output empty?)")
    for i, ep in enumerate(episodes):
        if not isinstance(ep, EpisodeRecord):
            raise ValueError(f"build_report: episode #{i} is not an EpisodeRecord: {type(ep).__name__}")


def _duplicates(episodes: Iterable[EpisodeRecord]) -> int:
    seen: set[tuple[str | None, float | None, str, int]] = set()
    duplicates = 0
    for ep in episodes:
        key = (ep.model, ep.temperature, ep.instance_id, ep.sample)
        duplicates += key in seen
        seen.add(key)
    return duplicates


def totals_section(episodes: Sequence[EpisodeRecord]) -> Totals:
    """Counts over the whole run."""
    summary = _group_summary(episodes)
    per_task = Counter(ep.instance_id for ep in episodes)
    errors = summary.episodes - summary.graded
    return Totals(
        episodes=summary.episodes,
        tasks=summary.tasks,
        repos=len({_repo(ep) for ep in episodes}),
        K=max(per_task.values()),
        min_samples=min(per_task.values()),
        graded=summary.graded,
        resolved=summary.resolved,
        resolve_rate=summary.resolve_rate,
        errors=errors,
        error_rate=_rate(errors, summary.episodes),
        tampered=sum(1 for ep in episodes if ep.tampered),
        duplicate_samples=_duplicates(episodes),
    )


def pass_at_k_section(
    episodes: Sequence[EpisodeRecord], k_max: int, n_boot: int, alpha: float, seed: int
) -> list[PassAtK]:
    """pass@k for k = 1..k_max over the tasks with enough graded samples."""
    counts = _task_counts(episodes)
    rows = []
    for k in range(1, k_max + 1):
        eligible = [nc for nc in counts.values() if nc[0] >= k]
        row = PassAtK(k=k, tasks=len(eligible), value=None, ci_low=None, ci_high=None)
        if eligible:
            lo, hi = bootstrap_ci(eligible, k, n_boot=n_boot, alpha=alpha, seed=seed)
            row = row.model_copy(update={"value": mean_pass_at_k(eligible, k), "ci_low": lo, "ci_high": hi})
        rows.append(row)
    return rows


def per_repo_section(episodes: Sequence[EpisodeRecord]) -> list[RepoRow]:
    """One row per repository, most tasks first, then by name."""
    rows = [
        RepoRow(repo=repo, **_group_summary(eps).model_dump()) for repo, eps in _by_repo(episodes).items()
    ]
    return sorted(rows, key=lambda r: (-r.tasks, r.repo))


def episode_stats_section(episodes: Sequence[EpisodeRecord]) -> dict[str, FieldStats]:
    """Mean, median and total of each of `STAT_FIELDS` over the episodes that carry it."""
    stats = {}
    for field in STAT_FIELDS:
        values = _numbers(episodes, field)
        stats[field] = FieldStats(
            mean=statistics.fmean(values) if values else None,
            median=float(statistics.median(values)) if values else None,
            total=float(sum(values)) if values else None,
            count=len(values),
        )
    return stats


def time_split_section(stats: Mapping[str, FieldStats]) -> TimeSplit:
    """Where the summed episode time went (from `episode_stats_section`)."""
    total_s, model_s, env_s = (
        stats[f].total or 0.0 for f in ("total_seconds", "model_seconds", "env_seconds")
    )
    if total_s <= 0:
        return TimeSplit()
    return TimeSplit(
        model_share=model_s / total_s,
        env_share=env_s / total_s,
        other_share=(total_s - model_s - env_s) / total_s,
    )


def outcomes_section(episodes: Sequence[EpisodeRecord]) -> dict[str, int]:
    """Episodes per outcome: known outcomes in display order (zeros too), then the others sorted."""
    counts = Counter(str(ep.outcome or "unknown") for ep in episodes)
    known = [str(o) for o in OUTCOMES]
    outcomes = {name: counts.get(name, 0) for name in known}
    outcomes.update({name: counts[name] for name in sorted(set(counts) - set(known))})
    return outcomes


def by_config_section(episodes: Sequence[EpisodeRecord]) -> list[ConfigRow]:
    """One row per (model, temperature) when the run mixes several, else none."""
    groups: dict[tuple[str, float | None], list[EpisodeRecord]] = defaultdict(list)
    for ep in episodes:
        groups[(ep.model or "unknown", ep.temperature)].append(ep)
    if len(groups) <= 1:
        return []

    def order(key: tuple[str, float | None]) -> tuple[str, bool, float]:
        model, temp = key
        return (model, temp is None, temp or 0.0)

    return [
        ConfigRow(model=model, temperature=temp, **_group_summary(groups[(model, temp)]).model_dump())
        for model, temp in sorted(groups, key=order)
    ]


def _tool_call_stats(episodes: Iterable[EpisodeRecord]) -> ToolCallStats:
    counted = [ep for ep in episodes if ep.tool_calls is not None]
    calls = [ep.tool_calls or 0 for ep in counted]
    total, parsed = sum(calls), sum(ep.tool_calls_parsed or 0 for ep in counted)
    return ToolCallStats(
        episodes=len(counted),
        total=total,
        mean=statistics.fmean(calls) if calls else None,
        median=float(statistics.median(calls)) if calls else None,
        parsed=parsed,
        parsed_share=_rate(parsed, total),
    )


def tool_calls_section(episodes: Sequence[EpisodeRecord], repos: Sequence[str]) -> ToolCallSection:
    """Tool calls per episode and the share that parsed, overall and for each of ``repos``."""
    groups = _by_repo(episodes)
    per_repo = [RepoToolCalls(repo=r, **_tool_call_stats(groups[r]).model_dump()) for r in repos]
    return ToolCallSection(**_tool_call_stats(episodes).model_dump(), per_repo=per_repo)


def build_report(
    episodes: Sequence[EpisodeRecord], *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> Report:
    """Summarise rollout episodes (see `swegym.metrics.schema.Report` for each section).

    ``n_boot``, ``alpha`` and ``seed`` go to :func:`~swegym.metrics.passk.bootstrap_ci` for the
    pass@k intervals (the defaults give a 95% interval from 1000 task resamples).

    Raises:
        ValueError: if ``episodes`` is empty or holds something other than `EpisodeRecord`.
    """
    _validate(episodes)
    totals = totals_section(episodes)
    per_repo = per_repo_section(episodes)
    stats = episode_stats_section(episodes)
    return Report(
        totals=totals,
        pass_at_k=pass_at_k_section(episodes, totals.K, n_boot, alpha, seed),
        per_repo=per_repo,
        episode_stats=stats,
        time_split=time_split_section(stats),
        outcomes=outcomes_section(episodes),
        by_config=by_config_section(episodes),
        distributions=Distributions(turns=sorted(int(v) for v in _numbers(episodes, "turns"))),
        tool_calls=tool_calls_section(episodes, [r.repo for r in per_repo]),
    )


def write_report(run_dir: Path, store: RunStore) -> Report:
    """Build the report of ``store``'s finished episodes and write it to ``run_dir/report.json``.

    Raises:
        SwegymError: if the run has no finished episode yet.
    """
    episodes = list(store.episodes())
    if not episodes:
        raise SwegymError(f"{run_dir}: the run has no finished episodes yet")
    report = build_report(episodes)
    (run_dir / "report.json").write_text(report.to_json())
    return report
