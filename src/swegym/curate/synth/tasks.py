"""Tasks made by synthesis: the clean source as a probe task, and a kept trial as a task."""

from __future__ import annotations

from swegym.curate.synth.config import SynthConfig
from swegym.curate.synth.diffs import reverse_diff
from swegym.curate.synth.statements import Rewriter, rewrite, write_statement
from swegym.curate.synth.trials import Trial
from swegym.harness.runner import Prepared
from swegym.sources.materialize import derive_base
from swegym.tasks.model import Task


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
