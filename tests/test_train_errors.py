"""Bad inputs to the training commands end with exit status 2 and one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from swegym.agent.loop import EpisodeResult
from swegym.rollouts.store import RunStore

pytest.importorskip("trl")


def swegym_fails(*args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "swegym", *args], capture_output=True, text=True, timeout=600)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def make_run(path: Path, resolved: list[bool]) -> Path:
    store = RunStore(path)
    for i, ok in enumerate(resolved):
        msgs = [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "fix it"},
            {"role": "assistant", "content": "<function=finish>\n</function>"},
        ]
        store.save(
            EpisodeResult(
                instance_id="t-1", repo="o/r", sample=i, outcome="resolved" if ok else "tests_failed",
                resolved=ok, diff="diff --git a/x b/x\n", messages=msgs,
            )
        )  # fmt: skip
    store.close()
    return path


def test_malformed_empty_and_unresolved_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "rollouts.db").write_bytes(b"this is not sqlite" * 100)
    assert "not a readable rollout database" in swegym_fails(
        "train", "data", "sft", "--runs", str(bad), "--out", str(tmp_path / "o")
    )
    assert "not a rollout run" in swegym_fails(
        "train", "data", "sft", "--runs", str(tmp_path), "--out", str(tmp_path / "o")
    )
    RunStore(tmp_path / "empty").close()
    line = swegym_fails(
        "train", "data", "sft", "--runs", str(tmp_path / "empty"), "--out", str(tmp_path / "o")
    )
    assert "no finished episode" in line
    run = make_run(tmp_path / "none", [False, False])
    assert "none of the 2 episodes resolved" in swegym_fails(
        "train", "data", "sft", "--runs", str(run), "--out", str(tmp_path / "o")
    )
    line = swegym_fails("train", "data", "verifier", "--runs", str(run), "--out", str(tmp_path / "o"))
    assert "0 resolved, 2 not" in line


def test_unknown_model_and_out_of_memory_configuration(tmp_path: Path) -> None:
    run = make_run(tmp_path / "ok", [True, False])
    line = swegym_fails(
        "train", "data", "sft", "--runs", str(run), "--model", "no-such-model", "--out", str(tmp_path / "d")
    )
    assert "unknown model 'no-such-model'" in line
    data = tmp_path / "d"
    r = subprocess.run(
        [sys.executable, "-m", "swegym", "train", "data", "sft", "--runs", str(run), "--out", str(data)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    line = swegym_fails(
        "train", "sft", "--data", str(data), "--out", str(tmp_path / "c"), "--max-memory-gb", "0.01"
    )
    assert "estimated peak memory" in line and "--max-length" in line
    assert "unknown preset" in swegym_fails(
        "train", "sft", "--data", str(data), "--out", str(tmp_path / "c"), "--preset", "huge"
    )
