# mypy: ignore-errors
"""Run pytest for grading: a safe ``sys.path``, trusted plugins only, the results plugin first.

``python swegym_pytest_main.py ARGS`` stands in for ``python -m pytest ARGS``:

- ``sys.path[0]`` is this (read-only) directory and the working directory moves to the end: a
  module at the repo root cannot shadow the standard library or pytest (what ``-P`` /
  PYTHONSAFEPATH are for, on every Python version), and the repo's own modules still import;
- plugin autoloading is off; the ``pytest11`` entry points of the distributions installed in the
  environment's site-packages (built from the base commit) are registered by name, as pytest
  would, so metadata planted in the repo is never loaded;
- pytest and its built-in plugins are imported first, then ``swegym_pytest_plugin``, which sets
  up its tamper checks before any conftest or project module is imported.

Kept compatible with Python 3.6.
"""

import contextlib
import importlib
import os
import sys


def _safe_path():
    """This directory first, the working directory last: the standard library and installed
    packages (pytest itself) always win over a module of the same name in the repo, while the
    repo's own top-level modules stay importable as under ``python -m pytest``."""
    cwd = os.getcwd()
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if p not in ("", ".", cwd, here)]
    sys.path[:] = [here, *rest, cwd]


def _metadata():
    try:
        import importlib.metadata as md
    except ImportError:
        try:
            import importlib_metadata as md
        except ImportError:
            return None
    return md


def _import_builtin_plugins():
    """pytest's own plugins, imported while nothing else runs (the tamper snapshot covers them)."""
    import _pytest.config as config

    names = list(getattr(config, "essential_plugins", ())) + list(getattr(config, "default_plugins", ()))
    for name in names:
        with contextlib.suppress(Exception):  # a plugin missing on an old pytest
            importlib.import_module("_pytest." + name)


def _disable_autoload(md):
    """Turn pytest's plugin autoloading off where this launcher can name the plugins itself."""
    if md is not None:
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"


def _site_dirs():
    return [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]


def main():
    _safe_path()
    md = _metadata()
    _disable_autoload(md)
    import pytest

    _import_builtin_plugins()
    import swegym_pytest_plugin

    swegym_pytest_plugin.trusted_entry_points = _entry_points(md)
    raise SystemExit(pytest.main(sys.argv[1:]))


def _entry_points(md):
    """(distribution, entry point) pairs of group ``pytest11`` from site-packages only."""
    if md is None:
        return []
    out = []
    for dist in md.distributions(path=_site_dirs()):
        for ep in getattr(dist, "entry_points", ()) or ():
            if getattr(ep, "group", None) == "pytest11":
                out.append((dist, ep))
    return out


if __name__ == "__main__":
    main()
