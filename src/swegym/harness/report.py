"""Aggregate reports in SWE-bench's shape. Pure functions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from swegym.harness.evaluate import InstanceReport


class EvaluationReport(BaseModel):
    """SWE-bench's run report (counts and sorted id lists by status), plus every instance's report.

    ``tampered`` is ours: a prediction whose run interfered with how its tests were reported. It
    is graded to the end, so it is among the completed (``completed = resolved + unresolved +
    tampered``), but neither resolved nor unresolved, and it never counts toward the resolve rate.
    """

    total_instances: int
    submitted_instances: int
    completed_instances: int
    resolved_instances: int
    unresolved_instances: int
    empty_patch_instances: int
    tampered_instances: int = 0
    error_instances: int
    resolve_rate: float
    """Resolved over all tasks (not only the submitted ones), as SWE-bench computes it."""
    submitted_ids: list[str]
    completed_ids: list[str]
    resolved_ids: list[str]
    unresolved_ids: list[str]
    empty_patch_ids: list[str]
    tampered_ids: list[str] = Field(default_factory=list)
    error_ids: list[str]
    schema_version: int = 3
    """3: ``tampered`` has its own count and ids (it was not a status before)."""
    instances: dict[str, InstanceReport] = Field(default_factory=dict)
    """instance_id -> its report (written without the repeated ``instance_id``)."""

    def to_json(self, *, with_instances: bool = True) -> str:
        """The ``report.json`` text (indented), with or without the per-instance reports."""
        exclude: Any = {"instances": {"__all__": {"instance_id"}}} if with_instances else {"instances"}
        return json.dumps(self.model_dump(mode="json", exclude=exclude), indent=2)


def evaluation_summary(
    reports: Iterable[InstanceReport], total_instances: int, submitted: Iterable[str]
) -> EvaluationReport:
    """SWE-bench's run report over ``reports`` (``submitted``: the ids that had a prediction)."""
    rows = list(reports)
    by: dict[str, list[str]] = {s: [] for s in ("resolved", "unresolved", "empty_patch", "tampered", "error")}
    for r in rows:
        by.setdefault(r.status, []).append(r.instance_id)
    sub = sorted(set(submitted))
    completed = sorted(by["resolved"] + by["unresolved"] + by["tampered"])
    return EvaluationReport(
        total_instances=total_instances,
        submitted_instances=len(sub),
        completed_instances=len(completed),
        resolved_instances=len(by["resolved"]),
        unresolved_instances=len(by["unresolved"]),
        empty_patch_instances=len(by["empty_patch"]),
        tampered_instances=len(by["tampered"]),
        error_instances=len(by["error"]),
        resolve_rate=round(len(by["resolved"]) / total_instances, 4) if total_instances else 0.0,
        submitted_ids=sub,
        completed_ids=completed,
        resolved_ids=sorted(by["resolved"]),
        unresolved_ids=sorted(by["unresolved"]),
        empty_patch_ids=sorted(by["empty_patch"]),
        tampered_ids=sorted(by["tampered"]),
        error_ids=sorted(by["error"]),
        instances={r.instance_id: r for r in rows},
    )


def validation_summary(results: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts of valid / invalid / error tasks, with reasons, per repository too."""
    rows = list(results)
    per_repo: dict[str, dict[str, int]] = {}
    for r in rows:
        repo = str(r["instance_id"]).split("__")[0] if "__" in str(r["instance_id"]) else "?"
        counts = per_repo.setdefault(repo, {"valid": 0, "invalid": 0, "error": 0})
        counts[str(r["status"])] += 1
    return {
        "total": len(rows),
        "valid": sum(r["status"] == "valid" for r in rows),
        "invalid": sum(r["status"] == "invalid" for r in rows),
        "errors": sum(r["status"] == "error" for r in rows),
        "fail_to_pass_tests": sum(len(r.get("FAIL_TO_PASS") or []) for r in rows),
        "pass_to_pass_tests": sum(len(r.get("PASS_TO_PASS") or []) for r in rows),
        "flaky_tests": sum(len(r.get("flaky") or []) for r in rows),
        "per_owner": per_repo,
        "problems": {
            str(r["instance_id"]): f"{r['status']}: {r.get('reason', '')}"
            for r in rows
            if r["status"] != "valid"
        },
    }
