"""The verifier's judge prompt: the task, the trajectory flattened turn by turn, the final diff.

Long trajectories are cut in the middle (their start and end are kept, with a marker), so the task
statement, the first steps and the outcome all stay in view.
"""

from __future__ import annotations

import json
from typing import Any

from swegym.rollouts.records import EpisodeRecord

JUDGE_SYSTEM = (
    "You are an expert software engineer reviewing an AI agent's attempt to resolve a GitHub issue. "
    "Read the issue, the agent's trajectory and its final patch, then judge whether the patch "
    "resolves the issue."
)
QUESTION = "Does the final patch resolve the issue? Answer with exactly one word: YES or NO."
TRUNCATION_MARKER = "\n\n[... {n} characters of the trajectory omitted ...]\n\n"
LABELS = ("YES", "NO")


def _calls_text(msg: dict[str, Any]) -> str:
    parts = []
    for call in msg.get("tool_calls") or []:
        fn = call.get("function", call)
        args = fn.get("arguments")
        parts.append(f"<call {fn.get('name', '')}> {args if isinstance(args, str) else json.dumps(args)}")
    return "\n".join(parts)


def flatten_trajectory(messages: list[dict[str, Any]]) -> str:
    """Every turn after the task prompt as ``[AGENT n]`` / ``[OBSERVATION]`` blocks."""
    blocks = []
    turn = 0
    for msg in messages[2:]:
        if msg["role"] == "assistant":
            turn += 1
            body = "\n".join(x for x in (msg.get("content") or "", _calls_text(msg)) if x)
            blocks.append(f"[AGENT {turn}]\n{body}")
        else:
            blocks.append(f"[OBSERVATION]\n{msg.get('content') or ''}")
    return "\n\n".join(blocks)


def truncate_middle(text: str, max_chars: int) -> str:
    """``text`` if it fits, else its head and tail around a marker, within ``max_chars``."""
    if len(text) <= max_chars:
        return text
    keep = max(0, max_chars - len(TRUNCATION_MARKER.format(n=len(text))))
    head, tail = keep // 2, keep - keep // 2
    omitted = len(text) - head - tail
    return text[:head] + TRUNCATION_MARKER.format(n=omitted) + (text[-tail:] if tail else "")


def task_statement(messages: list[dict[str, Any]]) -> str:
    """The task as the agent saw it: the first user message."""
    return next((m.get("content") or "" for m in messages if m["role"] == "user"), "")


def judge_messages(episode: EpisodeRecord, max_chars: int = 24000) -> list[dict[str, str]]:
    """The chat prompt (system + user) that asks the verifier about ``episode``.

    ``max_chars`` bounds the flattened trajectory (cut in the middle); the task and the diff are
    each bounded to a quarter of it the same way.
    """
    msgs = episode.messages or []
    task = truncate_middle(task_statement(msgs), max(200, max_chars // 4))
    diff = truncate_middle(episode.diff or "(no changes)", max(200, max_chars // 4))
    traj = truncate_middle(flatten_trajectory(msgs), max_chars)
    user = (
        f"<issue>\n{task}\n</issue>\n\n<trajectory>\n{traj}\n</trajectory>\n\n"
        f"<patch>\n{diff}\n</patch>\n\n{QUESTION}"
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]
