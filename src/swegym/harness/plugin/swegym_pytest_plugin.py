# mypy: ignore-errors
"""pytest plugin that reports each test phase's outcome over a side channel, tamper-evidently.

Imported by the ``swegym_pytest_main`` launcher after pytest, before any project code, so at
import time it takes what it needs while the process is still clean:

- the channel: the file descriptor named by $SWEGYM_RESULTS_FD (the variable is removed), and its
  identity (device, inode), so a descriptor swapped underneath (``os.dup2`` of a proxy pipe) is
  noticed at the next write;
- the run's nonce, read from $SWEGYM_SECRET_FILE, which it then deletes: every record carries
  it, so bytes that anything else writes to the channel are recognised by the host as forged;
- the checks of ``swegym_guard`` (audit hook, snapshot of the report machinery, trusted hooks).

An imperative ``pytest.xfail()`` called from project code (not a test or conftest file) is
marked, and grading counts it as a failure. On any sign of tampering the plugin reports why and
ends the process with exit status 86, which the grading script records from outside.

Grading reads this channel, never the printed log. Kept compatible with Python 3.6 and old pytest.
(PYTEST_DONT_REWRITE: imported before pytest's assertion rewriting could see it.)
"""

import contextlib
import json
import os
import sys

import pytest
import swegym_guard

TAMPER_EXIT = 86


def _read_secret():
    path = os.environ.pop("SWEGYM_SECRET_FILE", None)
    if not path:
        return ""
    try:
        with open(path) as fh:
            value = fh.read().strip()
        os.unlink(path)
    except OSError:
        return ""
    return value


def _open_channel():
    raw = os.environ.pop("SWEGYM_RESULTS_FD", None)
    if not raw:
        return None, None
    try:
        fd = int(raw)
        os.set_inheritable(fd, False)
        st = os.fstat(fd)
    except (ValueError, OSError):
        return None, None
    return fd, (st.st_dev, st.st_ino)


def _make_emitter(fd, ident, nonce):
    """The record writer and the tamper exit. What they use is bound as default arguments (so
    rebinding ``os.write``, this module's globals or a closure cell changes nothing; replacing
    the defaults themselves is refused by the audit hook), and ``emit`` only writes when one of
    this plugin's hooks calls it."""

    def tamper(why, _emit=None, _exit=os._exit):
        if _emit is not None:
            _emit({"event": "tamper", "why": str(why)[:500]}, _checked=False)
        _exit(TAMPER_EXIT)

    def emit(
        record,
        _checked=True,
        _fd=fd,
        _ident=ident,
        _nonce=nonce,
        _write=os.write,
        _fstat=os.fstat,
        _dumps=json.dumps,
        _exit=os._exit,
        _getframe=sys._getframe,
        _tools=swegym_guard.TOOLS_DIR + os.sep,
    ):
        if _fd is None:
            return
        caller = _getframe(1).f_code.co_filename
        if _checked and not caller.startswith(_tools):
            # Only the harness's plugins write records; a code object claiming one of their
            # file names is refused by the audit hook.
            _emit_tamper("the results emitter was called from " + caller)
        try:
            st = _fstat(_fd)
            swapped = (st.st_dev, st.st_ino) != _ident
        except OSError:
            swapped = True
        if swapped:
            _exit(TAMPER_EXIT)
        data = (_dumps(dict(record, n=_nonce)) + "\n").encode("utf-8")
        try:
            while data:
                data = data[_write(_fd, data) :]
        except OSError:
            pass

    def _emit_tamper(why):
        tamper(why, emit)

    return emit, _emit_tamper


_FD, _IDENT = _open_channel()
_emit, _tamper = _make_emitter(_FD, _IDENT, _read_secret())
swegym_guard.install_audit_hook(_tamper, swegym_guard.trusted_dirs())
_SNAPSHOT = swegym_guard.Snapshot()
_TRUSTED = swegym_guard.trusted_dirs()
_STATE = {"item": None, "pm": None, "hookexec": None}


def _check(config, full, snapshot=_SNAPSHOT, tamper=_tamper):
    changed = snapshot.check(hot_only=not full)
    if changed:
        tamper("monkeypatched " + changed)
    if full:
        bad = swegym_guard.untrusted_hook(config, swegym_guard.trusted_dirs())
        if bad:
            tamper("hook " + bad)


