"""The rollout store: one SQLite database per run directory (WAL mode).

An episode is claimed (``status='running'``) when it starts and written whole, with its messages,
in one transaction when it ends, so ``kill -9`` at any moment loses no finished episode and never
leaves a half-written one: on resume, running claims are dropped and those episodes start again.

The ``episodes`` table's columns are the fields of `EpisodeRecord` (plus ``status``); a run made
before a column existed gets it added, NULL in its old rows, when it is opened.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from swegym.agent.loop import EpisodeResult, Step
from swegym.errors import SwegymError
from swegym.rollouts.records import COLUMNS, EpisodeRecord, column_sql, from_sql, to_sql

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
    {", ".join(column_sql(c) for c in COLUMNS)},
    status TEXT NOT NULL,
    UNIQUE (instance_id, sample)
);
CREATE TABLE IF NOT EXISTS messages (
    episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, role TEXT NOT NULL, content TEXT, tool_calls TEXT,
    tool_call_id TEXT, name TEXT, seconds REAL, prompt_tokens INTEGER, completion_tokens INTEGER,
    tool TEXT, error INTEGER,
    PRIMARY KEY (episode_id, idx)
);
"""


class RunStore:
    """A run's database at ``<run_dir>/rollouts.db``; safe to share between worker threads."""

    def __init__(self, run_dir: Path, *, create: bool = True) -> None:
        self.path = run_dir / "rollouts.db"
        if not create and not self.path.exists():
            raise SwegymError(
                f"{run_dir}: not a rollout run (no rollouts.db); run `swegym rollout --out {run_dir}`"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
            self._add_missing_columns()
        except sqlite3.DatabaseError as exc:
            raise SwegymError(f"{self.path}: not a readable rollout database ({exc})") from None

    def _missing_columns(self) -> list[str]:
        have = {row[1] for row in self.db.execute("PRAGMA table_info(episodes)")}
        return [c for c in COLUMNS if c not in have]

    def _add_missing_columns(self) -> None:
        """Add the columns of `EpisodeRecord` that a run made by an older swegym lacks."""
        if not self._missing_columns():
            return  # the usual case: no write lock taken, so read-only use stays read-only
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                # Checked again under the write lock: another process may have just added them.
                for name in self._missing_columns():
                    self.db.execute(f"ALTER TABLE episodes ADD COLUMN {column_sql(name)}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    # -- run metadata --------------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    # -- episodes ------------------------------------------------------------------------
    def drop_unfinished(self) -> int:
        """Forget episodes that were running when a previous process died; return how many."""
        with self._lock:
            cur = self.db.execute("DELETE FROM episodes WHERE status != 'done'")
            return cur.rowcount

    def done_keys(self) -> set[tuple[str, int]]:
        rows = self.db.execute("SELECT instance_id, sample FROM episodes WHERE status = 'done'")
        return {(r[0], r[1]) for r in rows}

    def claim(self, instance_id: str, sample: int, repo: str) -> None:
        with self._lock:
            self.db.execute(
                "INSERT OR REPLACE INTO episodes (instance_id, sample, repo, status, started_at) "
                "VALUES (?, ?, ?, 'running', ?)",
                (instance_id, sample, repo, time.time()),
            )

    def save(self, ep: EpisodeResult) -> None:
        """Write a finished episode and its messages atomically."""
        fields = ep.model_dump(include=set(COLUMNS))
        cols = ", ".join(COLUMNS)
        marks = ", ".join("?" for _ in COLUMNS)
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                # The claim's start time survives the rewrite of its row.
                claimed = self.db.execute(
                    "SELECT started_at FROM episodes WHERE instance_id = ? AND sample = ?",
                    (ep.instance_id, ep.sample),
                ).fetchone()
                started = claimed[0] if claimed else None
                record = EpisodeRecord.model_validate(
                    {**fields, "started_at": started, "finished_at": time.time()}
                )
                self.db.execute(
                    "DELETE FROM episodes WHERE instance_id = ? AND sample = ?", (ep.instance_id, ep.sample)
                )
                cur = self.db.execute(
                    f"INSERT INTO episodes ({cols}, status) VALUES ({marks}, 'done')", to_sql(record)
                )
                self.db.executemany(
                    "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _message_rows(cur.lastrowid, ep),
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def episodes(self, *, with_messages: bool = False) -> Iterator[EpisodeRecord]:
        """Finished episodes (ordered by task and sample), with their messages if asked."""
        rows = self.db.execute(
            f"SELECT {', '.join(COLUMNS)} FROM episodes WHERE status = 'done' ORDER BY instance_id, sample"
        ).fetchall()
        for row in rows:
            values = dict(zip(COLUMNS, row, strict=True))
            yield from_sql(values, self.messages(values["id"]) if with_messages else None)

    def messages(self, episode_id: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT role, content, tool_calls, tool_call_id, name FROM messages "
            "WHERE episode_id = ? ORDER BY idx",
            (episode_id,),
        ).fetchall()
        out = []
        for role, content, tool_calls, tool_call_id, name in rows:
            msg: dict[str, Any] = {"role": role, "content": content}
            if tool_calls:
                msg["tool_calls"] = json.loads(tool_calls)
            if tool_call_id:
                msg["tool_call_id"] = tool_call_id
            if name and role == "tool":
                msg["name"] = name
            out.append(msg)
        return out

    def close(self) -> None:
        self.db.close()


def _message_rows(episode_id: int | None, ep: EpisodeResult) -> list[tuple[Any, ...]]:
    """Rows of the ``messages`` table: each message with its step's timing, tokens and tool."""
    rows = []
    for i, msg in enumerate(ep.messages):
        step = ep.steps[i] if i < len(ep.steps) else Step(role=str(msg.get("role")))
        rows.append(
            (
                episode_id,
                i,
                msg.get("role"),
                msg.get("content"),
                json.dumps(msg["tool_calls"]) if msg.get("tool_calls") else None,
                msg.get("tool_call_id"),
                msg.get("name"),
                step.seconds,
                step.prompt_tokens,
                step.completion_tokens,
                step.tool,
                None if step.error is None else int(step.error),
            )
        )
    return rows
