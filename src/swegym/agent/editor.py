"""The file editor tool, run against the sandbox through its shell.

Files are read and written base64-encoded through the persistent shell, so the editor works on
the sandbox's view of /testbed (the overlay), never on host paths, and needs no Python inside.
"""

from __future__ import annotations

import shlex
from typing import Any

from swegym.errors import SwegymError
from swegym.sandbox.base import Sandbox

MAX_FILE_BYTES = 4 << 20
VIEW_LINES = 400
SNIPPET = 4


class EditorError(Exception):
    """A problem the model can fix; its message becomes the observation."""


class Editor:
    """`str_replace_editor`: view, create, str_replace, insert, undo_edit."""

    def __init__(self, shell: Sandbox) -> None:
        self.shell = shell
        self.history: dict[str, list[str]] = {}

    # -- file access ---------------------------------------------------------------------
    def _kind(self, path: str) -> str:
        q = shlex.quote(path)
        out = self.shell.run(
            f"if [ -d {q} ]; then echo dir; elif [ -f {q} ]; then echo file; else echo none; fi"
        )
        return out.output.strip()

    def _read(self, path: str) -> str:
        try:
            data = self.shell.read_file(path, MAX_FILE_BYTES)
        except SwegymError as exc:
            raise EditorError(str(exc).removeprefix("cannot read ")) from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise EditorError(f"{path} is not a UTF-8 text file") from None

    def _write(self, path: str, text: str) -> None:
        try:
            self.shell.write_file(path, text.encode("utf-8"))
        except SwegymError as exc:
            raise EditorError(str(exc)) from None

    # -- commands ------------------------------------------------------------------------
    def __call__(self, args: dict[str, Any]) -> str:
        command = args.get("command")
        path = args.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise EditorError("`path` must be an absolute path, e.g. /testbed/module.py")
        handler = {
            "view": self.view,
            "create": self.create,
            "str_replace": self.str_replace,
            "insert": self.insert,
            "undo_edit": self.undo_edit,
        }.get(str(command))
        if handler is None:
            raise EditorError(
                f"unknown command {command!r}; use view, create, str_replace, insert or undo_edit"
            )
        return handler(path, args)

    def view(self, path: str, args: dict[str, Any]) -> str:
        kind = self._kind(path)
        if kind == "none":
            raise EditorError(f"{path} does not exist")
        if kind == "dir":
            q = shlex.quote(path)
            out = self.shell.run(f"find {q} -maxdepth 2 -not -path '*/.*' | sort | head -n 400").output
            return f"Files and directories up to 2 levels deep in {path}:\n{out}"
        lines = self._read(path).split("\n")
        start, end = 1, len(lines)
        rng = args.get("view_range")
        if rng is not None:
            if not (isinstance(rng, list) and len(rng) == 2 and all(isinstance(x, int) for x in rng)):
                raise EditorError("`view_range` must be [start, end]")
            start, end = rng[0], (len(lines) if rng[1] == -1 else rng[1])
            if not 1 <= start <= len(lines) or end < start:
                raise EditorError(f"`view_range` {rng} is outside the file's {len(lines)} lines")
        shown = lines[start - 1 : end]
        note = ""
        if rng is None and len(shown) > VIEW_LINES:
            shown = shown[:VIEW_LINES]
            note = f"\n[file has {len(lines)} lines; showing 1-{VIEW_LINES}; use view_range for more]"
        body = "\n".join(f"{i:6}\t{line}" for i, line in enumerate(shown, start))
        return f"Here is the result of running `cat -n` on {path}:\n{body}{note}"

    def create(self, path: str, args: dict[str, Any]) -> str:
        text = args.get("file_text")
        if not isinstance(text, str):
            raise EditorError("`file_text` is required for create")
        if self._kind(path) != "none":
            raise EditorError(f"{path} already exists; use str_replace to edit it")
        self._write(path, text)
        self.history.setdefault(path, []).append("\x00absent")
        return f"File created successfully at: {path}"

    def str_replace(self, path: str, args: dict[str, Any]) -> str:
        old, new = args.get("old_str"), args.get("new_str", "")
        if not isinstance(old, str) or not old:
            raise EditorError("`old_str` is required and must not be empty")
        if not isinstance(new, str):
            raise EditorError("`new_str` must be a string")
        self._require_file(path)
        text = self._read(path)
        count = text.count(old)
        if count == 0:
            raise EditorError(f"No replacement was performed: old_str did not appear verbatim in {path}.")
        if count > 1:
            lines = [i + 1 for i, line in enumerate(text.split("\n")) if old.split("\n")[0] in line]
            raise EditorError(
                f"No replacement was performed: old_str occurs {count} times in {path} (lines {lines[:10]}); "
                "include more context to make it unique."
            )
        updated = text.replace(old, new, 1)
        self._save(path, text, updated)
        line = text[: text.index(old)].count("\n") + 1
        return f"The file {path} has been edited.\n{self._snippet(updated, line, new.count(chr(10)) + 1)}"

    def insert(self, path: str, args: dict[str, Any]) -> str:
        new, at = args.get("new_str"), args.get("insert_line")
        if not isinstance(new, str) or not isinstance(at, int):
            raise EditorError("insert needs `new_str` (text) and `insert_line` (integer)")
        self._require_file(path)
        text = self._read(path)
        lines = text.split("\n")
        if not 0 <= at <= len(lines):
            raise EditorError(f"`insert_line` {at} is outside [0, {len(lines)}]")
        updated = "\n".join([*lines[:at], *new.split("\n"), *lines[at:]])
        self._save(path, text, updated)
        return f"The file {path} has been edited.\n{self._snippet(updated, at + 1, new.count(chr(10)) + 1)}"

    def undo_edit(self, path: str, args: dict[str, Any]) -> str:
        stack = self.history.get(path)
        if not stack:
            raise EditorError(f"no edit of {path} to undo")
        previous = stack.pop()
        if previous == "\x00absent":
            self.shell.run(f"rm -f -- {shlex.quote(path)}")
            return f"Undid the creation of {path}"
        self._write(path, previous)
        return f"Last edit to {path} undone."

    def _require_file(self, path: str) -> None:
        kind = self._kind(path)
        if kind != "file":
            raise EditorError(f"{path} {'is a directory' if kind == 'dir' else 'does not exist'}")

    def _save(self, path: str, before: str, after: str) -> None:
        self._write(path, after)
        self.history.setdefault(path, []).append(before)

    @staticmethod
    def _snippet(text: str, line: int, n: int) -> str:
        lines = text.split("\n")
        lo, hi = max(1, line - SNIPPET), min(len(lines), line + n - 1 + SNIPPET)
        body = "\n".join(f"{i:6}\t{lines[i - 1]}" for i in range(lo, hi + 1))
        return (
            f"Here is a snippet of the edited file:\n{body}\n"
            "Review the changes and make sure they are as expected."
        )
