"""Task model and loaders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swegym.errors import TaskFormatError
from swegym.tasks.export import export_tasks
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

ROW = {
    "instance_id": "o__r-1",
    "repo": "o/r",
    "base_commit": "a" * 40,
    "patch": "p",
    "test_patch": "t",
    "problem_statement": "s",
    "version": "1.0",
    "FAIL_TO_PASS": '["t::a"]',
    "PASS_TO_PASS": ["t::b"],
}


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_json_string_lists_are_accepted() -> None:
    t = Task.model_validate(ROW)
    assert t.FAIL_TO_PASS == ["t::a"] and t.PASS_TO_PASS == ["t::b"]


def test_bad_row_error_names_file_line_and_field(tmp_path: Path) -> None:
    bad = {**ROW, "instance_id": "o__r-2", "FAIL_TO_PASS": "[not json"}
    f = write_jsonl(tmp_path / "t.jsonl", [ROW, bad])
    with pytest.raises(TaskFormatError) as exc:
        load_tasks(str(f))
    msg = str(exc.value)
    assert f"{f}:2" in msg and "FAIL_TO_PASS" in msg and "\n" not in msg


def test_missing_field_and_bad_json_line(tmp_path: Path) -> None:
    rows = [ROW, {k: v for k, v in ROW.items() if k != "repo"} | {"instance_id": "x"}]
    f = write_jsonl(tmp_path / "t.jsonl", rows)
    with open(f, "a") as fh:
        fh.write("{broken\n")
    with pytest.raises(TaskFormatError, match=r"t.jsonl:2 .*field 'repo'"):
        load_tasks(str(f))
    res = load_tasks(str(f), skip_invalid=True)
    assert [t.instance_id for t in res.tasks] == ["o__r-1"]
    assert len(res.errors) == 2 and ":3: not valid JSON" in res.errors[1]


def test_duplicate_ids_rejected(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "t.jsonl", [ROW, ROW])
    with pytest.raises(TaskFormatError, match="duplicate instance_id"):
        load_tasks(str(f))


def test_unknown_file_and_type(tmp_path: Path) -> None:
    with pytest.raises(TaskFormatError, match="no such file"):
        load_tasks(str(tmp_path / "nope.jsonl"))
    (tmp_path / "t.csv").write_text("x")
    with pytest.raises(TaskFormatError, match="unknown task file type"):
        load_tasks(str(tmp_path / "t.csv"))


def test_parquet_and_jsonl_roundtrip(tmp_path: Path) -> None:
    tasks = [Task.model_validate(ROW | {"meta": {"how": "x"}})]
    for name in ("t.parquet", "t.jsonl"):
        export_tasks(tasks, tmp_path / name, json_strings=True)
        back = load_tasks(str(tmp_path / name)).tasks
        assert back[0].FAIL_TO_PASS == ["t::a"] and back[0].meta == {"how": "x"}


SWE_GYM_REPOS = {
    "pydantic/pydantic", "python/mypy", "dask/dask", "getmoto/moto", "iterative/dvc", "pandas-dev/pandas",
    "modin-project/modin", "conan-io/conan", "facebookresearch/hydra", "bokeh/bokeh", "Project-MONAI/MONAI",
}  # fmt: skip


def test_bundled_splits() -> None:
    full = load_tasks("bundled").tasks
    lite = load_tasks("bundled:lite").tasks
    assert [t.instance_id for t in load_tasks("bundled:full").tasks] == [t.instance_id for t in full]
    assert len(full) >= 200 and 25 <= len(lite) <= 40
    repos = {t.repo for t in full}
    assert len(repos) >= 8 and len(repos & SWE_GYM_REPOS) >= 4
    assert {t.repo for t in lite} == repos  # lite spans every project
    for t in full:
        assert t.FAIL_TO_PASS and t.source and t.source.startswith("pypi:")
        assert t.meta.get("sdist_sha256")
        assert t.meta["made_by"] in ("mined", "synthetic")
        if t.meta["made_by"] == "synthetic":
            assert t.base_patch and t.test_files and not t.test_patch and t.meta["edit_kind"]
        else:
            assert t.test_patch and not t.base_patch
    with pytest.raises(TaskFormatError, match="unknown split"):
        load_tasks("bundled:nope")


def test_ids_filter() -> None:
    first = load_tasks("bundled").tasks[0].instance_id
    assert [t.instance_id for t in load_tasks("bundled", ids=[first]).tasks] == [first]
    with pytest.raises(TaskFormatError, match="no task with id"):
        load_tasks("bundled", ids=["missing__x-1"])


def test_hugging_face_dataset_directory(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    row = dict(ROW)
    ds = datasets.DatasetDict({"train": datasets.Dataset.from_list([row])})
    ds.save_to_disk(str(tmp_path / "hf"))
    tasks = load_tasks(str(tmp_path / "hf")).tasks
    assert tasks[0].instance_id == "o__r-1" and tasks[0].FAIL_TO_PASS == ["t::a"]
    with pytest.raises(TaskFormatError, match="no split 'test'"):
        load_tasks(f"hf:{tmp_path / 'hf'}:test")
