"""Synthetic tasks' repos stored as hard links into a per-source pool: same repo, no leaks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import run_git
from swegym.sandbox.local import LocalSandbox
from swegym.sources.gitutil import git
from swegym.sources.materialize import derive_base, materialize, source_task
from swegym.sources.storage import pool_dir, tree_repo
from swegym.tasks.model import Task

CLEAN_LINE = "return a + b"


def _patch(fixture_repo: dict[str, str], tmp: Path, old: str, new: str) -> str:
    run_git(tmp, "clone", "-q", fixture_repo["path"], "r")
    repo = tmp / "r"
    run_git(repo, "checkout", "-q", fixture_repo["base"])
    calc = repo / "calc.py"
    calc.write_text(calc.read_text().replace(old, new))
    return run_git(repo, "diff")


def _derived(calc_task: Task, fixture_repo: dict[str, str], patch: str, iid: str) -> Task:
    task = calc_task.model_copy(
        update={
            "instance_id": iid,
            "base_patch": patch,
            "base_commit": "0" * 40,
            "meta": {"source_commit": fixture_repo["base"]},
        }
    )
    return task.model_copy(update={"base_commit": derive_base(task)})


@pytest.fixture(scope="module")
def two_tasks(
    calc_task: Task, fixture_repo: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Task, Task]:
    a = _patch(fixture_repo, tmp_path_factory.mktemp("a"), CLEAN_LINE, "return a - b")
    b = _patch(fixture_repo, tmp_path_factory.mktemp("b"), "max(lo,", "max(lo - 1,")
    return _derived(calc_task, fixture_repo, a, "synth-a"), _derived(calc_task, fixture_repo, b, "synth-b")


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def _objects(repo: Path) -> set[str]:
    return set(git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)").split())


def _all_bytes(repo: Path) -> bytes:
    """Every object's content and every work-tree file of ``repo``."""
    proc = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo, capture_output=True, check=True
    )
    return proc.stdout + b"".join(_files(repo).values())


def test_linked_repo_equals_a_whole_copy(two_tasks: tuple[Task, Task], tmp_path: Path) -> None:
    task = two_tasks[0]
    repo, clean = materialize(task), materialize(source_task(task))
    message = git(clean, "log", "-1", "--format=%B").strip()
    copy = tmp_path / "copy"
    assert tree_repo(clean, copy, task.base_patch, message, task.instance_id) == task.base_commit
    assert git(repo, "rev-parse", "HEAD").strip() == task.base_commit
    assert _files(repo) == _files(copy)  # byte for byte
    assert _objects(repo) == _objects(copy)  # exactly the objects of a whole copy, no more
    assert git(repo, "status", "--porcelain") == ""
    assert subprocess.run(["git", "fsck", "--strict"], cwd=repo, capture_output=True).returncode == 0
    assert git(repo, "rev-list", "--all").split() == [task.base_commit]  # a root commit, no history
    # Stored as links: unchanged files share the pool's inode, the patched one has its own.
    pool = pool_dir(clean)
    assert not pool.resolve().is_relative_to(repo.resolve())
    assert (repo / "tests" / "test_calc.py").stat().st_ino == (pool / "tests" / "test_calc.py").stat().st_ino
    assert (repo / "calc.py").stat().st_nlink == 1


def test_no_task_sees_the_clean_code_or_another_tasks_files(two_tasks: tuple[Task, Task]) -> None:
    a, b = (materialize(t) for t in two_tasks)
    clean = materialize(source_task(two_tasks[0]))
    clean_blob = git(clean, "rev-parse", "HEAD:calc.py").strip()
    seen_a, seen_b = _all_bytes(a), _all_bytes(b)
    # The solution of a (the clean calc.py) is nowhere in a's repo, objects included.
    assert subprocess.run(["git", "cat-file", "-e", clean_blob], cwd=a).returncode != 0
    assert CLEAN_LINE.encode() not in seen_a
    # Neither task holds the other's bug.
    assert b"return a - b" in seen_a and b"return a - b" not in seen_b
    assert b"max(lo - 1," in seen_b and b"max(lo - 1," not in seen_a


@pytest.mark.sandbox
def test_an_episode_writing_a_linked_file_leaves_the_pool_alone(two_tasks: tuple[Task, Task]) -> None:
    from swegym.harness.runner import prepare

    prep = prepare(two_tasks[0])
    pool_file = pool_dir(materialize(source_task(two_tasks[0]))) / "tests" / "test_calc.py"
    before = pool_file.read_bytes()
    with LocalSandbox(prep.layout()) as sb:
        out = sb.run("echo '# edited' >> tests/test_calc.py && tail -1 tests/test_calc.py")
        assert out.exit_code == 0 and "# edited" in out.output
    assert pool_file.read_bytes() == before
    assert (materialize(two_tasks[0]) / "tests" / "test_calc.py").read_bytes() == before
