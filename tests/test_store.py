"""The run store: its table is derived from `EpisodeRecord`, old runs open and resume, odd values load."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from swegym.agent.loop import EpisodeResult
from swegym.harness.verdict import Outcome
from swegym.metrics.report import build_report
from swegym.rollouts.export import export_run
from swegym.rollouts.records import COLUMNS, STAT_FIELDS, EpisodeRecord, column_sql
from swegym.rollouts.store import RunStore

# The episodes table as swegym wrote it before tool calls were counted (runs made then must resume).
PREVIOUS_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE episodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL, sample INTEGER NOT NULL, repo TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL, model TEXT, temperature REAL,
    outcome TEXT, resolved INTEGER, reward REAL, turns INTEGER,
    prompt_tokens INTEGER, completion_tokens INTEGER,
    model_seconds REAL, env_seconds REAL, total_seconds REAL,
    diff TEXT, report TEXT, error TEXT, started_at REAL, finished_at REAL,
    UNIQUE (instance_id, sample)
);
CREATE TABLE messages (
    episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, role TEXT NOT NULL, content TEXT, tool_calls TEXT,
    tool_call_id TEXT, name TEXT, seconds REAL, prompt_tokens INTEGER, completion_tokens INTEGER,
    tool TEXT, error INTEGER,
    PRIMARY KEY (episode_id, idx)
);
"""

CALL = {
    "id": "c1",
    "type": "function",
    "function": {"name": "execute_bash", "arguments": '{"command": "ls"}'},
}
MESSAGES = [
    {"role": "system", "content": "sys"},
    {"role": "user", "content": "Fix clamp."},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "c1", "name": "execute_bash", "content": "calc.py"},
]


def result(instance_id: str, sample: int = 0, **kw: object) -> EpisodeResult:
    fields: dict[str, object] = {
        "instance_id": instance_id,
        "repo": "o/r",
        "sample": sample,
        "model": "m",
        "temperature": 0.5,
        "outcome": "resolved",
        "resolved": True,
        "reward": 1.0,
        "turns": 2,
        "tool_calls": 3,
        "tool_calls_parsed": 2,
        "diff": "diff --git a/calc.py b/calc.py\n",
        "report": {"resolved": True},
        "messages": MESSAGES,
        **kw,
    }
    return EpisodeResult.model_validate(fields)


