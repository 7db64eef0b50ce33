"""The executor protocol, the resources one unit asks for, and how units group by environment."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from swegym.errors import SwegymError

T = TypeVar("T")
R = TypeVar("R")


class ExecutorError(SwegymError):
    """An executor cannot start (Ray missing, a cluster out of reach) or lost a unit for good."""


class UnitResources(BaseModel):
    """What one unit (one task's validation, one grading, one episode, one trial) reserves on a
    node; :meth:`from_sandbox` derives it from the sandbox's limits."""

    model_config = ConfigDict(extra="forbid")

    cpus: float = Field(default=1.0, gt=0)
    """CPUs per unit: a unit runs one sandbox, whose test run is mostly one process."""
    memory_mb: int = Field(default=4096, ge=0)
    """Memory per unit: the sandbox's ``memory_mb`` (its cgroup or rlimit cap)."""
    max_retries: int = Field(default=3, ge=0)
    """Times a unit is run again after its node or worker died (never after a failure of its own)."""

    @classmethod
    def from_sandbox(cls, memory_mb: int, **kw: Any) -> UnitResources:
        """A unit holds one sandbox at a time: its memory cap (its ``/tmp`` is charged to it)."""
        return cls(memory_mb=memory_mb, **kw)


class Executor(Protocol):
    """Runs ``fn`` over items somewhere and streams the results back to the caller."""

    name: str

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        workers: int,
        group: Callable[[T], str] | None = None,
        on_start: Callable[[T], None] | None = None,
    ) -> Generator[R, None, None]:
        """Yield ``fn(item)`` for each item as it finishes. Items are pulled lazily, as capacity
        frees up (so ``items`` may stop early); ``group`` names an item's environment, kept
        together on a node; ``on_start(item)`` runs in the caller's process when an item starts.
        Closing the iterator cancels what has not started; an exception from ``fn`` propagates."""
        ...

    def close(self) -> None:
        """Release what the executor holds (a Ray connection)."""
        ...


def env_group(item: object) -> str:
    """The (repo, version) environment of a unit: a task, or a tuple whose first element is one
    (``(task, patch)``, ``(task, sample)``); ``""`` when the item names none."""
    head = item[0] if isinstance(item, tuple) and item else item
    repo = getattr(head, "repo", None)
    version = getattr(head, "version", None)
    return f"{repo}@{version}" if isinstance(repo, str) else ""
