"""The build script of an environment, from its spec: pure functions, no I/O.

Each install step becomes one :class:`StepCommand` (argv, its variables, where it runs, whether
it may fail), rendered into a bash script that runs inside the build sandbox. Unit tests read the
commands; the builder runs the script.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from swegym.envs.recipe import InstallStep, utc_timestamp
from swegym.envs.spec import EnvSpec
from swegym.sandbox.layout import ENV_MOUNT, REPO_MOUNT

PINS_FILE = "/tmp/swegym-pins.txt"
"""The spec's pins, written as a constraints file that every pip step with ``pins`` reads."""
BUILD_PINS_FILE = "/tmp/swegym-build-pins.txt"
"""The spec's build pins: ``--build-constraint`` of every pip step with ``pins``."""


@dataclass(frozen=True)
class StepCommand:
    """One install step as a command: what the build script runs for it."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = REPO_MOUNT
    if_exists: str | None = None
    optional: bool = False
    label: str = ""


def date_flags(spec: EnvSpec) -> list[str]:
    """``--exclude-newer`` (as a UTC timestamp) and the per-package exemptions of ``spec``.

    A per-package date only ever moves that package's cutoff later (an exemption, e.g. a
    setuptools with PEP 660 for an old tree): where the spec's date is later, it wins."""
    out: list[str] = []
    when = spec.exclude_newer_utc()
    if when:
        out += ["--exclude-newer", when]
    for name, date in sorted(spec.exclude_newer_packages.items()):
        stamp = utc_timestamp(date)
        out += ["--exclude-newer-package", f"{name}={max(stamp, when) if when else stamp}"]
    return out


def pip_argv(spec: EnvSpec, step: InstallStep) -> list[str]:
    """The ``uv pip install`` argv of a pip step: date, pins, flags, then what it installs."""
    argv = ["uv", "pip", "install"]
    if step.date:
        argv += date_flags(spec)
    if step.pins and spec.pins:
        argv += ["--constraint", PINS_FILE]
    if step.pins and spec.build_pins:
        argv += ["--build-constraint", BUILD_PINS_FILE]
    if step.no_build_isolation:
        argv.append("--no-build-isolation")
    if step.no_deps:
        argv.append("--no-deps")
    for key, value in step.config_settings.items():
        argv += ["--config-settings", f"{key}={value}"]
    argv += step.flags
    for req in step.requirements:
        argv += ["-r", req]
    if step.editable is not None:
        argv += ["-e", step.editable]
    return argv + step.packages + step.args


def step_commands(spec: EnvSpec) -> list[StepCommand]:
    """Every install step of ``spec`` as a command, in order."""
    steps = spec.install_steps()
    out = []
    for i, step in enumerate(steps):
        if step.kind == "pip":
            argv = pip_argv(spec, step)
        elif step.kind == "uninstall":
            argv = ["uv", "pip", "uninstall", *step.flags, *step.packages]
        else:
            argv = list(step.argv)
        cwd = REPO_MOUNT if step.cwd in (".", "") else f"{REPO_MOUNT}/{step.cwd}"
        if_exists = f"{REPO_MOUNT}/{step.if_exists}" if step.if_exists else None
        label = f"step {i + 1}/{len(steps)} ({step.kind})"
        out.append(StepCommand(argv, dict(step.env), cwd, if_exists, step.optional, label))
    return out


def _render(cmd: StepCommand) -> str:
    env = "".join(f"export {k}={shlex.quote(v)}; " for k, v in cmd.env.items())
    run = f"( cd {shlex.quote(cmd.cwd)} && {env}{shlex.join(cmd.argv)} )"
    echo = f"echo {shlex.quote('+ ' + cmd.label + ': ' + shlex.join(cmd.argv))}"
    if cmd.optional:
        run = (
            f'{run} || echo {shlex.quote("swegym: optional " + cmd.label + " failed, going on")} "(exit $?)"'
        )
    body = f"{echo}\n{run}"
    if cmd.if_exists:
        skip = shlex.quote(f"swegym: {cmd.label} skipped: {cmd.if_exists} does not exist")
        body = f"if [ -e {shlex.quote(cmd.if_exists)} ]; then\n{body}\nelse echo {skip}; fi"
    return body


def build_script(
    spec: EnvSpec, python_executable: str, *, env_dir: str = ENV_MOUNT, relocatable: bool = False
) -> str:
    """The bash script that builds ``spec``'s venv at ``env_dir`` inside the sandbox (its mount
    point, or a ``relocatable`` venv built elsewhere and mounted there later)."""
    reloc = " --relocatable" if relocatable else ""
    lines = [
        "set -euo pipefail",
        f"uv venv -q{reloc} --python {shlex.quote(python_executable)} {shlex.quote(env_dir)}",
        f"export VIRTUAL_ENV={shlex.quote(env_dir)}",
    ]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in spec.build_env.items()]
    if spec.pins:
        lines.append(f"printf '%s\\n' {shlex.join(spec.pins)} > {PINS_FILE}")
    if spec.build_pins:
        lines.append(f"printf '%s\\n' {shlex.join(spec.build_pins)} > {BUILD_PINS_FILE}")
    lines += [_render(cmd) for cmd in step_commands(spec)]
    lines.append('uv pip freeze > /tmp/freeze.txt && cp /tmp/freeze.txt "$VIRTUAL_ENV/swegym-freeze.txt"')
    if spec.compile_bytecode:
        lines += compile_lines(spec)
    return "\n".join(lines)


TEST_FILES_RE = r"(^|/)(tests?|testing)/|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$"
"""Files compileall leaves alone in the repo: pytest rewrites and caches test modules itself."""

_WARM = """
import importlib, os, sys
names = ["pytest", *sys.argv[1:]]
skip = {"tests", "test", "testing", "docs", "doc", "benchmarks", "examples", "scripts", "build"}
for root in (".", "src"):
    if os.path.isdir(root):
        names += [n for n in sorted(os.listdir(root)) if n not in skip and n.isidentifier()
                  and os.path.isfile(os.path.join(root, n, "__init__.py"))]
for name in dict.fromkeys(names):
    try:
        importlib.import_module(name)
    except BaseException as exc:
        print("swegym: warm import", name, "failed:", repr(exc)[:200])
"""


def compile_lines(spec: EnvSpec) -> list[str]:
    """Bytecode, once after every step (not per install), kept in the env (the venv's) and in
    repo-extra (the repo's, through the overlay's upper layer), so test runs start compiled.

    The repo's own modules are always compiled (not its tests: pytest rewrites and caches those
    itself); an episode that changes one masks its stale bytecode. From the venv,
    ``compile_scope='imports'`` keeps what importing pytest, the repo's top-level packages and
    ``warm_imports`` loads, i.e. the modules test runs use (a module imported later compiles in
    the run that needs it); ``'all'`` compiles every file."""
    py = '"$VIRTUAL_ENV/bin/python"'
    tests = shlex.quote(TEST_FILES_RE)
    out = [f"{py} -m compileall -q -j 0 -x {tests} {REPO_MOUNT} > /dev/null 2>&1 || true"]
    if spec.compile_scope == "all":
        out.append(f'{py} -m compileall -q -j 0 "$VIRTUAL_ENV/lib" > /dev/null 2>&1 || true')
    else:
        warm = shlex.join(spec.warm_imports)
        out.append(f"( cd {REPO_MOUNT} && timeout 600 {py} -c {shlex.quote(_WARM)} {warm} ) || true")
    return out
