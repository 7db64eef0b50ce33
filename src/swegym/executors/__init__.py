"""Where a batch's units run: a local thread pool (the default) or a Ray cluster.

Every batch (validation, grading, rollouts, synthesis trials) hands its units to an
:class:`Executor`; the caller (the driver) keeps the journal or run store and writes each result
as it streams back, so resuming and ``kill -9`` safety do not depend on where the units ran::

    with use_executor(make_executor("ray", address="ray://head:10001")):
        validate_tasks(rows, out, ...)  # its batch runs on the cluster

Without a ``use_executor`` block, :func:`current_executor` is the local pool.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from swegym.executors.base import Executor, ExecutorError, UnitResources, env_group
from swegym.executors.local import LocalExecutor

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "UnitResources",
    "current_executor",
    "env_group",
    "make_executor",
    "use_executor",
]

EXECUTORS = ("local", "ray")
_CURRENT: ContextVar[Executor | None] = ContextVar("swegym_executor", default=None)


def current_executor() -> Executor:
    """The executor of the enclosing :func:`use_executor` block, else a local pool."""
    return _CURRENT.get() or LocalExecutor()


@contextlib.contextmanager
def use_executor(executor: Executor) -> Iterator[Executor]:
    """Run the batches started inside the block on ``executor``; close it at the end."""
    token = _CURRENT.set(executor)
    try:
        yield executor
    finally:
        _CURRENT.reset(token)
        executor.close()


def make_executor(
    name: str, *, address: str | None = None, resources: UnitResources | None = None
) -> Executor:
    """``local`` or ``ray`` (``address``: a cluster, else ``$RAY_ADDRESS``, else a local Ray).

    ``ray`` without Ray installed is an :class:`ExecutorError` saying how to install it.
    """
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        from swegym.executors.ray_executor import RayExecutor

        return RayExecutor(address=address, resources=resources or UnitResources())
    raise ExecutorError(f"--executor {name!r}: use one of {', '.join(EXECUTORS)}")
