"""The grading launcher's set-up, run on the host on the harness's own (trusted) code."""

from __future__ import annotations

import importlib.util
import os
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

# The installed (or $PYTHONPATH) copy, which scripts/check_defences.py mutates.
PLUGIN_DIR = Path(str(resources.files("swegym.harness").joinpath("plugin")))


def _launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "swegym_pytest_main_under_test", PLUGIN_DIR / "swegym_pytest_main.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_working_directory_goes_last_on_sys_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A repo-root json.py or pytest.py must lose to the standard library and site-packages.
    monkeypatch.chdir(tmp_path)
    launcher = _launcher()
    saved = sys.path[:]
    try:
        sys.path[:] = ["", str(tmp_path), *saved]
        launcher._safe_path()
        here = os.path.dirname(os.path.abspath(launcher.__file__))
        assert sys.path[0] == here
        assert sys.path[-1] == str(tmp_path)
        assert "" not in sys.path and sys.path.count(str(tmp_path)) == 1
    finally:
        sys.path[:] = saved


def test_plugin_autoload_is_off_and_entry_points_come_from_site_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launcher = _launcher()
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    md = launcher._metadata()
    launcher._disable_autoload(md)
    assert os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") == "1"
    # Metadata planted outside site-packages (in the repo) is never a source of plugins.
    planted = tmp_path / "rt_forge-1.0.dist-info"
    planted.mkdir()
    (planted / "METADATA").write_text("Metadata-Version: 2.1\nName: rt-forge\nVersion: 1.0\n")
    (planted / "entry_points.txt").write_text("[pytest11]\nrt_forge = rt_forge\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    names = {ep.name for _, ep in launcher._entry_points(md)}
    assert "rt_forge" not in names
