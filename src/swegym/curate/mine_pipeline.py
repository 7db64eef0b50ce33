"""The mining pipeline: history -> raw instances -> leak-free -> env specs -> envs -> tasks.

Writes into ``out``: ``raw.jsonl`` (every raw instance, with ``meta.leaks``), ``rejected.jsonl``
(each dropped commit with its stage and reason), ``specs-proposed/`` (a spec file used through
``$SWEGYM_SPECS_PATH`` while validating), ``builds.results.jsonl`` and ``validate.results.jsonl``
(journals: a rerun resumes), ``tasks.jsonl`` (validated tasks), ``specs/`` (the proposed specs
that validated at least one task) and ``summary.json`` (the stage counts and timings).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from swegym.config import sub_cache
from swegym.curate import history
from swegym.curate.issues import GitHubIssues
from swegym.curate.leaks import history_leaks
from swegym.curate.mine import Extractor, Limits, StageCounts, leak_kind, mine_history
from swegym.curate.specs import PYTHON_RELEASES, SpecProposalError, propose_spec, specs_file, wanted_files
from swegym.envs.spec import EnvSpec
from swegym.errors import InterpreterNotFoundError, SourceError, SwegymError
from swegym.harness.batch import fingerprint_of, read_done, run_batch
from swegym.harness.validate import ValidationResult, validate_task
from swegym.sources.gitutil import git
from swegym.sources.materialize import materialize
from swegym.tasks.export import export_tasks
from swegym.tasks.model import Task


@dataclass
class MineConfig:
    """What to mine and how far to take it (the documented knobs of ``swegym curate mine``)."""

    repo: str
    """A git URL or a local repository (bare mirrors work)."""
    out: Path
    name: str | None = None
    """'owner/name' for the tasks; derived from the URL or the origin remote when not given."""
    ref: str = "HEAD"
    since: str | None = None
    until: str | None = None
    max_commits: int | None = None
    max_tasks: int | None = None
    """Validate at most this many leak-free instances (newest first); the walk is never cut."""
    workers: int = 2
    runs: int = 1
    validate: bool = True
    limits: Limits = field(default_factory=Limits)
    quiet: bool = False


class BuildResult(BaseModel):
    """One proposed environment's build (journaled; ``instance_id`` is 'repo@version')."""

    instance_id: str
    status: Literal["built", "failed", "error"]
    reason: str = ""
    seconds: float = 0.0
    fingerprint: str = ""


def repo_name(location: str, repo_dir: Path) -> str:
    """'owner/name' from a GitHub-style URL, the origin remote, or the directory name."""
    url = location
    if Path(location).exists():
        url = history.run_git(repo_dir, "config", "--get", "remote.origin.url", check=False).strip()
    m = re.search(r"[:/]([\w.-]+)/([\w.-]+?)(?:\.git)?/?$", url)
    if m and url:
        return f"{m.group(1)}/{m.group(2)}"
    path = Path(location).resolve()
    base = path.parent if path.name in ("repo", ".git") else path
    return f"local/{base.name.removesuffix('.git')}"


def open_repo(location: str) -> tuple[Path, str]:
    """A local git directory to read history from, and the task ``source`` to record."""
    path = Path(location).expanduser()
    if path.exists():
        resolved = path.resolve()
        history.run_git(resolved, "rev-parse", "--git-dir")
        return resolved, str(resolved)
    key = re.sub(r"[^\w.-]+", "_", location)[-100:]
    dest = sub_cache("mine") / f"{key}.git"
    if dest.exists():
        git(dest, "fetch", "-q", "--tags", "origin", "+refs/heads/*:refs/heads/*")
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        git(dest.parent, "clone", "-q", "--bare", location, str(dest))
    return dest, location


def available_pythons() -> list[str]:
    """Python versions found here that environments can use (3.7+: editable installs need it)."""
    from swegym.envs.python import find_interpreter

    found = []
    for version in PYTHON_RELEASES:
        if version == "3.6":
            continue
        try:
            find_interpreter(version)
        except InterpreterNotFoundError:
            continue
        found.append(version)
    return found


