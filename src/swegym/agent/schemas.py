"""OpenAI function schemas of the CodeAct tools (bash, file editor, finish)."""

from __future__ import annotations

from typing import Any

EXECUTE_BASH: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "execute_bash",
        "description": (
            "Run a bash command in the repository's sandbox (cwd persists between calls; the "
            "repository is at /testbed). Long output is truncated. No network. Commands that do "
            "not end are killed after the timeout."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The bash command to run."},
                "timeout": {"type": "number", "description": "Seconds before the command is killed."},
            },
            "required": ["command"],
        },
    },
}

STR_REPLACE_EDITOR: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "str_replace_editor",
        "description": (
            "View, create and edit files. `view` shows a file with line numbers (or a directory "
            "two levels deep); `create` writes a new file; `str_replace` replaces `old_str`, which "
            "must occur exactly once, with `new_str`; `insert` adds `new_str` after line "
            "`insert_line`; `undo_edit` reverts the last edit of `path`. Paths are absolute."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "command": {
                    "type": "string",
                    "enum": ["view", "create", "str_replace", "insert", "undo_edit"],
                },
                "path": {"type": "string", "description": "Absolute path, e.g. /testbed/src/x.py."},
                "file_text": {"type": "string", "description": "Content for `create`."},
                "old_str": {"type": "string", "description": "Exact text to replace."},
                "new_str": {"type": "string", "description": "Replacement or inserted text."},
                "insert_line": {"type": "integer", "description": "Insert after this line (0 = top)."},
                "view_range": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "description": "[start, end] lines for `view` (end -1 = to the end).",
                },
            },
            "required": ["command", "path"],
        },
    },
}

FINISH: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "finish",
        "description": "Finish the task when the issue is resolved (your changes are submitted).",
        "parameters": {
            "type": "object",
            "properties": {"message": {"type": "string", "description": "A short summary."}},
            "required": [],
        },
    },
}

TOOLS: list[dict[str, Any]] = [EXECUTE_BASH, STR_REPLACE_EDITOR, FINISH]
TOOL_NAMES = frozenset(t["function"]["name"] for t in TOOLS)
