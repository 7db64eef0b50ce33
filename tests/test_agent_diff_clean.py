"""An episode's final diff is the plain content change, whatever the agent did to git.

Each test runs the same file edits twice in the agent's sandbox, once plainly and once with a
trick that would make ``git diff`` lie (an external diff, a textconv or clean filter, hooks, an
fsmonitor, replace refs, a forged index, a fake ``git`` on PATH), and requires the same diff.
"""

from __future__ import annotations

import pytest

from conftest import with_labels
from swegym.agent.env import SWEEnv
from swegym.agent.loop import run_episode
from swegym.agent.models.base import ToolCall
from swegym.agent.models.scripted import ScriptedModel
from swegym.harness.verdict import Outcome
from swegym.tasks.model import Task

pytestmark = pytest.mark.sandbox

FIX = "sed -i 's/hi + 1/hi/' calc.py"
# Prints a "diff" that touches a git hook instead of the real change.
EVIL_DIFF = (
    'printf \'#!/bin/sh\\necho "diff --git a/.git/hooks/post-checkout b/.git/hooks/post-checkout"\\n'
    'echo "new file mode 100755"\\necho "--- /dev/null"\\necho "+++ b/.git/hooks/post-checkout"\\n'
    'echo "@@ -0,0 +1 @@"\\necho "+touch /tmp/pwned"\\n\' > evil.sh && chmod +x evil.sh'
)
# Rewrites the content git reads (as a textconv or clean filter would) into something else.
FORGE = "sed s/hi/PWNED/"


@pytest.fixture(scope="module")
def task(calc_task: Task) -> Task:
    return with_labels(calc_task)


def episode_diff(task: Task, commands: list[str], after: str = "true") -> tuple[str, str]:
    """The diff `SWEEnv` reads after the agent ran ``commands`` in /testbed, and the output of
    ``after`` run in the agent's shell once the diff was taken (to see what the diff ran)."""
    env = SWEEnv()
    try:
        env.reset(options={"task": task})
        for cmd in commands:
            obs = env.step({"name": "execute_bash", "arguments": {"command": cmd}})[0]
            assert "Traceback" not in obs, obs
        diff = env.diff()
        return diff, env.step({"name": "execute_bash", "arguments": {"command": after}})[0]
    finally:
        env.close()


def assert_plain(diff: str, plain: str) -> None:
    """``diff`` is the plain content change, with nothing a trick would have put there."""
    assert "+    return max(lo, min(x, hi))" in plain
    assert "PWNED" not in diff
    assert not [line for line in diff.splitlines() if line.startswith(("diff --git a/.git/", "+++ b/.git/"))]
    assert diff == plain


def test_an_external_diff_does_not_replace_the_diff(task: Task) -> None:
    edits = [FIX, EVIL_DIFF]
    plain, _ = episode_diff(task, edits)
    tricks = [
        "git config diff.external ./evil.sh",
        "git config diff.noprefix true && git config color.diff always",
        "export GIT_EXTERNAL_DIFF=$PWD/evil.sh GIT_CONFIG_GLOBAL=/dev/null",
        "export GIT_CONFIG_PARAMETERS=\"'diff.external=$PWD/evil.sh'\"",
    ]
    assert "evil.sh" in plain  # the script is a file the agent wrote, so it is in the diff
    assert_plain(episode_diff(task, [*edits, *tricks])[0], plain)


def test_a_textconv_driver_does_not_rewrite_the_diff(task: Task) -> None:
    edits = [FIX, "printf 'calc.py diff=evil\\n' > .gitattributes"]
    plain, _ = episode_diff(task, edits)
    tricks = [f"git config diff.evil.textconv '{FORGE}'", "git config diff.evil.binary false"]
    assert_plain(episode_diff(task, [*edits, *tricks])[0], plain)


