"""The command line: one clear line for bad input, JSON output, resume after interruption."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from swegym.tasks.export import export_tasks
from swegym.tasks.model import Task


def swegym(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swegym", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_malformed_task_file_gives_one_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text('{"instance_id": "a__b-1", "repo": "a/b"}\n')
    line = one_error_line(swegym("tasks", "list", "--tasks", str(f)))
    assert "bad.jsonl:1" in line and "field 'base_commit'" in line


def test_bad_predictions_give_one_line(tmp_path: Path) -> None:
    f = tmp_path / "preds.jsonl"
    f.write_text("{not json\n")
    line = one_error_line(
        swegym("eval", "--tasks", "bundled", "--predictions", str(f), "--out", str(tmp_path / "o"))
    )
    assert "preds.jsonl:1" in line
    f.write_text(json.dumps({"instance_id": "nobody__x-1", "model_patch": ""}) + "\n")
    line = one_error_line(
        swegym("eval", "--tasks", "bundled", "--predictions", str(f), "--out", str(tmp_path / "o"))
    )
    assert "nobody__x-1" in line


def test_tasks_list_and_show() -> None:
    out = swegym("tasks", "list", "--tasks", "bundled", "--json")
    assert out.returncode == 0
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(rows) >= 10
    shown = swegym("tasks", "show", rows[0]["instance_id"], "--tasks", "bundled")
    assert json.loads(shown.stdout)["instance_id"] == rows[0]["instance_id"]


@pytest.mark.sandbox
def test_validate_and_eval_resume(calc_task: Task, tmp_path: Path, fixture_specs: Path) -> None:
    import os

    src = tmp_path / "tasks.jsonl"
    second = calc_task.model_copy(update={"instance_id": "fixture__calc-2"})
    export_tasks([calc_task, second], src)
    out = tmp_path / "val" / "tasks.jsonl"
    journal = out.with_name("tasks.jsonl.results.jsonl")
    # Simulate an interrupted earlier run: one finished result and a torn line.
    proc = swegym("validate", "--tasks", str(src), "--out", str(out), "--json", "--id", "fixture__calc-1")
    assert proc.returncode == 0, proc.stderr
    with journal.open("a") as fh:
        fh.write('{"instance_id": "fixture__calc-2", "sta')
    proc = swegym("validate", "--tasks", str(src), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["total"] == 2 and summary["valid"] == 2 and summary["errors"] == 0
    firsts = [
        ln for ln in journal.read_text().splitlines() if ln.startswith('{"instance_id":"fixture__calc-1"')
    ]
    assert len(firsts) == 1  # finished work is not rerun
    validated = [json.loads(x) for x in out.read_text().splitlines()]
    assert validated[0]["FAIL_TO_PASS"] == ["tests/test_calc.py::test_clamp_upper"]

    preds = tmp_path / "preds.jsonl"
    preds.write_text(
        "".join(
            json.dumps(
                {"instance_id": t["instance_id"], "model_name_or_path": "gold", "model_patch": t["patch"]}
            )
            + "\n"
            for t in validated
        )
    )
    proc = swegym(
        "eval", "--tasks", str(out), "--predictions", str(preds), "--out", str(tmp_path / "ev"), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["resolved_instances"] == 2 and report["error_instances"] == 0
    # Another model's predictions into the same --out are graded anew, not taken from the journal.
    preds.write_text(
        "".join(json.dumps({"instance_id": t["instance_id"], "model_patch": ""}) + "\n" for t in validated)
    )
    proc = swegym(
        "eval", "--tasks", str(out), "--predictions", str(preds), "--out", str(tmp_path / "ev"), "--json"
    )
    report = json.loads(proc.stdout)
    assert report["resolved_instances"] == 0 and report["empty_patch_instances"] == 2
    assert os.path.exists(tmp_path / "ev" / "report.json")


@pytest.mark.sandbox
def test_env_build_and_shell(calc_task: Task, tmp_path: Path, fixture_specs: Path) -> None:
    src = tmp_path / "tasks.jsonl"
    export_tasks([calc_task], src)
    proc = swegym("env", "build", "--tasks", str(src))
    assert proc.returncode == 0 and "fixture/calc 0.1" in proc.stdout, proc.stderr
    shell = subprocess.run(
        [
            sys.executable,
            "-m",
            "swegym",
            "env",
            "shell",
            calc_task.instance_id,
            "--tasks",
            str(src),
            "--gold",
        ],
        input="echo inside-$((1+1)); pwd; grep -c 'hi + 1' calc.py; exit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shell.returncode == 0, shell.stderr
    assert "inside-2" in shell.stdout and "/testbed" in shell.stdout
    assert "gold patch applied" in shell.stdout and "\n0\n" in shell.stdout


@pytest.mark.sandbox
def test_env_errors_give_one_line(calc_task: Task, tmp_path: Path, fixture_specs: Path) -> None:
    src = tmp_path / "tasks.jsonl"
    export_tasks([calc_task.model_copy(update={"version": "7.7"})], src)
    line = one_error_line(swegym("env", "build", "--tasks", str(src)))
    assert "fixture/calc version '7.7'" in line
    export_tasks([calc_task.model_copy(update={"repo": "nobody/nothing"})], src)
    line = one_error_line(swegym("env", "build", "--tasks", str(src)))
    assert "no environment spec for repo 'nobody/nothing'" in line
    export_tasks([calc_task.model_copy(update={"version": "0.old"})], src)
    line = one_error_line(swegym("env", "build", "--tasks", str(src)))
    assert "Python 3.4 is not installed" in line and "uv python install 3.4" in line
