"""Proposing an environment spec for a (repo, version) from the project's own files.

Pure functions over the text of the build files at a commit (``pyproject.toml``, ``setup.cfg``,
``setup.py``, requirement files) and the commit date:

- Python: the newest interpreter available here that the project allows (``requires-python``,
  ``python_requires``, its ``Programming Language :: Python :: 3.X`` classifiers as an upper bound)
  and that had been out for half a year at the commit date, so era dependencies have wheels for it;
- install: the project editable with its test extra (``test``/``tests``/``testing``, else ``dev``),
  else a PEP 735 dependency group of those names, else a test requirements file; plus pytest;
- ``exclude_newer``: the day after the commit, so dependencies resolve as they did then.

A proposal is only a guess: the mining pipeline keeps it only if a task's gold patch validates.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import sys
from collections.abc import Mapping
from typing import Any

from swegym.envs.spec import EnvSpec
from swegym.errors import SwegymError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYTHON_RELEASES = {
    "3.6": "2016-12-23",
    "3.7": "2018-06-27",
    "3.8": "2019-10-14",
    "3.9": "2020-10-05",
    "3.10": "2021-10-04",
    "3.11": "2022-10-24",
    "3.12": "2023-10-02",
    "3.13": "2024-10-07",
    "3.14": "2025-10-07",
}
ADOPTION_DAYS = 183
TEST_EXTRAS = ("tests", "test", "testing")
DEV_EXTRAS = ("dev", "develop", "development")
TEST_REQUIREMENTS = (
    "requirements*test*.txt",
    "test*-requirements.txt",
    "requirements/test*.txt",
    "requirements/*test*.txt",
    "tests/requirements*.txt",
)
DEV_REQUIREMENTS = ("requirements*dev*.txt", "dev-requirements.txt", "requirements/dev*.txt")
BUILD_FILES = ("pyproject.toml", "setup.cfg", "setup.py")
SETUPTOOLS_EDITABLE_FROM = "2022-09-01"
"""setuptools gained PEP 660 editable installs (which uv needs) in 64.0, August 2022."""
SETUPTOOLS_EXEMPT_UNTIL = "2024-06-30"
TEST_CMD = "python -m pytest -rA -p no:cacheprovider"


class SpecProposalError(SwegymError):
    """No environment spec can be proposed for a version (e.g. no allowed Python here)."""


def wanted_files(all_files: list[str]) -> list[str]:
    """The build and requirement files a proposal reads, out of a tree's file list."""
    patterns = [*BUILD_FILES, *TEST_REQUIREMENTS, *DEV_REQUIREMENTS]
    return [f for f in all_files if any(fnmatch.fnmatch(f, p) for p in patterns)]


def _specifier_allows(spec: str, minor: str) -> bool:
    """Whether a requires-python specifier admits Python ``minor`` ('3.X'), approximately."""
    cand = (*[int(x) for x in minor.split(".")], 99)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        m = re.fullmatch(r"(~=|==|!=|<=|>=|<|>)\s*([\d.]+)(\.\*)?", clause)
        if not m:
            continue
        op, ver, wild = m.group(1), tuple(int(x) for x in m.group(2).split(".")), m.group(3)
        if wild or op == "~=":
            prefix = ver if wild else ver[:-1]
            hit = cand[: len(prefix)] == prefix
            ok = {"==": hit, "!=": not hit, "~=": hit and cand >= ver}.get(op, True)
        else:
            key = cand[: max(len(ver), 2)]
            ok = {
                "==": key == ver or cand[:2] == ver[:2],
                "!=": key != ver,
                "<=": cand[:2] <= ver[:2],
                ">=": cand >= ver,
                "<": cand[:2] < ver[:2] if len(ver) <= 2 else key < ver,
                ">": cand > ver,
            }[op]
        if not ok:
            return False
    return True


def _requires_python(files: Mapping[str, str], pyproject: dict[str, Any]) -> str | None:
    rp = pyproject.get("project", {}).get("requires-python")
    if isinstance(rp, str):
        return rp
    for name, rx in (
        ("setup.cfg", r"^\s*python_requires\s*=\s*(.+)$"),
        ("setup.py", r"python_requires\s*=\s*['\"]([^'\"]+)['\"]"),
    ):
        m = re.search(rx, files.get(name, ""), re.M)
        if m:
            return m.group(1).strip().strip("'\"")
    return None


def _classifier_max(files: Mapping[str, str]) -> tuple[int, int] | None:
    found = set()
    for text in files.values():
        for m in re.finditer(r"Programming Language :: Python :: (3)\.(\d+)\b", text):
            found.add((int(m.group(1)), int(m.group(2))))
    return max(found) if found else None


