"""The shell script that reads an episode's final diff inside its sandbox, with git's defaults.

The agent owned the repository for the whole episode, so everything git would read from it, or
from the agent's shell, is the agent's: ``.git/config`` (an external diff, textconv or clean
filter drivers, an fsmonitor command, hooks, ``diff.noprefix``, includes), ``.git/info`` (attributes,
excludes, grafts), replace refs, the index (stat data, assume-unchanged and skip-worktree bits,
an untracked cache) and the exported environment (``GIT_EXTERNAL_DIFF``, ``GIT_CONFIG_*``,
``PATH``, ``HOME``). Any of these can make ``git diff`` print something other than the change.

So the script trusts only the base commit's objects and the work tree's bytes. git runs in a
private git directory (``/tmp/.swegym-git``): an empty config, no refs, no hooks, and its
``objects/info/alternates`` borrowing /testbed's objects read-only; its index is built fresh from
the base commit; every run starts from ``env -i`` with a fixed ``PATH`` (git from the read-only
/usr), no system or global config and no replace objects. The private ``info/attributes`` (the
highest-precedence attributes file) unsets ``filter``, ``ident`` and ``working-tree-encoding`` for
every path, so a ``.gitattributes`` the agent wrote cannot run a filter or re-encode what is
staged: the staged blobs are the files' bytes. Line-ending attributes (``text``, ``eol``) keep
git's meaning: they normalise line endings as any checkout of the repository would, and cannot
put other content in the patch. The command line repeats the guards it can (``-c`` and the diff
flags outrank any config file). The fresh index costs one hash of the tracked files (well under
a second for 8,000 files); a copy of the agent's index would be faster, and could hide changes.

Not covered here: the agent's background processes keep running while the script does, and
share its uid, so one racing it could still rewrite the private directory or the patch file
before it is read; closing that needs the sandbox to stop them first.
"""

from __future__ import annotations

__all__ = ["DIFF_OUT", "EXCLUDES", "EXTRA_PATHS", "GIT_DIR", "diff_script"]

EXCLUDES = ("__pycache__/", "*.pyc", "*.pyo", ".pytest_cache/", ".mypy_cache/", "*.egg-info/", ".eggs/")
"""Build artefacts and caches, never part of an episode's diff."""
GIT_DIR = "/tmp/.swegym-git"
DIFF_OUT = "/tmp/.swegym-diff"
"""Where the script writes the patch (a file, so output that background jobs print cannot mix in)."""
EXTRA_PATHS = "/tmp/.swegym-extra"
"""NUL-separated paths the env build wrote into the repo, written there by the caller."""
_INDEX = "/tmp/.swegym-index"
_SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"

# Unset for every path at the highest precedence: no filter driver (clean, smudge, process), no
# $Id$ expansion, no re-encoding; the staged content is the work tree's bytes.
_ATTRIBUTES = "* !filter !ident !working-tree-encoding"

_GIT_ENV = (
    f"env -i PATH={_SAFE_PATH} HOME=/nonexistent LC_ALL=C GIT_CONFIG_NOSYSTEM=1 "
    "GIT_CONFIG_GLOBAL=/dev/null GIT_ATTR_NOSYSTEM=1 GIT_NO_REPLACE_OBJECTS=1 "
    f"GIT_DIR={GIT_DIR} GIT_WORK_TREE=/testbed GIT_INDEX_FILE={_INDEX}"
)
_GIT_CONFIG = (
    "-c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.untrackedCache=false "
    "-c core.attributesFile=/dev/null -c core.excludesFile=/dev/null -c diff.external= "
    "-c core.autocrlf=false"
)
_GIT = "_swegym_git"
"""A shell function the script defines: git with the clean environment and configuration."""


def _private_git_dir() -> list[str]:
    """Steps that make the private git directory (an empty config, base objects borrowed)."""
    patterns = "\\n".join(EXCLUDES)
    return [
        f"rm -rf {GIT_DIR} {DIFF_OUT} {_INDEX}",
        f"mkdir -p {GIT_DIR}/objects/info {GIT_DIR}/refs {GIT_DIR}/info",
        f"printf '/testbed/.git/objects\\n' > {GIT_DIR}/objects/info/alternates",
        f"printf 'ref: refs/heads/swegym-diff\\n' > {GIT_DIR}/HEAD",
        f": > {GIT_DIR}/config",
        f"printf '{_ATTRIBUTES}\\n' > {GIT_DIR}/info/attributes",
        f"printf '{patterns}\\n' > {GIT_DIR}/info/exclude",
    ]


def diff_script(base: str, with_extra: bool) -> str:
    """The command that writes /testbed's changes since ``base`` to `DIFF_OUT` as a binary-safe
    patch, leaving out `EXCLUDES` (and, with ``with_extra``, the paths in `EXTRA_PATHS`)."""
    steps = [
        # A subshell: nothing the agent defined in its shell (functions, aliases, a PATH with its
        # own git) shapes the diff, and nothing the script sets leaks back.
        "unset -f git env cd cp rm mkdir printf 2>/dev/null; unalias -a 2>/dev/null",
        f"PATH={_SAFE_PATH}",
        "hash -r",
        "cd /testbed",
        f'{_GIT}() {{ {_GIT_ENV} git --no-replace-objects {_GIT_CONFIG} "$@"; }}',
        *_private_git_dir(),
        # A fresh index from the base commit, not a copy of the agent's: nothing recorded there
        # (stat data, skip-worktree bits, an untracked cache) can keep a change out of `add -A`.
        f"{_GIT} read-tree {base}",
        f"{_GIT} add -A",
    ]
    if with_extra:
        steps.append(f"{_GIT} reset -q {base} --pathspec-from-file={EXTRA_PATHS} --pathspec-file-nul")
    # Against the base commit, so an agent that commits its work still has a diff.
    steps.append(f"{_GIT} diff --cached --binary --no-ext-diff --no-textconv {base} > {DIFF_OUT}")
    return "( " + " && ".join(steps) + " )"
