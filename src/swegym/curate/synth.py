"""`swegym curate synth`: inject bugs into functions a project's own tests cover (SWE-smith style).

1. Baseline: build the environment of the clean source and run its tests once with per-test
   coverage, in the sandbox.
2. Candidates: AST edits (``swegym.curate.mutations``) in functions that passing tests call,
   spread over functions and edit kinds.
3. Trial: each candidate runs against only the test files that reach its function. It is kept
   when it breaks at least one test that passed and does not break more than ``max_broken_share``
   of them (a bug that breaks everything teaches nothing), and when its behaviour is new
   (equivalent edits, and edits breaking the same tests with the same errors, are dropped).
4. Task: the buggy tree becomes the base (a root commit, no history); the gold patch is the
   reverse edit; the problem statement shows the symptom. Validation then derives the labels.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from swegym.curate.coverage import Baseline, function_starts, is_test_path, parse_records, test_file_of
from swegym.curate.mutations import KINDS, Mutation, enumerate_mutations, functions_in, sample_mutations
from swegym.curate.statements import Rewriter, rewrite, write_statement
from swegym.errors import SwegymError
from swegym.harness.batch import Journal, fingerprint_of, read_done
from swegym.harness.parsers import PASSING
from swegym.harness.runner import Prepared, prepare, run_tests
from swegym.sources.materialize import derive_base
from swegym.tasks.model import Task

COVER_PLUGIN = "swegym_cover_plugin"


class SynthError(SwegymError):
    """Bug synthesis cannot start (no spec, no tests, nothing covered)."""


class SynthConfig(BaseModel):
    """Settings of one synthesis run."""

    source: str = Field(description="pypi:NAME==VERSION, or a git URL or path")
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


def unified_diff(path: str, old: str, new: str) -> str:
    """A git-style diff of one file, which ``git apply`` accepts."""
    lines = list(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}", n=3
        )
    )
    out = [f"diff --git a/{path} b/{path}\n"]
    for line in lines:
        if line.startswith(("---", "+++")):
            out.append(line.rstrip("\n") + "\n")
        elif not line.endswith("\n"):
            out.append(line + "\n\\ No newline at end of file\n")
        else:
            out.append(line)
    return "".join(out)


def probe_task(cfg: SynthConfig, commit: str, sha256: str | None) -> Task:
    """The clean source as a task: what the baseline and every trial run on."""
    return Task(
        instance_id=f"{cfg.repo.replace('/', '__')}.{cfg.version}.synth-baseline",
        repo=cfg.repo,
        base_commit=commit,
        patch="",
        test_patch="",
        problem_statement="",
        version=cfg.version,
        source=cfg.source,
        test_files=cfg.tests,
        created_at=cfg.created_at,
        meta={"sdist_sha256": sha256} if sha256 else {},
    )


def run_baseline(prep: Prepared, log: Path | None = None) -> Baseline:
    """Run the clean tree's tests once, with coverage."""
    run = run_tests(prep, "", plugins=(COVER_PLUGIN,), log_path=log)
    if run.error:
        raise SynthError(f"{prep.task.repo} {prep.task.version}: baseline run failed: {run.error}")
    messages, covers = parse_records(run.results)
    base = Baseline(status=run.status, messages=messages, covers=covers)
    if not base.passing():
        raise SynthError(
            f"{prep.task.repo} {prep.task.version}: no test passed on the clean tree "
            f"({run.note or 'check the spec and --tests'})"
        )
    return base


def cached_baseline(prep: Prepared, path: Path, log: Path) -> Baseline:
    """The baseline of this exact clean tree and test selection, run once and kept in ``path``.

    A rerun of an interrupted synthesis then resumes at its trials instead of paying for the
    (coverage-traced, hence slow) baseline again.
    """
    key = fingerprint_of(prep.task.base_commit, prep.task.test_files, prep.spec.model_dump())
    try:
        data = json.loads(path.read_text())
        if data.get("key") == key:
            covers = {(p, int(line)): set(tests) for p, line, tests in data["covers"]}
            return Baseline(status=data["status"], messages=data["messages"], covers=covers)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or stale: run it
    base = run_baseline(prep, log)
    covers_rows = [[p, line, sorted(tests)] for (p, line), tests in sorted(base.covers.items())]
    blob = {"key": key, "status": base.status, "messages": base.messages, "covers": covers_rows}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(blob))
    tmp.replace(path)
    return base


def covered_functions(prep: Prepared, base: Baseline) -> dict[tuple[str, str], set[str]]:
    """(source path, function qualname) -> passing tests that call it; test code excluded."""
    passing = base.passing()
    by_file: dict[str, dict[int, set[str]]] = {}
    for (path, line), tests in base.covers.items():
        live = tests & passing
        if live and path.endswith(".py") and not is_test_path(path):
            by_file.setdefault(path, {})[line] = live
    out: dict[tuple[str, str], set[str]] = {}
    for path, lines in sorted(by_file.items()):
        try:
            source = (prep.repo_dir / path).read_text()
        except (OSError, UnicodeDecodeError):
            continue
        starts = function_starts(source)
        names = {(f.lineno, f.end_lineno): f.qualname for f in functions_in(path, source) if not f.is_test}
        for line, tests in lines.items():
            span = starts.get(line)
            name = names.get(span) if span else None
            if name:
                out.setdefault((path, name), set()).update(tests)
    return out


