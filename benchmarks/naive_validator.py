"""The naive validator that ``swegym_fidelity.py`` measures swegym against.

Per instance, nothing shared between instances: a fresh clone of the repo, a fresh venv made
with plain ``uv venv`` + ``uv pip install`` of the same recipe (the spec's steps and flags, no
bytecode compilation), then the task's test files run once without and once with the gold patch
and parsed with SWE-bench's ``-rA`` text parser (the same tests swegym selects: for mypy,
``-k`` over the test patch's case names, as SWE-Gym's harness runs them). Both the install
(network on, for the package index) and the tests (network off) run inside bubblewrap:
third-party code never runs on the host. The repo edits a spec makes before the install are
applied the same way swegym does.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from swegym.envs.buildbox import UV_CACHE_MOUNT, UV_MOUNT, passthrough_env
from swegym.envs.builder import resolve_for_repo
from swegym.envs.buildscript import build_script
from swegym.envs.prebuild import apply_edits, fill_submodules
from swegym.envs.python import find_interpreter
from swegym.envs.spec import spec_for_task
from swegym.envs.uvtool import uv_bin, uv_cache_dir
from swegym.harness.parsers import PASSING, parse_pytest_text
from swegym.harness.selection import select_tests
from swegym.sandbox.bwrap import build_argv, find_bwrap
from swegym.sandbox.launch import run_logged
from swegym.sandbox.layout import REPO_MOUNT, Layout
from swegym.sources.materialize import Mirrors, materialize
from swegym.tasks.model import Task

INPUT = "/run/naive"


@dataclass
class NaiveResult:
    """One instance through the naive validator."""

    instance_id: str
    status: str = "error"
    reason: str = ""
    seconds: float = 0.0
    clone_seconds: float = 0.0
    build_seconds: float = 0.0
    test_seconds: float = 0.0
    disk_mb: float = 0.0
    """The clone plus its venv, what this validator keeps per instance while it runs."""
    fail_to_pass: list[str] = field(default_factory=list)


def _sandbox(repo: Path, where: str, python_prefix: Path, inputs: Path, network: bool) -> list[str]:
    """bwrap argv: the instance's own clone read-write at ``where`` (not /testbed: uv keys its
    editable-build lock by the path, which would make this validator wait on any other build on
    the machine that shares the uv cache), the interpreter, uv and the inputs read-only."""
    layout = Layout(
        ro_binds=[(python_prefix, str(python_prefix)), (Path(uv_bin()), UV_MOUNT), (inputs, INPUT)],
        rw_binds=[(repo, where), *([(uv_cache_dir(), UV_CACHE_MOUNT)] if network else [])],
        env={**passthrough_env("copy"), "PATH": f"/opt/swegym/bin:{where}/.naive-venv/bin:/usr/bin:/bin"},
        cwd=where,
    )
    return build_argv(find_bwrap(), layout, network=network, tmp_size_mb=4096, repo_mode="copy")


def _run(argv: list[str], script: str, timeout: float, log: Path) -> tuple[int | None, str]:
    """Run ``script`` in the bwrap ``argv`` (seccomp filter and a bare environment, through
    swegym's launcher); the exit status (None on timeout) and the output, also kept in ``log``."""
    log.unlink(missing_ok=True)
    code = run_logged([*argv, "/bin/bash", "-c", script], log, timeout)
    return code, log.read_text(errors="replace") if log.exists() else ""


def _tests_script(where: str, test_cmd: str, env: dict[str, str], args: list[str], gold: bool) -> str:
    g = "git -c safe.directory='*' -c core.hooksPath=/dev/null"
    files = " ".join(shlex.quote(t) for t in args)
    lines = [f"cd {where}", *(f"export {k}={shlex.quote(v)}" for k, v in env.items())]
    if gold:
        lines.append(f"{g} apply --whitespace=nowarn {INPUT}/gold.patch || exit 90")
    lines += [f"{g} apply --whitespace=nowarn {INPUT}/test.patch || exit 91", f"{test_cmd} {files}", "rc=$?"]
    lines.append(f"{g} apply -R --whitespace=nowarn {INPUT}/test.patch")
    if gold:
        lines.append(f"{g} apply -R --whitespace=nowarn {INPUT}/gold.patch")
    return "\n".join([*lines, "exit $rc"])


def naive_validate(task: Task, mirrors: Mirrors, work_root: Path, logs: Path) -> NaiveResult:
    """Validate ``task`` the naive way; the work directory is deleted at the end."""
    res = NaiveResult(task.instance_id)
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="naive-", dir=work_root))
    try:
        _validate_in(task, mirrors, work, logs, res)
    except Exception as exc:  # a benchmark row, not a crash: the cause is reported
        res.reason = f"{type(exc).__name__}: {exc}"
    finally:
        res.seconds = round(time.perf_counter() - start, 2)  # (measuring the disk is not timed)
        res.disk_mb = _blocks(work) / 2**20
        shutil.rmtree(work, ignore_errors=True)
    return res


