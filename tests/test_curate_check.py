"""`swegym tasks check` and the SWE-Gym task sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swegym.curate.dataset_check import check_dataset
from swegym.errors import TaskFormatError
from swegym.harness.validate import validate_task
from swegym.tasks.loaders import load_tasks, swegym_lite_ids
from swegym.tasks.model import Task


def _row(iid: str) -> dict[str, object]:
    return {
        "instance_id": iid,
        "repo": iid.split("__")[0] + "/" + iid.split("__")[1].rsplit("-", 1)[0],
        "base_commit": "a" * 40,
        "patch": "",
        "test_patch": "",
        "problem_statement": "x",
        "version": "1.0",
        "FAIL_TO_PASS": "[]",
        "PASS_TO_PASS": "[]",
    }


def test_swegym_lite_ids_ship_with_the_package() -> None:
    ids = swegym_lite_ids()
    assert len(ids) == 230 and "getmoto__moto-5752" in ids


def test_swegym_lite_filters_a_local_copy(tmp_path: Path) -> None:
    f = tmp_path / "swe-gym.jsonl"
    f.write_text("\n".join(json.dumps(_row(i)) for i in ("getmoto__moto-5752", "getmoto__moto-1")) + "\n")
    assert [t.instance_id for t in load_tasks(f"swe-gym:lite:{f}").tasks] == ["getmoto__moto-5752"]
    assert len(load_tasks(f"swe-gym:full:{f}").tasks) == 2
    with pytest.raises(TaskFormatError, match="swe-gym:lite:PATH"):
        load_tasks("swe-gym:nope")


@pytest.mark.sandbox
def test_check_reports_ok_changed_and_leaking_tasks(calc_task: Task, tmp_path: Path) -> None:
    labelled = validate_task(calc_task, runs=1).task
    assert labelled is not None
    tampered = labelled.model_copy(
        update={
            "instance_id": "calc-tampered",
            "FAIL_TO_PASS": [*labelled.FAIL_TO_PASS, *labelled.PASS_TO_PASS[:1]],
        }
    )
    leaky = labelled.model_copy(
        update={"instance_id": "calc-leaky", "problem_statement": "Fix: " + labelled.patch}
    )
    results = {
        r.instance_id: r
        for r in check_dataset([labelled, tampered, leaky], tmp_path, runs=1, workers=2, mirrors={}).results
    }
    assert results[labelled.instance_id].status == "ok"
    assert results["calc-tampered"].status == "changed" and "FAIL_TO_PASS" in results["calc-tampered"].detail
    assert results["calc-leaky"].status == "leak"