def candidates(prep: Prepared, cfg: SynthConfig, covered: dict[tuple[str, str], set[str]]) -> list[Mutation]:
    """Candidate bugs in covered functions, spread over functions and kinds."""
    by_path: dict[str, list[str]] = {}
    for path, name in covered:
        by_path.setdefault(path, []).append(name)
    pool: list[Mutation] = []
    for path, names in sorted(by_path.items()):
        source = (prep.repo_dir / path).read_text()
        pool += enumerate_mutations(path, source, kinds=cfg.kinds, functions=names)
    limit = cfg.max_tries or 8 * cfg.n
    return sample_mutations(pool, limit, cfg.seed)


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


def behaviour_key(trial: Trial) -> str:
    """Two bugs breaking the same tests with the same errors in one function are equivalent."""
    first_lines = sorted({m.splitlines()[0][:200] if m else "" for m in trial.messages.values()})
    blob = json.dumps([trial.path, trial.qualname, trial.broken, first_lines])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def reverse_diff(patch: str) -> str:
    """The diff that undoes ``patch`` (old and new sides swapped, removals before additions)."""
    out: list[str] = []
    block: dict[str, list[str]] = {"-": [], "+": []}

    def flush() -> None:
        out.extend(block["-"] + block["+"])
        block["-"], block["+"] = [], []

    last = ""
    for line in patch.splitlines(keepends=True):
        if line.startswith(("diff --git", "---", "+++")):
            flush()
            out.append(line)
        elif line.startswith("@@"):
            flush()
            old, new = line.split()[1:3]
            out.append(f"@@ -{new[1:]} +{old[1:]} @@\n")
        elif line.startswith("\\"):
            block[last].append(line) if last in block else out.append(line)
            continue
        elif line[:1] in ("-", "+"):
            last = "+" if line[0] == "-" else "-"
            block[last].append(last + line[1:])
            continue
        else:
            flush()
            out.append(line)
        last = ""
    flush()
    return "".join(out)


def make_task(
    cfg: SynthConfig, probe: Task, prep: Prepared, trial: Trial, rewriter: Rewriter | None = None
) -> Task:
    """The task of a kept trial: base = source + bug (root commit), gold = the reverse edit."""
    gold = reverse_diff(trial.bug_patch)
    statement = write_statement(cfg.project, cfg.version, trial.broken, trial.messages, prep.repo_dir)
    originals = [
        ln[1:].strip() for ln in gold.splitlines() if ln.startswith("+") and not ln.startswith("+++")
    ]
    # The rewrite may name the API under test (users do) but not the edited file or its code.
    forbidden = [trial.path, *[ln for ln in originals if len(ln) > 8]]
    statement, rewritten = rewrite(statement, rewriter, forbidden)
    task = probe.model_copy(
        update={
            "instance_id": f"{cfg.repo.replace('/', '__')}.{cfg.version}.{trial.kind}__{trial.key[:8]}",
            "patch": gold,
            "base_patch": trial.bug_patch,
            "problem_statement": statement,
            "test_files": trial.test_files,
            "meta": {
                **probe.meta,
                "made_by": "synthetic",
                "edit_kind": trial.kind,
                "edit": trial.summary,
                "function": f"{trial.path}::{trial.qualname}",
                "source_commit": probe.base_commit,
                "statement": "model" if rewritten else "template",
            },
        }
    )
    return task.model_copy(update={"base_commit": derive_base(task)})


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
    kept = _run_trials(cfg, out / "trials.jsonl", prep, base, pool, covered, report, progress)
    tasks = [make_task(cfg, probe, prep, t, rewriter) for t in kept]
    report.kept = len(tasks)
    report.seconds = round(time.perf_counter() - start, 2)
    return tasks, report


def _run_trials(
    cfg: SynthConfig,
    journal_path: Path,
    prep: Prepared,
    base: Baseline,
    pool: list[Mutation],
    covered: dict[tuple[str, str], set[str]],
    report: SynthReport,
    progress: bool,
) -> list[Trial]:
    """Try candidates in order until ``cfg.n`` are kept; every trial is journaled (resumable)."""
    done = {k: Trial.model_validate(v) for k, v in read_done(journal_path, key="key").items()}
    kept: list[Trial] = []
    seen: set[str] = set()
    per_function: dict[tuple[str, str], int] = {}

    def accept(trial: Trial) -> Trial:
        fn = (trial.path, trial.qualname)
        if trial.status == "kept":
            bkey = behaviour_key(trial)
            if bkey in seen or per_function.get(fn, 0) >= cfg.max_per_function:
                trial = trial.model_copy(update={"status": "duplicate"})
            else:
                seen.add(bkey)
                per_function[fn] = per_function.get(fn, 0) + 1
                kept.append(trial)
        report.by_status[trial.status] = report.by_status.get(trial.status, 0) + 1
        report.tried += 1
        return trial

    for trial in done.values():  # replayed in journal order: the same verdicts as the first time
        accept(trial)
    todo = iter([m for m in {m.key(): m for m in pool}.values() if m.key() not in done])
    journal = Journal(journal_path)
    try:
        with ThreadPoolExecutor(max_workers=cfg.workers) as ex:
            running: set[Future[Trial]] = set()

            def fill() -> None:
                while len(running) < cfg.workers and len(kept) < cfg.n:
                    mut = next(todo, None)
                    if mut is None:
                        return
                    reach = covered[(mut.path, mut.qualname)]
                    running.add(ex.submit(try_candidate, prep, cfg, base, mut, reach))

            fill()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    running.discard(fut)
                    trial = accept(fut.result())
                    journal.write(trial)
                    if progress:
                        print(
                            f"[synth] {trial.status:10} {trial.kind:16} {trial.path}::{trial.qualname} "
                            f"({len(kept)}/{cfg.n} kept, {report.tried} tried)",
                            flush=True,
                        )
                fill()
    finally:
        journal.close()
    return kept[: cfg.n]
