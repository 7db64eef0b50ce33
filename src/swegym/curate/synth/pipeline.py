"""`swegym curate synth`: inject bugs into functions a project's own tests cover (SWE-smith style).

1. Baseline: build the environment of the clean source and run its tests once with per-test
   coverage, in the sandbox.
2. Candidates: AST edits (``swegym.curate.synth.mutations``) in functions that passing tests call,
   spread over functions and edit kinds.
3. Trial: each candidate runs against only the test files that reach its function. It is kept
   when it breaks at least one test that passed and does not break more than ``max_broken_share``
   of them (a bug that breaks everything teaches nothing), and when its behaviour is new
   (equivalent edits, and edits breaking the same tests with the same errors, are dropped).
4. Task: the buggy tree becomes the base (a root commit, no history); the gold patch is the
   reverse edit; the problem statement shows the symptom. Validation then derives the labels.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from pydantic import BaseModel, Field

from swegym.curate.leaks import screen_leaks
from swegym.curate.synth.baseline import cached_baseline, covered_functions
from swegym.curate.synth.candidates import candidates
from swegym.curate.synth.config import SynthConfig, SynthError
from swegym.curate.synth.sources import resolve_commit
from swegym.curate.synth.statements import Rewriter
from swegym.curate.synth.tasks import make_task, probe_task
from swegym.curate.synth.trials import run_trials
from swegym.harness.runner import prepare
from swegym.harness.validation_run import ValidationSummary, validate_tasks
from swegym.tasks.export import export_tasks
from swegym.tasks.model import Task


class SynthReport(BaseModel):
    """What one synthesis run did."""

    source: str
    covered_functions: int = 0
    tried: int = 0
    by_status: dict[str, int] = Field(default_factory=dict)
    kept: int = 0
    baseline_tests: int = 0
    baseline_seconds: float = 0.0
    seconds: float = 0.0


def synthesize(
    cfg: SynthConfig,
    out: Path,
    probe: Task,
    *,
    rewriter: Rewriter | None = None,
    progress: bool = True,
) -> tuple[list[Task], SynthReport]:
    """Run the pipeline up to raw tasks (validation is the caller's next step); resumable."""
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    prep = prepare(probe)
    t0 = time.perf_counter()
    base = cached_baseline(prep, out / "baseline.json", out / "baseline.log")
    report = SynthReport(source=cfg.source, baseline_tests=len(base.status))
    report.baseline_seconds = round(time.perf_counter() - t0, 2)
    covered = covered_functions(prep, base)
    report.covered_functions = len(covered)
    if not covered:
        raise SynthError(f"{cfg.source}: the tests under {cfg.tests} call no function of the project")
    pool = candidates(prep, cfg, covered)
    selection = run_trials(cfg, out / "trials.jsonl", prep, base, pool, covered, progress)
    report.by_status, report.tried = selection.by_status, selection.tried
    tasks = [make_task(cfg, probe, prep, t, rewriter) for t in selection.kept[: cfg.n]]
    report.kept = len(tasks)
    report.seconds = round(time.perf_counter() - start, 2)
    return tasks, report


class SynthSummary(SynthReport):
    """A whole run, synthesis to validation (``summary.json``; ``validated`` only if validated)."""

    leaked: dict[str, list[str]] = Field(default_factory=dict, description="instance_id -> leak reasons.")
    raw: int = Field(default=0, description="Leak-free tasks written to raw.jsonl.")
    validated: int | None = Field(default=None, description="Tasks that validated (None: not validated).")
    seconds_per_task: float | None = None
    validation: ValidationSummary | None = Field(default=None, exclude=True)
    """The validation run's own summary (also beside tasks.jsonl)."""

    def to_json(self) -> str:
        """The summary file's text."""
        data = self.model_dump(mode="json", exclude={"validated"} if self.validated is None else None)
        return json.dumps(data, indent=2)


def run_synth(
    cfg: SynthConfig,
    out: Path,
    *,
    runs: int = 3,
    validate: bool = True,
    rewriter: Rewriter | None = None,
    progress: bool = True,
) -> SynthSummary:
    """Synthesize, screen leaks, then validate: ``swegym curate synth`` (resumable).

    Writes into ``out``: ``baseline.json``/``baseline.log``, ``trials.jsonl`` (the journal),
    ``raw.jsonl`` (leak-free tasks), ``tasks.jsonl`` with its validation files (when
    ``validate``), and ``summary.json``.
    """
    start = time.perf_counter()
    commit, sha = resolve_commit(cfg)
    raw, report = synthesize(cfg, out, probe_task(cfg, commit, sha), rewriter=rewriter, progress=progress)
    clean, leaked = screen_leaks(raw)
    export_tasks(clean, out / "raw.jsonl")
    summary = SynthSummary(**report.model_dump(), leaked=leaked, raw=len(clean))
    if validate and clean:
        summary.validation = validate_tasks(
            clean, out / "tasks.jsonl", runs=runs, workers=cfg.workers, mirrors={}, fresh=False, quiet=True
        )
        summary.validated = summary.validation.valid
    kept = summary.validated if summary.validated is not None else len(clean)
    total = time.perf_counter() - start
    summary.seconds = round(total, 1)
    summary.seconds_per_task = round(total / kept, 1) if kept else None
    (out / "summary.json").write_text(summary.to_json())
    return summary