def propose_specs(
    repo_dir: Path, repo: str, tasks: list[Task], counts: StageCounts
) -> tuple[dict[str, EnvSpec], dict[str, Any]]:
    """One spec per version of ``tasks`` from the build files at the group's newest base commit."""
    groups: dict[str, list[Task]] = {}
    for t in tasks:
        groups.setdefault(t.version, []).append(t)
    available = available_pythons()
    specs: dict[str, EnvSpec] = {}
    notes: dict[str, Any] = {}
    for version, group in groups.items():
        newest = max(group, key=lambda t: t.created_at)
        files = {
            f: history.show(repo_dir, newest.base_commit, f) or ""
            for f in wanted_files(history.list_files(repo_dir, newest.base_commit))
        }
        date = dt.datetime.fromisoformat(newest.created_at).astimezone(dt.timezone.utc).date()
        try:
            specs[version], notes[version] = propose_spec(repo, version, files, date, available)
        except SpecProposalError as exc:
            notes[version] = {"error": str(exc)}
            for _ in group:
                counts.drop("spec_proposed", "no spec could be proposed")
    return specs, notes


@contextmanager
def specs_on_path(directory: Path) -> Iterator[None]:
    """Put ``directory`` last on ``$SWEGYM_SPECS_PATH`` (last wins) for the duration."""
    old = os.environ.get("SWEGYM_SPECS_PATH")
    os.environ["SWEGYM_SPECS_PATH"] = os.pathsep.join(filter(None, [old, str(directory)]))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SWEGYM_SPECS_PATH", None)
        else:
            os.environ["SWEGYM_SPECS_PATH"] = old


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(path)


def build_envs(
    cfg: MineConfig, tasks: list[Task], specs: dict[str, EnvSpec], mirrors: dict[str, str]
) -> dict[str, BuildResult]:
    """Build the environment of every version ``tasks`` need (journaled, so reruns skip them)."""
    from swegym.envs.builder import build_env

    first: dict[str, Task] = {}
    for t in tasks:
        first.setdefault(t.version, t)

    def work(task: Task) -> BuildResult:
        start = time.perf_counter()
        spec = specs[task.version]
        try:
            build_env(spec, materialize(task, mirrors))
        except SwegymError as exc:
            return BuildResult(instance_id=_build_key(task), status="failed", reason=str(exc)[:2000])
        return BuildResult(instance_id=_build_key(task), status="built", seconds=time.perf_counter() - start)

    journal = cfg.out / "builds.results.jsonl"
    run_batch(
        list(first.values()),
        work,
        journal,
        key=_build_key,
        workers=1,  # builds download and compile in parallel already
        label="build envs",
        describe=lambda r: f"{r.instance_id}: {r.status}",
        quiet=cfg.quiet,
        fingerprint=lambda t: fingerprint_of(specs[t.version]),
        on_error=lambda t, exc: BuildResult(instance_id=_build_key(t), status="error", reason=repr(exc)),
    )
    done = read_done(journal)
    return {
        v: BuildResult.model_validate(done[_build_key(t)]) for v, t in first.items() if _build_key(t) in done
    }


def _build_key(task: Task) -> str:
    return f"{task.repo}@{task.version}"


