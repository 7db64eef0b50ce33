"""Prompts for the CodeAct agent (after OpenHands CodeAct, as used by SWE-Gym)."""

from __future__ import annotations

from swegym.tasks.model import Task

SYSTEM_PROMPT = """You are a software engineer working in a sandboxed Linux environment.
The repository is checked out at /testbed and its Python environment is active.
Work step by step: explore the code, reproduce the issue, edit the source files to fix it,
and run the tests that matter. Do not modify existing tests. You have no network access.
Use one tool per turn. When the issue is resolved, call `finish`."""


def task_prompt(task: Task) -> str:
    """The first user message: the issue to resolve."""
    return (
        f"<uploaded_files>\n/testbed\n</uploaded_files>\n"
        f"I've uploaded a Python code repository in /testbed ({task.repo}). Consider this issue:\n\n"
        f"<issue_description>\n{task.problem_statement.strip()}\n</issue_description>\n\n"
        "Make the minimal changes to non-test files in /testbed so that the issue is resolved."
    )