def test_episodes_table_columns_are_the_record_fields(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    columns = [row[1] for row in store.db.execute("PRAGMA table_info(episodes)")]
    assert columns == [*COLUMNS, "status"]
    assert set(COLUMNS) == set(EpisodeRecord.model_fields) - {"messages", "run"}
    assert STAT_FIELDS == (
        "turns",
        "prompt_tokens",
        "completion_tokens",
        "model_seconds",
        "env_seconds",
        "total_seconds",
    )
    assert column_sql("id") == "id INTEGER PRIMARY KEY AUTOINCREMENT"
    assert column_sql("instance_id") == "instance_id TEXT NOT NULL"
    assert column_sql("repo") == "repo TEXT NOT NULL DEFAULT ''"
    assert column_sql("tool_calls") == "tool_calls INTEGER"
    assert column_sql("outcome") == "outcome TEXT"
    store.close()


def test_a_saved_episode_reads_back_as_a_typed_record(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.claim("t-1", 0, "o/r")
    store.save(result("t-1"))
    [rec] = list(store.episodes(with_messages=True))
    assert rec.outcome is Outcome.RESOLVED and rec.resolved is True
    assert (rec.tool_calls, rec.tool_calls_parsed, rec.turns) == (3, 2, 2)
    assert rec.report == {"resolved": True} and rec.id is not None and rec.finished_at is not None
    assert rec.messages == MESSAGES
    assert next(store.episodes()).messages is None
    store.close()


def test_run_made_by_the_previous_schema_opens_and_resumes(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "rollouts.db") as db:
        db.executescript(PREVIOUS_SCHEMA)
        db.execute(
            "INSERT INTO episodes (instance_id, sample, repo, status, model, temperature, outcome, resolved, "
            "reward, turns, diff, report, finished_at) "
            "VALUES ('t-0', 0, 'o/r', 'done', 'm', 0.5, 'resolved', 1, 1.0, 4, 'd', ?, 1.0)",
            (json.dumps({"resolved": True}),),
        )
        db.execute("INSERT INTO episodes (instance_id, sample, status) VALUES ('t-0', 1, 'running')")
    db.close()
    store = RunStore(tmp_path, create=False)
    assert {"tool_calls", "tool_calls_parsed"} <= {
        r[1] for r in store.db.execute("PRAGMA table_info(episodes)")
    }
    assert store.drop_unfinished() == 1
    assert store.done_keys() == {("t-0", 0)}
    store.save(result("t-0", 1))
    old, new = store.episodes()
    assert old.tool_calls is None and old.outcome is Outcome.RESOLVED and old.resolved is True
    assert new.tool_calls == 3
    report = build_report([old, new])
    assert report.tool_calls.episodes == 1 and report.tool_calls.total == 3
    assert report.tool_calls.parsed_share == 2 / 3
    store.close()
    RunStore(tmp_path).close()  # opening an up-to-date run again changes nothing


def test_unknown_or_missing_outcome_strings_still_load_and_count(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    for i in range(3):
        store.save(result("t", i))
    store.db.execute("UPDATE episodes SET outcome = 'timeout_v0' WHERE sample = 0")
    store.db.execute("UPDATE episodes SET outcome = NULL WHERE sample = 1")
    weird, missing, known = store.episodes()
    assert weird.outcome == "timeout_v0" and not isinstance(weird.outcome, Outcome)
    assert missing.outcome is None and known.outcome is Outcome.RESOLVED
    outcomes = build_report([weird, missing, known]).outcomes
    assert outcomes["resolved"] == 1 and outcomes["timeout_v0"] == 1 and outcomes["unknown"] == 1
    assert list(outcomes)[-2:] == ["timeout_v0", "unknown"]
    store.close()


def test_exports_keep_their_row_shape(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "run")
    store.save(result("t-1"))
    assert export_run(store, "jsonl", tmp_path / "e.jsonl") == 1
    row = json.loads((tmp_path / "e.jsonl").read_text())
    # The columns of the episodes table (without the store's status), then messages and tools.
    assert list(row) == [*COLUMNS, "messages", "tools"]
    assert row["outcome"] == "resolved" and row["resolved"] is True and row["report"] == {"resolved": True}
    assert row["messages"] == MESSAGES and row["tools"][0]["type"] == "function"
    assert export_run(store, "predictions", tmp_path / "p.jsonl") == 1
    pred = json.loads((tmp_path / "p.jsonl").read_text())
    assert pred == {"instance_id": "t-1", "model_name_or_path": "m", "model_patch": result("t-1").diff}
    store.close()


def test_a_finished_episode_keeps_its_claim_time(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.claim("o__r-1", 0, "o/r")
    store.save(result("o__r-1"))
    (ep,) = store.episodes()
    assert ep.started_at is not None and ep.finished_at is not None
    assert ep.started_at <= ep.finished_at


def test_resumed_run_must_keep_its_settings(tmp_path: Path) -> None:
    import pytest

    from swegym.agent.loop import AgentConfig
    from swegym.errors import SwegymError
    from swegym.rollouts.settings import RunSettings, record_settings

    store = RunStore(tmp_path)
    first = RunSettings(model="local", temperature=0.5, tasks="bundled:lite", agent=AgentConfig())
    record_settings(store, tmp_path, first.model_copy(update={"local_backend": "transformers"}))
    # More tasks may join a run; its model settings may not change.
    record_settings(
        store, tmp_path, first.model_copy(update={"tasks": "bundled:full", "local_backend": "transformers"})
    )
    with pytest.raises(SwegymError, match=r"other settings \(local_backend, temperature\)"):
        record_settings(
            store, tmp_path, first.model_copy(update={"temperature": 0.0, "local_backend": "llamacpp"})
        )
    # A run recorded before a setting existed resumes without it.
    store.set_meta("settings", {k: v for k, v in store.get_meta("settings").items() if k != "local_backend"})
    record_settings(store, tmp_path, first.model_copy(update={"local_backend": "llamacpp"}))
