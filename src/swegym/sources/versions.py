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
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from swegym.errors import SourceError
from swegym.sources.gitutil import git
from swegym.sources.materialize import Mirrors, materialize
from swegym.tasks.model import Task

RULES_ENV = "SWEGYM_VERSION_RULES"
DEFAULT_PATTERNS = [r"__version__ = ['\"](.*)['\"]", r"VERSION = \((.*)\)"]
"""Method A's regexes in SWE-Gym's fork, tried in order (first group of the first match)."""


class VersionDetectionError(SourceError):
    """The version of a task could not be found (no rule, no file, no match, no tags)."""


class VersionRule(BaseModel):
    """How one repository's version is found at a commit."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["file", "versioneer", "setuptools-scm", "describe"]
    path: str | None = Field(default=None, description="The version file ('file' only).")
    patterns: list[str] = Field(default_factory=lambda: list(DEFAULT_PATTERNS))
    tag_prefix: str = Field(default="", description="versioneer's tag_prefix (e.g. 'v' for pandas).")


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
        for pattern in rule.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise VersionDetectionError(f"{where}: {repo}: bad pattern {pattern!r} ({exc})") from None
        out[repo.lower()] = rule
    return out


def raw_version(rule: VersionRule, git_dir: Path, commit: str) -> str:
    """The raw version string that ``rule`` gives for ``commit`` of the repository in ``git_dir``."""
    if rule.method == "file":
        assert rule.path is not None  # checked when the rule was parsed
        return _from_file(rule, git_dir, commit)
    _need_tags(git_dir)
    if rule.method == "versioneer":
        return _versioneer(git_dir, commit, rule.tag_prefix)
    if rule.method == "setuptools-scm":
        return _setuptools_scm(git_dir, commit)
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


def _need_tags(git_dir: Path) -> None:
    if not git(git_dir, "tag", "--list", check=False).strip():
        raise VersionDetectionError(
            f"{git_dir}: the repository has no tags, which this version rule reads; "
            "pass a full clone with --mirror owner/repo=PATH"
        )


def _describe_long(git_dir: Path, commit: str, *extra: str) -> tuple[str, int, str] | None:
    """(tag, distance, 7-hex) of ``git describe --tags --long``, or None when no tag is found."""
    out = git(git_dir, "describe", "--tags", "--long", *extra, commit, check=False).strip()
    match = re.fullmatch(r"(.+)-(\d+)-g([0-9a-f]+)", out)
    if not match:
        return None
    return match.group(1), int(match.group(2)), match.group(3)[:7]


def _versioneer(git_dir: Path, commit: str, prefix: str) -> str:
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


def _setuptools_scm(git_dir: Path, commit: str) -> str:
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


def detect_version(
    task: Task, mirrors: Mirrors | None = None, repo_dir: Path | None = None
) -> DetectedVersion:
    """The version of ``task`` by its repository's rule, read from its mirror (a local git
    repository with tags) or, for file rules, from ``repo_dir`` (the materialized repo)."""
    rule = load_rules().get(task.repo.lower())
    if rule is None:
        raise VersionDetectionError(
            f"{task.instance_id}: no version and no version rule for {task.repo}; set the task's "
            f"'version' or add a rule in a JSON file named by ${RULES_ENV}"
        )
    mirror = (mirrors or {}).get(task.repo)
    git_dir = Path(mirror) if mirror and Path(mirror).is_dir() else repo_dir
    if git_dir is None:
        git_dir = materialize(task, mirrors)  # file rules read the work tree; tag rules say why not
    try:
        raw = raw_version(rule, git_dir, task.base_commit)
    except VersionDetectionError as exc:
        raise VersionDetectionError(f"{task.instance_id}: cannot detect its version: {exc}") from None
    version = normalize_version(raw)
    if not version:
        raise VersionDetectionError(f"{task.instance_id}: version {raw!r} normalises to nothing")
    return DetectedVersion(version=version, raw=raw, method=rule.method)


def with_version(task: Task, mirrors: Mirrors | None = None, repo_dir: Path | None = None) -> Task:
    """``task`` itself when it has a version, else a copy with the detected one (and how it was
    found in ``meta.version_detected``)."""
    if task.version:
        return task
    found = detect_version(task, mirrors, repo_dir)
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
    tasks: list[Task], mirrors: Mirrors | None = None, *, redetect: bool = False
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
            found = detect_version(task, mirrors)
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
