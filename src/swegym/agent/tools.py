"""Executing tool calls in a sandbox; every problem becomes an observation, never a crash."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import BaseModel

from swegym.agent.editor import Editor, EditorError
from swegym.agent.models.base import ToolCall
from swegym.agent.schemas import TOOL_NAMES
from swegym.sandbox.base import Sandbox

MAX_BASH_TIMEOUT = 600.0


class ToolResult(BaseModel):
    """What a tool call produced."""

    observation: str
    finished: bool = False
    error: bool = False
    seconds: float = 0.0


class ToolExecutor:
    """Runs `execute_bash`, `str_replace_editor` and `finish` against a sandbox shell."""

    def __init__(self, shell: Sandbox, bash_timeout: float = 120.0) -> None:
        self.shell = shell
        self.editor = Editor(shell)
        self.bash_timeout = bash_timeout

    def __call__(self, call: ToolCall) -> ToolResult:
        start = time.perf_counter()
        try:
            result = self._dispatch(call)
        except EditorError as exc:
            result = ToolResult(observation=f"ERROR: {exc}", error=True)
        result.seconds = time.perf_counter() - start
        return result

    def _dispatch(self, call: ToolCall) -> ToolResult:
        if "_error" in call.arguments:
            return ToolResult(observation=f"ERROR: {call.arguments['_error']}", error=True)
        if call.name not in TOOL_NAMES:
            known = ", ".join(sorted(TOOL_NAMES))
            return ToolResult(
                observation=f"ERROR: unknown tool {call.name!r}; use one of {known}", error=True
            )
        if call.name == "finish":
            return ToolResult(observation=str(call.arguments.get("message", "")), finished=True)
        if call.name == "execute_bash":
            return self._bash(call.arguments)
        return ToolResult(observation=self.editor(call.arguments))

    def _bash(self, args: dict[str, Any]) -> ToolResult:
        command = args.get("command")
        if not isinstance(command, str) or not command.strip():
            return ToolResult(observation="ERROR: `command` (a non-empty string) is required", error=True)
        timeout = args.get("timeout", self.bash_timeout)
        if not isinstance(timeout, int | float) or timeout <= 0:
            timeout = self.bash_timeout
        r = self.shell.run(command, timeout=min(float(timeout), MAX_BASH_TIMEOUT))
        out = r.output
        if r.truncated_bytes:
            out += f"\n[output truncated: {r.truncated_bytes} bytes were elided; filter or page it]"
        if r.timed_out:
            out += "\n[the command was killed; run long jobs with a smaller scope]"
        elif r.exit_code:
            out += f"\n[exit code: {r.exit_code}]"
        return ToolResult(observation=out)


def parse_arguments(raw: Any) -> dict[str, Any]:
    """Tool-call arguments from a JSON string or a dict; a ``_error`` key if malformed."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            return {"_error": f"the tool call's arguments are not valid JSON ({exc.msg})"}
        if isinstance(value, dict):
            return value
    return {"_error": "the tool call's arguments must be a JSON object"}
