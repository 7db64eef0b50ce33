"""The environments mined tasks need: one proposed spec per version, then its build.

``propose_specs`` reads each version's build files at its newest base commit and proposes a spec
(``spec_proposal``); ``build_envs`` builds each version's environment once, journaled, from the
spec table extended with the directory the proposals were written to.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from swegym.curate.mine import history
from swegym.curate.mine.extract import StageCounts
from swegym.curate.mine.spec_proposal import PYTHON_RELEASES, SpecProposalError, propose_spec, wanted_files
from swegym.envs.spec import EnvSpec, SpecDirs, get_spec
from swegym.errors import InterpreterNotFoundError, SwegymError
from swegym.harness.batch import fingerprint_of, read_done, run_batch
from swegym.sources.materialize import materialize
from swegym.tasks.model import Task


class BuildResult(BaseModel):
    """One proposed environment's build (journaled; ``instance_id`` is 'repo@version')."""

    instance_id: str
    status: Literal["built", "failed", "error"]
    reason: str = ""
    seconds: float = 0.0
    fingerprint: str = ""


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


def build_envs(
    tasks: list[Task],
    specs: dict[str, EnvSpec],
    mirrors: dict[str, str],
    journal: Path,
    *,
    spec_dirs: SpecDirs,
    quiet: bool,
) -> dict[str, BuildResult]:
    """Build the environment of every version ``tasks`` need (journaled, so reruns skip them).

    The spec built is the one the spec table (with ``spec_dirs``) gives, as validation will
    look it up; ``specs`` (the proposals) key the journal, so a changed proposal is rebuilt.
    """
    from swegym.envs.builder import build_env

    first: dict[str, Task] = {}
    for t in tasks:
        first.setdefault(t.version, t)

    def work(task: Task) -> BuildResult:
        start = time.perf_counter()
        try:
            build_env(get_spec(task.repo, task.version, spec_dirs), materialize(task, mirrors))
        except SwegymError as exc:
            return BuildResult(instance_id=_build_key(task), status="failed", reason=str(exc)[:2000])
        return BuildResult(instance_id=_build_key(task), status="built", seconds=time.perf_counter() - start)

    run_batch(
        list(first.values()),
        work,
        journal,
        key=_build_key,
        workers=1,  # builds download and compile in parallel already
        label="build envs",
        describe=lambda r: f"{r.instance_id}: {r.status}",
        quiet=quiet,
        fingerprint=lambda t: fingerprint_of(specs[t.version]),
        on_error=lambda t, exc: BuildResult(instance_id=_build_key(t), status="error", reason=repr(exc)),
    )
    done = read_done(journal)
    return {
        v: BuildResult.model_validate(done[_build_key(t)]) for v, t in first.items() if _build_key(t) in done
    }


def _build_key(task: Task) -> str:
    return f"{task.repo}@{task.version}"
