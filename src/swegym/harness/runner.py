"""Running a task's tests in a fresh sandbox, with a candidate patch applied."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from swegym.envs.builder import BuiltEnv, build_env
from swegym.envs.spec import EnvSpec, SpecDirs, spec_for_task
from swegym.harness.dates import task_clock
from swegym.harness.diffguard import screen_diff
from swegym.harness.integrity import Audit, audit_canary, audit_channel, new_canary, new_nonce, strip_canary
from swegym.harness.parsers import get_parser, json_records
from swegym.harness.patches import run_targets, touched_files
from swegym.harness.script import (
    PATCH_APPLIED,
    PATCH_FAILED,
    RESTORE_FAILED,
    SECRET_MOUNT,
    TEST_PATCH_FAILED,
    TESTS_STARTED,
    Canary,
    grading_script,
)
from swegym.harness.selection import Selection, canary_home, select_tests
from swegym.harness.versioncmd import sandbox_runner
from swegym.sandbox.base import ExecRequest, ExecResponse
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.factory import open_sandbox
from swegym.sandbox.layout import INPUT_MOUNT, REPO_MOUNT, TOOLS_MOUNT, Layout
from swegym.sources.materialize import Mirrors, materialize, source_task
from swegym.sources.versions import with_version
from swegym.tasks.model import Task

__all__ = ["PATCH_FAILED", "TEST_PATCH_FAILED", "Prepared", "TestRun", "prepare", "run_tests", "test_targets"]


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
    """Materialize the repo and build (or reuse) its environment (specs also from ``spec_dirs``).

    A task without a version gets the detected one (``Prepared.task`` carries it)."""
    if not task.version:
        task = with_version(task, mirrors, materialize(task, mirrors), sandbox_runner())
    spec = spec_for_task(task, spec_dirs)  # a spec may take its date or commit from the task
    repo_dir = materialize(task, mirrors)
    # A derived base (a synthetic task's bug) shares the environment of its clean source, built
    # on the clean tree so that the build's bytecode never holds the injected bug.
    build_dir = materialize(source_task(task), mirrors) if task.base_patch else repo_dir
    env = build_env(spec, build_dir, mirrors=mirrors)  # mirrors also fill empty submodules
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
    rejected: str | None = None
    """Why the candidate diff was refused before anything ran (a path outside the work tree)."""
    kept_out: list[str] = field(default_factory=list)
    """Files of the candidate diff that were not applied (not source changes; see diffguard)."""
    tampered: str | None = None
    """Why the run's outcomes were forged or interfered with (see :mod:`swegym.harness.integrity`)."""
    candidate_applied: bool = False
    """The candidate had been applied when the run stopped: an error from here on is the candidate's."""


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
    """Screen ``patch`` (may be empty), apply it, restore and apply the test patch, run the tests.

    Outcomes come from the pytest plugin's side channel; the printed log is kept for people.
    A diff naming a path outside the work tree is rejected (``rejected``, nothing runs); files
    that are not source changes are kept out (``kept_out``). An error of the run (timeout, broken
    sandbox, test patch that does not apply) is in ``error`` (``candidate_applied`` tells whether
    it came after the candidate); a patch that does not apply sets ``patch_applied=False``; a
    run whose outcomes were interfered with sets ``tampered``. ``plugins`` names extra pytest
    plugins shipped next to the results plugin (e.g. per-test coverage for bug synthesis);
    their records land in ``TestRun.results``.

    ``targets`` given: run exactly those test files on the candidate alone (the task's test
    patch is not applied and its test files are not restored; guarded configuration still is),
    which is how execution signals test a diff without the gold tests; ``[]`` only checks that
    the patch applies.
    """
    task, spec = prep.task, prep.spec
    grading = targets is None
    selection = select_tests(task, spec) if targets is None else Selection(targets)
    targets = selection.targets
    if grading and not targets:
        return TestRun(error="no test file to run: the test patch touches none and test_files is empty")
    screened = screen_diff(patch, prep.repo_dir)
    if screened.rejected:
        return TestRun(patch_applied=False, rejected=screened.rejected)
    restore = list(dict.fromkeys([*touched_files(task.test_patch), *task.test_files])) if grading else []
    use_plugin = spec.log_parser == "pytest"
    home = canary_home(prep.repo_dir, selection)
    canary = _canary(prep, [home] if home else targets) if use_plugin and targets else None
    if canary is not None and canary.path not in targets and not home:
        targets = [*targets, canary.path]  # a directory target: the canary is a file of its own
    args = Selection(targets, selection.keywords).args(canary.case if canary else None)
    script = grading_script(restore, args, spec, use_plugin, plugins, canary)
    request = ExecRequest(
        script=script,
        timeout=timeout or spec.test_timeout,
        log_path=str(log_path) if log_path else None,
        results_channel=True,
    )
    nonce = new_nonce()
    resp = _exec(prep, screened.diff, task.test_patch if grading else "", request, config, nonce, canary)
    run = _interpret(resp, spec, bool(targets), request.timeout, nonce, canary)
    run.kept_out = screened.kept_out
    return run


