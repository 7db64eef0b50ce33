"""What the builder does on the host before the sandboxed install: repo edits, submodules, tools.

Edits and submodule files are written into the build's overlay upper layer (never into the shared
repo), so the install sees them at /testbed; edits not marked ``keep`` are taken out again before
the layer becomes the env's ``repo-extra`` (:func:`restore_edits`).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from swegym.envs.recipe import RepoEdit, Submodule, SystemTool
from swegym.envs.spec import EnvSpec
from swegym.errors import EnvBuildError


def edit_text(edit: RepoEdit, text: str) -> str:
    """``text`` with ``edit`` applied (pure; line-based like sed)."""
    lines = text.splitlines(keepends=True)
    if edit.append is not None:
        sep = "" if not text or text.endswith("\n") else "\n"
        return text + sep + edit.append + "\n"
    if edit.insert_line is not None and edit.text is not None:
        at = min(edit.insert_line - 1, len(lines))
        return "".join([*lines[:at], edit.text + "\n", *lines[at:]])
    pattern = re.compile(edit.match or "")
    out = []
    for line in lines:
        body, nl = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        if edit.delete:
            if not pattern.search(body):
                out.append(line)
        else:
            out.append(pattern.sub(edit.replace or "", body) + nl)
    return "".join(out)


def apply_edits(spec: EnvSpec, repo_dir: Path, upper: Path, log: list[str]) -> list[str]:
    """Apply ``spec.edits`` in order into ``upper``; the files to put back after the build."""
    restore: list[str] = []
    for edit in spec.edits:
        layered, base = upper / edit.file, repo_dir / edit.file
        source = layered if layered.is_file() else base
        if not source.is_file() or source.is_symlink():
            if edit.missing_ok:
                log.append(f"swegym: edit of {edit.file} skipped: no such file")
                continue
            raise EnvBuildError(
                f"{spec.repo} {spec.version}: edit of '{edit.file}': no such file in the repo"
            )
        text = source.read_text(encoding="utf-8", errors="surrogateescape")
        layered.parent.mkdir(parents=True, exist_ok=True)
        layered.write_text(edit_text(edit, text), encoding="utf-8", errors="surrogateescape")
        shutil.copymode(base if base.exists() else source, layered)
        log.append(f"swegym: edited {edit.file}" + (" (kept)" if edit.keep else " (for the build only)"))
        if not edit.keep and edit.file not in restore:
            restore.append(edit.file)
        elif edit.keep and edit.file in restore:
            restore.remove(edit.file)
    return restore


def restore_edits(files: list[str], upper: Path) -> None:
    """Take build-only edits out of the upper layer: the base commit's file shows through again."""
    for rel in files:
        (upper / rel).unlink(missing_ok=True)


def _gitlink(repo_dir: Path, path: str) -> str | None:
    out = subprocess.run(
        ["git", "-C", str(repo_dir), "ls-tree", "HEAD", "--", path],
        capture_output=True,
        text=True,
        check=False,
    )
    parts = out.stdout.split()
    return parts[2] if out.returncode == 0 and len(parts) >= 3 and parts[1] == "commit" else None


def _export(source: str, commit: str, dest: Path) -> bool:
    """Write ``commit``'s tree of the git repo ``source`` into ``dest`` (no .git); False if absent."""
    try:
        blob = subprocess.run(
            ["git", "-C", source, "archive", "--format=tar", commit],
            capture_output=True,
            check=False,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    if blob.returncode != 0:
        return False
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return True


def fill_submodules(
    spec: EnvSpec, repo_dir: Path, upper: Path, mirrors: Mapping[str, str], log: list[str]
) -> None:
    """Export each empty submodule's commit from its mirror or URL into ``upper``."""
    for sub in spec.submodules:
        present = repo_dir / sub.path
        if present.is_dir() and any(present.iterdir()):
            log.append(f"swegym: submodule {sub.path} present in the repo")
            continue
        commit = _gitlink(repo_dir, sub.path)
        sources = [s for s in (mirrors.get(sub.mirror_key or ""), sub.url) if s]
        done = commit is not None and any(_fetched(sub, s, commit, upper) for s in sources)
        if done:
            log.append(f"swegym: submodule {sub.path} at {commit} exported into the env's repo layer")
            continue
        why = "no gitlink at HEAD" if commit is None else f"commit {commit} not in {' or '.join(sources)}"
        if sub.required:
            key = sub.mirror_key or "owner/name"
            raise EnvBuildError(
                f"{spec.repo} {spec.version}: submodule '{sub.path}' is empty and could not be filled "
                f"({why}); pass --mirror {key}=PATH to a clone that has it"
            )
        log.append(f"swegym: submodule {sub.path} left empty ({why})")


def _fetched(sub: Submodule, source: str, commit: str, upper: Path) -> bool:
    """Export from a local clone; a remote URL is cloned bare into a temp dir first."""
    if Path(source).is_dir():
        return _export(source, commit, upper / sub.path)
    tmp = upper.parent / f"submodule-{abs(hash(sub.path))}.git"
    try:
        got = subprocess.run(
            ["git", "clone", "--bare", "--quiet", source, str(tmp)],
            capture_output=True,
            check=False,
            timeout=900,
        )
        return got.returncode == 0 and _export(str(tmp), commit, upper / sub.path)
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def missing_tools(tools: list[SystemTool]) -> list[SystemTool]:
    """The tools not found on the host PATH (the build sandbox sees the host's /usr)."""
    return [t for t in tools if shutil.which(t.command) is None]


def check_tools(spec: EnvSpec) -> None:
    """Fail early, in one line, when a program the recipe needs is not installed."""
    missing = missing_tools(spec.requires)
    if missing:
        names = ", ".join(
            f"{t.command} ({t.debian or 'no Debian package named'}; {t.needed_for})" for t in missing
        )
        debs = " ".join(t.debian for t in missing if t.debian)
        hint = f": apt-get install {debs}" if debs else ""
        raise EnvBuildError(f"building {spec.repo} {spec.version} needs {names} on the host{hint}")


def build_requires(repo_dir: Path) -> list[str]:
    """The ``[build-system] requires`` of the repo's pyproject.toml (none when it has none)."""
    path = repo_dir / "pyproject.toml"
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EnvBuildError(f"{path}: not valid TOML ({exc}); a build_requires step needs it") from None
    reqs = [r for r in data.get("build-system", {}).get("requires", []) if isinstance(r, str)]
    # oldest-supported-numpy pins the oldest numpy, for isolated builds only; in a shared env it
    # would hold numpy below the project's runtime minimum, so the env takes plain numpy.
    return ["numpy" if re.match(r"oldest[-_.]supported[-_.]numpy\b", r, re.I) else r for r in reqs]


def with_build_requires(spec: EnvSpec, repo_dir: Path) -> EnvSpec:
    """``spec`` with each ``build_requires`` step's packages extended by the repo's build requires."""
    steps = spec.install_steps()
    if not any(s.build_requires for s in steps):
        return spec
    reqs = build_requires(repo_dir)
    new = [s.model_copy(update={"packages": [*reqs, *s.packages]}) if s.build_requires else s for s in steps]
    return spec.model_copy(update={"steps": new})
