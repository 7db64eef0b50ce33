"""Rollouts: resume after kill -9 with every episode exactly once; store, report and exports."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import labelled
from swegym.tasks.export import export_tasks
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

pytestmark = pytest.mark.sandbox


def oracle_rollout(src: Path, run: Path, *extra: str) -> list[str]:
    """The command line of an oracle rollout of ``src`` into ``run``."""
    return [
        sys.executable,
        "-m",
        "swegym",
        "rollout",
        "--tasks",
        str(src),
        "--model",
        "oracle",
        "--out",
        str(run),
        *extra,
    ]


def done_count(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=30) as con:
        try:
            return int(con.execute("SELECT count(*) FROM episodes WHERE status='done'").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def test_kill_9_then_resume_runs_every_episode_exactly_once(calc_task: Task, tmp_path: Path) -> None:
    src = tmp_path / "tasks.jsonl"
    export_tasks(labelled(calc_task, 2), src)
    run = tmp_path / "run"
    cmd = oracle_rollout(src, run, "--k", "26", "--workers", "2")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while done_count(run / "rollouts.db") < 8 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = done_count(run / "rollouts.db")
    assert 0 < killed_at < 52
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(run / "rollouts.db") as con:
        rows = con.execute("SELECT instance_id, sample, status, outcome, error FROM episodes").fetchall()
        n_messages = con.execute("SELECT count(DISTINCT episode_id) FROM messages").fetchone()[0]
    keys = [(r[0], r[1]) for r in rows]
    assert len(rows) == 52 and len(set(keys)) == 52
    unresolved = [r for r in rows if r[2] != "done" or r[3] != "resolved"]
    assert not unresolved, unresolved
    assert n_messages == 52  # no orphaned messages of a killed episode
    assert f"{killed_at} were already done" in again.stdout or "already done" in again.stdout


def test_report_and_exports(calc_task: Task, tmp_path: Path) -> None:
    src = tmp_path / "tasks.jsonl"
    export_tasks(labelled(calc_task, 2), src)
    run = tmp_path / "run"
    r = subprocess.run(oracle_rollout(src, run, "--k", "2"), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rep = subprocess.run(
        [sys.executable, "-m", "swegym", "report", str(run), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rep.returncode == 0, rep.stderr
    data = json.loads(rep.stdout)
    assert data["totals"]["resolved"] == 4 and data["pass_at_k"][0]["value"] == 1.0
    assert (run / "plots" / "pass_at_k.png").stat().st_size > 1000
    for fmt, name in (("jsonl", "e.jsonl"), ("predictions", "p.jsonl"), ("parquet", "e.parquet")):
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "swegym",
                "export",
                str(run),
                "--format",
                fmt,
                "--out",
                str(tmp_path / name),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
    first = json.loads((tmp_path / "e.jsonl").read_text().splitlines()[0])
    assert first["messages"][0]["role"] == "system" and any("tool_calls" in m for m in first["messages"])
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 2
    bad = subprocess.run(
        [sys.executable, "-m", "swegym", "report", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "not a rollout run" in bad.stderr


@pytest.mark.slow
def test_oracle_resolves_every_bundled_lite_task_and_wrong_agent_none() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from swegym.agent.loop import run_episode
    from swegym.agent.models.scripted import oracle_model, wrong_model

    tasks = load_tasks("bundled:lite").tasks
    with ThreadPoolExecutor(2) as pool:
        good = list(pool.map(lambda t: run_episode(t, oracle_model(t)), tasks))
        bad = list(pool.map(lambda t: run_episode(t, wrong_model(t)), tasks))
    assert [g.instance_id for g in good if g.reward != 1.0] == []
    assert [b.instance_id for b in bad if b.reward != 0.0 or b.outcome == "infra_error"] == []
