"""Where swegym keeps its caches; overridable with ``SWEGYM_CACHE_DIR``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Root of swegym's caches: ``$SWEGYM_CACHE_DIR``, else ``$XDG_CACHE_HOME/swegym``."""
    explicit = os.environ.get("SWEGYM_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(xdg).expanduser() / "swegym").resolve()


def sub_cache(name: str) -> Path:
    """A named sub-directory of the cache, created on first use."""
    path = cache_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path
