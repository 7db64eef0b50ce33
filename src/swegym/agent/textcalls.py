"""SWE-Gym's text tool-call format for models served without tool-call parsing.

<function=execute_bash>
<parameter=command>ls -la</parameter>
</function>
"""

from __future__ import annotations

import json
import re
from typing import Any

from swegym.agent.models.base import ToolCall

_FUNC = re.compile(r"<function=([A-Za-z0-9_.-]+)>(.*?)(?:</function>|$)", re.DOTALL)
_PARAM = re.compile(r"<parameter=([A-Za-z0-9_]+)>(.*?)</parameter>", re.DOTALL)


def _value(raw: str) -> Any:
    text = raw.strip("\n")
    stripped = text.strip()
    if (stripped and stripped[0] in "[{") or re.fullmatch(r"-?\d+", stripped or "x"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return text
    return text


def parse_text_tool_calls(content: str) -> list[ToolCall]:
    """Every ``<function=...>`` block in ``content``, in order (usually one per turn)."""
    calls = []
    for i, m in enumerate(_FUNC.finditer(content or "")):
        args = {p.group(1): _value(p.group(2)) for p in _PARAM.finditer(m.group(2))}
        calls.append(ToolCall(id=f"text-{i}", name=m.group(1), arguments=args))
    return calls


def render_text_tool_call(call: ToolCall) -> str:
    """The text form of ``call`` (for prompts and for exporting trajectories)."""
    parts = [f"<function={call.name}>"]
    for key, value in call.arguments.items():
        text = value if isinstance(value, str) else json.dumps(value)
        parts.append(f"<parameter={key}>{text}</parameter>")
    parts.append("</function>")
    return "\n".join(parts)


def describe_tools(tools: list[dict[str, Any]]) -> str:
    """Tool descriptions for a system prompt in text-call mode."""
    out = []
    for t in tools:
        fn = t["function"]
        params = fn["parameters"].get("properties", {})
        required = set(fn["parameters"].get("required", []))
        lines = [
            f"---- BEGIN FUNCTION: {fn['name']} ----",
            f"Description: {fn['description']}",
            "Parameters:",
        ]
        for name, spec in params.items():
            need = "required" if name in required else "optional"
            lines.append(f"  ({need}) {name} ({spec.get('type', 'string')}): {spec.get('description', '')}")
        lines.append(f"---- END FUNCTION: {fn['name']} ----")
        out.append("\n".join(lines))
    example = render_text_tool_call(ToolCall(name="execute_bash", arguments={"command": "ls /testbed"}))
    return (
        "You have access to the following functions:\n\n" + "\n\n".join(out) + "\n\n"
        "To call a function, reply with exactly one call in this format and nothing after it:\n" + example
    )
