"""A task's ``version`` when the row has none: SWE-Gym's own rule per repository, as data.

SWE-Gym (its SWE-bench fork, ``swebench/versioning``) assigns versions in two ways: read a version
file at the base commit with a regex (method A: moto, mypy, conan, hydra; pydantic's
``version.VERSION`` is read the same way here), or run the repository's version command (method
B). The commands of dask, MONAI, pandas and modin (versioneer), dvc (setuptools_scm) and bokeh
(``git describe``) only turn ``git describe`` at the base commit into a string, so that is computed
here from git, without running the repository's code. The raw string is then cut to major.minor
by SWE-Gym's normalisation (:func:`normalize_version`), which gives its odd keys (bokeh
``0.1181316818``, pydantic ``2.01``, MONAI ``0.105``).

Rules ship in ``version_rules.json`` next to this module; ``$SWEGYM_VERSION_RULES`` names more
JSON files (``os.pathsep``-separated) whose rules win, so a user adds or overrides a repository
without code.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from swegym.errors import SourceError
from swegym.sources.describe import setuptools_scm_version, versioneer_version
from swegym.sources.gitutil import git
from swegym.sources.materialize import Mirrors, materialize
from swegym.tasks.model import Task

RULES_ENV = "SWEGYM_VERSION_RULES"
MAX_KEY = 64
"""Longest version key accepted (a command's output is the repository's, so it is bounded)."""

CommandRunner = Callable[[list[str], Path, float], str]
"""Runs argv in the repository at ``Path`` (its base commit) in a sandbox within the timeout and
returns its output; ``swegym.harness.versioncmd.sandbox_runner`` is the one validate uses."""
DEFAULT_PATTERNS = [r"__version__ = ['\"](.*)['\"]", r"VERSION = \((.*)\)"]
"""Method A's regexes in SWE-Gym's fork, tried in order (first group of the first match)."""


class VersionDetectionError(SourceError):
    """The version of a task could not be found (no rule, no file, no match, no tags)."""


class VersionRule(BaseModel):
    """How one repository's version is found at a commit."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["file", "versioneer", "setuptools-scm", "describe", "command"]
    path: str | None = Field(default=None, description="The version file ('file' only).")
    patterns: list[str] = Field(default_factory=lambda: list(DEFAULT_PATTERNS))
    tag_prefix: str = Field(default="", description="versioneer's tag_prefix (e.g. 'v' for pandas).")
    command: list[str] = Field(
        default_factory=list,
        description="'command' only: argv run in /testbed inside the sandbox (network off, writes "
        "discarded); the last line it prints is the raw version.",
    )
    timeout: float = Field(default=120.0, gt=0, le=1800, description="Seconds for the command.")


class DetectedVersion(BaseModel):
    """A detected version: the normalised key, the raw string and how it was found."""

    version: str
    raw: str
    method: str


def normalize_version(raw: str) -> str:
    """SWE-Gym's normalisation: major.minor (split on '.' then ','), then only digits and dots.

    ``4.1.4.dev`` -> ``4.1``; ``2.0b1`` -> ``2.01``; ``0+untagged.105.gabc`` -> ``0.105``;
    ``0.11-813-g16818ab`` -> ``0.1181316818``; ``1, 2, 3`` (a VERSION tuple) -> ``1.2``.
    """
    version = raw.strip()
    for sep in (".", ","):
        if sep in version:
            version = ".".join(version.strip().split(sep)[:2])
    return re.sub(r"[^0-9.]", "", version)


def load_rules(extra: list[Path] | None = None) -> dict[str, VersionRule]:
    """The shipped rules, then those of ``$SWEGYM_VERSION_RULES`` and ``extra`` (later win).

    Keys are lower-cased repository names (SWE-Gym's tables are keyed that way too).
    """
    text = resources.files("swegym.sources").joinpath("version_rules.json").read_text()
    rules = _parse_rules(text, "version_rules.json (shipped)")
    env = [Path(p) for p in os.environ.get(RULES_ENV, "").split(os.pathsep) if p]
    for path in [*env, *(extra or [])]:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise VersionDetectionError(f"{path}: cannot read version rules ({exc.strerror})") from None
        rules.update(_parse_rules(text, str(path)))
    return rules


def _parse_rules(text: str, where: str) -> dict[str, VersionRule]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VersionDetectionError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise VersionDetectionError(f"{where}: expected an object of 'owner/name': rule")
    out: dict[str, VersionRule] = {}
    for repo, body in data.items():
        if repo.startswith("_"):
            continue  # comments
        try:
            rule = VersionRule.model_validate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "rule"
            raise VersionDetectionError(f"{where}: {repo}: field '{field}': {err['msg']}") from None
        if rule.method == "file" and not rule.path:
            raise VersionDetectionError(f"{where}: {repo}: method 'file' needs 'path'")
        if rule.method == "command" and not rule.command:
            raise VersionDetectionError(f"{where}: {repo}: method 'command' needs 'command' (an argv list)")
        for pattern in rule.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise VersionDetectionError(f"{where}: {repo}: bad pattern {pattern!r} ({exc})") from None
        out[repo.lower()] = rule
    return out


