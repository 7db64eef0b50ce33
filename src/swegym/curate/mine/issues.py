"""Problem statements for mined commits: the linked GitHub issue, else the commit/PR message.

With ``GITHUB_TOKEN`` set and the API reachable, the text of the issue a commit fixes
(``Fixes #123``) is used, or the pull request's own title and body. Otherwise the statement is
built from the commit message (the squash commit's PR title and body, or a merge commit's PR
title plus the subjects of its commits), cleaned of trailers and noise, and marked as such in the
task's ``meta``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal

StatementSource = Literal["github_issue", "github_pr", "commit_message"]

_PR_SUFFIX = re.compile(r"\s*\(#(\d+)\)\s*$")
_MERGE_PR = re.compile(r"^Merge pull request #(\d+) from \S+\s*$")
_MERGE_OTHER = re.compile(r"^Merge (?:branch|remote-tracking branch|tag) .*$")
_CLOSES = re.compile(r"\b(?:fix(?:e[sd])?|close[sd]?|resolve[sd]?)\s*:?\s+(?:[\w.-]+/[\w.-]+)?#(\d+)", re.I)
_TRAILER = re.compile(
    r"^(?:Signed-off-by|Co-authored-by|Co-Authored-By|Reviewed-by|Acked-by|Tested-by|Reported-by|"
    r"Suggested-by|Helped-by|Cc|Change-Id|Reviewed-on|Approved-by):",
    re.I,
)
_NOISE = re.compile(
    r"^\s*(?:[*-]\s*)?(?:\[pre-commit\.ci\].*|pre-commit-ci.*|Merge (?:branch|remote-tracking branch) .*|"
    r"Update \S+\.(?:py|rst|md|txt|toml|cfg)|fixup!?.*|squash!.*|wip|lint(?:ing)?|"
    r"formatting|format|typo|changelog|update changelog|add changelog entry|\[skip ci\]|-{3,})\s*$",
    re.I,
)


@dataclass(frozen=True)
class Refs:
    """GitHub numbers a commit message mentions."""

    pr: int | None = None
    issues: tuple[int, ...] = field(default=())


def parse_refs(message: str) -> Refs:
    """The pull request (``(#456)`` or ``Merge pull request #456``) and fixed issues (``Fixes #1``)."""
    lines = message.strip().splitlines()
    subject = lines[0] if lines else ""
    pr = None
    m = _MERGE_PR.match(subject) or _PR_SUFFIX.search(subject)
    if m:
        pr = int(m.group(1))
    issues = tuple(dict.fromkeys(int(n) for n in _CLOSES.findall(message) if int(n) != pr))
    return Refs(pr, issues)


def clean_message(message: str, pr_commit_subjects: list[str] | None = None) -> str:
    """A problem statement from a commit message: PR title and body, no trailers or noise.

    For a merge commit (``Merge pull request #N from ...``) the title is the body's first line,
    and the subjects of the pull request's commits are listed after it when the body is short.
    """
    lines = [ln.rstrip() for ln in message.strip().splitlines()]
    if lines and (_MERGE_PR.match(lines[0]) or _MERGE_OTHER.match(lines[0])):
        lines = lines[1:]
    if lines:
        lines[0] = _PR_SUFFIX.sub("", lines[0])
    kept = [ln for ln in lines if not _TRAILER.match(ln.strip()) and not _NOISE.match(ln)]
    text = _squeeze_blank("\n".join(kept)).strip()
    extra = [s for s in pr_commit_subjects or [] if not _NOISE.match(s) and not _MERGE_OTHER.match(s)]
    extra = [s for s in dict.fromkeys(_PR_SUFFIX.sub("", s) for s in extra) if s not in text]
    if extra and text.count("\n") < 2:
        bullets = "\n".join(f"- {s}" for s in extra[:15])
        text = f"{text}\n\nChanges in the pull request:\n{bullets}".strip()
    return text


def _squeeze_blank(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text)


def word_count(text: str) -> int:
    """Words in a statement, ignoring ``#123`` references."""
    return len([w for w in re.findall(r"[A-Za-z_][\w.]*", re.sub(r"#\d+", "", text))])


class GitHubIssues:
    """Fetches issue and PR text from the GitHub API; turns itself off after a network failure.

    Only used when a token is given (``GITHUB_TOKEN``): unauthenticated calls are rate limited to
    60 an hour, too few for mining a history.
    """

    def __init__(self, token: str | None = None, *, client: Any = None, timeout: float = 10.0) -> None:
        self.token = token if token is not None else os.environ.get("GITHUB_TOKEN") or None
        self.client = client
        self.timeout = timeout
        self.disabled_reason: str | None = None if self.token else "GITHUB_TOKEN is not set"

    @property
    def enabled(self) -> bool:
        return self.disabled_reason is None

    def _get(self, path: str) -> dict[str, Any] | None:
        import httpx

        if self.client is None:
            self.client = httpx.Client(base_url="https://api.github.com", timeout=self.timeout)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json"}
        try:
            resp = self.client.get(path, headers=headers)
        except httpx.HTTPError as exc:
            self.disabled_reason = f"GitHub API unreachable ({type(exc).__name__})"
            return None
        if resp.status_code in (401, 403, 429):
            self.disabled_reason = f"GitHub API refused the token (HTTP {resp.status_code})"
            return None
        if resp.status_code != 200:
            return None
        data = resp.json()
        return data if isinstance(data, dict) else None

    def statement(self, repo: str, refs: Refs) -> tuple[str, StatementSource] | None:
        """Issue text for ``refs`` (the fixed issues, else the PR's linked issues, else the PR)."""
        if not self.enabled:
            return None
        issues = list(refs.issues)
        pr_data = self._get(f"/repos/{repo}/pulls/{refs.pr}") if refs.pr and self.enabled else None
        if pr_data and not issues:
            issues = [int(n) for n in _CLOSES.findall(str(pr_data.get("body") or ""))]
        texts = []
        for n in issues[:3]:
            data = self._get(f"/repos/{repo}/issues/{n}") if self.enabled else None
            if data and "pull_request" not in data:
                texts.append(_issue_text(data))
        if texts:
            return "\n\n".join(texts), "github_issue"
        if pr_data:
            return _issue_text(pr_data), "github_pr"
        return None


def _issue_text(data: dict[str, Any]) -> str:
    title = str(data.get("title") or "").strip()
    body = str(data.get("body") or "").replace("\r\n", "\n").strip()
    return f"{title}\n\n{body}".strip()


def problem_statement(
    repo: str,
    message: str,
    *,
    pr_commit_subjects: list[str] | None = None,
    github: GitHubIssues | None = None,
) -> tuple[str, StatementSource]:
    """The statement for a mined commit and where it came from."""
    if github is not None and github.enabled:
        found = github.statement(repo, parse_refs(message))
        if found is not None:
            return found
    return clean_message(message, pr_commit_subjects), "commit_message"
