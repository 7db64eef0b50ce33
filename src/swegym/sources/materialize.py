"""Materialize a task's repository at its base commit into a read-only cache directory."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from swegym.config import sub_cache
from swegym.errors import SourceError
from swegym.sources.gitsource import clone_at
from swegym.sources.gitutil import git
from swegym.sources.pypi import download_sdist, import_sdist, parse_pypi_source
from swegym.sources.storage import ensure_pool, linked_repo
from swegym.tasks.model import Task

Mirrors = Mapping[str, str]
"""Map of 'owner/name' to a local git repository (or URL) to clone from instead of GitHub."""


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock, so parallel workers (and processes) build a thing once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _repo_dir(task: Task) -> Path:
    if task.base_patch:
        return sub_cache("repos") / "derived" / task.base_commit
    if task.source and task.source.startswith("pypi:"):
        ref = parse_pypi_source(task.source)
        return sub_cache("repos") / "pypi" / f"{ref.normalized}-{ref.version}"
    return sub_cache("repos") / task.repo_key / task.base_commit


def _marker_commit(marker: Path) -> str | None:
    try:
        commit = json.loads(marker.read_text())["commit"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or torn: materialize again
    return commit if isinstance(commit, str) else None


def _matches(commit: str, expected: str) -> bool:
    return commit.startswith(expected) or expected.startswith(commit)


def materialize(task: Task, mirrors: Mirrors | None = None) -> Path:
    """Return a cached directory holding ``task.repo`` at ``task.base_commit`` (a git repo).

    The directory is shared by every task with the same base and must be treated as read-only:
    the sandbox mounts it as the lower layer of an overlay.
    """
    dest, commit = _ensure(task, mirrors)
    if not _matches(commit, task.base_commit):
        raise SourceError(
            f"{task.instance_id}: source {task.source or task.repo} gives commit {commit[:12]}, "
            f"the task expects {task.base_commit[:12]}"
        )
    return dest


def _ensure(task: Task, mirrors: Mirrors | None) -> tuple[Path, str]:
    """The cached repo for ``task``'s source (created once, under a lock) and its commit."""
    dest = _repo_dir(task)
    if not dest.resolve().is_relative_to(sub_cache("repos").resolve()):
        raise SourceError(f"{task.instance_id}: repo or commit names a path outside the cache")
    marker = dest.with_name(dest.name + ".json")
    with file_lock(dest.with_name(dest.name + ".lock")):
        commit = _marker_commit(marker) if dest.exists() else None
        if commit is None:
            if dest.exists():
                shutil.rmtree(dest)  # an interrupted earlier attempt
            dest.parent.mkdir(parents=True, exist_ok=True)
            commit = _create(task, dest, mirrors or {})
            _write_marker(marker, commit, task.source or task.repo)
    return dest, commit


def _write_marker(marker: Path, commit: str, source: str) -> None:
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps({"commit": commit, "source": source}))
    tmp.replace(marker)


def _create(task: Task, dest: Path, mirrors: Mirrors) -> str:
    if task.base_patch:
        return _create_derived(task, dest, mirrors)
    if task.source and task.source.startswith("pypi:"):
        ref = parse_pypi_source(task.source)
        archive, sha = download_sdist(ref, task.meta.get("sdist_sha256"))
        return import_sdist(archive, ref, sha, dest)
    url = mirrors.get(task.repo) or task.source or f"https://github.com/{task.repo}.git"
    if os.path.isdir(url):
        url = str(Path(url).resolve())
    return clone_at(url, task.base_commit, dest)


def source_task(task: Task) -> Task:
    """The task of ``task``'s clean source: itself, or for a derived base the undisturbed tree."""
    if not task.base_patch:
        return task
    commit = task.meta.get("source_commit")
    if not isinstance(commit, str) or not commit:
        raise SourceError(f"{task.instance_id}: a task with a base_patch needs meta.source_commit")
    return task.model_copy(update={"base_patch": "", "base_commit": commit})


def _create_derived(task: Task, dest: Path, mirrors: Mirrors) -> str:
    """The source tree with ``base_patch`` applied, committed as a root commit.

    A fresh repository holds only the patched tree: neither the clean commit nor its blobs are
    reachable or even present, so the agent cannot recover the original code from git. Files
    and objects it shares with the clean tree are hard links into the source's pool
    (:mod:`swegym.sources.storage`), so an extra task costs about what its patch changed.
    """
    clean_dir = materialize(source_task(task), mirrors)
    message = git(clean_dir, "log", "-1", "--format=%B").strip()
    return linked_repo(ensure_pool(clean_dir, message), dest, task.base_patch, message, task.instance_id)


def derive_base(task: Task, mirrors: Mirrors | None = None) -> str:
    """Create the derived base of ``task`` (its base_commit may be a placeholder); return its id."""
    root = sub_cache("repos") / "derived"
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="tmp-", dir=root))
    try:
        shutil.rmtree(tmp)
        commit = _create_derived(task, tmp, mirrors or {})
        final = root / commit
        with file_lock(final.with_name(commit + ".lock")):
            if _marker_commit(final.with_name(commit + ".json")) != commit:
                if final.exists():
                    shutil.rmtree(final)
                tmp.rename(final)
                _write_marker(final.with_name(commit + ".json"), commit, task.source or task.repo)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return commit


def resolve_source(source: str, repo: str, mirrors: Mirrors | None = None) -> tuple[Path, str]:
    """Materialize a PyPI ``source`` without knowing its commit yet; return (dir, commit id)."""
    if not source.startswith("pypi:"):
        raise SourceError(f"{source}: only pypi:NAME==VERSION sources can be resolved this way")
    probe = Task(
        instance_id=f"probe:{source}",
        repo=repo,
        base_commit="0" * 40,
        patch="",
        test_patch="",
        problem_statement="",
        version="probe",
        source=source,
    )
    return _ensure(probe, mirrors)


def mirrors_under(root: Path) -> dict[str, str]:
    """The mirrors in the directory ``root``, keyed 'owner/name': ``root/<owner>+<name>/repo`` (the
    layout of a fetched mirror) or ``root/<owner>__<name>`` (SWE-bench's instance-id spelling).

    GitHub owners hold neither '+' nor '_', so the first '+' or '__' splits owner from name."""
    if not root.is_dir():
        raise SourceError(f"--mirror-root {root}: not a directory (expected DIR/<owner>+<name>/repo)")
    out: dict[str, str] = {}
    for entry in sorted(root.iterdir()):
        owner, plus, name = entry.name.partition("+")
        if plus and (entry / "repo").is_dir():
            out[f"{owner}/{name}"] = str(entry / "repo")
            continue
        owner, under, name = entry.name.partition("__")
        if under and owner and name and entry.is_dir():
            out.setdefault(f"{owner}/{name}", str(entry))
    return out


def parse_mirrors(items: list[str]) -> dict[str, str]:
    """Parse ``owner/repo=PATH`` items given on the command line."""
    out: dict[str, str] = {}
    for item in items:
        repo, sep, path = item.partition("=")
        if not sep or repo.count("/") != 1 or not path:
            raise SourceError(f"--mirror {item!r}: expected owner/repo=PATH")
        out[repo] = path
    return out
