"""The mining pipeline: history -> raw instances -> leak-free -> env specs -> envs -> tasks.

Writes into ``out``: ``raw.jsonl`` (every raw instance, with ``meta.leaks``), ``rejected.jsonl``
(each dropped commit with its stage and reason), ``specs-proposed/`` (a spec file, passed to env
builds and validation as an extra spec directory), ``builds.results.jsonl`` and
``validate.results.jsonl`` (journals: a rerun resumes), ``tasks.jsonl`` (validated tasks),
``specs/`` (the proposed specs that validated at least one task) and ``summary.json`` (the stage
counts and timings).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swegym.curate.mine import history
from swegym.curate.mine.envs import build_envs, propose_specs
from swegym.curate.mine.extract import Extractor, MineLimits, StageCounts, mine_history
from swegym.curate.mine.issues import GitHubIssues
from swegym.curate.mine.repository import check_source, mirrors_for, open_repo, repo_name
from swegym.curate.mine.spec_proposal import specs_file
from swegym.curate.mine.validation import validate_mined, validation_drops
from swegym.envs.spec import EnvSpec
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
    limits: MineLimits = field(default_factory=MineLimits)
    quiet: bool = False


@dataclass
class _Mined:
    """What the stages before the envs found in one repository."""

    repo: str
    repo_dir: Path
    source: str
    head: str
    counts: StageCounts
    rejected: list[dict[str, str]]
    specs: dict[str, EnvSpec]
    with_spec: list[Task]
    timings: dict[str, float]


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(path)


def _specs_path(out: Path, repo: str) -> Path:
    return out / f"{repo.replace('/', '__')}.json"


def run_mine(cfg: MineConfig, *, github: GitHubIssues | None = None) -> dict[str, Any]:
    """Run every stage and write the outputs; return the summary (also in ``summary.json``)."""
    mined = _mine_and_propose(cfg, github)
    counts = mined.counts
    stages: dict[str, int] = {
        "commits_scanned": counts.scanned,
        "candidates": counts.candidates,
        "raw": counts.raw,
        "leak_free": counts.leak_free,
        "spec_proposed": len(mined.with_spec),
    }
    extra: dict[str, Any] = {"specs_proposed": len(mined.specs)}
    rejected = mined.rejected
    if cfg.validate:
        selected = mined.with_spec[: cfg.max_tasks] if cfg.max_tasks else mined.with_spec
        valid, more = _build_and_validate(cfg, mined, selected)
        stages.update({"selected": len(selected), **more.pop("stages")})
        extra.update(more)
        rejected += more.pop("rejected_rows", [])
        export_tasks(valid, cfg.out / "tasks.jsonl")
    _write_jsonl(cfg.out / "rejected.jsonl", rejected)
    summary = {
        "repo": mined.repo,
        "source": mined.source,
        "head": mined.head,
        "range": {"since": cfg.since, "until": cfg.until, "max_commits": cfg.max_commits},
        "stages": stages,
        **extra,
        "dropped": {stage: dict(c.most_common()) for stage, c in counts.dropped.items()},
        "seconds": {k: round(v, 1) for k, v in mined.timings.items()},
        "outputs": {
            "raw": "raw.jsonl",
            "tasks": "tasks.jsonl",
            "specs": "specs/",
            "rejected": "rejected.jsonl",
        },
    }
    _write_json(cfg.out / "summary.json", summary)
    return summary


def _mine_and_propose(cfg: MineConfig, github: GitHubIssues | None) -> _Mined:
    """Walk the history into raw instances (``raw.jsonl``), then propose their env specs."""
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
    _write_json(_specs_path(cfg.out / "specs-proposed", repo), specs_file(repo, list(specs.values()), notes))
    with_spec = [t for t in leak_free if t.version in specs]
    timings["propose_specs"] = time.perf_counter() - clock
    return _Mined(repo, repo_dir, source, head, counts, rejected, specs, with_spec, timings)


def _build_and_validate(
    cfg: MineConfig, mined: _Mined, selected: list[Task]
) -> tuple[list[Task], dict[str, Any]]:
    """Build the envs ``selected`` need and validate those built; the summary's extra keys."""
    mirrors = mirrors_for(mined.repo, mined.repo_dir, mined.source)
    spec_dirs = (cfg.out / "specs-proposed",)
    specs, timings = mined.specs, mined.timings
    clock = time.perf_counter()
    builds = build_envs(
        selected, specs, mirrors, cfg.out / "builds.results.jsonl", spec_dirs=spec_dirs, quiet=cfg.quiet
    )
    timings["build_envs"] = time.perf_counter() - clock
    built = [t for t in selected if builds.get(t.version) and builds[t.version].status == "built"]
    clock = time.perf_counter()
    results = []
    if built:
        results = validate_mined(
            built, specs, mirrors, cfg.out,
            runs=cfg.runs, workers=cfg.workers, spec_dirs=spec_dirs, quiet=cfg.quiet,
        )  # fmt: skip
    timings["validate"] = time.perf_counter() - clock
    by_id = {r.instance_id: r for r in results}
    valid = [by_id[t.instance_id].task for t in built if t.instance_id in by_id and by_id[t.instance_id].task]
    kept = sorted({t.version for t in valid if t is not None})
    _write_json(_specs_path(cfg.out / "specs", mined.repo), specs_file(mined.repo, [specs[v] for v in kept]))
    reasons, rows = validation_drops(results)
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
