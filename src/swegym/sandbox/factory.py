"""Opening a sandbox: the one place that maps ``SandboxConfig.type`` to a backend.

Callers (the gym environment, the harness, training signals, ``env shell``) call
:func:`open_sandbox`; a new backend (a container runtime, a remote worker) plugs in with
:func:`register_backend` without touching them.
"""

from __future__ import annotations

from collections.abc import Callable

from swegym.errors import SandboxError
from swegym.sandbox.base import Sandbox
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.layout import Layout

SandboxFactory = Callable[[Layout, SandboxConfig], Sandbox]
"""Builds a (not yet started) sandbox for a layout and a config."""


def _local(layout: Layout, config: SandboxConfig) -> Sandbox:
    from swegym.sandbox.local import LocalSandbox  # bwrap discovery only when a sandbox opens

    return LocalSandbox(layout, config)


_BACKENDS: dict[str, SandboxFactory] = {"local": _local}


def register_backend(name: str, factory: SandboxFactory) -> None:
    """Make ``SandboxConfig(type=name)`` open sandboxes with ``factory`` (replaces a previous one)."""
    _BACKENDS[name] = factory


def backends() -> list[str]:
    """Names of the registered backends."""
    return sorted(_BACKENDS)


def open_sandbox(layout: Layout, config: SandboxConfig | None = None) -> Sandbox:
    """A sandbox of the backend ``config.type`` on ``layout`` (call ``start()`` or use ``with``)."""
    config = config or SandboxConfig()
    factory = _BACKENDS.get(config.type)
    if factory is None:
        raise SandboxError(
            f"unknown sandbox type {config.type!r} (known: {', '.join(backends())}); "
            "register it with swegym.sandbox.factory.register_backend"
        )
    return factory(layout, config)