def validate_mined(
    cfg: MineConfig, tasks: list[Task], specs: dict[str, EnvSpec], mirrors: dict[str, str]
) -> list[ValidationResult]:
    """Validate ``tasks`` after checking their materialized repos for history leaks."""
    logs = cfg.out / "logs"

    def work(task: Task) -> ValidationResult:
        repo_dir = materialize(task, mirrors)
        leaks = history_leaks(task, repo_dir)
        if leaks:
            return ValidationResult(
                instance_id=task.instance_id, status="invalid", reason="leak: " + leaks[0]
            )
        return drop_unstable_ids(validate_task(task, runs=cfg.runs, mirrors=mirrors, log_dir=logs))

    journal = cfg.out / "validate.results.jsonl"
    run_batch(
        tasks,
        work,
        journal,
        key=lambda t: t.instance_id,
        workers=cfg.workers,
        label="validate",
        describe=lambda r: f"{r.instance_id}: {r.status}",
        quiet=cfg.quiet,
        fingerprint=lambda t: fingerprint_of(t, cfg.runs, specs[t.version]),
        on_error=lambda t, exc: ValidationResult(
            instance_id=t.instance_id, status="error", reason=f"{type(exc).__name__}: {exc}", runs=cfg.runs
        ),
    )
    done = read_done(journal)
    return [ValidationResult.model_validate(done[t.instance_id]) for t in tasks if t.instance_id in done]


def unstable_id(test_id: str, today: dt.date | None = None) -> bool:
    """A test id that embeds the day it ran (parametrized with ``datetime.now()``): it will not
    exist under that name when the task is graded later."""
    d = today or dt.date.today()
    forms = (d.isoformat(), d.strftime("%m-%d-%Y"), d.strftime("%d/%m/%Y"), d.strftime("%m/%d/%Y"))
    return any(f in test_id for f in forms)


def drop_unstable_ids(result: ValidationResult) -> ValidationResult:
    """Remove unstable test ids from a valid result's labels; invalid if no FAIL_TO_PASS is left."""
    if result.status != "valid" or result.task is None:
        return result
    f2p = [t for t in result.FAIL_TO_PASS if not unstable_id(t)]
    p2p = [t for t in result.PASS_TO_PASS if not unstable_id(t)]
    dropped = len(result.FAIL_TO_PASS) + len(result.PASS_TO_PASS) - len(f2p) - len(p2p)
    if not dropped:
        return result
    if not f2p:
        return result.model_copy(
            update={"status": "invalid", "task": None, "reason": "FAIL_TO_PASS tests have date-stamped ids"}
        )
    task = result.task.model_copy(update={"FAIL_TO_PASS": f2p, "PASS_TO_PASS": p2p})
    task.meta = {**task.meta, "unstable_ids_dropped": dropped}
    return result.model_copy(update={"FAIL_TO_PASS": f2p, "PASS_TO_PASS": p2p, "task": task})


def mirrors_for(repo: str, repo_dir: Path, source: str) -> dict[str, str]:
    """Clone tasks from the local copy when the source is a URL (no second download)."""
    return {} if source == str(repo_dir) else {repo: str(repo_dir)}


def check_source(repo_dir: Path, ref: str) -> str:
    """The commit ``ref`` names, or a clear error."""
    try:
        return history.head_commit(repo_dir, ref)
    except SourceError:
        raise SourceError(f"{repo_dir}: no commit '{ref}' (is it a git repository with history?)") from None


