"""The result of grading one diff: an `Outcome` and a `Verdict`. Pure data.

Every consumer of a grade (``swegym eval``, `SWEEnv`, the agent loop, the run store, metrics,
exports, training data) speaks these types, so an outcome is spelled in one place.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

from swegym.harness.grading import TestsStatus


class Outcome(str, Enum):
    """How an episode or a graded prediction ended (a ``str``: stored and compared as text)."""

    RESOLVED = "resolved"
    """Every FAIL_TO_PASS and PASS_TO_PASS test passed."""
    TESTS_FAILED = "tests_failed"
    """The diff applied but some labelled test failed (or was missing)."""
    PATCH_FAILED = "patch_failed"
    """The diff does not apply to the base commit."""
    NO_DIFF = "no_diff"
    """Nothing changed (an empty prediction, or an episode that edited nothing)."""
    LIMIT_REACHED = "limit_reached"
    """An episode hit its turn, time or context limit with a diff that does not resolve."""
    MODEL_ERROR = "model_error"
    """The model's server failed (after retries) before the episode ended."""
    TAMPERED = "tampered"
    """The code under test interfered with how outcomes are reported (a canary test reported
    the wrong outcome, the results channel carried forged or duplicate records, or the audit
    hook caught a forbidden action): reward 0, never kept for SFT, a verifier negative."""
    INFRA_ERROR = "infra_error"
    """The harness failed (build, sandbox, timeout, a task without labels): not the agent's fault."""
    UNGRADED = "ungraded"
    """Grading was switched off."""

    def __str__(self) -> str:
        return self.value


OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
"""Every outcome, in display order."""

LIMIT_REASONS = frozenset({"turn_limit", "time_limit", "context_limit"})
"""Episode end reasons that are limits (an unresolved diff then counts as `limit_reached`)."""
MODEL_ERROR_REASON = "model_error"
"""The end reason of an episode whose model failed."""


class Verdict(BaseModel):
    """What grading one diff on one task found."""

    outcome: Outcome
    resolved: bool = False
    patch_applied: bool = False
    tests_status: dict[str, TestsStatus] = Field(default_factory=dict)
    """SWE-bench's shape: ``{"FAIL_TO_PASS": {success, failure}, "PASS_TO_PASS": {...}}``."""
    error: str | None = None
    """Why: the infrastructure error, or what made the diff rejected or the run tampered."""
    seconds: float = 0.0

    @property
    def credited(self) -> bool:
        """Resolved, by a run that did not tamper: what every consumer counts as a success
        (a tampered run's ``resolved`` rests on test results that cannot be trusted)."""
        return self.resolved and self.outcome is not Outcome.TAMPERED

    @property
    def reward(self) -> float:
        """1.0 if `credited`, else 0.0: the reward of RL and rejection sampling."""
        return 1.0 if self.credited else 0.0

    @property
    def report(self) -> dict[str, object] | None:
        """The per-test report (``resolved`` plus tests_status), or None when no test ran."""
        if not self.tests_status:
            return None
        return {"resolved": self.credited, **{k: v.model_dump() for k, v in self.tests_status.items()}}

    def at_end(self, reason: str) -> Verdict:
        """This verdict for an episode that ended for ``reason``: an unresolved diff is
        `limit_reached` at a limit and `model_error` when the model failed; resolved,
        tampered and infrastructure outcomes stay as they are (tampering is what the episode
        did, whenever it stopped: it must not hide behind a limit)."""
        if self.outcome in (Outcome.RESOLVED, Outcome.TAMPERED, Outcome.INFRA_ERROR):
            return self
        if reason in LIMIT_REASONS:
            return self.model_copy(update={"outcome": Outcome.LIMIT_REACHED})
        if reason == MODEL_ERROR_REASON:
            return self.model_copy(update={"outcome": Outcome.MODEL_ERROR})
        return self
