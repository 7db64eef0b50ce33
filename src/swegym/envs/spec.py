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

from pydantic import BaseModel, Field, ValidationError

from swegym.errors import UnknownSpecError

ENV_FORMAT = 2
"""Bumped when the layout of built environments changes, so old builds are not reused."""


class EnvSpec(BaseModel):
    """How to build and test one (repo, version)."""

    repo: str = ""
    version: str = ""
    python: str = Field(description="Python version, e.g. '3.11'.")
    install: list[str] = Field(
        default_factory=lambda: ["-e", "."],
        description="`uv pip install` arguments run in /testbed (the project itself).",
    )
    packages: list[str] = Field(default_factory=list, description="Extra packages (test deps).")
    pre_install: list[str] = Field(
        default_factory=list, description="Packages installed first, e.g. a setuptools pin."
    )
    exclude_newer: str | None = Field(
        default=None, description="Resolve dependencies as of this date (YYYY-MM-DD)."
    )
    uv_args: list[str] = Field(default_factory=list, description="Extra `uv pip install` flags.")
    test_cmd: str = "python -m pytest -rA -p no:cacheprovider"
    env: dict[str, str] = Field(default_factory=dict, description="Variables for the tests.")
    log_parser: str = Field(default="pytest", description="Key into the log parser table.")
    test_timeout: int = Field(default=1800, description="Seconds for one test run.")
    license: str | None = None
    homepage: str | None = None

    def build_key(self, python_version: str) -> str:
        """Content hash of everything that shapes the built environment."""
        fields = self.model_dump(
            include={"repo", "version", "install", "packages", "pre_install", "exclude_newer", "uv_args"}
        )
        fields["python"] = python_version
        fields["format"] = ENV_FORMAT
        blob = json.dumps(fields, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


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


@functools.lru_cache(maxsize=8)
def _table(dirs: tuple[str, ...]) -> dict[str, dict[str, EnvSpec]]:
    table: dict[str, dict[str, EnvSpec]] = {}
    for origin, text in _spec_files(dirs):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UnknownSpecError(f"{origin}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        repo = data.get("repo")
        if not isinstance(repo, str) or not isinstance(data.get("versions"), dict):
            raise UnknownSpecError(f"{origin}: needs 'repo' and a 'versions' object")
        shared = {k: data[k] for k in ("license", "homepage") if k in data}
        for version, raw in data["versions"].items():
            try:
                spec = EnvSpec.model_validate({**shared, **raw, "repo": repo, "version": version})
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise UnknownSpecError(f"{origin}: version {version}: field '{loc}': {err['msg']}") from None
            table.setdefault(repo, {})[version] = spec
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
