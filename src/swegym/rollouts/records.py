"""One finished episode as a typed row: `EpisodeRecord`, the single definition of the episodes table.

The run store's ``CREATE TABLE``, its ``INSERT`` and its row reading, and the report's per-episode
statistics are all derived from the fields of `EpisodeRecord` (see `COLUMNS`, `STAT_FIELDS`,
`column_sql`, `to_sql`, `from_sql`): a new column is one new field here. Pure data, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, Field, model_validator

from swegym.harness.verdict import Outcome

__all__ = [
    "COLUMNS",
    "NOT_STORED",
    "PRIMARY_KEY",
    "STAT",
    "STAT_FIELDS",
    "EpisodeRecord",
    "column_sql",
    "from_sql",
    "to_sql",
]


class _Tag:
    """A marker put in a field's ``Annotated`` metadata (pydantic keeps it in ``FieldInfo.metadata``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


PRIMARY_KEY = _Tag("PRIMARY_KEY")
"""The field is the table's integer primary key (assigned by SQLite)."""
NOT_STORED = _Tag("NOT_STORED")
"""The field is not a column of the ``episodes`` table (readers fill it in)."""
STAT = _Tag("STAT")
"""The report summarises the field over episodes (mean, median, total)."""


class EpisodeRecord(BaseModel):
    """A finished episode read back from a run (or built by hand for reports and tests).

    Numbers are ``None`` where a row does not carry them (a run made before the column existed).
    """

    id: Annotated[int | None, PRIMARY_KEY] = None
    """Row id in the run store (None for a record that was not read from one)."""
    instance_id: str = Field(min_length=1)
    sample: int = 0
    """Which of the task's K episodes this is (0-based)."""
    repo: str = ""
    model: str | None = None
    temperature: float | None = None
    outcome: Outcome | str | None = Field(default=None, union_mode="left_to_right")
    """How the episode ended. A value this version does not know (written by another swegym
    version) is kept as its text, so that reports still count it; None if none was recorded."""
    resolved: bool | None = Field(strict=True)
    """True/False once graded; None for an infrastructure error (excluded from resolve rates).
    Always False for a tampered episode (it is graded, and never a success)."""
    reward: float | None = None
    turns: Annotated[int | None, STAT] = None
    tool_calls: int | None = None
    """Tool calls the model attempted."""
    tool_calls_parsed: int | None = None
    """Of those, calls naming a known tool with well-formed arguments."""
    prompt_tokens: Annotated[int | None, STAT] = None
    completion_tokens: Annotated[int | None, STAT] = None
    model_seconds: Annotated[float | None, STAT] = None
    env_seconds: Annotated[float | None, STAT] = None
    total_seconds: Annotated[float | None, STAT] = None
    diff: str | None = None
    report: dict[str, Any] | None = None
    """The grader's per-test report (stored as JSON text)."""
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    messages: Annotated[list[dict[str, Any]] | None, NOT_STORED] = None
    """The conversation (OpenAI chat messages), when read with ``with_messages=True``."""
    run: Annotated[str | None, NOT_STORED] = None
    """The run directory the episode was read from (set by the training readers)."""

    @model_validator(mode="after")
    def _tampered_is_never_resolved(self) -> EpisodeRecord:
        # A tampered episode is graded (reward 0), whatever a row written by a buggy or older
        # writer says: normalizing here means no report, export or training reader credits it.
        if self.tampered:
            self.resolved, self.reward = False, 0.0
        return self

    @property
    def tampered(self) -> bool:
        """The episode's code interfered with how its outcome was reported."""
        return self.outcome == Outcome.TAMPERED


def _fields_tagged(tag: _Tag) -> tuple[str, ...]:
    return tuple(n for n, f in EpisodeRecord.model_fields.items() if tag in f.metadata)


COLUMNS: tuple[str, ...] = tuple(n for n in EpisodeRecord.model_fields if n not in _fields_tagged(NOT_STORED))
"""The columns of the ``episodes`` table that hold an episode (the store adds its ``status``)."""
STAT_FIELDS: tuple[str, ...] = _fields_tagged(STAT)
"""Per-episode numbers the report summarises, in display order."""

_SQL_TYPES: dict[type, str] = {bool: "INTEGER", int: "INTEGER", float: "REAL", str: "TEXT", dict: "TEXT"}


def _base_type(annotation: Any) -> type:
    """The stored Python type of an annotation: ``int | None`` -> int, ``Outcome | str`` -> str."""
    args = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    first = get_origin(args[0]) or args[0]
    return str if isinstance(first, type) and issubclass(first, Enum) else first


def _nullable(annotation: Any) -> bool:
    return type(None) in get_args(annotation)


def column_sql(name: str) -> str:
    """The SQLite column definition of field ``name`` (for ``CREATE TABLE`` and ``ALTER TABLE``)."""
    info = EpisodeRecord.model_fields[name]
    if PRIMARY_KEY in info.metadata:
        return f"{name} INTEGER PRIMARY KEY AUTOINCREMENT"
    sql = f"{name} {_SQL_TYPES[_base_type(info.annotation)]}"
    if not _nullable(info.annotation):
        sql += " NOT NULL"
        if not info.is_required():
            sql += f" DEFAULT {_sql_literal(info.default)}"
    return sql


def _sql_literal(value: object) -> str:
    return "'" + value.replace("'", "''") + "'" if isinstance(value, str) else str(value)


_JSON = tuple(c for c in COLUMNS if _base_type(EpisodeRecord.model_fields[c].annotation) is dict)
_BOOL = tuple(c for c in COLUMNS if _base_type(EpisodeRecord.model_fields[c].annotation) is bool)


def to_sql(record: EpisodeRecord) -> tuple[Any, ...]:
    """The record's values for `COLUMNS`, as SQLite stores them (JSON text, 0/1, plain strings)."""
    values: list[Any] = []
    for name in COLUMNS:
        value = getattr(record, name)
        if value is None:
            values.append(None)
        elif name in _JSON:
            values.append(json.dumps(value))
        elif isinstance(value, bool):
            values.append(int(value))
        elif isinstance(value, Enum):
            values.append(value.value)
        else:
            values.append(value)
    return tuple(values)


def from_sql(row: Mapping[str, Any], messages: list[dict[str, Any]] | None = None) -> EpisodeRecord:
    """A record from a row of the ``episodes`` table (column name -> SQLite value)."""
    values = {c: row[c] for c in COLUMNS if c in row}
    for name in _JSON:
        if isinstance(values.get(name), str):
            values[name] = json.loads(values[name]) if values[name] else None
    for name in _BOOL:
        if values.get(name) is not None:
            values[name] = bool(values[name])
    return EpisodeRecord.model_validate({**values, "messages": messages})