def choose_python(files: Mapping[str, str], date: dt.date, available: list[str]) -> str:
    """The Python minor version for a project at ``date`` among ``available`` ones."""
    pyproject = _toml(files.get("pyproject.toml"))
    rp = _requires_python(files, pyproject)
    top = _classifier_max(files)
    permitted = [v for v in available if rp is None or _specifier_allows(rp, v)]
    if not permitted:
        raise SpecProposalError(
            f"no Python available here satisfies requires-python {rp!r} (available: {', '.join(available)})"
        )
    allowed = [v for v in permitted if top is None or _key(v) <= top]
    if not allowed:
        # Classifiers only say what was tested; the oldest newer Python often still works, and
        # validation decides whether the proposal is kept.
        return min(permitted, key=_key)
    settled = [v for v in allowed if _released(v) + dt.timedelta(days=ADOPTION_DAYS) <= date]
    return max(settled, key=_key) if settled else min(allowed, key=_key)


def _key(v: str) -> tuple[int, int]:
    a, b = v.split(".")
    return int(a), int(b)


def _released(v: str) -> dt.date:
    return dt.date.fromisoformat(PYTHON_RELEASES.get(v, "2100-01-01"))


def _toml(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _extras(files: Mapping[str, str], pyproject: dict[str, Any]) -> set[str]:
    names = set(pyproject.get("project", {}).get("optional-dependencies", {}) or {})
    cfg = files.get("setup.cfg", "")
    section = re.search(r"^\[options\.extras_require\]\s*$(.*?)(?=^\[|\Z)", cfg, re.M | re.S)
    if section:
        names |= set(re.findall(r"^([A-Za-z0-9_.-]+)\s*=", section.group(1), re.M))
    setup_py = files.get("setup.py", "")
    if "extras_require" in setup_py.lower():
        names |= set(re.findall(r"['\"]([A-Za-z0-9_.-]+)['\"]\s*:\s*[\[(]", setup_py))
    return names


def _group(pyproject: dict[str, Any], name: str, depth: int = 0) -> list[str]:
    """A PEP 735 dependency group's requirements, with included groups expanded."""
    groups = pyproject.get("dependency-groups", {}) or {}
    out: list[str] = []
    for item in groups.get(name, []) if depth < 5 else []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            out += _group(pyproject, item["include-group"], depth + 1)
    return out


def _install(files: Mapping[str, str], pyproject: dict[str, Any]) -> tuple[list[str], list[str], str]:
    """(install args, extra packages, how) for the project's test dependencies."""
    extras = _extras(files, pyproject)
    groups = set(pyproject.get("dependency-groups", {}) or {})
    reqs = sorted(files)
    for names, patterns in ((TEST_EXTRAS, TEST_REQUIREMENTS), (DEV_EXTRAS, DEV_REQUIREMENTS)):
        for name in names:
            if name in extras:
                return ["-e", f".[{name}]"], [], f"extra [{name}]"
        for name in names:
            if name in groups:
                return ["-e", "."], _group(pyproject, name), f"dependency group {name}"
        for f in reqs:
            if any(fnmatch.fnmatch(f, p) for p in patterns):
                return ["-e", ".", "-r", f], [], f"requirements file {f}"
    return ["-e", "."], [], "the project alone"


def _uses_setuptools(files: Mapping[str, str], pyproject: dict[str, Any]) -> bool:
    backend = pyproject.get("build-system", {}).get("build-backend")
    if backend is None:
        return "setup.py" in files or "setup.cfg" in files
    return isinstance(backend, str) and backend.startswith("setuptools")


def propose_spec(
    repo: str, version: str, files: Mapping[str, str], date: dt.date, available: list[str]
) -> tuple[EnvSpec, dict[str, str]]:
    """An env spec for ``repo`` at ``version`` from its build files; and notes on each choice."""
    if not any(name in files for name in BUILD_FILES):
        raise SpecProposalError(f"{repo} {version}: no pyproject.toml, setup.cfg or setup.py")
    pyproject = _toml(files.get("pyproject.toml"))
    python = choose_python(files, date, available)
    install, packages, how = _install(files, pyproject)
    exclude_newer = (date + dt.timedelta(days=1)).isoformat()
    uv_args: list[str] = []
    if _uses_setuptools(files, pyproject) and exclude_newer < SETUPTOOLS_EDITABLE_FROM:
        # Isolated builds resolve setuptools as of the cutoff too; before 64.0 it has no PEP 660
        # hook and an editable install fails, so setuptools alone may be newer.
        uv_args = ["--exclude-newer-package", f"setuptools={SETUPTOOLS_EXEMPT_UNTIL}"]
    spec = EnvSpec(
        repo=repo,
        version=version,
        python=python,
        install=install,
        packages=[*packages, "pytest"],
        exclude_newer=exclude_newer,
        uv_args=uv_args,
        test_cmd=TEST_CMD,
        test_timeout=900,
    )
    notes = {"python": f"requires-python {_requires_python(files, pyproject)!r}", "install": how}
    return spec, notes


def specs_file(repo: str, specs: list[EnvSpec], notes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON object of a spec file (the format of ``swegym/envs/specs/*.json``)."""
    fields = {"python", "install", "packages", "pre_install", "exclude_newer", "uv_args", "test_cmd", "env"}
    versions = {s.version: s.model_dump(include={*fields, "test_timeout"}) for s in specs}
    out: dict[str, Any] = {"repo": repo, "versions": dict(sorted(versions.items(), key=lambda kv: kv[0]))}
    if notes:
        out["proposal_notes"] = dict(notes)
    return out
