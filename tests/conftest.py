"""Shared fixtures: an isolated swegym cache, a tiny real git repository task, its env spec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from swegym.sources.gitutil import git_env
from swegym.tasks.model import Task

PYVER = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(scope="session", autouse=True)
def swegym_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test session gets its own swegym cache (the uv cache stays shared and warm)."""
    cache = Path(os.environ.get("SWEGYM_TEST_CACHE") or tmp_path_factory.mktemp("swegym-cache"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWEGYM_CACHE_DIR", str(cache))
        yield cache


def run_git(cwd: Path, *args: str) -> str:
    """git in ``cwd`` with the controlled environment; stdout (raises on failure).

    A plain function, so test modules import it: ``from conftest import run_git``.
    """
    return subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(), check=True, capture_output=True, text=True
    ).stdout


CALC_BUGGY = (
    "def add(a, b):\n    return a + b\n\n\ndef clamp(x, lo, hi):\n    return max(lo, min(x, hi + 1))\n"
)
CALC_FIXED = CALC_BUGGY.replace("hi + 1", "hi")
TESTS_BASE = (
    "from calc import add, clamp\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_clamp_inside():\n    assert clamp(5, 0, 10) == 5\n"
)
TESTS_NEW = TESTS_BASE + "\n\ndef test_clamp_upper():\n    assert clamp(50, 0, 10) == 10\n"


@pytest.fixture(scope="session")
def fixture_repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A real git repo with a bug (clamp's upper bound), a fix commit and history after it."""
    root = tmp_path_factory.mktemp("calc-origin")
    run_git(root, "init", "-q", "--initial-branch=main")
    (root / "calc.py").write_text(CALC_BUGGY)
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(TESTS_BASE)
    run_git(root, "add", "-A")
    run_git(root, "commit", "-qm", "base")
    base = run_git(root, "rev-parse", "HEAD").strip()
    (root / "calc.py").write_text(CALC_FIXED)
    (root / "tests" / "test_calc.py").write_text(TESTS_NEW)
    gold = run_git(root, "diff", "--", "calc.py")
    test_patch = run_git(root, "diff", "--", "tests")
    run_git(root, "commit", "-qam", "fix clamp upper bound (the fix)")
    fix = run_git(root, "rev-parse", "HEAD").strip()
    return {"path": str(root), "base": base, "fix": fix, "gold": gold, "test_patch": test_patch}


@pytest.fixture(scope="session")
def fixture_specs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An env spec for the fixture repo, added through $SWEGYM_SPECS_PATH."""
    d = tmp_path_factory.mktemp("specs")
    spec = {
        "repo": "fixture/calc",
        "license": "MIT",
        "versions": {
            "0.1": {
                "python": PYVER,
                "install": [],
                "packages": ["pytest"],
                "env": {"PYTHONPATH": "/testbed"},
                "test_cmd": "python -m pytest -rA -p no:cacheprovider",
                "test_timeout": 120,
            },
            "0.old": {"python": "3.4", "install": [], "packages": ["pytest"]},
        },
    }
    (d / "fixture__calc.json").write_text(json.dumps(spec))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWEGYM_SPECS_PATH", str(d))
        yield d


@pytest.fixture(scope="session")
def calc_task(fixture_repo: dict[str, str], fixture_specs: Path) -> Task:
    """The fixture repo as a task (source = the local repository path)."""
    return Task(
        instance_id="fixture__calc-1",
        repo="fixture/calc",
        base_commit=fixture_repo["base"],
        patch=fixture_repo["gold"],
        test_patch=fixture_repo["test_patch"],
        problem_statement="clamp(50, 0, 10) returns 11 instead of 10.",
        version="0.1",
        source=fixture_repo["path"],
        created_at="2024-01-01T00:00:00Z",
    )


def with_labels(calc_task: Task) -> Task:
    """The calc task with its FAIL_TO_PASS/PASS_TO_PASS labels (as validation derives them)."""
    return calc_task.model_copy(
        update={
            "FAIL_TO_PASS": ["tests/test_calc.py::test_clamp_upper"],
            "PASS_TO_PASS": ["tests/test_calc.py::test_add", "tests/test_calc.py::test_clamp_inside"],
        }
    )


def labelled(calc_task: Task, n: int) -> list[Task]:
    """``n`` copies of the calc task with its FAIL_TO_PASS/PASS_TO_PASS labels (ids fixture__calc-0..n-1)."""
    base = with_labels(calc_task)
    return [base.model_copy(update={"instance_id": f"fixture__calc-{i}"}) for i in range(n)]