def _validate_in(task: Task, mirrors: Mirrors, work: Path, logs: Path, res: NaiveResult) -> None:
    t0 = time.perf_counter()
    repo, inputs = work / "repo", work / "input"
    inputs.mkdir()
    src = materialize(task, mirrors)  # swegym's cached clone is only the naive clone's origin
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(src), str(repo)], check=True)
    res.clone_seconds = round(time.perf_counter() - t0, 2)
    spec = resolve_for_repo(spec_for_task(task), repo)
    fill_submodules(spec, repo, repo, mirrors, [])  # `git submodule update`, from the mirrors
    apply_edits(spec, repo, repo, [])
    python = find_interpreter(spec.python)
    (inputs / "gold.patch").write_text(task.patch)
    (inputs / "test.patch").write_text(task.test_patch)
    t1 = time.perf_counter()
    where = f"/naive/{task.instance_id}"  # its own directory, as a naive validator's clone would be
    plain = spec.model_copy(update={"compile_bytecode": False})
    script = build_script(plain, str(python.executable), env_dir=f"{where}/.naive-venv")
    script = script.replace(REPO_MOUNT, where)
    log = logs / f"{task.instance_id}.naive.build.log"
    code, _ = _run(_sandbox(repo, where, python.prefix, inputs, network=True), script, 1800, log)
    res.build_seconds = round(time.perf_counter() - t1, 2)
    if code != 0:
        res.reason = f"build failed (exit {code}); log: {log}"
        return
    t2 = time.perf_counter()
    statuses = []
    for kind in ("empty", "gold"):
        env = {k: v.replace(REPO_MOUNT, where) for k, v in spec.env.items()}
        # The same tests swegym selects (mypy: its `-k` over the test patch's case names).
        args = select_tests(task, spec).args(None)
        script = _tests_script(where, spec.test_cmd, env, args, kind == "gold")
        log = logs / f"{task.instance_id}.naive.{kind}.log"
        argv = _sandbox(repo, where, python.prefix, inputs, network=False)
        code, out = _run(argv, script, spec.test_timeout, log)
        if code is None or code >= 90:
            res.reason = (
                f"{kind} run: {'timed out' if code is None else 'a patch does not apply'}; log: {log}"
            )
            return
        statuses.append(parse_pytest_text(out).status)
    res.test_seconds = round(time.perf_counter() - t2, 2)
    before, after = statuses
    res.fail_to_pass = sorted(t for t, s in after.items() if s in PASSING and before.get(t) not in PASSING)
    res.status = "valid" if res.fail_to_pass else "invalid"
    if not res.fail_to_pass:
        res.reason = "no test fails without the gold patch and passes with it"


def _blocks(root: Path) -> int:
    total = 0
    for p in [root, *root.rglob("*")]:
        try:
            st = p.lstat()
        except OSError:
            continue
        total += st.st_blocks * 512
    return total
