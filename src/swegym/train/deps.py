"""Lazy imports of the ``train`` extra and turning out-of-memory failures into one clear line."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from swegym.errors import MissingExtraError, OutOfMemoryError
from swegym.extras import import_extra

INSTALL_HINT = "pip install 'swegym[train]'"


def require(module: str) -> Any:
    """Import ``module`` from the train extra, or raise one line saying how to install it."""
    return import_extra(
        module,
        needed_by="training",
        install=INSTALL_HINT,
        error=MissingExtraError,
        package=module.split(".")[0],
    )


def quiet_hf() -> None:
    """Silence transformers' and datasets' progress bars and info logs: the CLI prints its own lines."""
    # Deprecation notices of the libraries are for their callers' authors, not for CLI users.
    for category in (FutureWarning, DeprecationWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category, module=r"(transformers|peft|trl|torch)")
    transformers = require("transformers")
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets = require("datasets")
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    return name == "OutOfMemoryError" or (isinstance(exc, RuntimeError) and "out of memory" in str(exc))


@contextlib.contextmanager
def oom_guard(what: str, advice: str) -> Iterator[None]:
    """Re-raise an out-of-memory error inside the block as :class:`OutOfMemoryError` (one line)."""
    try:
        yield
    except OutOfMemoryError:
        raise
    except (RuntimeError, MemoryError) as exc:
        if not _is_oom(exc):
            raise
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise OutOfMemoryError(f"{what} ran out of memory ({first}); {advice}") from None


def device_summary() -> str:
    """'cuda (N GPUs)' or 'cpu', for logs."""
    torch = require("torch")
    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.device_count()} GPUs)"
    return "cpu"