def raw_version(
    rule: VersionRule, git_dir: Path, commit: str, run_command: CommandRunner | None = None
) -> str:
    """The raw version string that ``rule`` gives for ``commit`` of the repository in ``git_dir``
    (for a 'command' rule: ``git_dir`` is the materialized repo, and ``run_command`` runs it)."""
    if rule.method == "command":
        if run_command is None:
            raise VersionDetectionError(f"{rule.command}: a command rule runs only in a sandbox")
        lines = [ln.strip() for ln in run_command(rule.command, git_dir, rule.timeout).splitlines()]
        return ([ln for ln in lines if ln][-1:] or [""])[0]
    if rule.method == "file":
        assert rule.path is not None  # checked when the rule was parsed
        return _from_file(rule, git_dir, commit)
    if not git(git_dir, "tag", "--list", check=False).strip():
        raise VersionDetectionError(
            f"{git_dir}: the repository has no tags, which this version rule reads; "
            "pass a full clone with --mirror owner/repo=PATH"
        )
    if rule.method == "versioneer":
        return versioneer_version(git_dir, commit, rule.tag_prefix)
    if rule.method == "setuptools-scm":
        return setuptools_scm_version(git_dir, commit)
    out = git(git_dir, "describe", commit, check=False).strip()
    if not out:
        raise VersionDetectionError(f"{git_dir}: `git describe {commit[:12]}` finds no annotated tag")
    return out


def _from_file(rule: VersionRule, git_dir: Path, commit: str) -> str:
    path = rule.path or ""
    text = git(git_dir, "show", f"{commit}:{path}", check=False)
    if not text:
        raise VersionDetectionError(f"{git_dir}: no {path} at commit {commit[:12]}")
    for pattern in rule.patterns:
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            return match.group(1)
    raise VersionDetectionError(f"{path} at {commit[:12]}: no line matches {rule.patterns}")


def detect_version(
    task: Task,
    mirrors: Mirrors | None = None,
    repo_dir: Path | None = None,
    run_command: CommandRunner | None = None,
) -> DetectedVersion:
    """The version of ``task`` by its repository's rule, read from its mirror (a local git
    repository with tags) or, for file rules, from ``repo_dir`` (the materialized repo, made when
    not given); a command rule runs with ``run_command`` in the materialized repo."""
    rule = load_rules().get(task.repo.lower())
    if rule is None:
        raise VersionDetectionError(
            f"{task.instance_id}: no version and no version rule for {task.repo}; set the task's "
            f"'version' or add a rule in a JSON file named by ${RULES_ENV}"
        )
    mirror = (mirrors or {}).get(task.repo)
    git_dir = Path(mirror) if mirror and Path(mirror).is_dir() and rule.method != "command" else repo_dir
    if git_dir is None:
        git_dir = materialize(task, mirrors)  # file rules read the work tree; tag rules say why not
    try:
        raw = raw_version(rule, git_dir, task.base_commit, run_command)
    except VersionDetectionError as exc:
        raise VersionDetectionError(f"{task.instance_id}: cannot detect its version: {exc}") from None
    version = normalize_version(raw)
    if not version or len(version) > MAX_KEY:
        raise VersionDetectionError(f"{task.instance_id}: version {raw[:80]!r} gives no usable key")
    return DetectedVersion(version=version, raw=raw[:200], method=rule.method)


def with_version(
    task: Task,
    mirrors: Mirrors | None = None,
    repo_dir: Path | None = None,
    run_command: CommandRunner | None = None,
) -> Task:
    """``task`` itself when it has a version, else a copy with the detected one (and how it was
    found in ``meta.version_detected``)."""
    if task.version:
        return task
    found = detect_version(task, mirrors, repo_dir, run_command)
    meta = {**task.meta, "version_detected": found.model_dump()}
    return task.model_copy(update={"version": found.version, "meta": meta})


class VersionRow(BaseModel):
    """One task's version: as given, as detected, or why detection failed."""

    instance_id: str
    given: str
    detected: str = ""
    raw: str = ""
    method: str = ""
    error: str = ""


def detect_versions(
    tasks: list[Task],
    mirrors: Mirrors | None = None,
    *,
    redetect: bool = False,
    run_command: CommandRunner | None = None,
) -> tuple[list[Task], list[VersionRow]]:
    """Fill the versions of ``tasks`` that have none (every task's with ``redetect``, to compare
    with the given ones; a given version is kept). Returns the tasks and one row per task."""
    out: list[Task] = []
    rows: list[VersionRow] = []
    for task in tasks:
        row = VersionRow(instance_id=task.instance_id, given=task.version)
        if task.version and not redetect:
            out.append(task)
            rows.append(row)
            continue
        try:
            found = detect_version(task, mirrors, run_command=run_command)
        except SourceError as exc:
            row.error = str(exc)
            out.append(task)
        else:
            row.detected, row.raw, row.method = found.version, found.raw, found.method
            meta = {**task.meta, "version_detected": found.model_dump()}
            out.append(
                task if task.version else task.model_copy(update={"version": found.version, "meta": meta})
            )
        rows.append(row)
    return out, rows
