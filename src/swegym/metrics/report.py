"""Aggregate rollout episode records into a report (pass@k, per-repo table, costs, failures).

An episode record is a dict written by ``swegym rollout`` with (at least) the keys
``instance_id``, ``repo``, ``sample``, ``resolved`` (``True``/``False``, or ``None`` for an
infrastructure error), ``outcome``, ``turns``, ``prompt_tokens``, ``completion_tokens``,
``model_seconds``, ``env_seconds``, ``total_seconds``, ``temperature`` and ``model``.

Conventions used throughout:

* An episode is *graded* when ``resolved`` is not ``None``. Episodes with ``resolved is None``
  are counted as errors and excluded from resolve rates and from pass@k: for a task, ``n`` is
  its number of graded episodes and ``c`` the number that resolved it. Tasks can therefore
  have different ``n``; pass@k only uses tasks with ``n >= k``.
* ``K`` is the largest number of episodes (graded or not) recorded for one task.
* The report is a plain, JSON-serialisable dict.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from swegym.metrics.passk import bootstrap_ci, mean_pass_at_k

__all__ = ["NUMERIC_FIELDS", "OUTCOMES", "build_report", "render_text"]

#: Known episode outcomes, in display order.
OUTCOMES: tuple[str, ...] = (
    "resolved",
    "tests_failed",
    "patch_failed",
    "no_diff",
    "limit_reached",
    "model_error",
    "infra_error",
)

#: Per-episode numeric fields summarised by mean and median.
NUMERIC_FIELDS: tuple[str, ...] = (
    "turns",
    "prompt_tokens",
    "completion_tokens",
    "model_seconds",
    "env_seconds",
    "total_seconds",
)

Episode = Mapping[str, Any]


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _task_counts(episodes: Iterable[Episode]) -> dict[str, tuple[int, int]]:
    """``instance_id -> (graded episodes n, resolved episodes c)``; tasks with n == 0 included."""
    n: dict[str, int] = defaultdict(int)
    c: dict[str, int] = defaultdict(int)
    for ep in episodes:
        iid = ep["instance_id"]
        n[iid] += 0
        if ep.get("resolved") is not None:
            n[iid] += 1
            c[iid] += int(bool(ep["resolved"]))
    return {iid: (n[iid], c[iid]) for iid in n}


def _pass_at_1(counts: Mapping[str, tuple[int, int]]) -> float | None:
    usable = [nc for nc in counts.values() if nc[0] >= 1]
    return mean_pass_at_k(usable, 1) if usable else None


def _group_summary(episodes: Sequence[Episode]) -> dict[str, Any]:
    counts = _task_counts(episodes)
    graded = [ep for ep in episodes if ep.get("resolved") is not None]
    resolved = sum(1 for ep in graded if ep["resolved"])
    return {
        "tasks": len(counts),
        "episodes": len(episodes),
        "graded": len(graded),
        "resolved": resolved,
        "resolve_rate": _rate(resolved, len(graded)),
        "pass_at_1": _pass_at_1(counts),
    }


def _numeric(ep: Episode, field: str) -> float | None:
    value = ep.get(field)
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _validate(episodes: Sequence[Episode]) -> None:
    if not episodes:
        raise ValueError("build_report: no episodes given (is the rollout output empty?)")
    for i, ep in enumerate(episodes):
        if not isinstance(ep, Mapping):
            raise ValueError(f"build_report: episode #{i} is not a mapping: {type(ep).__name__}")
        if not ep.get("instance_id"):
            raise ValueError(f"build_report: episode #{i} has no 'instance_id'")
        if "resolved" not in ep:
            raise ValueError(f"build_report: episode #{i} ({ep['instance_id']}) has no 'resolved' key")
        if ep["resolved"] not in (True, False, None):
            raise ValueError(
                f"build_report: episode #{i} ({ep['instance_id']}) has resolved={ep['resolved']!r}; "
                "expected True, False or None"
            )


def build_report(
    episodes: Sequence[Episode],
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, Any]:
    """Summarise rollout episodes.

    Args:
        episodes: episode records (see the module docstring).
        n_boot, alpha, seed: passed to :func:`~swegym.metrics.passk.bootstrap_ci` for the pass@k
            confidence intervals (defaults give a 95% interval from 1000 task resamples).

    Returns:
        A JSON-serialisable dict with keys

        ``totals``
            ``episodes``, ``tasks``, ``repos``, ``K`` (max episodes per task), ``min_samples``
            (min episodes per task), ``graded`` (episodes with ``resolved`` not ``None``),
            ``resolved``, ``resolve_rate`` (resolved / graded, ``None`` if nothing was graded),
            ``errors`` (episodes with ``resolved is None``), ``error_rate`` and
            ``duplicate_samples`` (records repeating a ``(model, temperature, instance_id,
            sample)`` already seen; they are counted, not dropped).
        ``pass_at_k``
            list, for ``k = 1..K``, of ``{"k", "tasks", "value", "ci_low", "ci_high"}`` over the
            tasks with ``n >= k`` graded episodes; the numbers are ``None`` when no task
            qualifies.
        ``per_repo``
            list of ``{"repo", "tasks", "episodes", "graded", "resolved", "resolve_rate",
            "pass_at_1"}``, sorted by number of tasks (desc), then name.
        ``episode_stats``
            ``{field: {"mean", "median", "total", "count"}}`` for the fields in
            :data:`NUMERIC_FIELDS` (values ``None`` when no episode carries the field).
        ``time_split``
            ``model_share`` / ``env_share`` / ``other_share`` of the summed ``total_seconds``
            (``None`` if that sum is 0).
        ``outcomes``
            ``{outcome: count}``; known outcomes first in :data:`OUTCOMES` order (zeros
            included), then any unknown ones; a missing outcome counts as ``"unknown"``.
        ``by_config``
            list of ``{"model", "temperature", ...group summary}`` when the episodes come from
            more than one ``(model, temperature)`` pair, else an empty list.
        ``distributions``
            ``{"turns": [...]}``: the sorted per-episode turn counts (used for histograms).

    Raises:
        ValueError: if ``episodes`` is empty or a record lacks ``instance_id``/``resolved``.
    """
    _validate(episodes)

    counts = _task_counts(episodes)
    samples_per_task = Counter(ep["instance_id"] for ep in episodes)
    k_max = max(samples_per_task.values())
    summary = _group_summary(episodes)

    seen: set[tuple[Any, ...]] = set()
    duplicates = 0
    for ep in episodes:
        key = (ep.get("model"), ep.get("temperature"), ep["instance_id"], ep.get("sample"))
        if ep.get("sample") is not None and key in seen:
            duplicates += 1
        seen.add(key)

    repos = {str(ep.get("repo") or "unknown") for ep in episodes}
    errors = summary["episodes"] - summary["graded"]
    totals = {
        "episodes": summary["episodes"],
        "tasks": summary["tasks"],
        "repos": len(repos),
        "K": k_max,
        "min_samples": min(samples_per_task.values()),
        "graded": summary["graded"],
        "resolved": summary["resolved"],
        "resolve_rate": summary["resolve_rate"],
        "errors": errors,
        "error_rate": _rate(errors, summary["episodes"]),
        "duplicate_samples": duplicates,
    }

    # pass@k for k = 1..K over tasks with enough graded samples.
    pass_rows: list[dict[str, Any]] = []
    for k in range(1, k_max + 1):
        eligible = [nc for nc in counts.values() if nc[0] >= k]
        row: dict[str, Any] = {"k": k, "tasks": len(eligible), "value": None, "ci_low": None, "ci_high": None}
        if eligible:
            lo, hi = bootstrap_ci(eligible, k, n_boot=n_boot, alpha=alpha, seed=seed)
            row.update(value=mean_pass_at_k(eligible, k), ci_low=lo, ci_high=hi)
        pass_rows.append(row)

    # Per repository.
    by_repo: dict[str, list[Episode]] = defaultdict(list)
    for ep in episodes:
        by_repo[str(ep.get("repo") or "unknown")].append(ep)
    per_repo = [{"repo": repo, **_group_summary(eps)} for repo, eps in by_repo.items()]
    per_repo.sort(key=lambda r: (-r["tasks"], r["repo"]))

    # Per-episode numeric statistics.
    episode_stats: dict[str, dict[str, float | int | None]] = {}
    sums: dict[str, float] = {}
    for field in NUMERIC_FIELDS:
        values = [v for v in (_numeric(ep, field) for ep in episodes) if v is not None]
        sums[field] = float(sum(values))
        episode_stats[field] = {
            "mean": statistics.fmean(values) if values else None,
            "median": float(statistics.median(values)) if values else None,
            "total": sums[field] if values else None,
            "count": len(values),
        }

    total_s = sums["total_seconds"]
    model_s, env_s = sums["model_seconds"], sums["env_seconds"]
    time_split: dict[str, float | None] = {"model_share": None, "env_share": None, "other_share": None}
    if total_s > 0:
        time_split = {
            "model_share": model_s / total_s,
            "env_share": env_s / total_s,
            "other_share": (total_s - model_s - env_s) / total_s,
        }

    # Failure categories.
    outcome_counts = Counter(str(ep.get("outcome") or "unknown") for ep in episodes)
    outcomes = {name: outcome_counts.get(name, 0) for name in OUTCOMES}
    for name in sorted(set(outcome_counts) - set(OUTCOMES)):
        outcomes[name] = outcome_counts[name]

    # Per model / temperature.
    by_cfg: dict[tuple[str, float | None], list[Episode]] = defaultdict(list)
    for ep in episodes:
        temp = _numeric(ep, "temperature")
        by_cfg[(str(ep.get("model") or "unknown"), temp)].append(ep)
    by_config: list[dict[str, Any]] = []
    if len(by_cfg) > 1:

        def cfg_key(item: tuple[tuple[str, float | None], list[Episode]]) -> tuple[str, bool, float]:
            (model, temp), _ = item
            return (model, temp is None, temp or 0.0)

        for (model, temp), eps in sorted(by_cfg.items(), key=cfg_key):
            by_config.append({"model": model, "temperature": temp, **_group_summary(eps)})

    turns = sorted(int(v) for v in (_numeric(ep, "turns") for ep in episodes) if v is not None)

    return {
        "totals": totals,
        "pass_at_k": pass_rows,
        "per_repo": per_repo,
        "episode_stats": episode_stats,
        "time_split": time_split,
        "outcomes": outcomes,
        "by_config": by_config,
        "distributions": {"turns": turns},
    }


# ---------------------------------------------------------------------------------------------
# Text rendering


def _fmt(value: Any, kind: str = "num") -> str:
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


def render_text(report: Mapping[str, Any], max_repos: int = 20) -> str:
    """Render a report from :func:`build_report` as a compact plain-text summary.

    Args:
        report: the dict returned by :func:`build_report`.
        max_repos: show at most this many repositories (those with the most tasks).
    """
    t = report["totals"]
    lines: list[str] = []
    per_task = str(t["K"]) if t["min_samples"] == t["K"] else f"{t['min_samples']}..{t['K']}"
    lines.append(
        f"episodes {t['episodes']:,}  tasks {t['tasks']:,}  repos {t['repos']:,}  samples/task {per_task}"
    )
    lines.append(
        f"resolved {t['resolved']:,}/{t['graded']:,} graded ({_fmt(t['resolve_rate'], 'pct')})  "
        f"errors {t['errors']:,} ({_fmt(t['error_rate'], 'pct')})"
        + (f"  duplicate samples {t['duplicate_samples']}" if t.get("duplicate_samples") else "")
    )

    lines += ["", "pass@k (95% bootstrap CI over tasks)"]
    lines += _table(
        ["k", "tasks", "pass@k", "CI"],
        [
            [
                str(r["k"]),
                str(r["tasks"]),
                _fmt(r["value"], "pct"),
                "-" if r["value"] is None else f"[{_fmt(r['ci_low'], 'pct')}, {_fmt(r['ci_high'], 'pct')}]",
            ]
            for r in report["pass_at_k"]
        ],
    )

    outcomes = {k: v for k, v in report["outcomes"].items() if v}
    total = sum(outcomes.values()) or 1
    lines += ["", "outcomes"]
    lines += _table(
        ["outcome", "episodes", "share"],
        [[name, f"{n:,}", _fmt(n / total, "pct")] for name, n in outcomes.items()],
    )

    repos = report["per_repo"]
    title = "per repository" + (
        f" (top {max_repos} of {len(repos)} by tasks)" if len(repos) > max_repos else ""
    )
    lines += ["", title]
    lines += _table(
        ["repo", "tasks", "episodes", "resolve", "pass@1"],
        [
            [
                r["repo"],
                str(r["tasks"]),
                str(r["episodes"]),
                _fmt(r["resolve_rate"], "pct"),
                _fmt(r["pass_at_1"], "pct"),
            ]
            for r in repos[:max_repos]
        ],
    )

    if report.get("by_config"):
        lines += ["", "per model / temperature"]
        lines += _table(
            ["model", "temp", "tasks", "episodes", "resolve", "pass@1"],
            [
                [
                    r["model"],
                    "-" if r["temperature"] is None else f"{r['temperature']:g}",
                    str(r["tasks"]),
                    str(r["episodes"]),
                    _fmt(r["resolve_rate"], "pct"),
                    _fmt(r["pass_at_1"], "pct"),
                ]
                for r in report["by_config"]
            ],
        )

    lines += ["", "per episode"]
    lines += _table(
        ["", "mean", "median"],
        [
            [field, _fmt(s["mean"]), _fmt(s["median"])]
            for field, s in report["episode_stats"].items()
            if s["count"]
        ],
    )
    split = report["time_split"]
    if split.get("model_share") is not None:
        lines.append(
            f"  time split: model {_fmt(split['model_share'], 'pct')}, "
            f"env {_fmt(split['env_share'], 'pct')}, other {_fmt(split['other_share'], 'pct')}"
        )
    return "\n".join(lines) + "\n"
