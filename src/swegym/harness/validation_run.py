"""Validating a batch of tasks into a dataset: a resumable journal, the valid tasks, a summary.

``validate_tasks`` is what ``swegym validate``, ``swegym tasks build``, ``swegym tasks check`` and
``swegym curate synth`` share. Next to ``out`` it keeps (see ``batch.out_paths``) the results
journal (a rerun resumes from it), the summary and the logs of every run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from swegym.envs.spec import SpecDirs
from swegym.harness.agreement import LabelSource
from swegym.harness.batch import fingerprint_of, out_paths, read_done, run_batch
from swegym.harness.report import validation_summary
from swegym.harness.validate import ValidationResult, validate_task
from swegym.sandbox.clock import effective_clock
from swegym.sandbox.config import SandboxConfig
from swegym.tasks.export import export_tasks
from swegym.tasks.model import Task


class ValidationSummary(BaseModel):
    """What a validation run found; its JSON (``to_json``) is the ``.summary.json`` file."""

    model_config = ConfigDict(extra="forbid")

    total: int
    valid: int
    invalid: int
    errors: int
    fail_to_pass_tests: int
    pass_to_pass_tests: int
    flaky_tests: int
    per_owner: dict[str, dict[str, int]] = Field(description="owner -> status -> count.")
    problems: dict[str, str] = Field(description="instance_id -> 'status: reason' of every non-valid task.")
    runs: int = Field(description="Runs of each patch (more find flaky tests).")
    tasks_file: str = Field(description="Where the valid tasks were written.")
    results_file: str = Field(description="The journal of every task's result.")
    clocks: dict[str, int] = Field(
        default_factory=dict, description="Clock the tests ran on ('task' or 'real') -> tasks."
    )
    date_dependent: dict[str, list[str]] = Field(
        default_factory=dict,
        description="instance_id -> tests whose outcome differs at a second date (see docs).",
    )
    agreement: dict[str, int] = Field(
        default_factory=dict,
        description="Tasks with published labels: 'agree' / 'differ' -> tasks (see results for why).",
    )
    build_seconds: float = Field(default=0.0, description="Sum of the tasks' repo + env set-up seconds.")
    test_seconds: float = Field(default=0.0, description="Sum of the tasks' test-run seconds.")
    results: list[ValidationResult] = Field(default_factory=list, exclude=True)
    """Every task's result (not part of the summary file)."""

    def to_json(self, *, with_results: bool = False) -> str:
        """The summary file's text (indented JSON); ``with_results`` adds every task's result
        (without the labelled task copy, which is in ``tasks_file``) under ``results``."""
        data = self.model_dump(mode="json")
        if with_results:
            data["results"] = [r.model_dump(mode="json", exclude={"task"}) for r in self.results]
        return json.dumps(data, indent=2)


def validate_tasks(
    rows: list[Task],
    out: Path,
    *,
    runs: int,
    workers: int,
    mirrors: dict[str, str],
    fresh: bool,
    quiet: bool,
    spec_dirs: SpecDirs = (),
    config: SandboxConfig | None = None,
    date_check: bool = True,
    labels: LabelSource = "published",
) -> ValidationSummary:
    """Validate ``rows`` (resuming from the journal next to ``out``); write tasks and summary.

    The valid tasks, labelled, go to ``out`` in the order of ``rows``. ``fresh`` drops earlier
    results; ``quiet`` hides the progress bar; ``spec_dirs`` adds env spec directories;
    ``config`` the sandbox's settings (its ``clock`` among them); ``date_check`` runs each patch
    once more at a second date to find date-dependent tests; ``labels``: which lists a task
    with published labels keeps (see :func:`validate_task`).
    """
    journal, summary_path, logs = out_paths(out)
    if fresh:
        journal.unlink(missing_ok=True)
    # The clock decides labels (and the date check adds to them): a result made on another clock
    # is not resumed.
    clock = effective_clock((config or SandboxConfig()).clock)
    results = run_validations(
        rows,
        lambda t: validate_task(
            t,
            runs=runs,
            mirrors=mirrors,
            config=config,
            log_dir=logs,
            spec_dirs=spec_dirs,
            date_check=date_check,
            labels=labels,
        ),
        journal,
        runs=runs,
        workers=workers,
        quiet=quiet,
        # (The default label source adds nothing, so journals from before it still resume.)
        fingerprint=lambda t: fingerprint_of(
            t, runs, clock, date_check, *([labels] if labels != "published" else [])
        ),
    )
    order = {t.instance_id: i for i, t in enumerate(rows)}
    valid = sorted((r.task for r in results if r.task is not None), key=lambda t: order[t.instance_id])
    export_tasks(valid, out)
    summary = ValidationSummary(
        **validation_summary([r.model_dump() for r in results]),
        runs=runs,
        tasks_file=str(out),
        results_file=str(journal),
        clocks=dict(Counter(r.clock.split("@", 1)[0] or "unrecorded" for r in results)),
        date_dependent={r.instance_id: r.date_dependent for r in results if r.date_dependent},
        agreement=dict(Counter(r.agreement.status for r in results if r.agreement is not None)),
        build_seconds=round(sum(r.build_seconds for r in results), 2),
        test_seconds=round(sum(r.test_seconds for r in results), 2),
        results=results,
    )
    summary_path.write_text(summary.to_json())
    return summary


def run_validations(
    rows: list[Task],
    work: Callable[[Task], ValidationResult],
    journal: Path,
    *,
    runs: int,
    workers: int,
    quiet: bool,
    fingerprint: Callable[[Task], str] | None = None,
) -> list[ValidationResult]:
    """Run ``work`` (one task's validation) over ``rows`` on a pool, journaled so a rerun skips
    finished tasks (same ``fingerprint``, default: the task and ``runs``); an unexpected exception
    is that task's ``error``. Returns the journaled results of ``rows``, in their order."""
    run_batch(
        rows,
        work,
        journal,
        key=lambda t: t.instance_id,
        workers=workers,
        label="validate",
        describe=lambda r: f"{r.instance_id}: {r.status}",
        quiet=quiet,
        fingerprint=fingerprint or (lambda t: fingerprint_of(t, runs)),
        on_error=lambda t, exc: ValidationResult(
            instance_id=t.instance_id, status="error", reason=f"{type(exc).__name__}: {exc}", runs=runs
        ),
    )
    done = read_done(journal)
    return [ValidationResult.model_validate(done[t.instance_id]) for t in rows if t.instance_id in done]
