"""Scripted models: fixed tool calls, for tests and the `oracle` agent (gold patch via tools)."""

from __future__ import annotations

import secrets
from typing import Any

from swegym.agent.models.base import ModelResponse, ToolCall
from swegym.harness.patches import touched_files
from swegym.tasks.model import Task


class ScriptedModel:
    """Returns ``steps`` one per call (a `ToolCall`, or plain text with no call); then `finish`."""

    def __init__(self, steps: list[ToolCall | str], name: str = "scripted") -> None:
        self.steps = list(steps)
        self.name = name
        self.calls = 0

    def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelResponse:
        i = self.calls
        self.calls += 1
        step = (
            self.steps[i] if i < len(self.steps) else ToolCall(name="finish", arguments={"message": "done"})
        )
        if isinstance(step, str):
            return ModelResponse(content=step, completion_tokens=len(step) // 4)
        call = step.model_copy(update={"id": step.id or f"call_{i}"})
        return ModelResponse(
            content="",
            tool_calls=[call],
            prompt_tokens=sum(len(str(m.get("content"))) for m in messages) // 4,
            completion_tokens=8,
        )


def _bash(command: str) -> ToolCall:
    return ToolCall(name="execute_bash", arguments={"command": command})


def oracle_model(task: Task) -> ScriptedModel:
    """An agent that applies the gold patch through the tools, to check environments end to end."""
    delim = f"SWEGYM_PATCH_{secrets.token_hex(4)}"
    files = touched_files(task.patch)
    steps: list[ToolCall | str] = [
        _bash("git status --short | head -n 20; ls"),
    ]
    if files:
        steps.append(
            ToolCall(
                name="str_replace_editor",
                arguments={"command": "view", "path": f"/testbed/{files[0]}", "view_range": [1, 5]},
            )
        )
    steps += [
        _bash(
            f"cat > /tmp/gold.patch <<'{delim}'\n{task.patch.rstrip(chr(10))}\n{delim}\n"
            "git apply --whitespace=nowarn /tmp/gold.patch && echo applied"
        ),
        ToolCall(name="finish", arguments={"message": "applied the reference fix"}),
    ]
    return ScriptedModel(steps, name="oracle")


def wrong_model(task: Task) -> ScriptedModel:
    """An agent that makes a harmless but useless change, then finishes (reward 0)."""
    files = touched_files(task.patch) or ["README"]
    return ScriptedModel(
        [_bash(f"echo '# not a fix' >> /testbed/{files[0]}"), ToolCall(name="finish", arguments={})],
        name="wrong",
    )
