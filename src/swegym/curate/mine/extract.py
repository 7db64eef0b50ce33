"""Mining fix commits: extract raw task instances from a history's candidate commits.

A raw instance comes from one mainline commit (plain, squash-merged PR, or merge commit diffed
against its first parent) that changes both Python code and tests: base commit = the parent,
gold patch = the non-test Python files of the diff, test patch = the test files. Docs, CI and
build files are left out of both patches. The stages and why each commit was dropped are counted
in a ``StageCounts``, like SWE-Gym's Raw -> Gym funnel.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from swegym.curate.leaks import statement_leaks, tree_leaks
from swegym.curate.mine import history
from swegym.curate.mine.classify import classify_path, is_candidate
from swegym.curate.mine.history import Commit
from swegym.curate.mine.issues import GitHubIssues, parse_refs, problem_statement, word_count
from swegym.tasks.model import Task


@dataclass
class MineLimits:
    """Size limits on a raw instance (large changes make poor, slow tasks)."""

    max_gold_files: int = 10
    max_gold_lines: int = 400
    max_test_lines: int = 3000
    min_statement_words: int = 4


@dataclass
class StageCounts:
    """How many commits reached each stage, and why the others were dropped."""

    scanned: int = 0
    candidates: int = 0
    raw: int = 0
    leak_free: int = 0
    dropped: dict[str, Counter[str]] = field(default_factory=dict)

    def drop(self, stage: str, reason: str) -> None:
        self.dropped.setdefault(stage, Counter())[reason] += 1


def _changed_lines(patch: str) -> int:
    return sum(1 for ln in patch.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---")))


def _commit_kind(commit: Commit) -> str:
    if commit.is_merge:
        return "merge"
    return "squash" if parse_refs(commit.message).pr else "plain"


@dataclass
class Extractor:
    """Turns candidate commits of one repository into raw task instances (or drop reasons)."""

    repo_dir: Path
    repo: str
    source: str
    limits: MineLimits = field(default_factory=MineLimits)
    github: GitHubIssues | None = None

    def extract(self, commit: Commit) -> Task | str:
        """A raw task, or the reason the commit is not one."""
        assert commit.parent is not None
        kinds = {p: classify_path(p) for _, p in commit.files}
        if any(k == "other" for k in kinds.values()):
            return "non-Python source change"
        if re.match(r"^revert\b", commit.subject, re.I):
            return "revert commit"
        code = [p for p, k in kinds.items() if k == "code"]
        tests = [p for p, k in kinds.items() if k == "test"]
        gold = history.diff(self.repo_dir, commit.parent, commit.sha, code)
        test_patch = history.diff(self.repo_dir, commit.parent, commit.sha, tests)
        if not gold.strip() or not test_patch.strip():
            return "empty gold or test patch"
        if "Binary files" in gold or "GIT binary patch" in test_patch or "Binary files" in test_patch:
            return "binary change"
        if len(code) > self.limits.max_gold_files or _changed_lines(gold) > self.limits.max_gold_lines:
            return "gold patch too large"
        if _changed_lines(test_patch) > self.limits.max_test_lines:
            return "test patch too large"
        if not history.applies_at(self.repo_dir, commit.parent, gold + test_patch):
            return "patch does not apply at the parent"
        return self._task(
            commit, gold, test_patch, [p for p, k in kinds.items() if k not in ("code", "test")]
        )

    def _task(self, commit: Commit, gold: str, test_patch: str, left_out: list[str]) -> Task | str:
        subjects = history.pr_commit_subjects(self.repo_dir, commit) if commit.is_merge else []
        statement, origin = problem_statement(
            self.repo, commit.message, pr_commit_subjects=subjects, github=self.github
        )
        if word_count(statement) < self.limits.min_statement_words:
            return "problem statement too short"
        refs = parse_refs(commit.message)
        meta = {
            "made_by": "mined",
            "commit": commit.sha,
            "kind": _commit_kind(commit),
            "pr": refs.pr,
            "issues": list(refs.issues),
            "problem_statement_source": origin,
            "left_out_files": left_out,
        }
        if origin == "commit_message":
            reason = self.github.disabled_reason if self.github else "no GitHub lookup"
            meta["problem_statement_note"] = f"built from the commit/PR message ({reason})"
        owner_name = self.repo.replace("/", "__")
        return Task(
            instance_id=f"{owner_name}-{refs.pr}" if refs.pr else f"{owner_name}-{commit.sha[:10]}",
            repo=self.repo,
            base_commit=commit.parent or "",
            patch=gold,
            test_patch=test_patch,
            problem_statement=statement,
            created_at=commit.date,
            version=self.version_of(commit),
            source=self.source,
            meta=meta,
        )

    def version_of(self, commit: Commit) -> str:
        """The release line (major.minor) the base commit belongs to: its last tag, else metadata."""
        base = commit.parent or commit.sha
        version = history.tag_version(self.repo_dir, base)
        return version or metadata_version(self.repo_dir, base) or "0.0"


_VERSION_RX = (
    ("pyproject.toml", re.compile(r"^version\s*=\s*['\"](\d+)\.(\d+)", re.M)),
    ("setup.cfg", re.compile(r"^version\s*=\s*(\d+)\.(\d+)", re.M)),
    ("setup.py", re.compile(r"\bversion\s*=\s*['\"](\d+)\.(\d+)")),
)
_DUNDER = re.compile(r"^__version__\s*=\s*['\"](\d+)\.(\d+)", re.M)


def metadata_version(repo_dir: Path, commit: str) -> str | None:
    """major.minor from pyproject/setup.cfg/setup.py or a package's ``__version__``."""
    for name, rx in _VERSION_RX:
        m = rx.search(history.show(repo_dir, commit, name) or "")
        if m:
            return f"{int(m.group(1))}.{int(m.group(2))}"
    files = history.list_files(repo_dir, commit)
    for f in files:
        if f.count("/") <= 2 and f.endswith(("__init__.py", "_version.py", "version.py", "__about__.py")):
            m = _DUNDER.search(history.show(repo_dir, commit, f) or "")
            if m:
                return f"{int(m.group(1))}.{int(m.group(2))}"
    return None


