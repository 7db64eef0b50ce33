"""Running a task's tests in a fresh sandbox, with a candidate patch applied."""

from __future__ import annotations

import json
import shlex
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from swegym.envs.builder import BuiltEnv, build_env
from swegym.envs.spec import EnvSpec, get_spec
from swegym.harness.parsers import get_parser
from swegym.harness.patches import run_targets, touched_files
from swegym.sandbox.base import ExecRequest
from swegym.sandbox.bwrap import INPUT_MOUNT, TOOLS_MOUNT
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.local import LocalSandbox
from swegym.sources.materialize import Mirrors, materialize
from swegym.tasks.model import Task

PATCH_FAILED = "patch_failed"
GUARDED = "'*conftest.py' pytest.ini tox.ini setup.cfg pyproject.toml '*sitecustomize.py' '*usercustomize.py'"
"""Pathspecs of files that configure pytest or run at interpreter start-up (restored before grading)."""
TEST_PATCH_FAILED = "test_patch_failed"


@dataclass
class Prepared:
    """A task's repo, spec and built environment."""

    task: Task
    repo_dir: Path
    spec: EnvSpec
    env: BuiltEnv


def prepare(task: Task, mirrors: Mirrors | None = None) -> Prepared:
    """Materialize the repo and build (or reuse) its environment."""
    spec = get_spec(task.repo, task.version)
    repo_dir = materialize(task, mirrors)
    env = build_env(spec, repo_dir)
    return Prepared(task, repo_dir, spec, env)


@dataclass
class TestRun:
    """One run of the tests: statuses from the side channel, and what happened on the way."""

    __test__ = False  # not a pytest test class

    status: dict[str, str] = field(default_factory=dict)
    patch_applied: bool = True
    error: str | None = None
    finished: bool = False
    duration_s: float = 0.0
    log: str = ""
    stages: list[str] = field(default_factory=list)
    note: str | None = None


def _script(test_files: list[str], targets: list[str], spec: EnvSpec, use_plugin: bool) -> str:
    restore = " ".join(shlex.quote(f) for f in test_files)
    cmd = spec.test_cmd
    if use_plugin:
        cmd += " -p swegym_pytest_plugin"
    cmd += " " + " ".join(shlex.quote(t) for t in targets)
    stage = 'printf \'{"event":"%s"}\\n\' "$1" >&"$SWEGYM_RESULTS_FD"'
    return f"""
stage() {{ {stage}; }}
cd /testbed
if [ -s {INPUT_MOUNT}/model.patch ]; then
  if git apply --verbose --whitespace=nowarn {INPUT_MOUNT}/model.patch; then :
  elif patch --batch --forward --fuzz=5 -p1 -i {INPUT_MOUNT}/model.patch; then :
  else stage {PATCH_FAILED}; exit 0; fi
fi
stage patch_applied
# The candidate must not change how pytest runs or reports: its hooks, configuration and
# interpreter start-up files go back to the base version (new ones are removed).
git ls-files -z -- {GUARDED} | xargs -0 -r git checkout -q HEAD --
git ls-files -z --others -- {GUARDED} | xargs -0 -r rm -f --
for f in {restore}; do
  if git cat-file -e "HEAD:$f" 2>/dev/null; then git checkout -q HEAD -- "$f"; else rm -f -- "$f"; fi
done
if ! git apply --verbose --whitespace=nowarn {INPUT_MOUNT}/test.patch; then
  stage {TEST_PATCH_FAILED}; exit 0
fi
stage tests_started
export PYTHONPATH="{TOOLS_MOUNT}${{PYTHONPATH:+:$PYTHONPATH}}"
{cmd}
"""


def run_tests(
    prep: Prepared,
    patch: str,
    *,
    config: SandboxConfig | None = None,
    log_path: Path | None = None,
) -> TestRun:
    """Apply ``patch`` (may be empty), restore and apply the test patch, run the tests.

    Outcomes come from the pytest plugin's side channel; the printed log is kept for people.
    An infrastructure failure (timeout, broken sandbox, test patch that does not apply) is
    reported in ``error``; a candidate patch that does not apply sets ``patch_applied=False``.
    """
    task, spec = prep.task, prep.spec
    targets = run_targets(task.test_patch)
    if not targets:
        return TestRun(error="the test patch touches no test file (.py)")
    use_plugin = spec.log_parser == "pytest"
    plugin_dir = resources.files("swegym.harness").joinpath("plugin")
    with tempfile.TemporaryDirectory(prefix="swegym-input-") as tmp, resources.as_file(plugin_dir) as plug:
        inp = Path(tmp)
        (inp / "model.patch").write_text(patch)
        (inp / "test.patch").write_text(task.test_patch)
        layout = prep.env.layout(prep.repo_dir)
        layout.ro_binds = [*layout.ro_binds, (inp, INPUT_MOUNT), (Path(plug), TOOLS_MOUNT)]
        sandbox = LocalSandbox(layout, config)
        script = _script(touched_files(task.test_patch), targets, spec, use_plugin)
        resp = sandbox.exec_once(
            ExecRequest(
                script=script,
                timeout=spec.test_timeout,
                log_path=str(log_path) if log_path else None,
                results_channel=True,
            )
        )
    stages = [str(r["event"]) for r in _records(resp.results) if r.get("event")]
    run = TestRun(duration_s=resp.duration_s, log=resp.output, stages=stages)
    if PATCH_FAILED in stages:
        run.patch_applied = False
        return run
    if TEST_PATCH_FAILED in stages:
        run.error = "the task's test patch does not apply"
        return run
    if resp.timed_out:
        run.error = f"tests timed out after {spec.test_timeout} s"
        return run
    if "tests_started" not in stages:
        tail = [ln for ln in resp.output.splitlines() if ln.strip()][-1:] or ["no output"]
        run.error = f"the sandbox failed before the tests ran: {tail[0]}"
        return run
    parsed = get_parser(spec.log_parser)(resp.results, resp.output)
    run.status, run.finished = parsed.status, parsed.finished
    if not parsed.status and not parsed.finished:
        # Not an infrastructure error: a candidate patch that breaks imports ends this way.
        tail = [ln for ln in resp.output.splitlines() if ln.strip()][-1:] or ["no output"]
        run.note = f"the test command reported no results: {tail[0]}"
    return run


def _records(text: str) -> list[dict[str, object]]:
    out = []
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out
