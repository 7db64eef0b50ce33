"""The sandbox protocol and the typed messages that cross its boundary.

Every backend (local bubblewrap today; Docker or Ray-remote later) speaks these models and is
opened through :func:`swegym.sandbox.factory.open_sandbox`, so callers never name a backend.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field


class Command(BaseModel):
    """One command for the persistent shell of a sandbox."""

    command: str
    timeout: float | None = Field(default=None, description="Seconds; None: the config default.")
    output_limit: int | None = Field(default=None, description="Bytes; None: the config default.")


class CommandResponse(BaseModel):
    """What a command printed (stdout and stderr merged) and how it ended."""

    output: str
    exit_code: int | None = Field(description="None when the command was killed on timeout.")
    timed_out: bool = False
    truncated_bytes: int = Field(default=0, description="Bytes of output elided by the cap.")
    duration_s: float = 0.0


class ExecRequest(BaseModel):
    """A one-shot script run in a fresh process tree of the sandbox (used for grading)."""

    script: str
    timeout: float
    log_path: str | None = Field(
        default=None, description="Host file for the output (head and tail, at most log_limit bytes)."
    )
    output_limit: int = 4_000_000
    log_limit: int = Field(default=32 << 20, ge=1024, description="Most bytes written to log_path.")
    results_channel: bool = Field(
        default=False,
        description="Open a side channel (fd number in $SWEGYM_RESULTS_FD) whose data comes back "
        "in ExecResponse.results; test outcomes travel there, not through the output.",
    )


class ExecResponse(BaseModel):
    """Result of an ``ExecRequest``."""

    exit_code: int | None
    timed_out: bool = False
    output: str = ""
    truncated_bytes: int = 0
    duration_s: float = 0.0
    results: str = ""


@runtime_checkable
class Sandbox(Protocol):
    """An isolated episode: a repo at /testbed, an environment, a persistent shell.

    Paths given to ``read_file``/``write_file`` are the sandbox's own (``/testbed/...``), never
    host paths. A sandbox is a context manager: ``with open_sandbox(layout) as sb: ...``.
    """

    def start(self) -> None:
        """Start the sandbox and its persistent shell (idempotent)."""

    def execute(self, command: Command) -> CommandResponse:
        """Run a command in the persistent shell (state such as `cd` persists)."""

    def run(
        self, command: str, timeout: float | None = None, output_limit: int | None = None
    ) -> CommandResponse:
        """Shorthand for ``execute(Command(command=..., timeout=..., output_limit=...))``."""

    def read_file(self, path: str, max_bytes: int = 16 << 20) -> bytes:
        """Bytes of ``path`` as the sandbox sees it; ``SandboxError`` if unreadable or too large."""

    def write_file(self, path: str, data: bytes) -> None:
        """Write ``data`` to ``path`` inside the sandbox (parent directories created)."""

    def exec_once(self, request: ExecRequest) -> ExecResponse:
        """Run a script in a fresh copy of the sandbox (new processes, a clean /testbed)."""

    def interactive(self, script: str = "", env: dict[str, str] | None = None) -> int:
        """Run ``script`` then an interactive bash on this process's terminal, in a fresh copy of
        the sandbox; return the shell's exit status (used by ``swegym env shell``)."""

    def close(self) -> None:
        """Stop every process and release all resources (idempotent)."""

    def __enter__(self) -> Sandbox: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
