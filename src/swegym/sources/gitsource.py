"""Git sources: clone a URL or local mirror at a commit, keeping no history after it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from swegym.errors import SourceError
from swegym.sources.gitutil import git


def clone_at(url: str, commit: str, dest: Path) -> str:
    """Clone ``url`` into ``dest`` checked out at ``commit``; return the full commit id.

    Every ref, reflog and remote is removed and unreachable objects are pruned, so the clone
    holds ``commit`` and its ancestors only: the fix cannot be found with ``git log --all``.
    """
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        work = Path(tmp) / "repo"
        args = ["clone", "-q", "--no-checkout", "--no-hardlinks", url, str(work)]
        git(Path(tmp), *args)
        full = git(work, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", check=False).strip()
        if not full:
            raise SourceError(f"{url}: commit {commit} not found (is the mirror up to date?)")
        git(work, "checkout", "-q", "--detach", full)
        _strip_history_after(work)
        shutil.move(str(work), dest)
    return full


def _strip_history_after(work: Path) -> None:
    refs = git(work, "for-each-ref", "--format=%(refname)").split()
    for ref in refs:
        git(work, "update-ref", "-d", ref)
    git(work, "remote", "remove", "origin", check=False)
    git(work, "branch", "-q", "main")  # a familiar branch name at the base commit
    git(work, "symbolic-ref", "HEAD", "refs/heads/main")
    git(work, "reflog", "expire", "--expire=now", "--all")
    # A clone of a partial-clone mirror copies its promisor packs, and gc never prunes those:
    # every later commit (the fix included) would stay readable with `git cat-file`. The checkout
    # is complete, so the packs are made ordinary ones and pruned like the rest.
    for marker in (work / ".git" / "objects" / "pack").glob("*.promisor"):
        marker.unlink()
    git(work, "config", "--unset-all", "extensions.partialclone", check=False)
    git(work, "gc", "-q", "--prune=now")
    stale = work / ".git" / "packed-refs"
    if stale.exists() and "refs/" in stale.read_text().replace("refs/heads/main", ""):
        raise SourceError(f"{work}: refs after the base commit remain")


def resolve_rev(url: str, rev: str) -> str:
    """The full commit id that ``rev`` (a commit, tag or branch) names in the repository at ``url``."""
    if len(rev) == 40 and all(c in "0123456789abcdef" for c in rev.lower()):
        return rev.lower()
    out = git(Path.cwd(), "ls-remote", url, rev, f"{rev}^{{}}", check=False)
    rows = [line.split("\t") for line in out.splitlines() if "\t" in line]
    peeled = [sha for sha, ref in rows if ref.endswith("^{}")]
    found = peeled or [sha for sha, _ in rows]
    if not found:
        if Path(url).is_dir():
            full = git(
                Path(url), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False
            ).strip()
            if full:
                return full
        raise SourceError(f"{url}: no commit, tag or branch named {rev!r}")
    return found[0]
