"""Running a repository's version command (a ``command`` version rule) in the sandbox.

The command runs the repository's own code (e.g. ``python -c "import pkg; print(pkg.__version__)"``),
so it gets what a test run gets and less: a fresh bubblewrap sandbox with the network off whatever
the caller's config says, ``/testbed`` an overlay whose writes live in memory and are dropped (the
cached repo is never written), the sandbox's memory, process and time limits, and output capped.
Only its last line is used, and only as a version key after normalisation (digits and dots).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from swegym.sandbox.base import ExecRequest
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.factory import open_sandbox
from swegym.sandbox.layout import Layout
from swegym.sources.versions import CommandRunner, VersionDetectionError

OUTPUT_LIMIT = 16_000


def sandbox_runner(config: SandboxConfig | None = None) -> CommandRunner:
    """A :data:`~swegym.sources.versions.CommandRunner` that runs in a fresh sandbox per call."""
    base = (config or SandboxConfig()).model_copy(update={"network": False, "repo_mode": "tmp-overlay"})

    def run(argv: list[str], repo_dir: Path, timeout: float) -> str:
        request = ExecRequest(script=shlex.join(argv), timeout=timeout, output_limit=OUTPUT_LIMIT)
        resp = open_sandbox(Layout(repo_layers=[repo_dir]), base).exec_once(request)
        if resp.timed_out:
            raise VersionDetectionError(f"{argv}: timed out after {timeout:g} s")
        if resp.exit_code != 0:
            tail = ([ln for ln in resp.output.splitlines() if ln.strip()][-1:] or ["no output"])[0]
            raise VersionDetectionError(f"{argv}: exit {resp.exit_code}: {tail[:200]}")
        return resp.output

    return run
