"""The baseline: the clean tree's tests run once with per-test coverage (cached), and the
project functions that passing tests call (where bugs may go)."""

from __future__ import annotations

import json
from pathlib import Path

from swegym.curate.synth.config import SynthError
from swegym.curate.synth.coverage import Baseline, function_starts, parse_records
from swegym.curate.synth.functions import functions_in
from swegym.harness.batch import fingerprint_of
from swegym.harness.runner import Prepared, run_tests
from swegym.harness.testfiles import is_test_path

COVER_PLUGIN = "swegym_cover_plugin"


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
