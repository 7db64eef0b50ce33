"""Reading a repository's history for mining: first-parent commits, their files and diffs.

Works on bare mirrors as well as work trees: everything is read from git objects, never from a
checkout. The mainline is walked with ``--first-parent``, so a merged pull request is seen once,
as its merge commit (diffed against the first parent), and a squash-merged one as a plain commit.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from swegym.sources.gitutil import git, git_env

_SEP_RECORD = "\x1e"
_SEP_FIELD = "\x00"


@dataclass(frozen=True)
class Commit:
    """One mainline commit and the files it changes against its first parent."""

    sha: str
    parents: tuple[str, ...]
    date: str
    """Committer date, ISO 8601 (when the change landed)."""
    message: str
    files: tuple[tuple[str, str], ...] = field(default=())
    """(status letter, path) against the first parent: A, M, D, T."""

    @property
    def parent(self) -> str | None:
        return self.parents[0] if self.parents else None

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def subject(self) -> str:
        return self.message.strip().splitlines()[0] if self.message.strip() else ""


def walk(
    repo: Path,
    *,
    ref: str = "HEAD",
    since: str | None = None,
    until: str | None = None,
    max_commits: int | None = None,
) -> list[Commit]:
    """Mainline commits of ``ref``, newest first, with the files each changes."""
    fmt = "%x1e" + "%x00".join(["%H", "%P", "%cI", "%B"]) + "%x00"
    args = ["log", "--first-parent", "--diff-merges=first-parent", "--name-status", "--no-renames"]
    args += [f"--format={fmt}", "-z"]
    if since:
        args.append(f"--since={since}")
    if until:
        args.append(f"--until={until}")
    if max_commits:
        args.append(f"--max-count={max_commits}")
    out = git(repo, *args, ref, "--")
    commits = []
    for record in out.split(_SEP_RECORD)[1:]:
        parts = record.split(_SEP_FIELD)
        sha, parents, date, message = parts[:4]
        names = [p.strip("\n") for p in parts[4:]]
        names = [n for n in names if n]
        files = tuple((names[i][:1], names[i + 1]) for i in range(0, len(names) - 1, 2))
        commits.append(Commit(sha, tuple(parents.split()), date, message, files))
    return commits


def diff(repo: Path, parent: str, commit: str, paths: list[str]) -> str:
    """The unified diff of ``paths`` from ``parent`` to ``commit`` (full blob ids, no renames)."""
    if not paths:
        return ""
    return git(
        repo,
        "diff",
        "--no-renames",
        "--full-index",
        "--no-color",
        "--no-ext-diff",
        parent,
        commit,
        "--",
        *paths,
    )


def applies_at(repo: Path, commit: str, patch: str) -> bool:
    """Whether ``patch`` applies to the tree of ``commit`` (checked in a throwaway index)."""
    with tempfile.TemporaryDirectory(prefix="swegym-index-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        git(repo, "read-tree", commit, env=env)
        proc = subprocess.run(
            ["git", "apply", "--cached", "--check", "-"],
            cwd=repo,
            env={**git_env(), **env},
            input=patch,
            capture_output=True,
            text=True,
        )
    return proc.returncode == 0


def show(repo: Path, commit: str, path: str) -> str | None:
    """A file's text at ``commit``, or None when it does not exist there."""
    proc = subprocess.run(
        ["git", "show", f"{commit}:{path}"],
        cwd=repo,
        env=git_env(),
        capture_output=True,
        text=True,
        errors="replace",
    )
    return proc.stdout if proc.returncode == 0 else None


def list_files(repo: Path, commit: str) -> list[str]:
    """Every file path in the tree of ``commit``."""
    return git(repo, "ls-tree", "-r", "--name-only", "-z", commit).split("\0")[:-1]


_VERSION_IN_TAG = re.compile(r"(\d+)\.(\d+)")


def tag_version(repo: Path, commit: str) -> str | None:
    """major.minor of the newest release tag reachable from ``commit`` (None without one)."""
    out = git(repo, "describe", "--tags", "--abbrev=0", commit, check=False).strip()
    m = _VERSION_IN_TAG.search(out)
    return f"{int(m.group(1))}.{int(m.group(2))}" if m else None


def pr_commit_subjects(repo: Path, merge: Commit, limit: int = 20) -> list[str]:
    """Subjects of the non-merge commits a merge brought in (the pull request's commits)."""
    if not merge.is_merge:
        return []
    out = git(
        repo, "log", "--no-merges", "--format=%s", f"--max-count={limit}", f"{merge.parents[0]}..{merge.sha}"
    )
    return [s for s in out.splitlines() if s.strip()]


def head_commit(repo: Path, ref: str = "HEAD") -> str:
    """The full commit id of ``ref``."""
    return git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}").strip()
