"""Running a task's tests in a fresh sandbox, with a candidate patch applied."""

from __future__ import annotations

import shlex
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from swegym.envs.builder import BuiltEnv, build_env
from swegym.envs.spec import EnvSpec, SpecDirs, get_spec
from swegym.harness.dates import task_clock
from swegym.harness.parsers import get_parser, json_records
from swegym.harness.patches import run_targets, touched_files
from swegym.sandbox.base import ExecRequest, ExecResponse
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.factory import open_sandbox
from swegym.sandbox.layout import INPUT_MOUNT, TOOLS_MOUNT, Layout
from swegym.sources.materialize import Mirrors, materialize, source_task
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
    clock: str | None = None
    """Where the sandbox's wall clock starts; None: the task's date (validation's second run
    sets another)."""

    def layout(self) -> Layout:
        """The sandbox layout for this task (bytecode of files its base patch changed masked),
        its clock at the task's date: the agent's episode and its grading see the same date."""
        layout = self.env.layout(self.repo_dir, touched_files(self.task.base_patch))
        layout.clock = self.clock or task_clock(self.task)
        return layout


def test_targets(task: Task) -> list[str]:
    """Files the tests run on: the test patch's test files, then the task's own ``test_files``."""
    return list(dict.fromkeys([*run_targets(task.test_patch), *task.test_files]))


def prepare(task: Task, mirrors: Mirrors | None = None, spec_dirs: SpecDirs = ()) -> Prepared:
    """Materialize the repo and build (or reuse) its environment (specs also from ``spec_dirs``)."""
    spec = get_spec(task.repo, task.version, spec_dirs)
    repo_dir = materialize(task, mirrors)
    # A derived base (a synthetic task's bug) shares the environment of its clean source, built
    # on the clean tree so that the build's bytecode never holds the injected bug.
    build_dir = materialize(source_task(task), mirrors) if task.base_patch else repo_dir
    env = build_env(spec, build_dir)
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
    results: str = ""
    """The raw side-channel records (JSON lines)."""


def _script(
    restore: list[str], targets: list[str], spec: EnvSpec, use_plugin: bool, plugins: tuple[str, ...] = ()
) -> str:
    """The grading script: apply the candidate, put guarded files and ``restore`` back to base,
    apply the test patch (if any), run ``targets``. Each step reports a stage on the channel."""
    restore_q = " ".join(shlex.quote(f) for f in restore)
    cmd = spec.test_cmd
    if use_plugin:
        cmd += " -p swegym_pytest_plugin" + "".join(f" -p {p}" for p in plugins)
    cmd += " " + " ".join(shlex.quote(t) for t in targets)
    stage = 'printf \'{"event":"%s"}\\n\' "$1" >&"$SWEGYM_RESULTS_FD"'
    run = (
        f'stage tests_started\nexport PYTHONPATH="{TOOLS_MOUNT}${{PYTHONPATH:+:$PYTHONPATH}}"\n{cmd}'
        if targets
        else "exit 0"
    )
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
for f in {restore_q}; do
  if git cat-file -e "HEAD:$f" 2>/dev/null; then git checkout -q HEAD -- "$f"; else rm -f -- "$f"; fi
done
if [ -s {INPUT_MOUNT}/test.patch ] && ! git apply --verbose --whitespace=nowarn {INPUT_MOUNT}/test.patch; then
  stage {TEST_PATCH_FAILED}; exit 0
fi
{run}
"""


def run_tests(
    prep: Prepared,
    patch: str,
    *,
    targets: list[str] | None = None,
    config: SandboxConfig | None = None,
    log_path: Path | None = None,
    plugins: tuple[str, ...] = (),
    timeout: float | None = None,
) -> TestRun:
    """Apply ``patch`` (may be empty), restore and apply the test patch, run the tests.

    Outcomes come from the pytest plugin's side channel; the printed log is kept for people.
    An infrastructure failure (timeout, broken sandbox, test patch that does not apply) is
    reported in ``error``; a candidate patch that does not apply sets ``patch_applied=False``.
    ``plugins`` names extra pytest plugins shipped next to the results plugin (e.g. per-test
    coverage for bug synthesis); their records land in ``TestRun.results``.

    ``targets`` given: run exactly those test files on the candidate alone (the task's test
    patch is not applied and its test files are not restored; guarded configuration still is),
    which is how execution signals test a diff without the gold tests; ``[]`` only checks that
    the patch applies.
    """
    task, spec = prep.task, prep.spec
    grading = targets is None
    targets = test_targets(task) if targets is None else targets
    if grading and not targets:
        return TestRun(error="no test file to run: the test patch touches none and test_files is empty")
    restore = list(dict.fromkeys([*touched_files(task.test_patch), *task.test_files])) if grading else []
    script = _script(restore, targets, spec, spec.log_parser == "pytest", plugins)
    request = ExecRequest(
        script=script,
        timeout=timeout or spec.test_timeout,
        log_path=str(log_path) if log_path else None,
        results_channel=True,
    )
    resp = _exec(prep, patch, task.test_patch if grading else "", request, config)
    return _interpret(resp, spec, bool(targets), request.timeout)


def _exec(
    prep: Prepared, patch: str, test_patch: str, request: ExecRequest, config: SandboxConfig | None
) -> ExecResponse:
    """Run the grading script in a fresh sandbox with the patches and the plugins mounted."""
    plugin_dir = resources.files("swegym.harness").joinpath("plugin")
    with tempfile.TemporaryDirectory(prefix="swegym-input-") as tmp, resources.as_file(plugin_dir) as plug:
        inp = Path(tmp)
        (inp / "model.patch").write_text(patch)
        (inp / "test.patch").write_text(test_patch)
        layout = prep.layout().with_binds((inp, INPUT_MOUNT), (Path(plug), TOOLS_MOUNT))
        return open_sandbox(layout, config).exec_once(request)


def _last_line(output: str) -> str:
    return ([ln for ln in output.splitlines() if ln.strip()][-1:] or ["no output"])[0]


def _interpret(resp: ExecResponse, spec: EnvSpec, ran_tests: bool, timeout: float) -> TestRun:
    """A `TestRun` from the script's stages and results: how far it got, then the outcomes."""
    stages = [str(r["event"]) for r in json_records(resp.results) if r.get("event")]
    run = TestRun(duration_s=resp.duration_s, log=resp.output, stages=stages, results=resp.results)
    if PATCH_FAILED in stages:
        run.patch_applied = False
    elif TEST_PATCH_FAILED in stages:
        run.error = "the task's test patch does not apply"
    elif resp.timed_out:
        run.error = f"tests timed out after {timeout:g} s"
    elif not ran_tests and "patch_applied" in stages:
        pass  # only the patch was checked
    elif "tests_started" not in stages:
        run.error = f"the sandbox failed before the tests ran: {_last_line(resp.output)}"
    else:
        parsed = get_parser(spec.log_parser)(resp.results, resp.output)
        run.status, run.finished = parsed.status, parsed.finished
        if not parsed.status and not parsed.finished:
            # Not an infrastructure error: a candidate patch that breaks imports ends this way.
            run.note = f"the test command reported no results: {_last_line(resp.output)}"
    return run
