"""How derived repos (synthetic tasks: a ``base_patch`` over a clean source) are stored.

A derived repo is a tree and a fresh git repository holding only that tree (see
:func:`tree_repo`). Most of its bytes are the same as the clean source's: every unchanged file,
and every loose git object of it. Those are hard links to one *pool* per clean commit (the clean
tree made into a repository the same way, ``repos/pool/<commit>``), so an extra task costs only
what its patch changed, its index and its directories.

What a task's directory holds is unchanged: exactly its own tree and the objects of that tree,
as a full copy would. The pool (which has the clean version of every changed file, i.e. the
solution) is never mounted into a sandbox, and a task's directory links only files whose bytes it
would hold anyway, so neither the clean code nor another task's files reach it. Sandboxes mount
the cache read-only (an overlay lower layer; ``copy`` mode copies the files), so a write in an
episode never reaches a shared inode.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

from swegym.config import sub_cache
from swegym.errors import SourceError
from swegym.sources.gitutil import git, git_env


def tree_repo(clean_dir: Path, dest: Path, patch: str, message: str, what: str) -> str:
    """``clean_dir``'s HEAD tree with ``patch`` applied, committed in a new repo at ``dest`` as a
    root commit (no history: the clean commit and its blobs are not present); return its id.

    ``what`` names the task in errors."""
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=clean_dir, env=git_env(), capture_output=True
    )
    if archive.returncode != 0:
        raise SourceError(f"{what}: git archive failed in {clean_dir}")
    subprocess.run(["tar", "-x", "-f", "-", "-C", str(dest)], input=archive.stdout, check=True)
    git(dest, "init", "-q", "--initial-branch=main")
    if patch:
        proc = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", "-"],
            cwd=dest,
            env=git_env(),
            input=patch.encode(),
            capture_output=True,
        )
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise SourceError(f"{what}: base_patch does not apply to its source: {err[0]}")
    git(dest, "add", "--all", "--force", ".")
    git(dest, "commit", "-q", "--no-verify", "-m", message)
    return git(dest, "rev-parse", "HEAD").strip()


def pool_dir(clean_dir: Path) -> Path:
    """Where the pool of the clean repo ``clean_dir`` lives (one per clean commit)."""
    return sub_cache("repos") / "pool" / git(clean_dir, "rev-parse", "HEAD").strip()


def ensure_pool(clean_dir: Path, message: str) -> Path:
    """The pool of ``clean_dir`` (made once, under a lock; a torn one is made again)."""
    from swegym.sources.materialize import file_lock  # (materialize imports this module)

    pool = pool_dir(clean_dir)
    done = pool.with_name(pool.name + ".done")
    with file_lock(pool.with_name(pool.name + ".lock")):
        if not done.exists():
            if pool.exists():
                shutil.rmtree(pool)  # an interrupted earlier attempt
            pool.parent.mkdir(parents=True, exist_ok=True)
            tree_repo(clean_dir, pool, "", message, f"pool of {clean_dir}")
            done.write_text("")
    return pool


_OWN = frozenset({".git/index", ".git/COMMIT_EDITMSG", ".git/ORIG_HEAD", ".git/refs/heads/main"})
"""Pool files a task never links: its index (copied), its branch and the pool's commit notes."""
_PATCH_PATH = re.compile(r"^(?:diff --git a/(\S+) b/(\S+)|(?:---|\+\+\+) [ab]/(\S+)|rename from (\S+))")


def linked_repo(pool: Path, dest: Path, patch: str, message: str, what: str) -> str:
    """What :func:`tree_repo` makes from the pool's tree and ``patch``, built out of hard links.

    Every file of ``pool`` is linked into ``dest`` (its index copied); a file ``patch`` names
    gets an inode of its own before ``git apply`` runs, so the pool's bytes are never written;
    ``git add`` then writes only the objects the patch made; the task's commit is a root commit;
    last, every object its tree does not reach (the pool's commit, the clean versions of the
    changed files) is deleted. Returns the commit id, the same as :func:`tree_repo`'s.
    """
    dest.mkdir(parents=True)
    for root, dirs, files in os.walk(pool):
        rel = Path(root).relative_to(pool)
        dirs[:] = [d for d in dirs if str(rel / d) != ".git/logs"]
        for d in dirs:
            (dest / rel / d).mkdir()
        for name in files:
            if str(rel / name) not in _OWN:
                os.link(Path(root, name), dest / rel / name)
    shutil.copy2(pool / ".git" / "index", dest / ".git" / "index")
    for path in _patch_paths(patch):
        _own_inode(dest, path)
    if patch:
        proc = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", "-"],
            cwd=dest,
            env=git_env(),
            input=patch.encode(),
            capture_output=True,
        )
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise SourceError(f"{what}: base_patch does not apply to its source: {err[0]}")
    git(dest, "add", "--all", "--force", ".")
    git(dest, "commit", "-q", "--no-verify", "-m", message)
    _drop_unreachable(dest)
    return git(dest, "rev-parse", "HEAD").strip()


def _patch_paths(patch: str) -> set[str]:
    out: set[str] = set()
    for line in patch.splitlines():
        m = _PATCH_PATH.match(line)
        if m:
            out.update(g for g in m.groups() if g)
    return out


def _own_inode(dest: Path, rel: str) -> None:
    """Give ``dest/rel`` an inode of its own (a copy of its bytes), if it is a shared file."""
    path = dest / rel
    if not path.resolve().is_relative_to(dest.resolve()):
        return  # git apply refuses such paths itself
    try:
        st = path.lstat()
    except OSError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
        path.chmod(stat.S_IMODE(st.st_mode))


def _drop_unreachable(dest: Path) -> None:
    """Delete loose objects that the task's HEAD does not reach (linked from the pool)."""
    keep = {line.split(" ", 1)[0] for line in git(dest, "rev-list", "--objects", "HEAD").splitlines()}
    objects = dest / ".git" / "objects"
    for sub in objects.iterdir():
        if len(sub.name) != 2 or not sub.is_dir():
            continue
        for obj in sub.iterdir():
            if sub.name + obj.name not in keep:
                obj.unlink()
        if not any(sub.iterdir()):
            sub.rmdir()
