"""The runs a viewer shows, opened read-only in one SQLite connection, queried page by page in SQL.

Each run's ``rollouts.db`` is attached as ``r<i>`` through a ``file:...?mode=ro`` URI, so nothing
the viewer does can write to a run (a run still being written stays readable: WAL readers do not
block its writer). A temporary view ``eps`` puts the finished episodes of every run in one table,
joined with the verifier scores of a rerank when a run has ``rerank/scores.jsonl``; the episode
list's filters, sort and paging are one ``SELECT`` over it, so a page costs the same on 10 or
100,000 episodes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from swegym.rollouts.records import COLUMNS, EpisodeRecord, from_sql
from swegym.viewer.query import EpisodeQuery, ViewerError

__all__ = ["MAX_RUNS", "EpisodePage", "EpisodeRow", "RunIndex", "RunInfo"]

MAX_RUNS = 10
"""SQLite attaches at most 10 databases to a connection (its compile-time default)."""

# Columns of the episode list (the ``eps`` view); the big ones (diff, report, error) stay out.
_LIST_COLUMNS = (
    "id", "instance_id", "sample", "repo", "model", "temperature", "outcome", "resolved", "turns",
    "prompt_tokens", "completion_tokens", "total_seconds", "model_seconds", "env_seconds",
)  # fmt: skip


class RunInfo(BaseModel):
    """One run the viewer shows."""

    index: int
    name: str
    path: str
    episodes: int
    settings: dict[str, Any] | None = None
    """The run's ``settings`` metadata (tasks, model, k...), when it recorded them."""
    scores: str | None = None
    """The ``scores.jsonl`` of a rerank that scored this run's episodes, if any."""


class EpisodeRow(BaseModel):
    """One line of the episode list."""

    run: int
    id: int
    instance_id: str
    sample: int
    repo: str | None
    model: str | None
    outcome: str | None
    resolved: bool | None
    turns: int | None
    tokens: int | None
    total_seconds: float | None
    score: float | None
    error: str | None
    """The first 200 characters of the episode's error, if any."""


class EpisodePage(BaseModel):
    """A page of the episode list and how many episodes match the filters in all."""

    total: int
    offset: int
    rows: list[EpisodeRow]


def _run_db(path: Path) -> Path:
    db = path if path.is_file() else path / "rollouts.db"
    if not db.is_file():
        raise ViewerError(
            f"{path}: not a rollout run (no rollouts.db); make one with `swegym rollout --out {path}`"
        )
    return db


