"""One episode whole, as the episode page shows it: turns with their tool calls, the grade per test.

Everything here is data from a trajectory, so everything is untrusted: it leaves as JSON and the
page puts it in the document as text only.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from swegym.agent.textcalls import parse_text_tool_calls
from swegym.viewer.index import RunIndex

__all__ = ["EpisodeDetail", "TestRow", "ToolCallView", "Turn", "episode_detail", "grade_rows"]

LABELS = ("FAIL_TO_PASS", "PASS_TO_PASS")
BEFORE = {"FAIL_TO_PASS": "failed", "PASS_TO_PASS": "passed"}
"""A test's status at the base commit, as its label says (the store keeps no run at the base)."""


class ToolCallView(BaseModel):
    """One tool call of an assistant turn."""

    id: str = ""
    name: str = ""
    arguments: dict[str, Any] | None = None
    raw: str | None = None
    """The arguments' text when they are not a JSON object (a malformed call)."""
    from_text: bool = False
    """Parsed from the reply's text (SWE-Gym's text tool-call format), not a native call."""


class Turn(BaseModel):
    """One message of the conversation with what it cost."""

    idx: int
    role: str
    content: str | None = None
    tool_calls: list[ToolCallView] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    seconds: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tool: str | None = None
    error: bool | None = None


class TestRow(BaseModel):
    """One labelled test: its status at the base commit (from its label) and after the diff."""

    test: str
    label: str
    before: str
    after: str
    """passed, failed, or "not run" when the grader recorded no status for it."""


class EpisodeDetail(BaseModel):
    """The episode page's data."""

    run: int
    run_name: str
    episode: dict[str, Any]
    """The `EpisodeRecord` (JSON form, without messages)."""
    turns: list[Turn]
    tests: list[TestRow]
    score: float | None = None
    score_info: dict[str, Any] = Field(default_factory=dict)


def _calls(raw: str | None) -> list[ToolCallView]:
    if not raw:
        return []
    try:
        calls = json.loads(raw)
    except ValueError:
        return [ToolCallView(raw=raw)]
    out = []
    for call in calls if isinstance(calls, list) else []:
        fn = call.get("function", {}) if isinstance(call, dict) else {}
        args_text = fn.get("arguments")
        try:
            args = json.loads(args_text) if isinstance(args_text, str) else args_text
        except ValueError:
            args = None
        ok = isinstance(args, dict)
        out.append(
            ToolCallView(
                id=str(call.get("id", "")) if isinstance(call, dict) else "",
                name=str(fn.get("name", "")),
                arguments=args if ok else None,
                raw=None if ok else str(args_text),
            )
        )
    return out


def _turn(row: dict[str, Any]) -> Turn:
    content, calls = row.get("content"), _calls(row.get("tool_calls"))
    if row.get("role") == "assistant" and not calls and content and "<function=" in content:
        parsed = parse_text_tool_calls(content)
        calls = [ToolCallView(id=c.id, name=c.name, arguments=c.arguments, from_text=True) for c in parsed]
        content = content[: content.index("<function=")].rstrip() or None
    error = row.get("error")
    return Turn.model_validate(
        {**row, "content": content, "tool_calls": calls, "error": None if error is None else bool(error)}
    )


def grade_rows(report: dict[str, Any] | None) -> list[TestRow]:
    """Per-test rows of a grader's report (SWE-bench's ``{label: {success, failure}}`` shape)."""
    rows: list[TestRow] = []
    for label in LABELS:
        status = (report or {}).get(label)
        if not isinstance(status, dict):
            continue
        for key, after in (("failure", "failed"), ("success", "passed")):
            for test in status.get(key) or []:
                rows.append(TestRow(test=str(test), label=label, before=BEFORE[label], after=after))
    return rows


def episode_detail(index: RunIndex, run: int, episode_id: int) -> EpisodeDetail:
    """Everything the episode page shows about episode ``episode_id`` of ``run``."""
    record = index.record(run, episode_id)
    score, info = index.score(run, record.instance_id, record.sample)
    return EpisodeDetail(
        run=run,
        run_name=index.runs[run].name,
        episode=record.model_dump(mode="json", exclude={"messages", "run"}),
        turns=[_turn(row) for row in index.messages(run, episode_id)],
        tests=grade_rows(record.report),
        score=score,
        score_info=info,
    )