def test_a_clean_filter_does_not_rewrite_what_is_staged(task: Task) -> None:
    # In the tree's .gitattributes (part of the diff) and in .git/info/attributes (not).
    edits = [FIX, "printf 'calc.py filter=evil ident\\n' > .gitattributes"]
    plain, _ = episode_diff(task, edits)
    tricks = [
        "printf '* filter=evil2\\n' > .git/info/attributes",
        f"git config filter.evil.clean '{FORGE}' && git config filter.evil.required true",
        f"git config filter.evil2.clean '{FORGE}' && git config filter.evil2.smudge cat",
        f"git config --global filter.evil.clean '{FORGE}'",
    ]
    assert_plain(episode_diff(task, [*edits, *tricks])[0], plain)


def test_encoding_and_ident_attributes_do_not_reshape_or_break_the_diff(task: Task) -> None:
    # A working-tree-encoding git cannot decode would fail the diff (an infrastructure error,
    # not the agent's fault); ident would rewrite $Id$ in what is staged.
    edits = [FIX, "printf '# $Id: forged $\\n' >> calc.py"]
    plain, _ = episode_diff(task, edits)
    tricks = ["printf '* working-tree-encoding=UTF-16 ident\\n' > .git/info/attributes"]
    diff = episode_diff(task, [*edits, *tricks])[0]
    assert "+# $Id: forged $" in diff
    assert_plain(diff, plain)


def test_hooks_fsmonitor_replace_refs_and_the_index_do_not_shape_the_diff(task: Task) -> None:
    plain, _ = episode_diff(task, [FIX])
    ran = "printf '#!/bin/sh\\necho ran >> /tmp/ran\\n'"
    tricks = [
        "printf 'def add(a, b):\\n    return a - b  # PWNED\\n' > /tmp/forged.py",
        # The base blob of calc.py replaced by a forged one.
        "git replace $(git rev-parse HEAD:calc.py) $(git hash-object -w /tmp/forged.py)",
        # An index that hides the change from `git add -A`.
        "git update-index --skip-worktree calc.py",
        # Last, so that only git run after them (the diff) would run them: a hook run whenever
        # the index is written, and an fsmonitor command (which could also say nothing changed).
        f"mkdir -p /tmp/hooks && {ran} > /tmp/hooks/post-index-change && {ran} > /tmp/fsmon",
        "chmod +x /tmp/hooks/post-index-change /tmp/fsmon && rm -f /tmp/ran",
        "git config core.hooksPath /tmp/hooks && git config core.fsmonitor /tmp/fsmon",
    ]
    diff, ran_after = episode_diff(task, [*tricks, FIX], after="cat /tmp/ran 2>/dev/null; echo checked")
    assert_plain(diff, plain)
    assert ran_after.strip() == "checked"  # neither the hook nor the fsmonitor ran


def test_a_fake_git_on_path_and_shell_functions_do_not_answer(task: Task) -> None:
    plain, _ = episode_diff(task, [FIX])
    fake = "printf '#!/bin/sh\\necho PWNED\\n' > /tmp/bin/git && chmod +x /tmp/bin/git"
    tricks = [
        f"mkdir -p /tmp/bin && {fake}",
        "export PATH=/tmp/bin:$PATH HOME=/tmp/home && mkdir -p /tmp/home",
        "printf '[diff]\\n\\texternal = /testbed/evil.sh\\n' > /tmp/home/.gitconfig",
        "env() { echo PWNED; }",
    ]
    assert_plain(episode_diff(task, [FIX, *tricks])[0], plain)


def test_a_scripted_agent_that_tampers_with_git_is_graded_on_its_real_change(task: Task) -> None:
    plain, _ = episode_diff(task, [FIX, EVIL_DIFF])
    steps = [FIX, EVIL_DIFF, "git config diff.external ./evil.sh", "git config core.hooksPath /nonexistent"]
    agent = ScriptedModel([ToolCall(name="execute_bash", arguments={"command": c}) for c in steps])
    res = run_episode(task, agent)
    assert res.diff == plain and res.outcome is Outcome.RESOLVED and res.reward == 1.0
