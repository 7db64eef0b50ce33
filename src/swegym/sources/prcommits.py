"""Rebuilding SWE-bench-style instances from a repository's public history.

An instance ``owner__name-PR`` comes from its pull request's commit on the main line: a squash
commit (subject ``... (#PR)``) or a merge commit (``Merge pull request #PR from ...``). Its first
parent is the base commit, and the diff between them, split by file path, gives the gold patch
(non-test files) and the test patch (test files).

The split is SWE-bench's own rule (``swebench/collect/utils.py``, which SWE-Gym's collection
used): a file is a test file when its path contains ``test``, ``tests``, ``e2e`` or ``testing``
anywhere, as a substring. That puts mypy's ``test-data/`` and moto's ``latest_amis`` data into the
test patch, as in the published rows; ``swegym.harness.testfiles.is_test_path`` (whole directory
names) would put both in the gold patch instead.

Git has the PR's title and description (the squash commit's message, or the merge commit's body),
but not the issue's text: a rebuilt ``problem_statement`` is the PR's title and body.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from swegym.sources.gitutil import git
from swegym.sources.versions import with_version
from swegym.tasks.model import Task

SWEBENCH_TEST_WORDS = ("test", "tests", "e2e", "testing")
_SQUASH = re.compile(r"\(#(\d+)\)\s*$")
_MERGE = re.compile(r"^Merge pull request #(\d+) from ")
_SEP = "\x1f"


def is_swebench_test_path(path: str) -> bool:
    """SWE-bench's rule: a path with 'test', 'tests', 'e2e' or 'testing' in it is test code."""
    return any(word in path for word in SWEBENCH_TEST_WORDS)


class PullCommit(BaseModel):
    """The commit that landed a pull request, and its base."""

    pr: int
    commit: str
    base: str
    kind: str
    """'squash' (subject ends in (#PR)) or 'merge' (Merge pull request #PR)."""


def pr_of_subject(subject: str) -> tuple[int, str] | None:
    """The pull request a commit subject names, and how ('merge' or 'squash'), or None."""
    merge = _MERGE.match(subject)
    if merge:
        return int(merge.group(1)), "merge"
    squash = _SQUASH.search(subject)
    if squash:
        return int(squash.group(1)), "squash"
    return None


def pull_commits(git_dir: Path, rev: str = "HEAD") -> dict[int, list[PullCommit]]:
    """Every pull request's commits on the first-parent line of ``rev`` (newest first); for PRs
    absent from that line, those elsewhere in its history (merged into a side branch), then those
    on any branch (a backport to a release branch)."""
    out: dict[int, list[PullCommit]] = {}
    for scope in (["--first-parent", rev], [rev], ["--all"]):
        seen = set(out)
        for line in git(git_dir, "log", f"--format=%H{_SEP}%P{_SEP}%s", *scope).splitlines():
            commit, parents, subject = [*line.split(_SEP, 2), "", ""][:3]
            found = pr_of_subject(subject)
            if found is None or not parents or found[0] in seen:
                continue
            pr, kind = found
            if any(c.commit == commit for c in out.get(pr, [])):
                continue
            out.setdefault(pr, []).append(
                PullCommit(pr=pr, commit=commit, base=parents.split()[0], kind=kind)
            )
    return out


def split_diff(diff: str) -> tuple[str, str]:
    """(gold patch, test patch): the ``diff --git`` sections of ``diff`` by SWE-bench's rule."""
    gold: list[str] = []
    test: list[str] = []
    for section in re.split(r"(?m)^(?=diff --git )", diff):
        if not section.startswith("diff --git "):
            continue
        header = section.split("\n", 1)[0]
        match = re.match(r"diff --git a/(.*) b/(.*)$", header)
        path = match.group(2) if match else header
        (test if is_swebench_test_path(path) else gold).append(section)
    return "".join(gold), "".join(test)


def commit_diff(git_dir: Path, base: str, commit: str) -> str:
    """The diff from ``base`` to ``commit`` as SWE-bench rows hold it (text, no renames)."""
    return git(git_dir, "diff", "--no-color", "--no-ext-diff", "--no-renames", "--full-index", base, commit)


def commit_message(git_dir: Path, commit: str) -> tuple[str, str]:
    """(subject, body) of ``commit``."""
    text = git(git_dir, "log", "-1", "--format=%s%n%b", commit)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip()


def problem_statement(subject: str, body: str, kind: str) -> str:
    """The PR's title and description from its commit: a squash commit's subject less the
    ``(#PR)``; a merge commit's body (GitHub writes the PR title there)."""
    if kind == "merge":
        return body or subject
    title = _SQUASH.sub("", subject).rstrip()
    return f"{title}\n\n{body}".strip()


def commit_date(git_dir: Path, commit: str) -> str:
    """The commit's author date, ISO 8601 in UTC (``...Z``)."""
    out = git(git_dir, "log", "-1", "--date=iso-strict-local", "--format=%ad", commit, env={"TZ": "UTC"})
    return out.strip().replace("+00:00", "Z")


def rebuild_task(git_dir: Path, repo: str, instance_id: str, pull: PullCommit, version: str = "") -> Task:
    """The task of ``pull``: base = first parent, patches split from the diff, the PR's message as
    problem statement, the commit's date, ``version`` (detected from ``git_dir`` when empty) and
    no labels (``swegym validate`` derives them). Provenance goes in ``meta.rebuilt``."""
    gold, tests = split_diff(commit_diff(git_dir, pull.base, pull.commit))
    subject, body = commit_message(git_dir, pull.commit)
    task = Task(
        instance_id=instance_id,
        repo=repo,
        base_commit=pull.base,
        patch=gold,
        test_patch=tests,
        problem_statement=problem_statement(subject, body, pull.kind),
        created_at=commit_date(git_dir, pull.commit),
        version=version,
        meta={"rebuilt": {"from": "git", "pr": pull.pr, "commit": pull.commit, "kind": pull.kind}},
    )
    return with_version(task, {repo: str(git_dir)})
