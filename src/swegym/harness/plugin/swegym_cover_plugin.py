# mypy: ignore-errors
"""pytest plugin that records which repo functions each test calls (per-test coverage).

Loaded with ``-p swegym_cover_plugin`` next to ``swegym_pytest_plugin``, whose side channel it
writes to. Bug synthesis uses it to pick functions the project's own tests exercise and to run,
for each injected bug, only the tests that reach it. On Python 3.12+ it uses ``sys.monitoring``
(each code object reported once per test, then disabled until the next test, so it costs almost
nothing); older interpreters fall back to ``sys.setprofile``. Kept compatible with Python 3.6.
"""

import sys
import threading

import pytest
import swegym_pytest_plugin as _results

_ROOT = "/testbed/"
_ids = {}
_seen = set()


def _note(code):
    filename = code.co_filename
    if filename.startswith(_ROOT):
        key = (filename[len(_ROOT) :], code.co_firstlineno)
        ident = _ids.get(key)
        if ident is None:
            ident = _ids[key] = len(_ids)
            _results._emit({"cover_fn": ident, "path": key[0], "line": key[1]})
        _seen.add(ident)


def _profile(frame, event, arg):
    if event == "call":
        _note(frame.f_code)


_mon = getattr(sys, "monitoring", None)
_TOOL = None


def _on_start(code, offset):
    _note(code)
    return _mon.DISABLE


def _start():
    global _TOOL
    if _mon is not None:
        if _TOOL is None:
            for tool in (5, 4, 3):  # ids free for third parties; 0-2 belong to debuggers/coverage
                if _mon.get_tool(tool) is None:
                    _mon.use_tool_id(tool, "swegym-cover")
                    _mon.register_callback(tool, _mon.events.PY_START, _on_start)
                    _TOOL = tool
                    break
        if _TOOL is not None:
            _mon.set_events(_TOOL, _mon.events.PY_START)
            _mon.restart_events()
            return
    sys.setprofile(_profile)
    threading.setprofile(_profile)


def _stop():
    if _TOOL is not None:
        _mon.set_events(_TOOL, 0)
    sys.setprofile(None)
    threading.setprofile(None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _seen.clear()
    _start()
    try:
        yield
    finally:
        _stop()
        _results._emit({"cover": item.nodeid, "fns": sorted(_seen)})