class RunIndex:
    """Read-only queries over one or more run stores; safe to share between server threads."""

    def __init__(self, runs: Sequence[Path], *, scores: Sequence[Path | None] = ()) -> None:
        if not runs:
            raise ViewerError("no run given: pass one or more run directories (runs/NAME)")
        if len(runs) > MAX_RUNS:
            raise ViewerError(f"{len(runs)} runs given; the viewer shows at most {MAX_RUNS} at once")
        self._lock = threading.Lock()
        self.db = sqlite3.connect(":memory:", uri=True, check_same_thread=False)
        self.runs: list[RunInfo] = []
        self._columns: dict[int, set[str]] = {}
        self._has_messages: dict[int, bool] = {}
        try:
            for i, run in enumerate(runs):
                self._attach(i, run)
            self._create_view()
            for i, run in enumerate(runs):
                self._load_scores(i, run, scores[i] if i < len(scores) else None)
        except BaseException:
            self.db.close()
            raise

    # -- opening ---------------------------------------------------------------------------
    def _attach(self, i: int, run: Path) -> None:
        db = _run_db(run)
        uri = "file:" + quote(str(db.resolve())) + "?mode=ro"
        try:
            self.db.execute(f"ATTACH DATABASE ? AS r{i}", (uri,))
            have = {row[1] for row in self.db.execute(f"PRAGMA r{i}.table_info(episodes)")}
            if not have:
                raise ViewerError(f"{db}: not a rollout database (no episodes table)")
            count = self.db.execute(f"SELECT count(*) FROM r{i}.episodes WHERE status = 'done'").fetchone()[0]
            row = self.db.execute(f"SELECT value FROM r{i}.meta WHERE key = 'settings'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ViewerError(f"{db}: not a readable rollout database ({exc})") from None
        self._columns[i] = have
        self._has_messages[i] = bool(list(self.db.execute(f"PRAGMA r{i}.table_info(messages)")))
        settings = _json_or_none(row[0]) if row else None
        name = (run.parent if run.is_file() else run).name or str(run)
        info = RunInfo(index=i, name=name, path=str(run), episodes=count, settings=settings)
        self.runs.append(info)

    def _create_view(self) -> None:
        parts = []
        for i in range(len(self.runs)):
            have = self._columns[i]
            cols = ", ".join(c if c in have else f"NULL AS {c}" for c in _LIST_COLUMNS)
            err = "substr(error, 1, 200)" if "error" in have else "NULL"
            parts.append(
                f"SELECT {i} AS run_idx, {cols}, {err} AS error FROM r{i}.episodes WHERE status = 'done'"
            )
        self.db.execute(
            "CREATE TEMP TABLE scores (run_idx INTEGER, instance_id TEXT, sample INTEGER, score REAL, "
            "info TEXT, PRIMARY KEY (run_idx, instance_id, sample))"
        )
        tokens = (
            "CASE WHEN e.prompt_tokens IS NULL AND e.completion_tokens IS NULL THEN NULL "
            "ELSE ifnull(e.prompt_tokens, 0) + ifnull(e.completion_tokens, 0) END"
        )
        self.db.execute(
            f"CREATE TEMP VIEW eps AS SELECT e.*, {tokens} AS tokens, s.score AS score "
            f"FROM ({' UNION ALL '.join(parts)}) AS e LEFT JOIN scores AS s "
            "ON s.run_idx = e.run_idx AND s.instance_id = e.instance_id AND s.sample = e.sample"
        )

    def _load_scores(self, i: int, run: Path, given: Path | None) -> None:
        """Read a rerank's ``scores.jsonl`` (given, or ``RUN/rerank/scores.jsonl``) for run ``i``."""
        path = given or (run if run.is_dir() else run.parent) / "rerank" / "scores.jsonl"
        if not path.is_file():
            if given:
                raise ViewerError(f"{given}: no such scores file (made by `swegym rerank`)")
            return
        here = (run if run.is_dir() else run.parent).resolve()
        rows = []
        for n, line in enumerate(path.read_text().splitlines(), 1):
            row = _json_or_none(line)
            if not isinstance(row, dict) or "instance_id" not in row or "score" not in row:
                raise ViewerError(f"{path}:{n}: not a scores row (instance_id, sample, score)")
            # A rerank of several runs writes all their episodes in the first run's file; its
            # run paths may be relative to wherever it ran, so the directory name also matches.
            other = Path(str(row.get("run") or here))
            if other.resolve() != here and other.name != here.name:
                continue
            info = {k: row[k] for k in ("p_yes", "signals", "hybrid") if k in row}
            rows.append(
                (i, row["instance_id"], int(row.get("sample", 0)), float(row["score"]), json.dumps(info))
            )
        with self._lock:
            self.db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?)", rows)
        self.runs[i].scores = str(path)

    # -- queries ---------------------------------------------------------------------------
    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self.db.execute(sql, tuple(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _run(self, run: int) -> RunInfo:
        if not 0 <= run < len(self.runs):
            raise ViewerError(f"no run {run}: the viewer shows runs 0..{len(self.runs) - 1}")
        return self.runs[run]

    def page(self, q: EpisodeQuery) -> EpisodePage:
        """The episodes matching ``q``'s filters, sorted, one page of them."""
        where, params = q.where()
        total = self._fetch(f"SELECT count(*) AS n FROM eps WHERE {where}", params)[0]["n"]
        rows = self._fetch(
            f"SELECT * FROM eps WHERE {where} ORDER BY {q.order_by()} LIMIT ? OFFSET ?",
            [*params, q.limit, q.offset],
        )
        return EpisodePage(total=total, offset=q.offset, rows=[_row(r) for r in rows])

    def siblings(self, run: int, episode_id: int) -> list[EpisodeRow]:
        """Every episode (in every run) of the task of episode ``episode_id`` of ``run``."""
        iid = self.record(run, episode_id).instance_id
        rows = self._fetch("SELECT * FROM eps WHERE instance_id = ? ORDER BY run_idx, sample", [iid])
        return [_row(r) for r in rows]

    def facets(self) -> dict[str, list[str]]:
        """The distinct repositories, models and outcomes (the list's drop-down choices)."""
        out = {}
        for name in ("repo", "model", "outcome"):
            # On the runs' tables, not the view: no join, and SQLite dedupes across the UNION.
            parts = [
                f"SELECT DISTINCT {name} AS v FROM r{i}.episodes WHERE status = 'done' AND {name} IS NOT NULL"
                for i in range(len(self.runs))
                if name in self._columns[i]
            ]
            rows = self._fetch(" UNION ".join(parts) + " ORDER BY v") if parts else []
            out[name] = [str(r["v"]) for r in rows]
        return out

    def record(self, run: int, episode_id: int, *, light: bool = False) -> EpisodeRecord:
        """One finished episode of ``run`` (its diff and report too unless ``light``)."""
        cols = [c for c in COLUMNS if c in self._columns[self._run(run).index]]
        if light:
            cols = [c for c in cols if c not in ("diff", "report")]
        rows = self._fetch(
            f"SELECT {', '.join(cols)} FROM r{run}.episodes WHERE id = ? AND status = 'done'", [episode_id]
        )
        if not rows:
            raise ViewerError(f"run {run} has no finished episode {episode_id}")
        return from_sql(rows[0])

    def records(self, run: int) -> list[EpisodeRecord]:
        """Every finished episode of ``run`` without diff, report or messages (for its overview)."""
        cols = [
            c for c in COLUMNS if c in self._columns[self._run(run).index] and c not in ("diff", "report")
        ]
        rows = self._fetch(f"SELECT {', '.join(cols)} FROM r{run}.episodes WHERE status = 'done' ORDER BY id")
        return [from_sql(r) for r in rows]

    def messages(self, run: int, episode_id: int) -> list[dict[str, Any]]:
        """The rows of an episode's ``messages`` table (timing, tokens and tool per message)."""
        self._run(run)
        if not self._has_messages[run]:
            return []  # a store written without its messages table: the episode still shows
        return self._fetch(f"SELECT * FROM r{run}.messages WHERE episode_id = ? ORDER BY idx", [episode_id])

    def score(self, run: int, instance_id: str, sample: int) -> tuple[float | None, dict[str, Any]]:
        """The verifier score of an episode and the rest of its scores row (p_yes, signals)."""
        rows = self._fetch(
            "SELECT score, info FROM scores WHERE run_idx = ? AND instance_id = ? AND sample = ?",
            [run, instance_id, sample],
        )
        return (rows[0]["score"], json.loads(rows[0]["info"])) if rows else (None, {})

    def scores(self, run: int) -> dict[tuple[str, int], float]:
        """Every verifier score of ``run``: (instance_id, sample) -> score."""
        rows = self._fetch("SELECT instance_id, sample, score FROM scores WHERE run_idx = ?", [run])
        return {(r["instance_id"], r["sample"]): r["score"] for r in rows}

    def version(self, run: int) -> tuple[int, int]:
        """Rows and the highest row id: changes whenever a live run claims or saves an episode
        (a save rewrites its row under a new id). Cheap: no table scan."""
        self._run(run)
        row = self._fetch(f"SELECT count(*) AS n, max(id) AS m FROM r{run}.episodes")[0]
        return int(row["n"]), int(row["m"] or 0)

    def close(self) -> None:
        self.db.close()


def _row(r: dict[str, Any]) -> EpisodeRow:
    resolved = r["resolved"]
    if r["outcome"] == "tampered":  # as `EpisodeRecord` normalizes it: never a success
        resolved = 0
    return EpisodeRow.model_validate(
        {**r, "run": r["run_idx"], "resolved": None if resolved is None else bool(resolved)}
    )


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None
