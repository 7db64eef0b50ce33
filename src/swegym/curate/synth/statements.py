"""Problem statements for synthetic bugs: the symptom a user would report, never the fix.

A statement is built from what the broken tests show: the failing test's own code as the
reproduction, the error it now raises, and the other tests that fail the same way. It names no
source file, function or line of the injected edit. A configured model can rewrite it into the
voice of a GitHub issue; the rewrite is checked for the same leaks and discarded if it has one.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

from swegym.curate.synth.coverage import test_file_of

MAX_REPRO_LINES = 40


def reproduction_source(repo_dir: Path, nodeid: str) -> str | None:
    """The source of the test function a node id names (parametrization ignored), dedented."""
    path = repo_dir / test_file_of(nodeid)
    try:
        text = path.read_text()
        tree = ast.parse(text)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    parts = [re.sub(r"\[.*\]$", "", p) for p in nodeid.split("::")[1:]]
    node: ast.AST = tree
    for name in parts:
        found = None
        for child in getattr(node, "body", []):
            if (
                isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                and child.name == name
            ):
                found = child
                break
        if found is None:
            return None
        node = found
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    seg = ast.get_source_segment(text, node, padded=True)
    if seg is None:
        return None
    lines = textwrap.dedent(seg).splitlines()
    if len(lines) > MAX_REPRO_LINES:
        lines = [*lines[:MAX_REPRO_LINES], "    ..."]
    return "\n".join(lines)


def _humanize(nodeid: str) -> str:
    name = re.sub(r"\[.*\]$", "", nodeid.split("::")[-1])
    name = re.sub(r"^test_?", "", name)
    return name.replace("_", " ").strip() or name


def _param(nodeid: str) -> str:
    m = re.search(r"\[(.*)\]$", nodeid)
    return f" (parameters `{m.group(1)}`)" if m else ""


def write_statement(
    project: str,
    version: str,
    failing: list[str],
    messages: dict[str, str],
    repo_dir: Path,
) -> str:
    """A bug report for ``project`` from the tests that the bug breaks (``failing``, sorted)."""
    lead = failing[0]
    title = f"{project} {version}: {_humanize(lead)} is broken"
    body = [
        f"# {title}",
        "",
        f"Something in {project} misbehaves in a case its own test suite covers. "
        f"`{lead}`{_param(lead)} fails:",
    ]
    src = reproduction_source(repo_dir, lead)
    if src:
        body += ["", "```python", src, "```"]
    msg = messages.get(lead, "").strip()
    if msg:
        body += ["", "It fails with:", "", "```", _clip(msg), "```"]
    others = [t for t in failing[1:]]
    if others:
        shown = ", ".join(f"`{t}`" for t in others[:5])
        more = f" and {len(others) - 5} more" if len(others) > 5 else ""
        body += ["", f"These fail as well: {shown}{more}."]
    body += [
        "",
        "The expected behaviour is what these tests assert; they passed before. Please fix the "
        "library so that they pass again, without changing the tests.",
    ]
    return "\n".join(body) + "\n"


def _clip(text: str, limit: int = 1200) -> str:
    return text if len(text) <= limit else text[:limit] + "\n..."


Rewriter = Callable[[str], str]


def rewrite(statement: str, rewriter: Rewriter | None, forbidden: list[str]) -> tuple[str, bool]:
    """Let a model rewrite ``statement``; keep the original if the rewrite mentions ``forbidden``.

    Returns (text, rewritten?). ``forbidden`` holds strings that would locate or give away the
    fix (the edited file's path, the function's name, the original code line).
    """
    if rewriter is None:
        return statement, False
    try:
        text = rewriter(statement).strip()
    except Exception:  # a model failure must not lose the task; the template stands
        return statement, False
    if len(text) < 40 or any(f and f in text for f in forbidden):
        return statement, False
    return text + "\n", True


REWRITE_PROMPT = (
    "Rewrite this bug report as a GitHub issue written by a user of the library: a short title, "
    "what they did, what happened, what they expected. Keep the reproduction code and the error "
    "message. Do not guess where the bug is or how to fix it. Reply with the issue only.\n\n"
)


def openai_rewriter(model: str, base_url: str) -> Rewriter:
    """A statement rewriter over an OpenAI-compatible endpoint serving ``model``."""
    from swegym.agent.models.openai_compat import OpenAICompatModel, OpenAIConfig

    client = OpenAICompatModel(OpenAIConfig(model=model, base_url=base_url, temperature=0.3, max_tokens=800))

    def run(statement: str) -> str:
        reply = client.complete([{"role": "user", "content": REWRITE_PROMPT + statement}], [])
        return reply.content

    return run
