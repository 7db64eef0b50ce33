"""Version strings that versioneer and setuptools_scm derive from ``git describe``.

SWE-Gym gets the versions of dask, MONAI, pandas and modin (versioneer) and dvc (setuptools_scm)
by running those tools in a checkout; both only format ``git describe`` output, so the same
strings are computed here from git, without running the repository's code.
"""

from __future__ import annotations

import re
from pathlib import Path

from swegym.sources.gitutil import git


def _describe_long(git_dir: Path, commit: str, *extra: str) -> tuple[str, int, str] | None:
    """(tag, distance, 7-hex) of ``git describe --tags --long``, or None when no tag is found."""
    out = git(git_dir, "describe", "--tags", "--long", *extra, commit, check=False).strip()
    match = re.fullmatch(r"(.+)-(\d+)-g([0-9a-f]+)", out)
    if not match:
        return None
    return match.group(1), int(match.group(2)), match.group(3)[:7]


def versioneer_version(git_dir: Path, commit: str, prefix: str) -> str:
    """versioneer's ``pep440`` style: TAG, TAG+N.gHEX, or 0+untagged.N.gHEX without a tag."""
    full = git(git_dir, "rev-parse", f"{commit}^{{commit}}").strip()
    found = (
        _describe_long(git_dir, commit, f"--match={prefix}*") if prefix else _describe_long(git_dir, commit)
    )
    if found is None:
        count = git(git_dir, "rev-list", "--count", full).strip()
        return f"0+untagged.{count}.g{full[:7]}"
    tag, distance, _ = found
    tag = tag.removeprefix(prefix)
    if distance == 0:
        return tag
    return f"{tag}{'.' if '+' in tag else '+'}{distance}.g{full[:7]}"


def setuptools_scm_version(git_dir: Path, commit: str) -> str:
    """setuptools_scm's default (guess-next-dev, node-and-date) for a clean checkout."""
    full = git(git_dir, "rev-parse", f"{commit}^{{commit}}").strip()
    found = _describe_long(git_dir, commit, "--match=*[0-9]*")
    if found is None:
        count = git(git_dir, "rev-list", "--count", full).strip()
        return f"0.1.dev{count}+g{full[:7]}"
    tag, distance, _ = found
    match = re.search(r"[vV]?(\d+(?:\.\d+){0,2}[^+]*)", tag)
    version = match.group(1) if match else tag
    if distance == 0:
        return version
    if re.fullmatch(r"[\d.]+", version):  # a release: bump its last number
        version = re.sub(r"(\d+)$", lambda m: str(int(m.group(1)) + 1), version)
    return f"{version}.dev{distance}+g{full[:7]}"
