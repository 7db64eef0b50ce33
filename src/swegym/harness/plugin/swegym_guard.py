# mypy: ignore-errors
"""Tamper checks for the results plugin, set up while the process is still clean.

Imported by ``swegym_pytest_plugin`` (after pytest and its built-in plugins, before any project
code). :func:`install_audit_hook` (Python 3.8+) refuses, and reports, reaching the results
descriptor or the run's secrets through ``/proc`` or ``/dev/fd``, swapping the code of pytest's,
pluggy's, the harness's or a test's functions, and code made, loaded or run under a trusted
file's name by untrusted code; :class:`Snapshot` remembers, by identity, the namespaces that make
and carry reports; :func:`untrusted_hook` finds a report-shaping hook implemented outside pytest,
the installed plugins, this directory and the conftest files. Kept compatible with Python 3.6.
"""

import os
import sys
import types

GUARDED_PREFIXES = ("_pytest.", "pluggy.", "swegym_")
GUARDED_NAMES = ("pytest", "_pytest", "pluggy")
REPORT_HOOKS = (
    "pytest_runtest_protocol",
    "pytest_runtest_makereport",
    "pytest_runtest_logreport",
    "pytest_report_teststatus",
    "pytest_runtest_call",
    "pytest_pyfunc_call",
    "pytest_runtest_setup",
    "pytest_runtest_teardown",
    "pytest_collection_modifyitems",
)
# Modules whose functions and classes make, carry or count reports (missing ones are skipped).
WATCHED_MODULES = (
    "_pytest.runner",
    "_pytest.reports",
    "_pytest.skipping",
    "_pytest.outcomes",
    "_pytest.python",
    "_pytest.main",
    "_pytest.nodes",
    "_pytest.unittest",
    "pluggy._callers",
    "pluggy._hooks",
    "pluggy._manager",
    "pluggy.callers",
    "pluggy.hooks",
    "pluggy.manager",
)
HOT_CLASSES = ("TestReport", "BaseReport", "CallInfo", "CollectReport")
TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))


def is_guarded(obj):
    """Whether ``obj`` (a function or class) belongs to pytest, pluggy or this harness."""
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and (module in GUARDED_NAMES or module.startswith(GUARDED_PREFIXES))


def forbidden_path(path):
    """Paths through which a process finds descriptors, memory or the start-up environment."""
    if isinstance(path, bytes):
        path = path.decode("utf-8", "replace")
    if not isinstance(path, str):
        return False
    path = os.path.normpath(path)
    if path == "/dev/fd" or path.startswith("/dev/fd/"):
        return True
    parts = path.split("/")
    return len(parts) >= 4 and parts[1] == "proc" and parts[3] in ("fd", "fdinfo", "mem", "environ")


def _set_while_importing_guarded(getframe):
    """A guarded module changing its own functions while it is being imported is not tampering."""
    frame = getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if isinstance(name, str) and (name in GUARDED_NAMES or name.startswith(GUARDED_PREFIXES)):
            return frame.f_code.co_name == "<module>"
        if name not in ("functools", "dataclasses", "typing", "abc", "enum") and not name.startswith("attr"):
            return False
        frame = frame.f_back
    return False


def is_test_file(path):
    """A test or conftest file by name (what pytest collects, and what grading restores)."""
    path = str(path).replace("\\", "/")
    name = path.rsplit("/", 1)[-1]
    in_tests = any(p in ("tests", "test", "testing") for p in path.split("/")[:-1])
    return name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py") or in_tests


def _caller_file(getframe):
    """The file of the nearest frame outside this module (who raised the audited event)."""
    frame = getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return frame.f_code.co_filename if frame is not None else ""


def _honest_compile(source, filename, getframe):
    """A compile under a trusted file's name is honest when it compiles that file's own bytes
    (importlib) or pytest's assertion rewriting compiles it (an AST it parsed from the file)."""
    if isinstance(source, (bytes, str)):
        try:
            with open(filename, "rb") as fh:
                data = fh.read()
        except OSError:
            return False
        return (source.encode("utf-8") if isinstance(source, str) else source) == data
    return _caller_file(getframe).replace("\\", "/").endswith("_pytest/assertion/rewrite.py")


_IMPORT_MACHINERY = ("<frozen importlib._bootstrap", "_pytest/assertion/rewrite.py")


def _from_import_machinery(getframe):
    caller = _caller_file(getframe).replace("\\", "/")
    return caller.startswith(_IMPORT_MACHINERY[0]) or caller.endswith(_IMPORT_MACHINERY[1])


def _exec_of_own_module(code, getframe):
    """importlib (or pytest's rewriting) running a module's code: the module's ``__file__``
    must be the file the code says it comes from (a ``.pyc`` loaded from elsewhere and named
    after a trusted file is not)."""
    frame = getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    if frame is None:
        return False
    namespace = None
    args = frame.f_locals.get("args")
    if isinstance(args, tuple) and len(args) > 1 and isinstance(args[1], dict):
        namespace = args[1]  # importlib's _call_with_frames_removed(exec, code, module.__dict__)
    elif isinstance(frame.f_locals.get("module"), type(sys)):
        namespace = vars(frame.f_locals["module"])  # pytest's AssertionRewritingHook.exec_module
    if namespace is None:
        return False
    origin = namespace.get("__file__") or ""
    return os.path.abspath(origin) == os.path.abspath(code.co_filename)


def _same_code(code, filename):
    """Whether ``code`` is what compiling ``filename`` gives (for ``exec(compile(open(f)...))``)."""
    try:
        with open(filename, "rb") as fh:
            real = compile(fh.read(), filename, "exec", dont_inherit=True)
    except (OSError, SyntaxError, ValueError):
        return False
    return real.co_code == code.co_code and real.co_names == code.co_names


