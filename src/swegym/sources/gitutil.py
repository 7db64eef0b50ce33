"""Running git with a controlled configuration, so host settings never change results."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from swegym.errors import SourceError

FIXED_IDENTITY = {
    "GIT_AUTHOR_NAME": "swegym",
    "GIT_AUTHOR_EMAIL": "swegym@localhost",
    "GIT_COMMITTER_NAME": "swegym",
    "GIT_COMMITTER_EMAIL": "swegym@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}


def git_env() -> dict[str, str]:
    """Environment for git: no user/system config, fixed identity and dates."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(FIXED_IDENTITY)
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"})
    # Archives unpacked by root keep their owners; git would call such a tree "dubious".
    env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory"})
    env["GIT_CONFIG_VALUE_0"] = "*"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def git(
    cwd: Path,
    *args: str,
    check: bool = True,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run git in ``cwd`` (the controlled environment of :func:`git_env`, plus ``env``) and return
    stdout; raise ``SourceError`` with stderr's last line on failure. Paths print unquoted and
    undecodable bytes become U+FFFD, so history with odd file names stays readable."""
    proc = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", "-c", "core.quotepath=off", *args],
        cwd=cwd,
        env={**git_env(), **(env or {})},
        capture_output=True,
        text=True,
        errors="replace",
        input=input,
    )
    if check and proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise SourceError(f"git {' '.join(args[:2])} failed in {cwd}: {tail[0]}")
    return proc.stdout
