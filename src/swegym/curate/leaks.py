"""Leak checks: a task is worthless for training when its answer can be read off the repository.

Three ways the gold patch leaks, each a function returning human-readable reasons:

- ``statement_leaks``: the problem statement holds the diff, or a code line the fix adds;
- ``tree_leaks``: a comment in the base tree quotes a line the fix adds (``# should be: ...``);
- ``history_leaks``: the repository given to the agent holds the fix commit, commits after the
  base, or the fixed version of a file (a blob that ``git log --all`` or ``git cat-file`` finds).

``check_leaks(task, repo_dir)`` runs all three on a repository checked out at the base commit (a
materialized task repo). They apply to any task with a ``patch``: mined or synthetic.
``screen_leaks(tasks)`` splits a batch into leak-free tasks and the reasons of the others.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from swegym.harness.patches import deleted_files, touched_files
from swegym.sources.gitutil import git, git_env
from swegym.sources.materialize import materialize
from swegym.tasks.model import Task

MIN_LINE = 16
"""Shortest added line (stripped) that counts as distinctive enough to be a leak."""
_CODE_CHARS = re.compile(r"[(=\[]")
_COMMENT_START = ("#", "//")
_NOT_CODE_START = ("#", "import ", "from ", '"""', "'''", "..", ">>>", "...", "*", "-")
EMPTY_BLOBS = frozenset(
    {
        "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",  # SHA-1 object format
        "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813",  # SHA-256
    }
)
"""The empty file's blob id: every repository with an empty file holds it, so a fix that adds an
empty file (an ``__init__.py``) reveals nothing by finding it in the object store."""


def added_lines(patch: str) -> list[str]:
    """Distinctive lines the patch adds: stripped, long enough, code-like, not imports/comments.

    Lines the patch also removes (moved or re-indented code) are not the fix, so they are left out.
    """
    added, removed = [], set()
    for line in patch.splitlines():
        if line.startswith("+++") or line.startswith("---"):
            continue
        if line.startswith("-"):
            removed.add(line[1:].strip())
        elif line.startswith("+"):
            added.append(line[1:].strip())
    out = []
    for text in dict.fromkeys(added):
        if len(text) < MIN_LINE or text in removed or not _CODE_CHARS.search(text):
            continue
        if text.startswith(_NOT_CODE_START):
            continue
        out.append(text)
    return out


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def statement_leaks(task: Task) -> list[str]:
    """The problem statement contains the gold diff or a line of code the gold patch adds."""
    text = task.problem_statement + "\n" + task.hints_text
    reasons = []
    if "diff --git" in text or len(re.findall(r"^@@ -\d+", text, re.M)) >= 1:
        reasons.append("problem statement contains a diff")
    flat = _normalize(text)
    for line in added_lines(task.patch):
        if _normalize(line) in flat:
            reasons.append(f"problem statement quotes a line of the gold patch: {line[:80]!r}")
            break
    return reasons


def tree_leaks(task: Task, repo: Path, commit: str = "HEAD") -> list[str]:
    """A comment somewhere in the tree of ``commit`` quotes a line the gold patch adds."""
    lines = added_lines(task.patch)
    if not lines:
        return []
    args = ["grep", "-I", "-n", "-F", "--no-color"]
    for line in lines:
        args += ["-e", line]
    out = git(repo, *args, commit, "--", check=False)
    for hit in out.splitlines():
        # "<commit>:<path>:<lineno>:<text>"
        parts = hit.split(":", 3)
        if len(parts) < 4:
            continue
        path, lineno, text = parts[1], parts[2], parts[3]
        for line in lines:
            pos = text.find(line)
            if pos >= 0 and _is_comment_quote(text, pos):
                return [f"a comment at {path}:{lineno} quotes the fix: {line[:80]!r}"]
    return []


def _is_comment_quote(text: str, pos: int) -> bool:
    before = text[:pos]
    return "#" in before or text.lstrip().startswith(_COMMENT_START)


def history_leaks(task: Task, repo_dir: Path) -> list[str]:
    """The repository holds the fix commit, history past its HEAD, or the fixed files' blobs."""
    reasons = []
    fix = str(task.meta.get("commit") or "")
    if re.fullmatch(r"[0-9a-fA-F]{7,40}", fix) and _has_object(repo_dir, f"{fix}^{{commit}}"):
        reasons.append(f"the fix commit {fix[:12]} is in the repository")
    past = git(repo_dir, "rev-list", "--all", "--reflog", "--max-count=1", "--not", "HEAD", check=False)
    if past.strip():
        reasons.append(f"commit {past.strip()[:12]} after the base commit is reachable (refs or reflog)")
    for path, blob in post_image_blobs(task.patch, repo_dir).items():
        if blob not in EMPTY_BLOBS and _has_object(repo_dir, blob):
            reasons.append(f"the fixed version of {path} is in the object store ({blob[:12]})")
            break
    return reasons


def _has_object(repo_dir: Path, name: str) -> bool:
    proc = subprocess.run(["git", "cat-file", "-e", name], cwd=repo_dir, env=git_env(), capture_output=True)
    return proc.returncode == 0


def post_image_blobs(patch: str, repo_dir: Path) -> dict[str, str]:
    """Blob ids of the files as the patch leaves them (computed, never written to any store)."""
    gone = deleted_files(patch)
    paths = [p for p in touched_files(patch) if p not in gone]
    if not paths:
        return {}
    with tempfile.TemporaryDirectory(prefix="swegym-leak-") as tmp:
        work = Path(tmp)
        for p in paths:
            text = subprocess.run(
                ["git", "show", f"HEAD:{p}"], cwd=repo_dir, env=git_env(), capture_output=True
            )
            if text.returncode == 0:
                (work / p).parent.mkdir(parents=True, exist_ok=True)
                (work / p).write_bytes(text.stdout)
        env = {**git_env(), "GIT_CEILING_DIRECTORIES": tmp}
        applied = subprocess.run(
            ["git", "apply", "--unidiff-zero", "-"],
            cwd=work,
            env=env,
            input=patch.encode(),
            capture_output=True,
        )
        if applied.returncode != 0:
            return {}
        out = {}
        for p in paths:
            if (work / p).is_file():
                sha = subprocess.run(
                    ["git", "hash-object", "--no-filters", str(work / p)],
                    cwd=work,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if sha.returncode == 0:
                    out[p] = sha.stdout.strip()
    return out


def check_leaks(task: Task, repo_dir: Path) -> list[str]:
    """Every leak of ``task``'s gold patch in ``repo_dir`` (checked out at the base); [] if none."""
    return [*statement_leaks(task), *tree_leaks(task, repo_dir), *history_leaks(task, repo_dir)]


def screen_leaks(tasks: list[Task]) -> tuple[list[Task], dict[str, list[str]]]:
    """Split ``tasks`` into leak-free ones and {instance_id: reasons} for those that leak."""
    clean: list[Task] = []
    leaked: dict[str, list[str]] = {}
    for task in tasks:
        reasons = check_leaks(task, materialize(task))
        if reasons:
            leaked[task.instance_id] = reasons
        else:
            clean.append(task)
    return clean, leaked
