"""Environment specs: how to install and test a repository at a version, as data.

The table lives in ``swegym/envs/specs/<owner>__<name>.json`` (one file per repository) and in
any directory listed in ``$SWEGYM_SPECS_PATH`` (os.pathsep-separated), whose files take
precedence, so users add repositories without touching the package.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from swegym.envs.recipe import (
    InstallStep,
    RepoEdit,
    Submodule,
    SystemTool,
    check_env_names,
    relative_path,
    utc_timestamp,
)
from swegym.errors import UnknownSpecError
from swegym.tasks.model import Task

ENV_FORMAT = 2
"""Bumped when the layout of built environments changes, so old builds are not reused."""

TEST_ONLY_FIELDS = frozenset(
    {"test_cmd", "test_select", "env", "log_parser", "test_timeout", "license", "homepage"}
)
"""Fields that shape only the test run, not the built environment: outside the build key."""


class EnvSpec(BaseModel):
    """How to build and test one (repo, version).

    The install is ``steps`` (ordered, each with its own flags) or, in the older form,
    ``pre_install`` then one ``uv pip install`` of ``uv_args + install + packages``; see
    :meth:`install_steps`. Semantics of every field: ``docs/tasks-and-specs.md``.
    """

    repo: str = ""
    version: str = ""
    python: str = Field(description="Python version, e.g. '3.11'.")
    steps: list[InstallStep] = Field(default_factory=list, description="Ordered install steps.")
    install: list[str] | None = Field(
        default=None, description="Legacy: `uv pip install` arguments run in /testbed (default `-e .`)."
    )
    packages: list[str] = Field(default_factory=list, description="Legacy: extra packages (test deps).")
    pre_install: list[str] = Field(
        default_factory=list, description="Legacy: packages installed first, e.g. a setuptools pin."
    )
    uv_args: list[str] = Field(default_factory=list, description="Legacy: flags of the main install.")
    pins: list[str] = Field(
        default_factory=list, description="Constraints (e.g. 'numpy<2') given to every pip step."
    )
    build_pins: list[str] = Field(
        default_factory=list,
        description="Constraints on build dependencies (e.g. 'cython<3' for an sdist's isolated build).",
    )
    exclude_newer: str | None = Field(
        default=None, description="Resolve as of this date (YYYY-MM-DD = 00:00 UTC) or UTC timestamp."
    )
    exclude_newer_packages: dict[str, str] = Field(
        default_factory=dict, description="Per-package dates overriding exclude_newer (e.g. setuptools)."
    )
    date_from: Literal["spec", "task", "commit"] = Field(
        default="spec",
        description="Where exclude_newer comes from: the spec, each task's created_at, or the "
        "base commit's committer date (the last two: one env per task).",
    )
    per_commit: bool = Field(default=False, description="One env per base commit (compiled trees).")
    commit: str | None = Field(default=None, description="Set by for_task when per_commit.")
    key_files: list[str] = Field(
        default_factory=list,
        description="Repo files whose content at the base commit keys the env (the repo's own "
        "dependency declarations, e.g. setup.py): tasks of a version share an env only where "
        "these files are equal.",
    )
    key_digest: str | None = Field(default=None, description="Set by the builder from key_files.")
    build_env: dict[str, str] = Field(default_factory=dict, description="Variables for every build step.")
    edits: list[RepoEdit] = Field(default_factory=list, description="Repo edits before the install.")
    submodules: list[Submodule] = Field(default_factory=list, description="Submodules the build needs.")
    requires: list[SystemTool] = Field(default_factory=list, description="Host programs needed.")
    venv_at_mount: bool = Field(
        default=False,
        description="Build the venv at its mount point (copies, no hard links): for recipes that "
        "record the venv's path at build time (a meson-python editable records ninja's path).",
    )
    compile_bytecode: bool = Field(default=True, description="Compile bytecode at build time.")
    compile_scope: Literal["imports", "all"] = Field(
        default="imports",
        description="Venv bytecode: 'imports' (what importing pytest, the repo's packages and "
        "warm_imports loads) or 'all'; the repo's modules (not its tests) are always compiled.",
    )
    warm_imports: list[str] = Field(
        default_factory=list, description="Modules imported once at build time so their bytecode is kept."
    )
    test_cmd: str = "python -m pytest -rA -p no:cacheprovider"
    test_select: Literal["files", "mypy_cases"] = Field(
        default="files",
        description="How tests are chosen: the test patch's files, or (mypy) -k over its [case] names.",
    )
    env: dict[str, str] = Field(default_factory=dict, description="Variables for the tests.")
    log_parser: str = Field(default="pytest", description="Key into the log parser table.")
    test_timeout: int = Field(default=1800, description="Seconds for one test run.")
    license: str | None = None
    homepage: str | None = None

    @field_validator("exclude_newer")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        if value is not None:
            utc_timestamp(value)
        return value

    @field_validator("exclude_newer_packages")
    @classmethod
    def _package_dates(cls, value: dict[str, str]) -> dict[str, str]:
        for date in value.values():
            utc_timestamp(date)
        return value

    @field_validator("key_files")
    @classmethod
    def _key_paths(cls, value: list[str]) -> list[str]:
        return [relative_path(v) for v in value]

    @field_validator("build_env", "env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        return check_env_names(value)

    def install_steps(self) -> list[InstallStep]:
        """The install as ordered steps: ``steps``, or the legacy fields translated (pre_install,
        then one install of ``uv_args + install + packages``)."""
        if self.steps:
            return list(self.steps)
        out = [InstallStep(packages=self.pre_install)] if self.pre_install else []
        args = [*self.uv_args, *(["-e", "."] if self.install is None else self.install), *self.packages]
        if args:
            out.append(InstallStep(args=args))
        return out

    def exclude_newer_utc(self) -> str | None:
        """``exclude_newer`` as a UTC timestamp (the form the builder gives uv)."""
        return utc_timestamp(self.exclude_newer) if self.exclude_newer else None

    def for_task(self, task: Task) -> EnvSpec:
        """This spec resolved for one task: its date (``date_from='task'``) and commit
        (``per_commit``); unchanged otherwise, so tasks of a version share one env."""
        update: dict[str, Any] = {}
        if self.date_from == "task":
            if not task.created_at:
                raise UnknownSpecError(
                    f"{self.repo} {self.version}: the spec takes its date from the task, and "
                    f"task {task.instance_id} has no created_at"
                )
            update["exclude_newer"] = utc_timestamp(task.created_at)
        if self.per_commit:
            update["commit"] = task.base_commit
        return self.model_copy(update=update) if update else self

    def build_key(self, python_version: str) -> str:
        """Content hash of everything that shapes the built environment (every field but the
        test-time ones), plus the resolved Python and the env layout's format.

        The legacy fields are always hashed, the newer ones only when set: a spec written in the
        legacy form keeps the key (and the built env) it had before the newer fields existed."""
        fields: dict[str, Any] = self.model_dump(mode="json", include=set(_LEGACY_KEYED))
        if fields["install"] is None:
            fields["install"] = ["-e", "."]
        for name, info in type(self).model_fields.items():
            if name in _LEGACY_KEYED or name in TEST_ONLY_FIELDS or name == "python":
                continue
            value = getattr(self, name)
            if value != info.get_default(call_default_factory=True):
                fields[name] = self.model_dump(mode="json", include={name})[name]
        fields["python"] = python_version
        fields["format"] = ENV_FORMAT
        blob = json.dumps(fields, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


_LEGACY_KEYED = frozenset(
    {"repo", "version", "install", "packages", "pre_install", "exclude_newer", "uv_args"}
)


def _spec_files(dirs: tuple[str, ...]) -> list[tuple[str, str]]:
    """(origin, text) of every spec file: package first, then ``dirs`` in order (later override)."""
    out: list[tuple[str, str]] = []
    pkg = resources.files("swegym.envs").joinpath("specs")
    for entry in sorted(pkg.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out.append((f"swegym/envs/specs/{entry.name}", entry.read_text()))
    for d in dirs:
        for f in sorted(Path(d).glob("*.json")):
            out.append((str(f), f.read_text()))
    return out


def _merged(origin: str, data: dict[str, Any], version: str, raw: object) -> dict[str, Any]:
    """One version's fields: the file's ``defaults``, then its ``group``, then its own."""
    if not isinstance(raw, dict):
        raise UnknownSpecError(f"{origin}: version {version}: must be an object of spec fields")
    own = dict(raw)
    group = own.pop("group", None)
    groups = data.get("groups") or {}
    if group is not None and (not isinstance(group, str) or group not in groups):
        known = ", ".join(sorted(groups)) or "none"
        raise UnknownSpecError(
            f"{origin}: version {version}: field 'group': no group {group!r} (known: {known})"
        )
    shared = {k: data[k] for k in ("license", "homepage") if k in data}
    return {**shared, **(data.get("defaults") or {}), **(groups.get(group) or {}), **own}


def _parse_file(origin: str, text: str) -> tuple[str, dict[str, EnvSpec]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnknownSpecError(f"{origin}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise UnknownSpecError(f"{origin}: needs 'repo' and a 'versions' object")
    repo = data.get("repo")
    if not isinstance(repo, str) or not isinstance(data.get("versions"), dict):
        raise UnknownSpecError(f"{origin}: needs 'repo' and a 'versions' object")
    for key in ("defaults", "groups"):
        if not isinstance(data.get(key) or {}, dict):
            raise UnknownSpecError(f"{origin}: '{key}' must be an object")
    out: dict[str, EnvSpec] = {}
    for version, raw in data["versions"].items():
        fields = {**_merged(origin, data, version, raw), "repo": repo, "version": version}
        try:
            out[version] = EnvSpec.model_validate(fields)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            raise UnknownSpecError(f"{origin}: version {version}: field '{loc}': {msg}") from None
    return repo, out


@functools.lru_cache(maxsize=8)
def _table(dirs: tuple[str, ...]) -> dict[str, dict[str, EnvSpec]]:
    table: dict[str, dict[str, EnvSpec]] = {}
    for origin, text in _spec_files(dirs):
        repo, versions = _parse_file(origin, text)
        table.setdefault(repo, {}).update(versions)
    return table


SpecDirs = Sequence[str | os.PathLike[str]]
"""Extra directories of spec files, after those of ``$SWEGYM_SPECS_PATH`` (later ones win)."""


def load_spec_table(spec_dirs: SpecDirs = ()) -> dict[str, dict[str, EnvSpec]]:
    """The spec table: repo -> version -> spec (shipped, then ``$SWEGYM_SPECS_PATH``, then ``spec_dirs``)."""
    env_dirs = [d for d in os.environ.get("SWEGYM_SPECS_PATH", "").split(os.pathsep) if d]
    return _table(tuple([*env_dirs, *(str(d) for d in spec_dirs)]))


def get_spec(repo: str, version: str, spec_dirs: SpecDirs = ()) -> EnvSpec:
    """The spec for (repo, version), or a clear ``UnknownSpecError``."""
    table = load_spec_table(spec_dirs)
    if repo not in table:
        raise UnknownSpecError(
            f"no environment spec for repo '{repo}': add swegym/envs/specs/{repo.replace('/', '__')}"
            ".json or a file in $SWEGYM_SPECS_PATH"
        )
    versions = table[repo]
    if version not in versions:
        known = ", ".join(sorted(versions)) or "none"
        raise UnknownSpecError(f"no environment spec for {repo} version '{version}' (known: {known})")
    return versions[version]


def spec_for_task(task: Task, spec_dirs: SpecDirs = ()) -> EnvSpec:
    """The spec of ``task``'s (repo, version), resolved for the task (see :meth:`EnvSpec.for_task`)."""
    return get_spec(task.repo, task.version, spec_dirs).for_task(task)
