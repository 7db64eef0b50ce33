"""Importing an optional extra's module, or one line saying which extra installs it."""

from __future__ import annotations

import importlib
from typing import Any

from swegym.errors import SwegymError


def import_extra(
    module: str, *, needed_by: str, install: str, error: type[SwegymError], package: str | None = None
) -> Any:
    """``importlib.import_module(module)``; when it (or what it imports) is missing, raise ``error``
    with one line: ``"{needed_by} needs {package} ({missing} is missing): {install}"`` (``package``
    defaults to ``module``)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or module
        raise error(f"{needed_by} needs {package or module} ({missing} is missing): {install}") from None