def run_mine(cfg: MineConfig, *, github: GitHubIssues | None = None) -> dict[str, Any]:
    """Run every stage and write the outputs; return the summary (also in ``summary.json``)."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    repo_dir, source = open_repo(cfg.repo)
    head = check_source(repo_dir, cfg.ref)
    repo = cfg.name or repo_name(cfg.repo, repo_dir)
    cfg.out.mkdir(parents=True, exist_ok=True)
    commits = history.walk(repo_dir, ref=head, since=cfg.since, until=cfg.until, max_commits=cfg.max_commits)
    counts = StageCounts()
    extractor = Extractor(repo_dir, repo, source, cfg.limits, github or GitHubIssues())
    raw, rejected = mine_history(extractor, commits, counts)
    export_tasks(raw, cfg.out / "raw.jsonl")
    timings["mine"] = time.perf_counter() - clock
    clock = time.perf_counter()
    leak_free = [t for t in raw if not t.meta.get("leaks")]
    specs, notes = propose_specs(repo_dir, repo, leak_free, counts)
    proposed_dir = cfg.out / "specs-proposed"
    _write_json(
        proposed_dir / f"{repo.replace('/', '__')}.json", specs_file(repo, list(specs.values()), notes)
    )
    with_spec = [t for t in leak_free if t.version in specs]
    timings["propose_specs"] = time.perf_counter() - clock
    stages: dict[str, int] = {
        "commits_scanned": counts.scanned,
        "candidates": counts.candidates,
        "raw": counts.raw,
        "leak_free": counts.leak_free,
        "spec_proposed": len(with_spec),
    }
    extra: dict[str, Any] = {"specs_proposed": len(specs)}
    if cfg.validate:
        selected = with_spec[: cfg.max_tasks] if cfg.max_tasks else with_spec
        valid, more = _build_and_validate(cfg, repo, repo_dir, source, selected, specs, proposed_dir, timings)
        stages.update({"selected": len(selected), **more.pop("stages")})
        extra.update(more)
        rejected += more.pop("rejected_rows", [])
        export_tasks(valid, cfg.out / "tasks.jsonl")
    _write_jsonl(cfg.out / "rejected.jsonl", rejected)
    summary = {
        "repo": repo,
        "source": source,
        "head": head,
        "range": {"since": cfg.since, "until": cfg.until, "max_commits": cfg.max_commits},
        "stages": stages,
        **extra,
        "dropped": {stage: dict(c.most_common()) for stage, c in counts.dropped.items()},
        "seconds": {k: round(v, 1) for k, v in timings.items()},
        "outputs": {
            "raw": "raw.jsonl",
            "tasks": "tasks.jsonl",
            "specs": "specs/",
            "rejected": "rejected.jsonl",
        },
    }
    _write_json(cfg.out / "summary.json", summary)
    return summary


def _build_and_validate(
    cfg: MineConfig,
    repo: str,
    repo_dir: Path,
    source: str,
    selected: list[Task],
    specs: dict[str, EnvSpec],
    proposed_dir: Path,
    timings: dict[str, float],
) -> tuple[list[Task], dict[str, Any]]:
    mirrors = mirrors_for(repo, repo_dir, source)
    clock = time.perf_counter()
    with specs_on_path(proposed_dir):
        builds = build_envs(cfg, selected, specs, mirrors)
        timings["build_envs"] = time.perf_counter() - clock
        built = [t for t in selected if builds.get(t.version) and builds[t.version].status == "built"]
        clock = time.perf_counter()
        results = validate_mined(cfg, built, specs, mirrors) if built else []
        timings["validate"] = time.perf_counter() - clock
    by_id = {r.instance_id: r for r in results}
    valid = [by_id[t.instance_id].task for t in built if t.instance_id in by_id and by_id[t.instance_id].task]
    kept = sorted({t.version for t in valid if t is not None})
    _write_json(
        cfg.out / "specs" / f"{repo.replace('/', '__')}.json", specs_file(repo, [specs[v] for v in kept])
    )
    reasons: dict[str, int] = {}
    rows = []
    for r in results:
        if r.status != "valid":
            key = f"{r.status}: {_reason_kind(r.reason)}"
            reasons[key] = reasons.get(key, 0) + 1
            rows.append(
                {"instance_id": r.instance_id, "stage": "validated", "reason": f"{r.status}: {r.reason}"}
            )
    failed = {v: b.reason[:300] for v, b in builds.items() if b.status != "built"}
    more: dict[str, Any] = {
        "stages": {"env_built": len(built), "validated": len(valid)},
        "envs": {"needed": len(builds), "built": sum(b.status == "built" for b in builds.values())},
        "env_build_failures": failed,
        "specs_kept": kept,
        "validation_dropped": reasons,
        "rejected_rows": rows,
    }
    return [t for t in valid if t is not None], more


def _reason_kind(reason: str) -> str:
    """A validation reason without its test ids (for counting)."""
    if reason.startswith("leak: "):
        return "leak: " + leak_kind(reason[6:])
    return re.split(r" \(|: ", reason, maxsplit=1)[0][:80]
