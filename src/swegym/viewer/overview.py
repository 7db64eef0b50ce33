"""The runs overview: each run's `swegym.metrics` report, plus Best@k when a rerank scored it.

The numbers are the ones ``swegym report`` and ``swegym rerank`` print (the same functions make
them); the overview is cached per run until the run records another finished episode.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from pydantic import BaseModel

from swegym.harness.verdict import Outcome
from swegym.metrics.report import build_report
from swegym.train.rerank import Scored, metrics_table
from swegym.viewer.index import RunIndex, RunInfo

__all__ = ["Overview", "OverviewCache", "run_overview"]


class Overview(BaseModel):
    """One run's overview."""

    run: RunInfo
    report: dict[str, Any] | None
    """`swegym.metrics.schema.Report` in JSON form; None while the run has no finished episode."""
    rerank: list[dict[str, Any]] | None = None
    """Best@k, Pass@k and Random@k rows (with CIs) over the scored episodes, when scores exist."""


def _rerank_rows(index: RunIndex, run: int, episodes: list[Any], n_boot: int) -> list[dict[str, Any]] | None:
    scores = index.scores(run)
    if not scores:
        return None
    groups: dict[str, list[Scored]] = defaultdict(list)
    for ep in episodes:
        # As `swegym rerank` does: infrastructure errors are not candidates.
        score = scores.get((ep.instance_id, ep.sample))
        if score is not None and ep.outcome != Outcome.INFRA_ERROR:
            groups[ep.instance_id].append(Scored(episode=ep, score=score))
    return metrics_table(groups, n_boot, 0) if groups else None


def run_overview(index: RunIndex, run: int, *, n_boot: int = 1000) -> Overview:
    """Build the overview of run ``run`` of ``index`` from its episodes."""
    episodes = index.records(run)
    info = index.runs[run].model_copy(update={"episodes": len(episodes)})
    if not episodes:
        return Overview(run=info, report=None)
    report = build_report(episodes, n_boot=n_boot)
    return Overview(
        run=info, report=report.model_dump(mode="json"), rerank=_rerank_rows(index, run, episodes, n_boot)
    )


class OverviewCache:
    """Overviews by run, rebuilt when the run's `RunIndex.version` changes (a live run)."""

    def __init__(self, index: RunIndex, n_boot: int = 1000) -> None:
        self.index, self.n_boot = index, n_boot
        self._lock = threading.Lock()
        self._cache: dict[int, tuple[tuple[int, int], Overview]] = {}

    def get(self, run: int) -> Overview:
        version = self.index.version(run)
        with self._lock:
            hit = self._cache.get(run)
            if hit and hit[0] == version:
                return hit[1]
        overview = run_overview(self.index, run, n_boot=self.n_boot)
        with self._lock:
            self._cache[run] = (version, overview)
        return overview
