"""The typed report of a run (`Report`), as built by `swegym.metrics.report.build_report`.

Its JSON form (``report.json``) is ``Report.to_json()``: one key per section below. Rates and
means are ``None`` where nothing was there to count (no graded episode, no task with enough
samples, a run made before a counter existed).
"""

from __future__ import annotations

import json

from pydantic import BaseModel

__all__ = [
    "ConfigRow",
    "Distributions",
    "FieldStats",
    "GroupSummary",
    "PassAtK",
    "RepoRow",
    "RepoToolCalls",
    "Report",
    "TimeSplit",
    "ToolCallSection",
    "ToolCallStats",
    "Totals",
]

# Pydantic orders fields base-first along the reversed MRO, so a row type lists its key mixin
# *last* among its bases to put the key (repo, model) first in the JSON, as a reader expects.


class _RepoKey(BaseModel):
    repo: str
    """Repository name ("unknown" when the episode did not say)."""


class _ConfigKey(BaseModel):
    model: str
    temperature: float | None


class Totals(BaseModel):
    """Counts over the whole run."""

    episodes: int
    tasks: int
    repos: int
    K: int
    """Most episodes recorded for one task (graded or not)."""
    min_samples: int
    """Fewest episodes recorded for one task."""
    graded: int
    """Episodes with ``resolved`` not None."""
    resolved: int
    resolve_rate: float | None
    """resolved / graded."""
    errors: int
    """Episodes with ``resolved is None`` (infrastructure errors)."""
    error_rate: float | None
    tampered: int = 0
    """Graded episodes whose code interfered with how outcomes are reported: among the graded,
    never among the resolved (0 in a report written before the outcome existed)."""
    duplicate_samples: int
    """Records repeating a (model, temperature, instance_id, sample) already seen: counted, not dropped."""


class PassAtK(BaseModel):
    """pass@k over the tasks with at least k graded episodes, with its bootstrap interval."""

    k: int
    tasks: int
    value: float | None
    ci_low: float | None
    ci_high: float | None


class GroupSummary(BaseModel):
    """Resolve rate and pass@1 of a group of episodes (a repository, a model/temperature)."""

    tasks: int
    episodes: int
    graded: int
    resolved: int
    resolve_rate: float | None
    pass_at_1: float | None


class RepoRow(GroupSummary, _RepoKey):
    """One repository (rows sorted by tasks, most first, then name)."""


class ConfigRow(GroupSummary, _ConfigKey):
    """One (model, temperature) pair of a run that mixes several."""


class FieldStats(BaseModel):
    """One per-episode number summarised over the episodes that carry it."""

    mean: float | None
    median: float | None
    total: float | None
    count: int


class TimeSplit(BaseModel):
    """Shares of the summed ``total_seconds`` spent in the model, the sandbox, and elsewhere."""

    model_share: float | None = None
    env_share: float | None = None
    other_share: float | None = None


class Distributions(BaseModel):
    """Per-episode values for histograms."""

    turns: list[int]
    """Turn counts, sorted."""


class ToolCallStats(BaseModel):
    """Tool calls per episode, over the episodes that recorded them, and the share that parsed."""

    episodes: int
    """Episodes with tool-call counts (runs made before swegym counted them have none)."""
    total: int
    mean: float | None
    median: float | None
    parsed: int
    """Calls that named a known tool with well-formed arguments."""
    parsed_share: float | None
    """parsed / total."""


class RepoToolCalls(ToolCallStats, _RepoKey):
    """Tool calls of one repository."""


class ToolCallSection(ToolCallStats):
    """Tool calls over the run, then per repository (in the order of `Report.per_repo`)."""

    per_repo: list[RepoToolCalls]


class Report(BaseModel):
    """Everything ``swegym report`` shows about a run."""

    totals: Totals
    pass_at_k: list[PassAtK]
    """One row for each k = 1..K."""
    per_repo: list[RepoRow]
    episode_stats: dict[str, FieldStats]
    """Keyed by `swegym.rollouts.records.STAT_FIELDS`."""
    time_split: TimeSplit
    outcomes: dict[str, int]
    """Episodes per outcome: every `Outcome` in display order (zeros included), then, sorted, the
    values this version does not know and "unknown" for episodes that recorded none."""
    by_config: list[ConfigRow]
    """Empty unless the episodes come from more than one (model, temperature)."""
    distributions: Distributions
    tool_calls: ToolCallSection

    def to_json(self) -> str:
        """``report.json``'s text (indented, with the section keys above)."""
        return json.dumps(self.model_dump(mode="json"), indent=2)
