"""Finding Python interpreters without going through shims (pyenv's shim breaks `uv --python`)."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from swegym.errors import InterpreterNotFoundError


@dataclass(frozen=True)
class Interpreter:
    """A real interpreter binary, its full version and the prefix it needs at run time."""

    executable: Path
    version: str
    prefix: Path


def _probe(exe: Path) -> Interpreter | None:
    code = "import sys,json;print(json.dumps([sys.version.split()[0],sys.base_prefix]))"
    try:
        out = subprocess.run([str(exe), "-c", code], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    version, prefix = json.loads(out.stdout)
    return Interpreter(exe.resolve(), version, Path(prefix).resolve())


def _pyenv_candidates(minor: str) -> list[Path]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if not root.is_dir():
        return []
    pattern = re.compile(rf"^{re.escape(minor)}\.(\d+)$")
    found = []
    for d in root.iterdir():
        m = pattern.match(d.name)
        exe = d / "bin" / f"python{minor}"
        if m and exe.exists():
            found.append((int(m.group(1)), exe))
    return [exe for _, exe in sorted(found, reverse=True)]


def _uv_find(minor: str) -> list[Path]:
    from swegym.envs.uvtool import uv_bin

    try:
        out = subprocess.run(
            [uv_bin(), "python", "find", "--no-python-downloads", minor],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [Path(out.stdout.strip())] if out.returncode == 0 and out.stdout.strip() else []


@functools.lru_cache(maxsize=32)
def find_interpreter(version: str) -> Interpreter:
    """Resolve 'X.Y' to a real interpreter: pyenv versions, then `uv python find`, then PATH."""
    if not re.fullmatch(r"\d+\.\d+", version):
        raise InterpreterNotFoundError(f"python '{version}': give a version like '3.11'")
    cands = _pyenv_candidates(version) + _uv_find(version)
    which = shutil.which(f"python{version}")
    if which and "shims" not in which:
        cands.append(Path(which))
    for exe in cands:
        interp = _probe(exe)
        if interp and interp.version.startswith(version + "."):
            return interp
    raise InterpreterNotFoundError(
        f"Python {version} is not installed: run `uv python install {version}` "
        f"(or `pyenv install {version}`) and retry"
    )
