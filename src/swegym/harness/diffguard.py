"""Screening a candidate diff before it is applied: reject what escapes the work tree, drop what is not
a source change. Pure functions over the diff text (and the base tree, read-only).

The rule (also in docs/security.md): a candidate may change the project's *source*, nothing that
decides how Python starts, how pytest collects or reports, or how git checks files out. A diff is
**rejected** (graded unresolved, with the reason) if any path it names is absolute, climbs with
``..``, has a ``.git`` component, or cannot be parsed. Of the rest, a file is **kept out** (its part
of the diff is dropped before applying) if it is (1) configuration read by pytest, its plugins,
Python packaging or git: a file named ``conftest.py``, ``pytest.ini``, ``.pytest.ini``,
``pytest.toml``, ``.pytest.toml``, ``tox.ini``, ``setup.cfg``, ``pyproject.toml``, ``.coveragerc``,
``.gitattributes`` or ``.gitmodules``, at any depth; (2) compiled code: ``*.pyc``, ``*.pyo``,
``*.so``, ``*.pyd``, or anything inside ``__pycache__``; (3) interpreter start-up code: ``*.pth``,
or any ``sitecustomize``/ ``usercustomize`` module, package or file of any extension; (4) packaging
metadata: anything inside a ``*.dist-info`` or ``*.egg-info`` directory, or a file named
``entry_points.txt``; (5) a symbolic link; or (6) a new module outside the project's packages: a new
``.py`` file whose nearest existing directory is not a Python package at the base commit (so a diff
cannot add a top-level ``pytest.py``, ``json.py`` or a package that shadows one). Everything else is
kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

CONFIG_NAMES = frozenset(
    {"conftest.py", "pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "tox.ini", "setup.cfg"}
    | {"pyproject.toml", ".coveragerc", ".gitattributes", ".gitmodules", "entry_points.txt"}
)
COMPILED_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd")
STARTUP_STEMS = ("sitecustomize", "usercustomize")
METADATA_SUFFIXES = (".dist-info", ".egg-info")

_DIFF_GIT = re.compile(r'^diff --git (?:a/(?P<a>\S.*?)|"a/(?P<qa>.*?)") (?:b/(?P<b>.*)|"b/(?P<qb>.*)")$')
_HEADER = re.compile(r"^(?:---|\+\+\+) (.+?)(?:\t.*)?$")
_META = re.compile(r"^(rename from|rename to|copy from|copy to) (.+)$")
_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_GIT_HEADER = re.compile(
    r"^(diff --git |index [0-9a-f]|old mode |new mode |deleted file mode |new file mode |"
    r"similarity index |dissimilarity index |rename from |rename to |copy from |copy to |"
    r"--- |\+\+\+ |Binary files |GIT binary patch)"
)
_BINARY = re.compile(r"^(literal|delta) \d+$")
_SYMLINK = re.compile(r"^(?:new file mode|new mode|index [0-9a-f]+\.\.[0-9a-f]+) 120000$")


@dataclass
class FileDiff:
    """One file's part of a diff: its lines and every path it names."""

    lines: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    symlink: bool = False
    creates: bool = False
    """The part adds a file (new file, ``--- /dev/null``, or the target of a rename or copy)."""


@dataclass
class Screened:
    """The screened diff: what to apply, what was dropped, or why the whole diff was rejected."""

    diff: str
    rejected: str | None = None
    kept_out: list[str] = field(default_factory=list)


def _unquote(path: str) -> str:
    """A path as git writes it: C-quoted (``"a/\\303\\251"``) when it has unusual bytes."""
    if len(path) >= 2 and path[0] == path[-1] == '"':
        raw = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        return raw.encode("latin-1", "replace").decode("utf-8", "replace")
    return path


def _strip_prefix(path: str) -> str | None:
    """``a/x`` or ``b/x`` -> ``x``; ``/dev/null`` -> None; any other path stays as written."""
    path = _unquote(path.strip())
    if path == "/dev/null":
        return None
    return path[2:] if path[:2] in ("a/", "b/") else path


def split_files(diff: str) -> tuple[list[str], list[FileDiff]]:
    """The preamble lines and the per-file parts of a unified or git diff.

    Hunks are consumed by their line counts, as git and patch read them, so a hunk line that
    looks like a header (``--- x`` removing ``-- x``) cannot start or hide a file part. Only
    lines git would read land in a part (headers, hunks, binary data); anything else (commit
    messages, signatures, a context-format part that only GNU patch would read) is left out.
    """
    preamble: list[str] = []
    files: list[FileDiff] = []
    lines = diff.splitlines(keepends=True)
    i, in_binary = 0, False
    while i < len(lines):
        line = lines[i].rstrip("\r\n")
        m = _HUNK.match(line)
        if m and files:
            end = _hunk_end(lines, i + 1, int(m.group(1) or 1), int(m.group(2) or 1))
            files[-1].lines += lines[i:end]
            i, in_binary = end, False
            continue
        starts_git = line.startswith("diff --git ")
        starts_plain = line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")
        if starts_git or (starts_plain and not (files and _in_git_header(files[-1]))):
            files.append(FileDiff())
            in_binary = False
        if not files:
            preamble.append(lines[i])
        elif _header_line(lines, i, line) or (in_binary and _binary_line(line)):
            files[-1].lines.append(lines[i])
            _note_paths(files[-1], line)
            in_binary = in_binary or line.startswith("GIT binary patch")
        i += 1
    return preamble, files