def _xfail_caller(excinfo):
    """The file that called ``pytest.xfail()``: the frame just before pytest's own ``xfail``
    raised it ("" when XFailed was raised some other way, e.g. a test module's
    ``AssertionError`` rebound to it, so that a failing assert turns into an XFAIL)."""
    frames = []
    tb = excinfo.tb
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename.replace("\\", "/"))
        tb = tb.tb_next
    if len(frames) < 2 or not frames[-1].endswith("_pytest/outcomes.py"):
        return ""
    outside = [f for f in frames[:-1] if not f.endswith("_pytest/outcomes.py")]
    return outside[-1] if outside else ""


def _test_function_file(item, trusted=_TRUSTED):
    """Where a plain test function's code comes from, when that is neither its test file nor an
    installed decorator, and no function it wraps (``__wrapped__``, as ``functools.wraps`` and
    the project's own decorators set it) comes from the test file either: a test function
    swapped for a no-op from project code. None when it is in order."""
    if type(item).__name__ != "Function" or "_obj" not in vars(item):
        return None
    test_file = os.path.abspath(str(getattr(item, "path", getattr(item, "fspath", ""))))
    fn, seen, outer = getattr(item.obj, "__func__", item.obj), 0, None
    while fn is not None and seen < 20:
        code = getattr(fn, "__code__", None)
        if code is None:
            if isinstance(fn, type):
                return None
        else:
            filename = os.path.abspath(code.co_filename)
            if filename == test_file or filename.startswith(trusted) or swegym_guard.is_test_file(filename):
                return None
            outer = outer or filename
        fn, seen = getattr(fn, "__wrapped__", None), seen + 1
    return outer or "an object without code"


trusted_entry_points = []
"""(distribution, entry point) pairs the launcher found in site-packages (autoload is off)."""


def pytest_addhooks(pluginmanager):
    _STATE["pm"], _STATE["hookexec"] = pluginmanager, getattr(pluginmanager, "_inner_hookexec", None)
    # Called when this plugin is registered (``-p``, before pytest would autoload): register the
    # environment's plugins by entry-point name, as pytest's autoload does, honouring ``-p no:``.
    for dist, ep in trusted_entry_points:
        if pluginmanager.get_plugin(ep.name) is not None or pluginmanager.is_blocked(ep.name):
            continue
        plugin = ep.load()
        pluginmanager.register(plugin, name=ep.name)
        with contextlib.suppress(Exception):  # what `required_plugins` and the report header read
            from pluggy._manager import DistFacade

            pluginmanager._plugin_distinfo.append((plugin, DistFacade(dist)))


def pytest_configure(config):
    os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)  # nested pytest runs behave as usual
    _emit({"event": "start"})


def pytest_collection_finish(session):
    _check(session.config, full=True)


def pytest_collectreport(report):
    if report.failed:
        _emit({"nodeid": report.nodeid, "when": "collect", "outcome": "failed"})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    excinfo = getattr(call, "excinfo", None)
    if excinfo is None or not excinfo.errisinstance(pytest.xfail.Exception):
        return
    if not swegym_guard.is_test_file(_xfail_caller(excinfo)):
        outcome.get_result().swegym_untrusted_xfail = True


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    # What runs this item must be pytest's own: no per-instance runtest, the plugin manager's
    # hook calling unchanged since this plugin was registered.
    if "runtest" in vars(item):
        _tamper("replaced runtest of " + item.nodeid)
    where = _test_function_file(item)
    if where is not None:
        _tamper("the test function of " + item.nodeid + " is code from " + where)
    pm = _STATE["pm"]
    if pm is not None and getattr(pm, "_inner_hookexec", None) is not _STATE["hookexec"]:
        _tamper("replaced the plugin manager's hook calling")
    _STATE["item"] = item.nodeid
    yield
    _STATE["item"] = None


def pytest_runtest_logreport(report):
    _check(None, full=False)
    if report.nodeid != _STATE["item"]:
        _tamper("a report of " + str(report.nodeid) + " outside its test's run")
    record = {
        "nodeid": report.nodeid,
        "when": report.when,
        "outcome": report.outcome,
        "wasxfail": bool(getattr(report, "wasxfail", None) is not None and hasattr(report, "wasxfail")),
    }
    if getattr(report, "swegym_untrusted_xfail", False):
        record["xfail_from"] = "code"
    if report.failed:
        # The one-line reason (e.g. "AssertionError: assert 1 == 2"): curation writes problem
        # statements from it; grading never reads it.
        crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
        if crash is not None:
            record["message"] = str(getattr(crash, "message", ""))[:2000]
    _emit(record)


def pytest_sessionfinish(session, exitstatus):
    _check(session.config, full=True)
    _emit({"event": "finish", "exitstatus": int(exitstatus)})
