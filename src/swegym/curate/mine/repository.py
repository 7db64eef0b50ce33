"""The repository to mine: a local git directory (or a bare clone of a URL) and its name."""

from __future__ import annotations

import re
from pathlib import Path

from swegym.config import sub_cache
from swegym.curate.mine import history
from swegym.errors import SourceError
from swegym.sources.gitutil import git


def repo_name(location: str, repo_dir: Path) -> str:
    """'owner/name' from a GitHub-style URL, the origin remote, or the directory name."""
    url = location
    if Path(location).exists():
        url = git(repo_dir, "config", "--get", "remote.origin.url", check=False).strip()
    m = re.search(r"[:/]([\w.-]+)/([\w.-]+?)(?:\.git)?/?$", url)
    if m and url:
        return f"{m.group(1)}/{m.group(2)}"
    path = Path(location).resolve()
    base = path.parent if path.name in ("repo", ".git") else path
    return f"local/{base.name.removesuffix('.git')}"


def open_repo(location: str) -> tuple[Path, str]:
    """A local git directory to read history from, and the task ``source`` to record."""
    path = Path(location).expanduser()
    if path.exists():
        resolved = path.resolve()
        git(resolved, "rev-parse", "--git-dir")
        return resolved, str(resolved)
    key = re.sub(r"[^\w.-]+", "_", location)[-100:]
    dest = sub_cache("mine") / f"{key}.git"
    if dest.exists():
        git(dest, "fetch", "-q", "--tags", "origin", "+refs/heads/*:refs/heads/*")
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        git(dest.parent, "clone", "-q", "--bare", location, str(dest))
    return dest, location


def check_source(repo_dir: Path, ref: str) -> str:
    """The commit ``ref`` names, or a clear error."""
    try:
        return history.head_commit(repo_dir, ref)
    except SourceError:
        raise SourceError(f"{repo_dir}: no commit '{ref}' (is it a git repository with history?)") from None


def mirrors_for(repo: str, repo_dir: Path, source: str) -> dict[str, str]:
    """Clone tasks from the local copy when the source is a URL (no second download)."""
    return {} if source == str(repo_dir) else {repo: str(repo_dir)}
