"""What a user of `swegym validate` sees: log headers, build and test seconds, --json results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import with_labels
from swegym.harness.batch import out_paths, read_done
from swegym.harness.validation_run import validate_tasks
from swegym.tasks.export import export_tasks
from swegym.tasks.model import Task

pytestmark = pytest.mark.sandbox


def test_logs_journal_and_json(calc_task: Task, tmp_path: Path) -> None:
    out = tmp_path / "tasks.jsonl"
    summary = validate_tasks(
        [with_labels(calc_task)],
        out,
        runs=1,
        workers=1,
        mirrors={},
        fresh=True,
        quiet=True,
        date_check=False,
    )
    journal, _, logs = out_paths(out)
    for kind in ("empty", "gold"):
        head = (logs / f"{calc_task.instance_id}.{kind}.0.log").read_text().splitlines()[:2]
        assert head[0] == "# swegym test command: python -m pytest -rA -p no:cacheprovider tests/test_calc.py"
        assert head[1].startswith("# swegym runs it as: python /opt/swegym/lib/swegym_pytest_main.py")
    row = read_done(journal)[calc_task.instance_id]
    assert row["status"] == "valid" and row["labels"] == "published"
    build, tests, total = row["build_seconds"], row["test_seconds"], row["seconds"]
    assert isinstance(build, float) and isinstance(tests, float) and isinstance(total, float)
    assert 0 < tests <= total and build <= total
    assert str(row["build_log"]).endswith("build.log") and Path(str(row["build_log"])).is_file()
    assert isinstance(row["agreement"], dict) and row["agreement"]["status"] == "agree"
    data = json.loads(summary.to_json(with_results=True))
    assert [r["instance_id"] for r in data["results"]] == [calc_task.instance_id]
    assert "task" not in data["results"][0] and data["agreement"] == {"agree": 1}
    assert "results" not in json.loads(summary.to_json())  # the summary file stays as it was


def _swegym(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swegym", *args], capture_output=True, text=True, timeout=600
    )


def test_cli_labels_option_and_json_results(calc_task: Task, tmp_path: Path) -> None:
    # Published lists that disagree with the runs (test_add is no FAIL_TO_PASS test).
    wrong = with_labels(calc_task).model_copy(
        update={"FAIL_TO_PASS": ["tests/test_calc.py::test_clamp_upper", "tests/test_calc.py::test_add"]}
    )
    src = tmp_path / "in.jsonl"
    export_tasks([wrong], src)
    common = ["validate", "--tasks", str(src), "--no-date-check", "--json", "-w", "1"]
    pub = _swegym(*common, "--out", str(tmp_path / "pub.jsonl"))
    assert pub.returncode == 0, pub.stderr
    res = json.loads(pub.stdout)["results"][0]
    assert res["status"] == "invalid" and res["labels"] == "published"
    assert res["agreement"]["mismatch"] == {
        "tests/test_calc.py::test_add": "published FAIL_TO_PASS, derived PASS_TO_PASS"
    }
    der = _swegym(*common, "--labels", "derived", "--out", str(tmp_path / "der.jsonl"))
    assert der.returncode == 0, der.stderr
    res = json.loads(der.stdout)["results"][0]
    assert res["status"] == "valid" and res["labels"] == "derived"
    assert res["FAIL_TO_PASS"] == ["tests/test_calc.py::test_clamp_upper"]
    bad = _swegym(*common, "--labels", "both", "--out", str(tmp_path / "x.jsonl"))
    assert bad.returncode == 2 and "--labels must be 'published' or 'derived'" in bad.stderr
