"""Trials: each candidate bug runs against the test files that reach its function.

A trial keeps its bug when it breaks at least one test that passed and no more than
``max_broken_share`` of them, and when its behaviour is new: edits breaking the same tests with
the same errors in one function are equivalent (``behaviour_key``), and a function gives at most
``max_per_function`` bugs. Every trial is journaled, so an interrupted run resumes.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from swegym.config import cache_dir
from swegym.curate.synth.config import SynthConfig
from swegym.curate.synth.coverage import Baseline, parse_records, test_file_of
from swegym.curate.synth.diffs import unified_diff
from swegym.curate.synth.mutations import Mutation
from swegym.executors import current_executor
from swegym.harness.batch import Journal, read_done
from swegym.harness.parsers import PASSING
from swegym.harness.runner import Prepared, prepare, run_tests


class Trial(BaseModel):
    """The outcome of trying one candidate bug (a journal row)."""

    key: str
    status: Literal["kept", "no_effect", "too_broad", "duplicate", "error"]
    kind: str
    path: str
    qualname: str
    summary: str
    broken: list[str] = Field(default_factory=list)
    test_files: list[str] = Field(default_factory=list)
    messages: dict[str, str] = Field(default_factory=dict)
    bug_patch: str = ""
    reason: str = ""
    seconds: float = 0.0


def _pick_files(tests: set[str], limit: int) -> list[str]:
    counts: dict[str, int] = {}
    for t in tests:
        counts[test_file_of(t)] = counts.get(test_file_of(t), 0) + 1
    return [f for f, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def try_candidate(prep: Prepared, cfg: SynthConfig, base: Baseline, mut: Mutation, reach: set[str]) -> Trial:
    """Run the tests that reach ``mut``'s function with the bug in place."""
    start = time.perf_counter()
    source = (prep.repo_dir / mut.path).read_text()
    trial = Trial(
        key=mut.key(),
        status="error",
        kind=mut.kind,
        path=mut.path,
        qualname=mut.qualname,
        summary=mut.summary,
    )
    try:
        patch = unified_diff(mut.path, source, mut.apply(source))
    except ValueError as exc:
        trial.reason = f"mutation does not apply: {exc}"
        return trial
    files = _pick_files(reach, cfg.max_test_files)
    sub = Prepared(prep.task.model_copy(update={"test_files": files}), prep.repo_dir, prep.spec, prep.env)
    # A bug that makes the tests hang (an endless loop) is not a task worth keeping.
    run = run_tests(sub, patch, timeout=cfg.trial_timeout)
    trial.seconds = round(time.perf_counter() - start, 2)
    trial.bug_patch, trial.test_files = patch, files
    if run.error or not run.patch_applied:
        trial.reason = run.error or "bug patch did not apply"
        return trial
    before = {t for t in base.passing() if test_file_of(t) in files}
    # A test missing from this run is not evidence of the bug: ids that embed the time or a
    # random value change from run to run. Many missing tests mean the tests could not even run.
    broken = sorted(t for t in before if t in run.status and run.status[t] not in PASSING)
    missing = sum(t not in run.status for t in before)
    trial.broken = broken
    messages, _ = parse_records(run.results)
    trial.messages = {t: messages[t] for t in broken if t in messages}
    if not broken:
        trial.status = "no_effect"
    elif not run.status or len(broken) + missing > cfg.max_broken_share * max(len(before), 1):
        trial.status = "too_broad"
        trial.reason = f"breaks {len(broken)} and loses {missing} of {len(before)} tests"
    else:
        trial.status = "kept"
    return trial


class TrialRunner:
    """One trial as a unit an executor can ship: ``(mutation, reaching tests) -> Trial``.

    On a node whose swegym cache is not the driver's (a Ray node), the repo and environment are
    prepared there first, in that node's cache, once per process."""

    def __init__(self, prep: Prepared, cfg: SynthConfig, base: Baseline) -> None:
        self.prep, self.cfg, self.base = prep, cfg, base
        self.cache = cache_dir()

    def __call__(self, unit: tuple[Mutation, set[str]]) -> Trial:
        if cache_dir() != self.cache:
            self.prep, self.cache = prepare(self.prep.task), cache_dir()
        return try_candidate(self.prep, self.cfg, self.base, *unit)


def behaviour_key(trial: Trial) -> str:
    """Two bugs breaking the same tests with the same errors in one function are equivalent."""
    first_lines = sorted({m.splitlines()[0][:200] if m else "" for m in trial.messages.values()})
    blob = json.dumps([trial.path, trial.qualname, trial.broken, first_lines])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class TrialSelection:
    """Which trials are kept: new behaviour only, at most ``max_per_function`` per function."""

    n: int
    max_per_function: int
    kept: list[Trial] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)
    tried: int = 0
    _seen: set[str] = field(default_factory=set)
    _per_function: dict[tuple[str, str], int] = field(default_factory=dict)

    def accept(self, trial: Trial) -> Trial:
        """Count ``trial``; a kept one that repeats a behaviour (or crowds its function) is a duplicate."""
        fn = (trial.path, trial.qualname)
        if trial.status == "kept":
            bkey = behaviour_key(trial)
            if bkey in self._seen or self._per_function.get(fn, 0) >= self.max_per_function:
                trial = trial.model_copy(update={"status": "duplicate"})
            else:
                self._seen.add(bkey)
                self._per_function[fn] = self._per_function.get(fn, 0) + 1
                self.kept.append(trial)
        self.by_status[trial.status] = self.by_status.get(trial.status, 0) + 1
        self.tried += 1
        return trial

    def full(self) -> bool:
        """Whether ``n`` bugs are kept."""
        return len(self.kept) >= self.n


def run_trials(
    cfg: SynthConfig,
    journal_path: Path,
    prep: Prepared,
    base: Baseline,
    pool: list[Mutation],
    covered: dict[tuple[str, str], set[str]],
    progress: bool,
) -> TrialSelection:
    """Try candidates in order until ``cfg.n`` are kept; every trial is journaled (resumable)."""
    done = {k: Trial.model_validate(v) for k, v in read_done(journal_path, key="key").items()}
    selection = TrialSelection(cfg.n, cfg.max_per_function)
    for trial in done.values():  # replayed in journal order: the same verdicts as the first time
        selection.accept(trial)
    todo = [m for m in {m.key(): m for m in pool}.values() if m.key() not in done]
    # Pulled only as a worker frees up, so that nothing new starts once n bugs are kept.
    units = (
        (m, covered[(m.path, m.qualname)]) for m in itertools.takewhile(lambda _: not selection.full(), todo)
    )
    journal = Journal(journal_path)
    try:
        trials = current_executor().map(TrialRunner(prep, cfg, base), units, workers=cfg.workers)
        with contextlib.closing(trials):
            for result in trials:
                trial = selection.accept(result)
                journal.write(trial)
                if progress:
                    print(
                        f"[synth] {trial.status:10} {trial.kind:16} {trial.path}::{trial.qualname} "
                        f"({len(selection.kept)}/{cfg.n} kept, {selection.tried} tried)",
                        flush=True,
                    )
    finally:
        journal.close()
    return selection
