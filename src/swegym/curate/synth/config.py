"""The settings of one synthesis run, and its error."""

from __future__ import annotations

from pydantic import BaseModel, Field

from swegym.curate.synth.mutations import KINDS
from swegym.errors import SwegymError


class SynthError(SwegymError):
    """Bug synthesis cannot start (no spec, no tests, nothing covered)."""


class SynthConfig(BaseModel):
    """Settings of one synthesis run."""

    source: str = Field(description="pypi:NAME==VERSION, or a git URL or path")
    rev: str | None = Field(default=None, description="The revision of a git source (HEAD if unset).")
    project: str = Field(description="The project's name, as users know it (for problem statements)")
    repo: str = Field(description="owner/name: the env spec table's key")
    version: str = Field(description="The env spec's version key")
    n: int = Field(default=20, ge=1, description="Bugs to keep (before validation).")
    tests: list[str] = Field(default_factory=lambda: ["tests"], description="Test paths of the baseline.")
    kinds: list[str] = Field(default_factory=lambda: list(KINDS))
    seed: int = 0
    max_tries: int | None = Field(default=None, description="Candidates to try (default 8 x n).")
    max_broken_share: float = Field(default=0.5, gt=0, le=1)
    max_test_files: int = Field(default=3, ge=1)
    max_per_function: int = Field(default=2, ge=1, description="Kept bugs per function, at most.")
    workers: int = Field(default=1, ge=1)
    trial_timeout: float = Field(default=300, gt=0, description="Seconds for one trial's test run.")
    created_at: str = ""
