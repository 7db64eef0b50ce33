"""PyPI sdists as sources: download (verified by sha256) and import into a deterministic git repo."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from swegym.config import sub_cache
from swegym.errors import SourceError
from swegym.sources.gitutil import git

DEFAULT_INDEX = "https://pypi.org/simple/"
_SPEC = re.compile(r"^pypi:(?P<name>[A-Za-z0-9._-]+)==(?P<version>[A-Za-z0-9.!+_-]+)$")


@dataclass(frozen=True)
class SdistRef:
    """A parsed ``pypi:NAME==VERSION`` source."""

    name: str
    version: str

    @property
    def normalized(self) -> str:
        return re.sub(r"[-_.]+", "-", self.name).lower()

    def __str__(self) -> str:
        return f"pypi:{self.name}=={self.version}"


def parse_pypi_source(source: str) -> SdistRef:
    """Parse ``pypi:NAME==VERSION``; raise ``SourceError`` on anything else."""
    m = _SPEC.match(source.strip())
    if not m:
        raise SourceError(f"{source!r}: a PyPI source must look like 'pypi:NAME==VERSION'")
    return SdistRef(m["name"], m["version"])


def index_url() -> str:
    """The package index, honouring the user's uv and pip settings."""
    for var in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(var):
            return os.environ[var].rstrip("/") + "/"
    return DEFAULT_INDEX


def _fetch(url: str, accept: str | None = None) -> bytes:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return bytes(resp.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SourceError(f"{url}: download failed ({exc})") from None


def _find_sdist(ref: SdistRef) -> tuple[str, str, str]:
    """Return (filename, url, sha256) of the sdist from the index's JSON simple API."""
    page = urljoin(index_url(), f"{ref.normalized}/")
    raw = _fetch(page, accept="application/vnd.pypi.simple.v1+json")
    try:
        files = json.loads(raw)["files"]
    except (json.JSONDecodeError, KeyError):
        raise SourceError(f"{page}: the index did not answer with the JSON simple API") from None
    stems = {f"{n}-{ref.version}" for n in (ref.name, ref.normalized, ref.normalized.replace("-", "_"))}
    for f in files:
        fname = f["filename"]
        if fname.endswith(".tar.gz") and fname[: -len(".tar.gz")].lower() in {s.lower() for s in stems}:
            sha = f.get("hashes", {}).get("sha256")
            if not sha:
                raise SourceError(f"{fname}: the index gives no sha256 for it; cannot verify")
            return fname, urljoin(page, f["url"]), sha
    raise SourceError(f"{ref}: no sdist (.tar.gz) for this version on {index_url()}")


def download_sdist(ref: SdistRef, expected_sha256: str | None = None) -> tuple[Path, str]:
    """Download (or reuse from cache) the sdist; return its path and verified sha256."""
    cache = sub_cache("sdists")
    meta_path = cache / f"{ref.normalized}-{ref.version}.json"
    meta = _read_json(meta_path)
    if meta is not None:
        path = cache / meta["filename"]
        if path.exists() and _sha256(path) == meta["sha256"]:
            _check_sha(ref, meta["sha256"], expected_sha256)
            return path, meta["sha256"]
    fname, url, sha = _find_sdist(ref)
    _check_sha(ref, sha, expected_sha256)
    data = _fetch(url)
    got = hashlib.sha256(data).hexdigest()
    if got != sha:
        raise SourceError(f"{fname}: sha256 mismatch (index says {sha[:12]}, got {got[:12]})")
    path = cache / fname
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    tmp_meta = meta_path.with_suffix(".tmp")
    tmp_meta.write_text(json.dumps({"filename": fname, "sha256": sha, "url": url}))
    tmp_meta.replace(meta_path)
    return path, sha


def _read_json(path: Path) -> dict[str, str] | None:
    """A small JSON marker, or None if it is missing or unreadable (then it is rebuilt)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _check_sha(ref: SdistRef, sha: str, expected: str | None) -> None:
    if expected and expected != sha:
        raise SourceError(f"{ref}: sdist sha256 is {sha[:12]}, the task expects {expected[:12]}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _safe_extract(archive: Path, dest: Path) -> Path:
    """Unpack an sdist without letting any member (or link) land outside ``dest``."""
    root = dest.resolve()
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for m in members:
            target = (root / m.name).resolve()
            if not target.is_relative_to(root) or m.isdev():
                raise SourceError(f"{archive.name}: unsafe member {m.name!r}")
            if m.issym() or m.islnk():
                # Checked before anything exists on disk, a chain of links could still escape,
                # so an sdist with a link pointing outside its own tree is refused outright.
                base = root if m.islnk() else target.parent
                if not (base / m.linkname).resolve().is_relative_to(root) or os.path.isabs(m.linkname):
                    raise SourceError(f"{archive.name}: link {m.name!r} points outside the archive")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # Python without extraction filters: no links at all
            if any(m.issym() or m.islnk() for m in members):
                raise SourceError(
                    f"{archive.name}: links in an sdist need Python >= 3.10.12 to unpack safely"
                )
            tar.extractall(dest, members=members)
    uid, gid = os.geteuid(), os.getegid()
    for dirpath, dirs, files in os.walk(dest):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(dirpath, name), uid, gid)
    tops = list(dest.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        raise SourceError(f"{archive.name}: expected one top-level directory in the sdist")
    return tops[0]


def import_sdist(archive: Path, ref: SdistRef, sha256: str, dest: Path) -> str:
    """Unpack ``archive`` into ``dest`` as a one-commit git repo; return the commit id.

    Author, committer, dates and message are fixed, so the same sdist always gives the same id.
    """
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        top = _safe_extract(archive, Path(tmp))
        shutil.move(str(top), dest)
    git(dest, "init", "-q", "--initial-branch=main")
    git(dest, "add", "--all", "--force", ".")
    git(
        dest,
        "commit",
        "-q",
        "--no-verify",
        "-m",
        f"Import {ref.name} {ref.version} sdist\n\nsha256: {sha256}",
    )
    return git(dest, "rev-parse", "HEAD").strip()
