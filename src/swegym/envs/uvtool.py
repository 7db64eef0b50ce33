"""Locating the uv binary that ships with the `uv` package."""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from swegym.errors import EnvBuildError


@functools.lru_cache(maxsize=1)
def uv_bin() -> str:
    """Path of uv: the `uv` Python package's binary, else `uv` on PATH."""
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    if found:
        return found
    raise EnvBuildError("uv is not installed: pip install uv")


def uv_cache_dir() -> Path:
    """uv's cache directory (shared with the user's uv, so installs stay warm)."""
    explicit = os.environ.get("UV_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "uv"
