"""The episode list's query: filters, sort and page from a URL's query string, as SQL. Pure.

The page keeps these same names in its own URL (``/episodes?repo=...&outcome=...&sort=turns``), so
a link holds the view it shows; the server passes them on to `EpisodeQuery.from_params`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from swegym.errors import SwegymError

__all__ = ["SORTS", "EpisodeQuery", "ViewerError"]


class ViewerError(SwegymError):
    """A run the viewer cannot open, or a request it cannot answer (bad filter, unknown episode)."""


SORTS: dict[str, str] = {
    "run": "run_idx",
    "task": "instance_id",
    "sample": "sample",
    "repo": "repo",
    "model": "model",
    "outcome": "outcome",
    "turns": "turns",
    "tokens": "tokens",
    "seconds": "total_seconds",
    "score": "score",
}
"""Sort keys the list accepts -> the column of the ``eps`` view (whitelisted: never user SQL)."""

_RANGES: dict[str, str] = {"turns": "turns", "tokens": "tokens", "score": "score"}
SQL_INT_MAX = 2**63 - 1
"""SQLite's largest integer: a bigger offset or sample is a bad filter (400), not an OverflowError."""
MAX_TEXT = 1000
"""Longest text filter: SQLite refuses LIKE patterns over 50,000 bytes, and no id is this long."""


class EpisodeQuery(BaseModel):
    """What the episode list shows: every filter is optional; ranges are inclusive."""

    model_config = ConfigDict(extra="ignore")

    run: int | None = Field(default=None, ge=0, le=SQL_INT_MAX)
    """Index of the run (in the order given to `swegym view`)."""
    task: str | None = Field(default=None, max_length=MAX_TEXT)
    """Substring of the instance id (case-insensitive)."""
    repo: str | None = None
    outcome: str | None = None
    model: str | None = None
    sample: int | None = Field(default=None, ge=0, le=SQL_INT_MAX)
    """Exactly this sample of each task."""
    k: int | None = Field(default=None, ge=1, le=SQL_INT_MAX)
    """Only the first k samples of each task (sample < k), as pass@k counts them."""
    turns_min: float | None = None
    turns_max: float | None = None
    tokens_min: float | None = None
    """Prompt plus completion tokens."""
    tokens_max: float | None = None
    score_min: float | None = None
    """Verifier score (from a rerank's ``scores.jsonl``)."""
    score_max: float | None = None
    sort: Literal[
        "run", "task", "sample", "repo", "model", "outcome", "turns", "tokens", "seconds", "score"
    ] = "task"
    order: Literal["asc", "desc"] = "asc"
    offset: int = Field(default=0, ge=0, le=SQL_INT_MAX)
    limit: int = Field(default=50, ge=1, le=500)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> EpisodeQuery:
        """Parse a query string's values (empty values are absent); bad values are one `ViewerError`."""
        values = {k: v for k, v in params.items() if v != ""}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise ViewerError(f"bad filter {field}={values.get(field)!r}: {err['msg']}") from None

    def where(self) -> tuple[str, list[Any]]:
        """The ``WHERE`` clause (``"1"`` when unfiltered) over the ``eps`` view and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for name, column in (
            ("run", "run_idx"),
            ("repo", "repo"),
            ("outcome", "outcome"),
            ("model", "model"),
        ):
            value = getattr(self, name)
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.task:
            clauses.append("instance_id LIKE ? ESCAPE '\\'")
            params.append("%" + _like_escape(self.task) + "%")
        if self.sample is not None:
            clauses.append("sample = ?")
            params.append(self.sample)
        if self.k is not None:
            clauses.append("sample < ?")
            params.append(self.k)
        for name, column in _RANGES.items():
            low, high = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if low is not None:
                clauses.append(f"{column} >= ?")
                params.append(low)
            if high is not None:
                clauses.append(f"{column} <= ?")
                params.append(high)
        return (" AND ".join(clauses) or "1"), params

    def order_by(self) -> str:
        """The ``ORDER BY`` clause: the chosen column, then a stable tie-break."""
        direction = "DESC" if self.order == "desc" else "ASC"
        return f"{SORTS[self.sort]} {direction}, run_idx, instance_id, sample"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