def _honest_exec(code, getframe, caller_trusted):
    """importlib running a module's own code, trusted code running code, or code that is what
    its file compiles to."""
    if _from_import_machinery(getframe):
        return _exec_of_own_module(code, getframe)
    return caller_trusted() or _same_code(code, code.co_filename)


def install_audit_hook(tamper, trusted=()):
    """Refuse (and report through ``tamper``) the audited actions named in the module doc, and
    code compiled or built under the name of a trusted file (``trusted``: directory prefixes;
    any ``conftest.py``) that is not that file's own code."""
    add = getattr(sys, "addaudithook", None)
    if add is None:  # Python < 3.8: the snapshot, hook and canary checks still hold
        return
    getframe = sys._getframe
    code_attrs = ("__code__", "__defaults__", "__kwdefaults__", "__class__")

    def looks_trusted(filename, tests_too):
        if not isinstance(filename, str) or not filename.endswith(".py"):
            return False
        trusted_name = filename.endswith("conftest.py") or filename.startswith(trusted)
        return trusted_name or (tests_too and is_test_file(filename))

    def replaced(obj, attr):
        body = getattr(getattr(obj, "__code__", None), "co_filename", "")
        if attr == "__code__" and is_test_file(body):
            return True  # a test function's body swapped (e.g. for a no-op)
        return is_guarded(obj) and not _set_while_importing_guarded(getframe)

    def caller_trusted():
        caller = _caller_file(getframe)
        return caller.startswith("<frozen ") or caller.startswith(trusted)

    def code_event(event, args):
        """Code made, loaded or run under a trusted file's name by code that is not itself
        trusted (the standard library, site-packages and frozen importlib are)."""
        if event == "marshal.loads":
            return None if caller_trusted() else "loaded code with marshal outside the import system"
        if event == "exec":
            filename = getattr(args[0], "co_filename", None) if args else None
            if not looks_trusted(filename, True) or _honest_exec(args[0], getframe, caller_trusted):
                return None
            return "ran code named " + str(filename) + " that is not that file's code"
        filename = args[1] if len(args) > 1 else None
        # (code.__new__ under a test file's name is how pickled test functions come back.)
        if not looks_trusted(filename, event == "compile") or caller_trusted():
            return None
        if event == "compile" and _honest_compile(args[0], filename, getframe):
            return None
        return event + " of code under the name of " + str(filename)

    def hook(event, args):
        if event == "open" and args and forbidden_path(args[0]):
            tamper("opened " + str(args[0]))
        elif event in ("os.listdir", "os.scandir") and args and forbidden_path(str(args[0]) + "/0"):
            tamper("listed " + str(args[0]))
        elif event == "object.__setattr__" and len(args) > 1 and args[1] in code_attrs:
            if replaced(args[0], args[1]):
                tamper("replaced " + str(args[1]) + " of " + repr(args[0])[:200])
        elif event in ("compile", "code.__new__", "marshal.loads", "exec"):
            why = code_event(event, args)
            if why:
                tamper(why)

    add(hook)


class Snapshot:
    """The namespaces of the report machinery, by identity."""

    def __init__(self):
        self.modules = {}
        self.classes = {}
        self.hot = []
        for name in WATCHED_MODULES:
            module = sys.modules.get(name)
            if module is None:
                continue
            self.modules[name] = (module, dict(vars(module)))
            for attr, value in list(vars(module).items()):
                if isinstance(value, type) and getattr(value, "__module__", None) == name:
                    key = name + "." + attr
                    self.classes[key] = (value, dict(vars(value)))
                    if attr in HOT_CLASSES:
                        self.hot.append(key)

    @staticmethod
    def _changed(ns, before, everything):
        """The first name whose value is no longer the same object (all names when
        ``everything``, else functions, methods and classes only), or a new function."""
        for key, value in before.items():
            if (everything or _is_code(value)) and ns.get(key, None) is not value:
                return key
        for key, value in ns.items():
            if key not in before and _is_code(value):
                return key
        return None

    def check(self, hot_only=False):
        """The first monkeypatched name (``module.attr`` or ``module.Class.attr``), or None."""
        keys = self.hot if hot_only else list(self.classes)
        for key in keys:
            cls, before = self.classes[key]
            changed = self._changed(vars(cls), before, everything=key in self.hot)
            if changed:
                return key + "." + changed
        if hot_only:
            return None
        for name, (module, before) in self.modules.items():
            changed = self._changed(vars(module), before, everything=False)
            if changed:
                return name + "." + changed
        return None


def _is_code(value):
    return isinstance(value, (types.FunctionType, staticmethod, classmethod, type))


def trusted_dirs():
    """pytest's and the installed plugins' site-packages, the standard library, this directory."""
    import pytest

    dirs = {TOOLS_DIR, os.path.dirname(os.path.dirname(os.path.abspath(pytest.__file__)))}
    dirs.add(os.path.dirname(os.path.abspath(os.__file__)))
    for entry in sys.path:
        if entry.endswith(("site-packages", "dist-packages")):
            dirs.add(os.path.abspath(entry))
    return tuple(d.rstrip("/") + "/" for d in dirs)


def untrusted_hook(config, trusted):
    """The first report-shaping hook implementation from an untrusted file, as text, or None."""
    for name in REPORT_HOOKS:
        caller = getattr(config.pluginmanager.hook, name, None)
        get = getattr(caller, "get_hookimpls", None)
        for impl in get() if get is not None else ():
            code = getattr(getattr(impl, "function", None), "__code__", None)
            path = os.path.abspath(code.co_filename) if code is not None else ""
            if os.path.basename(path) == "conftest.py" or any(path.startswith(d) for d in trusted):
                continue
            return name + " implemented in " + (path or "an object without code")
    return None
