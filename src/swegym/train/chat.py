"""Conversations as training tokens: SWE-Gym's text tool-call format, chat templates, loss masks.

The loss mask is built from character spans: each assistant turn's span is what the chat template
adds between the prompt for that turn (``add_generation_prompt=True``) and the conversation up to
and including the turn, so the template's end-of-turn token is learnt and nothing else is.
"""

from __future__ import annotations

import json
from typing import Any

from swegym.agent.models.base import ToolCall
from swegym.agent.textcalls import describe_tools, render_text_tool_call
from swegym.errors import TrainError

IGNORE_INDEX = -100


def to_text_format(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with native tool calls rewritten in SWE-Gym's ``<function=...>`` text format.

    Tool results become user turns (``EXECUTION RESULT of [name]:``), as in SWE-Gym; the system
    prompt gets the tool descriptions unless it already has them.
    """
    out: list[dict[str, Any]] = []
    for msg in messages:
        role, content = msg["role"], msg.get("content") or ""
        if role == "system" and "BEGIN FUNCTION" not in content:
            out.append({"role": "system", "content": content + "\n\n" + describe_tools(tools)})
        elif role == "assistant" and msg.get("tool_calls"):
            calls = [_text_call(c) for c in msg["tool_calls"]]
            out.append({"role": "assistant", "content": "\n".join([content, *calls]).strip()})
        elif role == "tool":
            name = msg.get("name") or "tool"
            out.append({"role": "user", "content": f"EXECUTION RESULT of [{name}]:\n{content}"})
        else:
            out.append({"role": role, "content": content})
    return out


def _text_call(call: dict[str, Any]) -> str:
    fn = call.get("function", call)
    args = fn.get("arguments") or {}
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            args = {"_raw": args}
    return render_text_tool_call(ToolCall(name=fn.get("name", ""), arguments=args))


def template_renders_tool_calls(tokenizer: Any) -> bool:
    """Whether the tokenizer's chat template writes out native tool calls (many small models' don't)."""
    probe = [
        {"role": "user", "content": "u"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"type": "function", "function": {"name": "probe_fn_x", "arguments": {"a": 1}}}],
        },
    ]
    try:
        return "probe_fn_x" in tokenizer.apply_chat_template(probe, tokenize=False)
    except Exception:  # a template that raises on tool calls does not render them
        return False


def _render(
    tokenizer: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, gen: bool
) -> str:
    kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": gen}
    if tools:
        kwargs["tools"] = tools
    return str(tokenizer.apply_chat_template(messages, **kwargs))


def prepare_messages(
    tokenizer: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]], text_calls: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Messages and tools as the template will see them (text format when asked or needed)."""
    if text_calls or not template_renders_tool_calls(tokenizer):
        return to_text_format(messages, tools), None
    clean = [{**m, "content": m.get("content") or ""} for m in messages]
    return clean, tools


def assistant_spans(
    tokenizer: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of its assistant turns."""
    full = _render(tokenizer, messages, tools, gen=False)
    spans = []
    for i, msg in enumerate(messages):
        if msg["role"] != "assistant":
            continue
        start = len(_render(tokenizer, messages[:i], tools, gen=True))
        upto = _render(tokenizer, messages[: i + 1], tools, gen=False)
        if not full.startswith(upto):
            raise TrainError(
                "the chat template renders earlier turns differently once later ones follow; "
                "cannot mask assistant turns (use --text-tool-calls or another model)"
            )
        spans.append((start, len(upto)))
    return full, spans


def tokenize_conversation(
    tokenizer: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> dict[str, list[int]]:
    """``input_ids``, ``assistant_masks`` (1 on assistant tokens) and ``labels`` (-100 elsewhere)."""
    text, spans = assistant_spans(tokenizer, messages, tools)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(enc["input_ids"])
    mask = [int(any(s <= a < e for s, e in spans) and b > a) for a, b in enc["offset_mapping"]]
    labels = [t if m else IGNORE_INDEX for t, m in zip(ids, mask, strict=True)]
    return {"input_ids": ids, "assistant_masks": mask, "labels": labels}


def tokenize_prompt_completion(tokenizer: Any, prompt: str, completion: str) -> dict[str, list[int]]:
    """Tokens of ``prompt + completion`` with the loss on the completion only."""
    p_ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    full = list(tokenizer(prompt + completion, add_special_tokens=False)["input_ids"])
    if full[: len(p_ids)] != p_ids:
        raise TrainError("the tokenizer merges the prompt's last token with the completion")
    mask = [0] * len(p_ids) + [1] * (len(full) - len(p_ids))
    labels = [t if m else IGNORE_INDEX for t, m in zip(full, mask, strict=True)]
    return {"input_ids": full, "assistant_masks": mask, "labels": labels}
