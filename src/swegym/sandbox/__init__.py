"""Sandboxes: isolated places where agent commands and test suites run."""

from swegym.sandbox.base import Command, CommandResponse, ExecRequest, ExecResponse, Sandbox
from swegym.sandbox.config import SandboxConfig

__all__ = [
    "Command",
    "CommandResponse",
    "ExecRequest",
    "ExecResponse",
    "Sandbox",
    "SandboxConfig",
]
