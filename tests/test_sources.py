"""Sources: deterministic sdist import, clones without history after the base commit."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from swegym.errors import SourceError
from swegym.sources.gitsource import clone_at
from swegym.sources.gitutil import git_env
from swegym.sources.materialize import materialize, parse_mirrors
from swegym.sources.pypi import SdistRef, import_sdist, parse_pypi_source
from swegym.tasks.model import Task


def make_sdist(path: Path, files: dict[str, str], top: str = "pkg-1.0") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            info.uid, info.gid, info.mtime = 1234, 1234, 1_600_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def test_sdist_import_is_deterministic(tmp_path: Path) -> None:
    archive = make_sdist(tmp_path / "pkg-1.0.tar.gz", {"pkg/__init__.py": "x = 1\n", ".gitignore": "*.py\n"})
    ref = SdistRef("pkg", "1.0")
    a = import_sdist(archive, ref, "0" * 64, tmp_path / "a")
    b = import_sdist(archive, ref, "0" * 64, tmp_path / "b")
    assert a == b
    # Files the sdist's own .gitignore would hide are still part of the base commit.
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=tmp_path / "a", env=git_env(), capture_output=True, text=True
    ).stdout.split()
    assert "pkg/__init__.py" in tracked


def test_unsafe_sdist_member_rejected(tmp_path: Path) -> None:
    archive = make_sdist(tmp_path / "evil.tar.gz", {"../escape.txt": "x"}, top="pkg-1.0/..")
    with pytest.raises(SourceError, match="unsafe member"):
        import_sdist(archive, SdistRef("pkg", "1.0"), "0" * 64, tmp_path / "out")


def test_pypi_source_syntax() -> None:
    assert parse_pypi_source("pypi:tomlkit==0.12.4") == SdistRef("tomlkit", "0.12.4")
    with pytest.raises(SourceError, match="pypi:NAME==VERSION"):
        parse_pypi_source("pypi:tomlkit")
    with pytest.raises(SourceError, match="owner/repo=PATH"):
        parse_mirrors(["tomlkit"])


def test_git_history_beyond_base_commit_is_removed(fixture_repo: dict[str, str], tmp_path: Path) -> None:
    dest = tmp_path / "clone"
    full = clone_at(fixture_repo["path"], fixture_repo["base"], dest)
    assert full == fixture_repo["base"]

    def g(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=dest, env=git_env(), capture_output=True, text=True)

    assert g("log", "--all", "--format=%H").stdout.split() == [fixture_repo["base"]]
    assert g("cat-file", "-e", fixture_repo["fix"]).returncode != 0
    assert "the fix" not in g("log", "--all", "--reflog").stdout
    assert g("remote").stdout.strip() == ""
    assert "hi + 1" in (dest / "calc.py").read_text()


def test_mirror_and_wrong_commit(fixture_repo: dict[str, str], calc_task: Task) -> None:
    task = calc_task.model_copy(update={"source": None, "instance_id": "m-1"})
    path = materialize(task, {"fixture/calc": fixture_repo["path"]})
    assert (path / "calc.py").exists()
    bad = calc_task.model_copy(update={"base_commit": "f" * 40, "instance_id": "m-2"})
    with pytest.raises(SourceError, match="not found"):
        materialize(bad)