def _header_line(lines: list[str], i: int, line: str) -> bool:
    """A header git reads; ``---``/``+++`` only as the pair that names a file's two sides."""
    if line.startswith("--- "):
        return i + 1 < len(lines) and lines[i + 1].startswith("+++ ")
    if line.startswith("+++ "):
        return i > 0 and lines[i - 1].startswith("--- ")
    return bool(_GIT_HEADER.match(line))


_BASE85 = frozenset("!#$%&()*+-;<=>?@^_`{|}~")


def _binary_line(line: str) -> bool:
    """A line of a ``GIT binary patch`` block: blank, ``literal N``/``delta N``, or base85 data."""
    if line == "" or _BINARY.match(line):
        return True
    return line[0].isalpha() and all(c.isalnum() or c in _BASE85 for c in line)


def _hunk_end(lines: list[str], i: int, old: int, new: int) -> int:
    """The index after a hunk body with ``old`` and ``new`` line counts starting at ``i``."""
    while i < len(lines) and (old > 0 or new > 0):
        tag = lines[i][:1]
        if tag == " " or lines[i] in ("\n", "\r\n"):
            old, new = old - 1, new - 1
        elif tag == "-":
            old -= 1
        elif tag == "+":
            new -= 1
        elif tag != "\\":
            break
        i += 1
    while i < len(lines) and lines[i].startswith("\\"):  # "\ No newline at end of file"
        i += 1
    return i


def _in_git_header(part: FileDiff) -> bool:
    """A git part whose ``---``/``+++`` headers have not been seen yet."""
    return part.lines[0].startswith("diff --git ") and not any(ln.startswith("+++ ") for ln in part.lines)


def _note_paths(part: FileDiff, line: str) -> None:
    m = _DIFF_GIT.match(line)
    if m:
        a = m.group("a") or _unquote(f'"{m.group("qa") or ""}"')
        b = m.group("b") or _unquote(f'"{m.group("qb") or ""}"')
        part.paths += [a, b]
        return
    if line.startswith(("--- ", "+++ ")):
        h = _HEADER.match(line)
        stripped = _strip_prefix(h.group(1)) if h else ""
        if stripped is not None:
            part.paths.append(stripped)
        elif line.startswith("--- "):
            part.creates = True
        return
    if line.startswith("new file mode"):
        part.creates = True
    m = _META.match(line)
    if m:
        part.paths.append(_unquote(m.group(2)))
        part.creates = part.creates or m.group(1) in ("rename to", "copy to")
    elif _SYMLINK.match(line):
        part.symlink = True


def unsafe_reason(path: str) -> str | None:
    """Why ``path`` may not appear in a candidate diff at all (None when it may)."""
    if not path:
        return "a file header without a path"
    if path.startswith("/") or "\\" in path or "\0" in path:
        return f"{path!r} is not a relative path inside the work tree"
    parts = PurePosixPath(path).parts
    if ".." in parts:
        return f"{path!r} climbs out of the work tree"
    if any(p.lower() == ".git" for p in parts):
        return f"{path!r} is inside .git"
    return None


def kept_out_reason(path: str, base: Path | None, creates: bool = True) -> str | None:
    """Why ``path`` is not a source change (None when it is one): the rule's classes 1-4 and 6
    (6 only for a part that ``creates`` a file: a change to a missing file fails to apply)."""
    p = PurePosixPath(path)
    name = p.name
    if name in CONFIG_NAMES:
        return "configuration"
    if name.endswith(COMPILED_SUFFIXES) or "__pycache__" in p.parts:
        return "compiled code"
    if name.endswith(".pth") or any(part.split(".")[0] in STARTUP_STEMS for part in p.parts):
        return "start-up code"
    if any(part.endswith(METADATA_SUFFIXES) for part in p.parts[:-1]):
        return "packaging metadata"
    if creates and base is not None and _new_outside_packages(p, base):
        return "a new module outside the project's packages"
    return None


def _new_outside_packages(p: PurePosixPath, base: Path) -> bool:
    """A new ``.py`` file whose nearest existing directory is not a package at the base commit:
    it would be importable as a new top-level module (or namespace package)."""
    if p.suffix != ".py" or (base / p).exists() or (base / p).is_symlink():
        return False
    d = p.parent
    while d != PurePosixPath(".") and not (base / d).is_dir():
        d = d.parent
    return d == PurePosixPath(".") or not (base / d / "__init__.py").is_file()


def _only_adds(part: FileDiff) -> bool:
    """Every hunk has an empty preimage (``@@ -0,0 ...``): git and patch create the file."""
    hunks = [_HUNK.match(ln) for ln in part.lines if ln.startswith("@@")]
    return bool(hunks) and all(h is not None and h.group(1) == "0" for h in hunks)


def screen_diff(diff: str, base: Path | None = None) -> Screened:
    """Reject a diff that names a path outside the work tree; drop the parts that are not source.

    ``base`` is the task's tree at the base commit (read-only), for rule 6.
    """
    _, files = split_files(diff)
    if not files and diff.strip():
        return Screened(diff="", rejected="the diff has no file headers git or patch would read")
    kept: list[str] = []  # the preamble is commentary: GNU patch could read a diff hidden in it
    out: list[str] = []
    for part in files:
        if not part.paths:
            return Screened(diff="", rejected="a file part without a path")
        for path in part.paths:
            why = unsafe_reason(path)
            if why:
                return Screened(diff="", rejected=why)
        creates = part.creates or _only_adds(part)
        reasons = [r for r in (kept_out_reason(path, base, creates) for path in part.paths) if r]
        if part.symlink:
            reasons.append("a symbolic link")
        if reasons:
            out.append(f"{part.paths[-1]} ({reasons[0]})")
        else:
            kept += part.lines
    return Screened(diff="".join(kept), kept_out=out)
