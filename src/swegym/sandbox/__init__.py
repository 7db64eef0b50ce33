"""Sandboxes: isolated places where agent commands and test suites run.

Open one with :func:`open_sandbox` (the backend comes from ``SandboxConfig.type``); every backend
implements the :class:`Sandbox` protocol over the same :class:`Layout`.
"""

from swegym.sandbox.base import Command, CommandResponse, ExecRequest, ExecResponse, Sandbox
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.factory import open_sandbox, register_backend
from swegym.sandbox.layout import Layout

__all__ = [
    "Command",
    "CommandResponse",
    "ExecRequest",
    "ExecResponse",
    "Layout",
    "Sandbox",
    "SandboxConfig",
    "open_sandbox",
    "register_backend",
]
