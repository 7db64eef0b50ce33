"""The task model: SWE-Gym / SWE-bench fields plus a few optional fields of ours."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _coerce_test_list(value: Any) -> list[str]:
    # Official releases store the lists as JSON strings; others as real lists.
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list of test ids ({exc.msg})") from None
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of test ids (strings)")
    return list(value)


class Task(BaseModel):
    """One task: a repository at a base commit, an issue, a gold patch and tests that grade it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    instance_id: str = Field(min_length=1, description="Unique id, e.g. 'pydantic__pydantic-8072'.")
    repo: str = Field(min_length=1, description="GitHub-style 'owner/name'.")
    base_commit: str = Field(
        pattern=r"^[0-9a-fA-F]{7,40}$", description="Commit the task starts from (hex id)."
    )
    patch: str = Field(description="Gold patch (non-test files).")
    test_patch: str = Field(description="Test patch (test files only).")
    problem_statement: str = Field(description="The issue text given to the agent.")
    hints_text: str = ""
    created_at: str = ""
    version: str = Field(
        default="",
        description="Key into the env spec table with `repo`; empty: detected from the repository "
        "at the base commit (swegym.sources.versions) when the task is prepared.",
    )
    FAIL_TO_PASS: list[str] = Field(default_factory=list)
    PASS_TO_PASS: list[str] = Field(default_factory=list)
    environment_setup_commit: str | None = None
    source: str | None = Field(
        default=None,
        description="Where the repo comes from: 'pypi:NAME==VERSION', a git URL, or None "
        "(https://github.com/<repo>, or a --mirror).",
    )
    split: str | None = Field(default=None, description="'lite' or 'full' for bundled tasks.")
    base_patch: str = Field(
        default="",
        description="Applied to the source to make the base commit, committed as a root commit with "
        "no history (synthetic tasks: the injected bug). Empty for ordinary tasks.",
    )
    test_files: list[str] = Field(
        default_factory=list,
        description="Test files to run besides those the test patch touches (synthetic tasks have no "
        "test patch: their tests are already in the repo).",
    )
    meta: dict[str, Any] = Field(default_factory=dict, description="Provenance and labels.")

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> list[str]:
        return _coerce_test_list(value)

    @field_validator("meta", mode="before")
    @classmethod
    def _meta(cls, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError:
                raise ValueError("not a JSON object") from None
        if not isinstance(value, dict):
            raise ValueError("must be an object")
        return value

    @field_validator("created_at", mode="before")
    @classmethod
    def _created_at(cls, value: Any) -> str:
        if value is None:
            return ""
        return value if isinstance(value, str) else str(value)

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str) -> str:
        if value.count("/") != 1 or value.startswith("/") or value.endswith("/"):
            raise ValueError("must look like 'owner/name'")
        return value

    @property
    def repo_key(self) -> str:
        """File-system safe form of ``repo`` ('owner__name')."""
        return self.repo.replace("/", "__")

    def exclude_newer_date(self) -> str | None:
        """The task date as YYYY-MM-DD, or None when unknown."""
        return self.created_at[:10] if len(self.created_at) >= 10 else None