def _canary(prep: Prepared, targets: list[str]) -> Canary:
    """Canaries appended to the first target file; when the first target is a directory (bug
    synthesis runs whole test directories), in a file of their own inside it."""
    first = prep.repo_dir / targets[0]
    if first.is_dir():
        drawn = new_canary(targets[0] + "/_")
        return dataclasses.replace(drawn, path=f"{targets[0].rstrip('/')}/{drawn.passing}.py")
    try:
        text = first.read_text(errors="replace")
    except OSError:
        text = ""  # a file the test patch adds
    return new_canary(targets[0], text)


def _exec(
    prep: Prepared,
    patch: str,
    test_patch: str,
    request: ExecRequest,
    config: SandboxConfig | None,
    nonce: str,
    canary: Canary | None,
) -> ExecResponse:
    """Run the grading script in a fresh sandbox: the patches, the canary and the plugins mounted
    read-only, the nonce in a directory of its own (the plugin deletes it), ``.git`` read-only."""
    plugin_dir = resources.files("swegym.harness").joinpath("plugin")
    with (
        tempfile.TemporaryDirectory(prefix="swegym-input-") as tmp,
        tempfile.TemporaryDirectory(prefix="swegym-secret-") as secret,
        resources.as_file(plugin_dir) as plug,
    ):
        inp = Path(tmp)
        (inp / "model.patch").write_text(patch)
        (inp / "test.patch").write_text(test_patch)
        if canary is not None:
            (inp / "canary.py").write_text(canary.source())
        (Path(secret) / "nonce").write_text(nonce)
        layout = prep.layout().with_binds((inp, INPUT_MOUNT), (Path(plug), TOOLS_MOUNT))
        layout.rw_binds = [*layout.rw_binds, (Path(secret), SECRET_MOUNT)]
        git_dir = prep.repo_dir / ".git"
        if git_dir.is_dir():
            layout.frozen = [*layout.frozen, (git_dir, f"{REPO_MOUNT}/.git")]
        return open_sandbox(layout, config).exec_once(request)


def _last_line(output: str) -> str:
    return ([ln for ln in output.splitlines() if ln.strip()][-1:] or ["no output"])[0]


def _first_error(output: str) -> str:
    """pytest's first error detail (an ``E   ...`` line, e.g. the ImportError that stopped
    collection), else the last line: what a user fixing a spec needs to see first."""
    for line in output.splitlines():
        if line.startswith("E   ") and line[4:].strip():
            return line[4:].strip()[:300]
    return _last_line(output)


def _interpret(
    resp: ExecResponse, spec: EnvSpec, ran_tests: bool, timeout: float, nonce: str, canary: Canary | None
) -> TestRun:
    """A `TestRun` from the script's stages and results: how far it got, then the outcomes."""
    stages = [str(r["event"]) for r in json_records(resp.results) if r.get("event")]
    run = TestRun(duration_s=resp.duration_s, log=resp.output, stages=stages, results=resp.results)
    run.candidate_applied = PATCH_APPLIED in stages
    audit = audit_channel(resp.results, nonce if spec.log_parser == "pytest" else None)
    if PATCH_FAILED in stages:
        run.patch_applied = False
    elif RESTORE_FAILED in stages:
        run.error = "the base versions of guarded and test files could not be restored over the candidate"
    elif TEST_PATCH_FAILED in stages:
        run.error = "the task's test patch does not apply"
    elif audit.tampered:
        run.tampered = audit.tampered
    elif resp.timed_out:
        run.error = f"tests timed out after {timeout:g} s"
    elif not ran_tests and PATCH_APPLIED in stages:
        pass  # only the patch was checked
    elif TESTS_STARTED not in stages:
        run.error = f"the sandbox failed before the tests ran: {_last_line(resp.output)}"
    else:
        _read_outcomes(run, resp, spec, canary)
    return run


def _read_outcomes(run: TestRun, resp: ExecResponse, spec: EnvSpec, canary: Canary | None) -> None:
    parsed = get_parser(spec.log_parser)(resp.results, resp.output)
    check: Audit = audit_canary(parsed.status, canary)
    if check.tampered:
        run.tampered = check.tampered
        return
    run.status, run.finished = strip_canary(parsed.status, canary), parsed.finished
    if check.untrusted and (parsed.status or parsed.finished):
        run.note = f"{check.untrusted} ({_first_error(resp.output)})"
        run.status = {}  # outcomes whose canaries never ran are not evidence
    elif not parsed.status and not parsed.finished:
        # Not an infrastructure error: a candidate patch that breaks imports ends this way.
        run.note = f"the test command reported no results: {_first_error(resp.output)}"
