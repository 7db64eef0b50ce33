"""Rebuilding instances from git: the PR-commit finder, the gold/test split, the rebuild script
and its recipe, on a fixture repository with a squash commit, a merge commit and a backport."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import run_git
from swegym.sources.prcommits import (
    is_swebench_test_path,
    pr_of_subject,
    problem_statement,
    pull_commits,
    rebuild_task,
    split_diff,
)
from swegym.tasks.loaders import load_tasks, swegym_lite_ids

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "rebuild_swegym_lite.py"
RECIPE = ROOT / "tests" / "fixtures" / "swegym_lite_recipe.json"
REBUILT = ROOT / "benchmarks" / "data" / "swegym_lite_rebuilt.jsonl"


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.fixture(scope="module", autouse=True)
def calc_rule(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A version rule for fixture/calc (the script's subprocesses inherit it)."""
    rules = tmp_path_factory.mktemp("rules") / "rules.json"
    rules.write_text(json.dumps({"fixture/calc": {"method": "file", "path": "calc/__init__.py"}}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWEGYM_VERSION_RULES", str(rules))
        yield


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """main: base -> squash '(#12)' -> merge of PR #34 (two branch commits); a release branch
    with a backport '(#56)' that main never sees."""
    root = tmp_path_factory.mktemp("hist") / "fixture__calc"
    root.mkdir()
    run_git(root, "init", "-q", "--initial-branch=main")
    _write(root, {"calc/__init__.py": "__version__ = '1.4.0.dev0'\n", "calc/ops.py": "X = 1\n"})
    _write(root, {"tests/test_ops.py": "def test_x():\n    pass\n", "README.md": "calc\n"})
    run_git(root, "add", "-A")
    run_git(root, "commit", "-qm", "initial")
    base = run_git(root, "rev-parse", "HEAD").strip()
    _write(root, {"calc/ops.py": "X = 2\n", "tests/test_ops.py": "def test_x():\n    assert 2\n"})
    run_git(root, "commit", "-qam", "Fix X\n\nX must be 2. (#11 was wrong) (#12)")
    run_git(root, "commit", "-q", "--amend", "-m", "Fix X (#12)\n\nX must be 2.")
    squash = run_git(root, "rev-parse", "HEAD").strip()
    run_git(root, "checkout", "-qb", "user/feature", base)
    _write(root, {"calc/more.py": "Y = 1\n", "test-data/unit/check-y.test": "[case y]\n"})
    run_git(root, "add", "-A")
    run_git(root, "commit", "-qm", "add Y")
    _write(root, {"calc/more.py": "Y = 3\n"})
    run_git(root, "commit", "-qam", "tweak Y (#99 mentioned)")
    run_git(root, "checkout", "-q", "main")
    run_git(
        root,
        "merge",
        "-q",
        "--no-ff",
        "user/feature",
        "-m",
        "Merge pull request #34 from user/feature\n\nAdd Y",
    )
    merge = run_git(root, "rev-parse", "HEAD").strip()
    run_git(root, "branch", "-qD", "user/feature")
    run_git(root, "checkout", "-qb", "release-1.x", base)
    _write(root, {"calc/ops.py": "X = 5\n", "tests/test_ops.py": "def test_x():\n    assert 5\n"})
    run_git(root, "commit", "-qam", "Fix X on 1.x (bp #12) (#56)")
    backport = run_git(root, "rev-parse", "HEAD").strip()
    run_git(root, "checkout", "-q", "main")
    return {"path": str(root), "base": base, "squash": squash, "merge": merge, "backport": backport}


def test_subjects_name_their_pull_request() -> None:
    assert pr_of_subject("Fix the thing (#5752)") == (5752, "squash")
    assert pr_of_subject("dvc: ignore errors (bp #5335) (#5336)") == (5336, "squash")
    assert pr_of_subject("Merge pull request #1234 from someone/branch") == (1234, "merge")
    assert pr_of_subject("Release 1.2 (see #5)") is None
    assert problem_statement("Fix X (#12)", "X must be 2.", "squash") == "Fix X\n\nX must be 2."
    assert problem_statement("Merge pull request #34 from u/b", "Add Y", "merge") == "Add Y"


def test_finder_takes_the_main_line_first_then_other_branches(history: dict[str, str]) -> None:
    found = pull_commits(Path(history["path"]))
    (squash,) = found[12]  # the backport names #12 in passing, not as its PR: no ambiguity
    assert (squash.commit, squash.base, squash.kind) == (history["squash"], history["base"], "squash")
    (merge,) = found[34]
    assert (merge.commit, merge.base, merge.kind) == (history["merge"], history["squash"], "merge")
    (backport,) = found[56]  # only on release-1.x
    assert backport.commit == history["backport"]
    assert 99 not in found  # a branch commit inside a merged PR that mentions a number


def test_split_follows_swebench_rule(history: dict[str, str]) -> None:
    git_dir = Path(history["path"])
    pull = pull_commits(git_dir)[34][0]
    task = rebuild_task(git_dir, "fixture/calc", "fixture__calc-34", pull)
    assert re.findall(r"^diff --git a/(\S+)", task.patch, re.M) == ["calc/more.py"]
    assert re.findall(r"^diff --git a/(\S+)", task.test_patch, re.M) == ["test-data/unit/check-y.test"]
    assert task.base_commit == history["squash"] and task.problem_statement == "Add Y"
    assert task.version == "1.4" and task.meta["version_detected"]["raw"] == "1.4.0.dev0"
    assert task.created_at.endswith("Z") and not task.FAIL_TO_PASS
    assert is_swebench_test_path("moto/ec2/resources/latest_amis/x.json")  # SWE-bench's substring rule
    assert not is_swebench_test_path("moto/ec2/models.py")
    gold, tests = split_diff(run_git(git_dir, "diff", history["base"], history["squash"]))
    assert "calc/ops.py" in gold and "tests/test_ops.py" in tests and "tests/" not in gold


def test_script_rebuilds_and_rebuilds_again_from_its_recipe(history: dict[str, str], tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("fixture__calc-12\nfixture__calc-34\nfixture__calc-56\nfixture__calc-77\nother__repo-1\n")
    out, recipe = tmp_path / "rebuilt.jsonl", tmp_path / "recipe.json"
    mirror = ["--mirror", f"fixture/calc={history['path']}"]
    args = [
        sys.executable,
        str(SCRIPT),
        *mirror,
        "--ids",
        str(ids),
        "--out",
        str(out),
        "--recipe-out",
        str(recipe),
    ]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    body = json.loads(recipe.read_text())
    assert [r["instance_id"] for r in body["instances"]] == [
        "fixture__calc-12",
        "fixture__calc-34",
        "fixture__calc-56",
    ]
    assert body["not_rebuilt"]["fixture__calc-77"].startswith("PR not found")
    assert body["not_rebuilt"]["other__repo-1"] == "no mirror of the repository"
    again = tmp_path / "again.jsonl"
    rerun = [sys.executable, str(SCRIPT), *mirror, "--recipe", str(recipe), "--out", str(again)]
    assert subprocess.run(rerun, capture_output=True, timeout=120).returncode == 0
    assert again.read_text() == out.read_text()
    assert [t.version for t in load_tasks(str(out)).tasks] == ["1.4", "1.4", "1.4"]


def test_committed_rebuilt_set_matches_its_recipe() -> None:
    body = json.loads(RECIPE.read_text())
    rows = {r["instance_id"]: r for r in body["instances"]}
    lite = swegym_lite_ids()
    assert set(rows) <= lite and set(rows) | set(body["not_rebuilt"]) == lite
    tasks = load_tasks(str(REBUILT)).tasks
    assert {t.instance_id for t in tasks} == set(rows)
    for t in tasks:
        row = rows[t.instance_id]
        assert (t.base_commit, t.version, t.meta["rebuilt"]["commit"]) == (
            row["base"],
            row["version"],
            row["commit"],
        )
        assert t.patch and t.test_patch and re.fullmatch(r"[0-9a-f]{40}", t.base_commit)
