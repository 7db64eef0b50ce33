"""Validation: run the empty and the gold patch, derive or check the labels, find flaky tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from swegym.envs.spec import SpecDirs
from swegym.errors import SwegymError
from swegym.harness.agreement import Agreement, LabelSource, compare_labels, failure_messages
from swegym.harness.dates import clock_at, date_dependent, probe_clock, task_clock
from swegym.harness.parsers import PASSING
from swegym.harness.runner import Prepared, TestRun, prepare, run_tests
from swegym.sandbox.clock import effective_clock
from swegym.sandbox.config import SandboxConfig
from swegym.sources.materialize import Mirrors
from swegym.tasks.model import Task


class ValidationResult(BaseModel):
    """The verdict on one task; ``task`` holds the task with validated labels when valid."""

    instance_id: str
    status: Literal["valid", "invalid", "error"]
    reason: str = ""
    FAIL_TO_PASS: list[str] = Field(default_factory=list)
    PASS_TO_PASS: list[str] = Field(default_factory=list)
    flaky: list[str] = Field(default_factory=list)
    runs: int = 0
    seconds: float = 0.0
    task: Task | None = None
    fingerprint: str = ""
    clock: str = ""
    """The clock the tests ran on: 'task@YYYY-MM-DD HH:MM:SS' (the task's date) or 'real'."""
    probe_clock: str = ""
    """The second date the tests also ran at (once per patch), '' when it could not be checked."""
    date_dependent: list[str] = Field(default_factory=list)
    """Tests whose outcome differs between the two dates: kept in the labels (flagged) under the
    task's clock, which makes them deterministic; excluded from them under the real clock."""
    labels: str = ""
    """Which lists the result's labels are: 'published' (the task's own, truncated ids mapped)
    or 'derived' (from the runs)."""
    agreement: Agreement | None = None
    """How the task's published labels compare with the derived ones (None: it has none)."""
    build_seconds: float = 0.0
    """Seconds spent materializing the repo and building (or finding) its environment."""
    test_seconds: float = 0.0
    """Seconds spent in test runs (every empty, gold and date-probe run)."""
    build_log: str = ""
    """The environment's build log, when the env directory keeps one."""


class Labels(BaseModel):
    """Labels derived from repeated runs without and with the gold patch."""

    fail_to_pass: list[str]
    pass_to_pass: list[str]
    flaky: list[str]
    gold_failures: list[str]


def derive_labels(before: list[dict[str, str]], after: list[dict[str, str]]) -> Labels:
    """Pure: FAIL_TO_PASS fails in every run without the gold patch and passes in every run with
    it; PASS_TO_PASS passes in all runs; a test whose outcome changes between runs of the same
    patch, or whose parametrized id changes between runs, is flaky and excluded from both."""
    tests = sorted({t for run in before + after for t in run})
    bases = [{_base(t) for t in run} for run in before + after]

    def outcomes(runs: list[dict[str, str]], t: str) -> set[bool]:
        return {run.get(t) in PASSING for run in runs}

    def unstable(t: str) -> bool:
        # Absent from a run that did run the same test function with other parameters: the id
        # itself changes between runs (it embeds the time or a random value).
        return "[" in t and any(
            t not in run and _base(t) in b for run, b in zip(before + after, bases, strict=True)
        )

    f2p: list[str] = []
    p2p: list[str] = []
    flaky: list[str] = []
    gold_fail: list[str] = []
    for t in tests:
        b, a = outcomes(before, t), outcomes(after, t)
        if len(b) > 1 or len(a) > 1 or unstable(t):
            flaky.append(t)
        elif a == {True}:
            (p2p if b == {True} else f2p).append(t)
        else:
            gold_fail.append(t)
    return Labels(fail_to_pass=f2p, pass_to_pass=p2p, flaky=flaky, gold_failures=gold_fail)


def _base(test_id: str) -> str:
    return test_id.split("[", 1)[0]


def check_labels(
    task: Task, labels: Labels, exclude: Collection[str] = ()
) -> tuple[list[str], list[str], str]:
    """Compare a task's own labels with derived ones; return (f2p, p2p, problem or ''). Flaky
    tests and ``exclude`` (date-dependent tests under the real clock) are left out of both."""
    flaky = set(labels.flaky) | set(exclude)
    given_f2p = [t for t in task.FAIL_TO_PASS if t not in flaky]
    given_p2p = [t for t in task.PASS_TO_PASS if t not in flaky]
    bad_f2p = [t for t in given_f2p if t not in set(labels.fail_to_pass)]
    bad_p2p = [t for t in given_p2p if t not in set(labels.pass_to_pass)]
    problems = []
    if bad_f2p:
        problems.append(f"FAIL_TO_PASS tests that do not go from fail to pass: {_few(bad_f2p)}")
    if bad_p2p:
        problems.append(f"PASS_TO_PASS tests that do not pass in both: {_few(bad_p2p)}")
    return given_f2p, given_p2p, "; ".join(problems)


def _few(items: list[str], n: int = 3) -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def validate_task(
    task: Task,
    *,
    runs: int = 1,
    mirrors: Mirrors | None = None,
    config: SandboxConfig | None = None,
    log_dir: Path | None = None,
    spec_dirs: SpecDirs = (),
    date_check: bool = True,
    labels: LabelSource = "published",
) -> ValidationResult:
    """Validate ``task``: labels derived (or checked, if it has them) over ``runs`` repetitions.

    ``spec_dirs``: extra directories of env spec files (e.g. specs proposed by mining).
    ``date_check``: run each patch once more at a distant second date to find date-dependent
    tests (needs libfaketime; see :mod:`swegym.harness.dates`). ``labels``: for a task with
    published FAIL_TO_PASS / PASS_TO_PASS, whether those (checked, truncated ids mapped) or the
    derived ones become its labels; either way ``result.agreement`` compares the two.
    """
    import time

    start = time.perf_counter()
    config = config or SandboxConfig()
    real = effective_clock(config.clock) == "real"
    first = clock_at(dt.datetime.now(dt.timezone.utc).date()) if real else task_clock(task)
    result = ValidationResult(
        instance_id=task.instance_id, status="error", runs=runs, clock="real" if real else f"task@{first}"
    )
    runs_seen: list[TestRun] = []
    try:
        prep = prepare(task, mirrors, spec_dirs)
        task = prep.task  # with its version, when it was detected
        result.build_seconds = round(time.perf_counter() - start, 2)
        result.build_log = _build_log(prep)
        before: list[dict[str, str]] = []
        after: list[dict[str, str]] = []
        for i in range(runs):
            for kind, patch, sink in (("empty", "", before), ("gold", task.patch, after)):
                log = log_dir / f"{task.instance_id}.{kind}.{i}.log" if log_dir else None
                runs_seen.append(_run(prep, patch, config, log, kind))
                sink.append(runs_seen[-1].status)
        probe = _probe(prep, probe_clock(first), config, log_dir, runs_seen) if date_check else None
    except (_Infra, SwegymError) as exc:
        result.reason = str(exc)
    else:
        derived = derive_labels(before, after)
        if probe is not None:
            result.probe_clock = probe_clock(first)
            result.date_dependent = date_dependent([before[0], after[0]], probe, derived.flaky)
        _judge(task, result, derived, result.date_dependent if real else [], labels, runs_seen)
    result.test_seconds = round(sum(r.duration_s for r in runs_seen), 2)
    result.seconds = round(time.perf_counter() - start, 2)
    return result


def _build_log(prep: Prepared) -> str:
    """The env's kept build log (``build.log`` in its directory), '' when there is none."""
    path = Path(prep.env.path) / "build.log"
    return str(path) if path.is_file() else ""


def _probe(
    prep: Prepared, clock: str, config: SandboxConfig, log_dir: Path | None, seen: list[TestRun]
) -> list[dict[str, str]] | None:
    """Statuses of one empty and one gold run with the clock started at ``clock`` (even when the
    other runs use the real clock); None without libfaketime, which the second date needs."""
    if effective_clock("task") == "real":
        return None
    frozen, at = config.model_copy(update={"clock": "task"}), replace(prep, clock=clock)
    out = []
    for kind, patch in (("empty", ""), ("gold", prep.task.patch)):
        log = log_dir / f"{prep.task.instance_id}.{kind}.probe.log" if log_dir else None
        seen.append(_run(at, patch, frozen, log, kind))
        out.append(seen[-1].status)
    return out


class _Infra(Exception):
    pass


def _run(prep: Prepared, patch: str, config: SandboxConfig | None, log: Path | None, kind: str) -> TestRun:
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    run = run_tests(prep, patch, config=config, log_path=log)
    if run.error:
        raise _Infra(f"{kind} run: {run.error}")
    if run.rejected:
        # (Files the gold patch changes that a candidate may not, e.g. pyproject.toml, are kept
        # out here as in grading, so the labels are what a candidate can reach.)
        raise _Infra(f"{kind} run: the gold patch was rejected: {run.rejected}")
    if run.tampered:
        raise _Infra(f"{kind} run: the tamper checks fired on the task's own code: {run.tampered}")
    if not run.patch_applied:
        raise _Infra(f"{kind} run: the gold patch does not apply")
    if kind == "gold" and not run.status:
        raise _Infra(f"gold run: {run.note or 'no test results'}")
    return run


def _judge(
    task: Task,
    result: ValidationResult,
    labels: Labels,
    exclude: list[str],
    source: LabelSource = "published",
    runs: list[TestRun] | None = None,
) -> None:
    """The verdict from the labels; ``exclude``: tests left out of them (date-dependent ones
    under the real clock); ``source``: which lists a task with published labels keeps."""
    result.flaky = labels.flaky
    mapping: dict[str, list[str]] = {}
    if task.FAIL_TO_PASS:
        agreement, pub_f2p, pub_p2p = _agreement(task, labels, exclude, runs or [])
        result.agreement, mapping = agreement, agreement.truncated
    if task.FAIL_TO_PASS and source == "published":
        mapped = task.model_copy(update={"FAIL_TO_PASS": pub_f2p, "PASS_TO_PASS": pub_p2p})
        f2p, p2p, problem = check_labels(mapped, labels, exclude)
        if problem and result.agreement is not None:
            problem += f" [{result.agreement.describe()}]"
        result.labels = "published"
    else:
        gone = set(exclude)
        f2p = [t for t in labels.fail_to_pass if t not in gone]
        p2p, problem = [t for t in labels.pass_to_pass if t not in gone], ""
        result.labels = "derived"
    result.FAIL_TO_PASS, result.PASS_TO_PASS = f2p, p2p
    if problem:
        result.status, result.reason = "invalid", problem
    elif not f2p:
        result.status = "invalid"
        result.reason = "no test fails without the gold patch and passes with it"
        if labels.gold_failures:
            result.reason += f" (failing with gold: {_few(labels.gold_failures)})"
        if exclude:
            result.reason += f" (date-dependent, left out under the real clock: {_few(exclude)})"
    else:
        result.status = "valid"
        result.task = task.model_copy(update={"FAIL_TO_PASS": f2p, "PASS_TO_PASS": p2p})
        result.task.meta = {**task.meta, "flaky_excluded": labels.flaky}
        if task.FAIL_TO_PASS:  # published lists: say which ones grade, and how ids were mapped
            result.task.meta["labels"] = result.labels
            if mapping:
                result.task.meta["truncated_ids"] = mapping
        if result.date_dependent:  # labelled under the task's clock, or excluded under the real one
            key = "date_dependent_excluded" if exclude else "date_dependent"
            result.task.meta[key] = result.date_dependent


def _agreement(
    task: Task, labels: Labels, exclude: list[str], runs: list[TestRun]
) -> tuple[Agreement, list[str], list[str]]:
    """The published lists against the derived ones, and the published lists mapped to real ids."""
    observed = {t for r in runs for t in r.status}
    observed |= {*labels.fail_to_pass, *labels.pass_to_pass, *labels.flaky, *labels.gold_failures}
    messages: dict[str, str] = {}
    for r in runs:
        messages.update(failure_messages(r.results, r.log))
    return compare_labels(
        task.FAIL_TO_PASS,
        task.PASS_TO_PASS,
        fail_to_pass=labels.fail_to_pass,
        pass_to_pass=labels.pass_to_pass,
        flaky=labels.flaky,
        observed=observed,
        messages=messages,
        exclude=exclude,
    )