def leak_kind(reason: str) -> str:
    """A leak reason without its specifics (for counting)."""
    if reason.startswith("a comment at"):
        return "a comment in the base tree quotes the fix"
    return reason.split(":")[0].split(" (")[0]


def mine_history(
    extractor: Extractor, commits: list[Commit], counts: StageCounts
) -> tuple[list[Task], list[dict[str, str]]]:
    """Raw tasks (with ``meta['leaks']``) from ``commits``; and one row per dropped commit."""
    raw: list[Task] = []
    rejected: list[dict[str, str]] = []
    seen: set[str] = set()
    for commit in commits:
        counts.scanned += 1
        if not is_candidate(commit):
            continue
        counts.candidates += 1
        got = extractor.extract(commit)
        if isinstance(got, str):
            counts.drop("raw", got)
            rejected.append({"commit": commit.sha, "stage": "raw", "reason": got})
            continue
        if got.instance_id in seen:  # the same PR number twice (e.g. a re-landed change)
            got = got.model_copy(update={"instance_id": f"{got.instance_id}-{commit.sha[:10]}"})
        seen.add(got.instance_id)
        counts.raw += 1
        leaks = statement_leaks(got) + tree_leaks(got, extractor.repo_dir, got.base_commit)
        got.meta["leaks"] = leaks
        if leaks:
            counts.drop("leak_free", leak_kind(leaks[0]))
            rejected.append({"commit": commit.sha, "stage": "leak_free", "reason": "; ".join(leaks)})
        else:
            counts.leak_free += 1
        raw.append(got)
    return raw, rejected
