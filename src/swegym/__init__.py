"""swegym: executable training environments for software-engineering agents, without Docker.

The public entry points are re-exported lazily so that ``import swegym`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Task": "swegym.tasks.model",
    "load_tasks": "swegym.tasks.loaders",
    "EnvSpec": "swegym.envs.spec",
    "get_spec": "swegym.envs.spec",
    "build_env": "swegym.envs.builder",
    "LocalSandbox": "swegym.sandbox.local",
    "SandboxConfig": "swegym.sandbox.config",
    "open_sandbox": "swegym.sandbox.factory",
    "prepare": "swegym.harness.runner",
    "grade_diff": "swegym.harness.grader",
    "Outcome": "swegym.harness.verdict",
    "Verdict": "swegym.harness.verdict",
    "validate_task": "swegym.harness.validate",
    "evaluate_prediction": "swegym.harness.evaluate",
    "SwegymError": "swegym.errors",
}

if TYPE_CHECKING:
    from swegym.envs.builder import build_env
    from swegym.envs.spec import EnvSpec, get_spec
    from swegym.errors import SwegymError
    from swegym.harness.evaluate import evaluate_prediction
    from swegym.harness.grader import grade_diff
    from swegym.harness.runner import prepare
    from swegym.harness.validate import validate_task
    from swegym.harness.verdict import Outcome, Verdict
    from swegym.sandbox.config import SandboxConfig
    from swegym.sandbox.factory import open_sandbox
    from swegym.sandbox.local import LocalSandbox
    from swegym.tasks.loaders import load_tasks
    from swegym.tasks.model import Task


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'swegym' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [  # noqa: RUF022 - grouped: exports, then version
    "EnvSpec",
    "LocalSandbox",
    "Outcome",
    "SandboxConfig",
    "SwegymError",
    "Task",
    "Verdict",
    "build_env",
    "evaluate_prediction",
    "get_spec",
    "grade_diff",
    "load_tasks",
    "open_sandbox",
    "prepare",
    "validate_task",
    "__version__",
]
