"""The parts of an install recipe, as data: ordered steps, repo edits, submodules, system tools.

These are the fields real recipes (SWE-Gym's per-version install strings) need, so that a spec
says what the recipe does instead of carrying a shell string: each step is one ``uv pip``
command (or one argv, for a non-Python build tool), each with its own flags; a pre-install
``sed`` is a structured :class:`RepoEdit`. The builder turns them into a script
(:mod:`swegym.envs.script`); the exact semantics are in ``docs/tasks-and-specs.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_SAFE_REL = re.compile(r"^(?!/)(?!.*(?:^|/)\.\.(?:/|$))[^\0\n]+$")


def relative_path(value: str) -> str:
    """A path inside the repo: relative, no '..', no NUL or newline."""
    if not _SAFE_REL.match(value):
        raise ValueError(f"must be a path inside the repo (relative, no '..'): {value!r}")
    return value


def utc_timestamp(value: str) -> str:
    """``YYYY-MM-DD`` (the start of that day, UTC) or an ISO timestamp, as ``...Z`` in UTC.

    uv reads a bare date in the machine's local time zone; a timestamp in UTC means the same
    instant on every machine, so the date reaches uv already resolved.
    """
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            when = dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)
        else:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if when.tzinfo is None:
                raise ValueError("a timestamp needs a time zone (e.g. 'Z')")
    except ValueError as exc:
        raise ValueError(
            f"not a date (YYYY-MM-DD) or timestamp (YYYY-MM-DDTHH:MM:SSZ): {value!r} ({exc})"
        ) from None
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstallStep(_Strict):
    """One command of the install, run in /testbed (or ``cwd``) in the order given.

    ``kind='pip'``: ``uv pip install`` of ``requirements`` (``-r`` files), ``editable`` (``-e``),
    ``packages`` and raw ``args``, with this step's flags. ``kind='uninstall'``: ``uv pip
    uninstall`` of ``packages``. ``kind='run'``: ``argv`` as given (no shell), e.g.
    ``["npm", "ci"]`` in ``bokehjs`` or ``["python", "setup.py", "develop"]``.
    """

    kind: Literal["pip", "uninstall", "run"] = "pip"
    packages: list[str] = Field(default_factory=list, description="Requirement specifiers.")
    requirements: list[str] = Field(
        default_factory=list, description="Requirement files (-r), repo-relative."
    )
    editable: str | None = Field(default=None, description="Path installed with -e, e.g. '.[tests]'.")
    args: list[str] = Field(default_factory=list, description="Raw `uv pip install` arguments (legacy form).")
    build_requires: bool = Field(
        default=False,
        description="Also install the repo's [build-system] requires (pyproject.toml at the base commit), "
        "for a later --no-build-isolation step.",
    )
    no_build_isolation: bool = Field(default=False, description="--no-build-isolation")
    no_deps: bool = Field(default=False, description="--no-deps")
    config_settings: dict[str, str] = Field(default_factory=dict, description="-C KEY=VALUE each.")
    flags: list[str] = Field(
        default_factory=list, description="Other `uv pip` flags, e.g. --prerelease=allow."
    )
    date: bool = Field(default=True, description="Whether the spec's exclude_newer reaches this step.")
    pins: bool = Field(default=True, description="Whether the spec's pins (constraints) reach this step.")
    env: dict[str, str] = Field(default_factory=dict, description="Variables for this step only.")
    argv: list[str] = Field(default_factory=list, description="kind='run': the command.")
    cwd: str = Field(default=".", description="Directory to run in, relative to /testbed.")
    if_exists: str | None = Field(default=None, description="Run only if this repo path exists.")
    optional: bool = Field(default=False, description="A failure is logged, not fatal (SWE-Gym's `|| true`).")

    @field_validator("cwd", "if_exists")
    @classmethod
    def _paths(cls, value: str | None) -> str | None:
        return value if value is None else relative_path(value)

    @field_validator("requirements")
    @classmethod
    def _req_paths(cls, value: list[str]) -> list[str]:
        return [relative_path(v) for v in value]

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        return check_env_names(value)

    @model_validator(mode="after")
    def _shape(self) -> InstallStep:
        if self.kind == "run":
            if not self.argv:
                raise ValueError("a 'run' step needs 'argv'")
            if self.packages or self.requirements or self.editable or self.args:
                raise ValueError("a 'run' step takes 'argv', not packages/requirements/editable/args")
        elif self.argv:
            raise ValueError(f"'argv' is for kind 'run', not '{self.kind}'")
        elif self.kind == "uninstall" and not self.packages:
            raise ValueError("an 'uninstall' step needs 'packages'")
        elif self.kind == "pip" and not (
            self.packages or self.requirements or self.editable or self.args or self.build_requires
        ):
            raise ValueError("a 'pip' step needs packages, requirements, editable, args or build_requires")
        return self


class RepoEdit(_Strict):
    """A change to a repo file before the install (SWE-Gym's ``sed`` lines), applied on the host.

    Exactly one action: ``match`` + ``replace`` (a Python regex per line, ``\\1`` groups, like
    ``sed s///g``), ``match`` + ``delete`` (drop matching lines, ``sed /re/d``), ``insert_line`` +
    ``text`` (insert before that 1-based line, ``sed 'Ni'``) or ``append`` (a line at the end).
    ``keep=False`` (the default): the edit is for the build only; the file is put back before
    the env is saved, so the agent and the grader see the base commit's file.
    """

    file: str
    match: str | None = None
    replace: str | None = None
    delete: bool = False
    insert_line: int | None = Field(default=None, ge=1)
    text: str | None = None
    append: str | None = None
    missing_ok: bool = Field(default=True, description="A missing file skips the edit (`[ -f F ] &&`).")
    keep: bool = Field(default=False, description="Keep the edited file in the env's repo layer.")

    @field_validator("file")
    @classmethod
    def _file(cls, value: str) -> str:
        return relative_path(value)

    @model_validator(mode="after")
    def _one_action(self) -> RepoEdit:
        actions = [
            self.match is not None and self.replace is not None,
            self.match is not None and self.delete,
            self.insert_line is not None and self.text is not None,
            self.append is not None,
        ]
        if sum(actions) != 1:
            raise ValueError("give exactly one of match+replace, match+delete, insert_line+text, append")
        if self.match is not None:
            try:
                re.compile(self.match)
            except re.error as exc:
                raise ValueError(f"'match' is not a valid regex: {exc}") from None
        return self


class Submodule(_Strict):
    """A git submodule the build needs (mypy's ``mypy/typeshed``).

    A clone of the repo holds only the gitlink (the submodule's commit), not its files. When
    ``path`` is empty, the builder exports that commit from a mirror (``mirrors[mirror_key]``,
    e.g. ``--mirror python/typeshed=PATH``) or from ``url`` (a git URL or local path) into the
    env's repo layer. ``required=False``: if neither has the commit, the build goes on (SWE-Gym's
    ``git submodule update --init ... || true``).
    """

    path: str
    url: str = Field(description="Where the submodule comes from (as in .gitmodules).")
    mirror_key: str | None = Field(default=None, description="Key into the mirrors, e.g. 'python/typeshed'.")
    required: bool = False

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return relative_path(value)


class SystemTool(_Strict):
    """A non-Python program the build or the tests need from the host (the sandbox sees /usr)."""

    command: str = Field(description="Executable looked up on the host PATH, e.g. 'java'.")
    debian: str = Field(default="", description="The Debian package that provides it.")
    needed_for: str = Field(default="", description="What needs it, for the error message.")


def check_env_names(value: dict[str, str]) -> dict[str, str]:
    """``value`` if every key is a valid environment variable name."""
    for name in value:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"not an environment variable name: {name!r}")
    return value
