"""The grading script: the shell that runs inside a fresh sandbox to apply a candidate and test it.

Each step reports a stage on the results channel (``{"event": ...}``, written by the shell, which
no test code runs in). Git runs with no system or global config, no hooks, no fsmonitor and an
index in /tmp, over a ``.git`` that grading mounts read-only; a step that fails after the
candidate was applied ends the run with a stage that grading counts against the candidate.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from swegym.envs.spec import EnvSpec
from swegym.sandbox.layout import INPUT_MOUNT, TOOLS_MOUNT

PATCH_FAILED = "patch_failed"
TEST_PATCH_FAILED = "test_patch_failed"
RESTORE_FAILED = "restore_failed"
PATCH_APPLIED = "patch_applied"
TESTS_STARTED = "tests_started"
TESTS_EXIT = "tests_exit"
SECRET_MOUNT = "/run/swegym/secret"
GUARDED = (
    "'*conftest.py' '*pytest.ini' '*pytest.toml' '*tox.ini' '*setup.cfg' '*pyproject.toml' '*.coveragerc' "
    "'*.gitattributes' "
    "'*sitecustomize.py' '*usercustomize.py' '*.pth'"
)
"""Pathspecs put back to base after the candidate is applied: a second layer under the host-side
screen (:mod:`swegym.harness.diffguard`), which keeps these out of the diff in the first place."""
_PYTEST_PREFIXES = ("python -m pytest", "python3 -m pytest", "pytest")


@dataclass(frozen=True)
class Canary:
    """Two tests with names drawn per run, appended to the first test file after the test patch:
    one must pass, one must fail; a run that reports the failing one as passed was tampered
    with. They live in a file the task's own tests share (and, like tests the test patch adds,
    not in git's base tree), so a selective forger cannot tell them by file. They are
    ``unittest`` cases, which pytest collects whatever a project's ``python_functions`` and
    ``python_classes`` say (mypy sets both empty)."""

    path: str
    case: str
    passing: str
    failing: str

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def source(self) -> str:
        return (
            "\n\nimport unittest as _unittest\n\n\n"
            f"class {self.case}(_unittest.TestCase):\n"
            f"    def {self.passing}(self):\n        self.assertEqual([1, 2], [1, 2])\n\n"
            f"    def {self.failing}(self):\n        self.assertEqual({{'a': 1}}, {{'a': 2}})\n"
        )


def pytest_command(spec: EnvSpec, use_plugin: bool, plugins: tuple[str, ...]) -> str:
    """The test command: ``python -m pytest`` becomes the harness's launcher (safe path, trusted
    plugins, tamper checks first); other commands run as written."""
    cmd = spec.test_cmd
    if not use_plugin:
        return cmd
    for prefix in _PYTEST_PREFIXES:
        if cmd == prefix or cmd.startswith(prefix + " "):
            cmd = f"python {TOOLS_MOUNT}/swegym_pytest_main.py" + cmd[len(prefix) :]
            break
    return cmd + " -p swegym_pytest_plugin" + "".join(f" -p {p}" for p in plugins)


_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_INDEX_FILE": "/tmp/.swegym-grade-index",
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_TERMINAL_PROMPT": "0",
}
"""The harness's own git settings (a private index, no outside configuration), for its git steps."""
_UNSET_GIT = "unset " + " ".join(_GIT_ENV)
"""The tests run without them: suites that create git repositories (dvc, conan) would otherwise
share the harness's index file across all of them."""

_PRELUDE = (
    r"""
stage() { printf '{"event":"%s"}\n' "$1" >&"$SWEGYM_RESULTS_FD"; }
cd /testbed
"""
    + "export "
    + " ".join(f"{k}={v}" for k, v in _GIT_ENV.items())
    + r"""
g() { git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.untrackedCache=false "$@"; }
cp .git/index "$GIT_INDEX_FILE" 2>/dev/null || g read-tree HEAD
"""
)


def log_header(spec: EnvSpec, targets: list[str], cmd: str) -> str:
    """The first lines of a test log: the spec's test command with the targets, and the command
    line that runs them (the harness's launcher and plugins). For people; never parsed."""
    if not targets:
        return "# swegym: patch check only, no tests run"
    spec_cmd = spec.test_cmd + " " + " ".join(shlex.quote(t) for t in targets)
    return f"# swegym test command: {spec_cmd}\n# swegym runs it as: {cmd}"


def grading_script(
    restore: list[str],
    targets: list[str],
    spec: EnvSpec,
    use_plugin: bool,
    plugins: tuple[str, ...] = (),
    canary: Canary | None = None,
) -> str:
    """Apply the candidate, put guarded files and ``restore`` back to base, apply the test patch
    (if any), append the canary to the first target, run ``targets``; report each stage and the
    tests' exit status."""
    restore_q = " ".join(shlex.quote(f) for f in restore)
    if canary is not None and targets:
        where = shlex.quote(canary.path)
        failed = f"{{ stage {RESTORE_FAILED}; exit 0; }}"
        place = f"[ ! -d {where} ] && cat {INPUT_MOUNT}/canary.py >> {where} || {failed}"
    else:
        place = ":"
    cmd = pytest_command(spec, use_plugin, plugins) + " " + " ".join(shlex.quote(t) for t in targets)
    header = shlex.quote(log_header(spec, targets, cmd))
    run = (
        f"stage {TESTS_STARTED}\n{_UNSET_GIT}\n"
        f'export PYTHONPATH="{TOOLS_MOUNT}${{PYTHONPATH:+:$PYTHONPATH}}"\n'
        f"export SWEGYM_SECRET_FILE={SECRET_MOUNT}/nonce\n"
        f"{cmd}\nrc=$?\n"
        f'printf \'{{"event":"{TESTS_EXIT}","rc":%d}}\\n\' "$rc" >&"$SWEGYM_RESULTS_FD"'
        if targets
        else "exit 0"
    )
    return f"""{_PRELUDE}
printf '%s\\n' {header}
if [ -s {INPUT_MOUNT}/model.patch ]; then
  if g apply --verbose --whitespace=nowarn {INPUT_MOUNT}/model.patch; then :
  elif patch --batch --forward --fuzz=5 -p1 --no-backup-if-mismatch -i {INPUT_MOUNT}/model.patch; then :
  else stage {PATCH_FAILED}; exit 0; fi
fi
stage {PATCH_APPLIED}
# The candidate must not change how pytest runs or reports: its hooks, configuration and
# interpreter start-up files go back to the base version (new ones are removed).
g ls-files -z -- {GUARDED} \\
  | xargs -0 -r git -c core.hooksPath=/dev/null -c core.fsmonitor=false checkout -q HEAD -- \\
  || {{ stage {RESTORE_FAILED}; exit 0; }}
g ls-files -z --others -- {GUARDED} | xargs -0 -r rm -f -- || {{ stage {RESTORE_FAILED}; exit 0; }}
for f in {restore_q}; do
  if g cat-file -e "HEAD:$f" 2>/dev/null; then
    rm -rf -- "$f" 2>/dev/null; g checkout -q HEAD -- "$f" || {{ stage {RESTORE_FAILED}; exit 0; }}
  else rm -rf -- "$f"; fi
done
if [ -s {INPUT_MOUNT}/test.patch ] && ! g apply --verbose --whitespace=nowarn {INPUT_MOUNT}/test.patch; then
  stage {TEST_PATCH_FAILED}; exit 0
fi
{place}
{run}
"""
