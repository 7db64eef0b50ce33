"""Where a synthesis run's clean source comes from: ``pypi:NAME==VERSION`` or ``git:URL@REV``.

``synth_config`` turns a ``--source`` and the run's settings into a ``SynthConfig`` (for a PyPI
source the env spec's repo is guessed from the spec table, the version is the release's);
``resolve_commit`` finds the commit to build on (and an sdist's sha256, recorded in the tasks).
"""

from __future__ import annotations

import re
from typing import Any

from swegym.curate.synth.config import SynthConfig
from swegym.envs.spec import SpecDirs
from swegym.errors import SwegymError


def repo_for(project: str, spec_dirs: SpecDirs = ()) -> str:
    """The spec table's repo whose name is ``project`` (e.g. 'click' -> 'pallets/click')."""
    from swegym.envs.spec import load_spec_table

    norm = re.sub(r"[-_.]+", "-", project).lower()
    table = load_spec_table(spec_dirs)
    hits = [r for r in table if re.sub(r"[-_.]+", "-", r.split("/")[1]).lower() == norm]
    if len(hits) != 1:
        why = "no spec names it" if not hits else f"several specs match: {', '.join(hits)}"
        raise SwegymError(f"--source {project}: {why}; pass --repo OWNER/NAME")
    return hits[0]


def synth_config(
    source: str, *, repo: str | None = None, version: str | None = None, **settings: Any
) -> SynthConfig:
    """The config of a run on ``source`` (``settings``: the other ``SynthConfig`` fields).

    A ``git:`` source needs ``repo`` and ``version``; a ``pypi:`` one guesses them. Raises
    ``SwegymError`` (one line, naming the option to fix) for a source it cannot use.
    """
    from swegym.sources.pypi import parse_pypi_source

    if source.startswith("pypi:"):
        ref = parse_pypi_source(source)
        repo = repo or repo_for(ref.name)
        return SynthConfig(
            source=source, project=ref.name, repo=repo, version=version or ref.version, **settings
        )
    if source.startswith("git:"):
        url, _, rev = source[4:].rpartition("@")
        if not url or not rev or not repo or not version:
            raise SwegymError(f"--source {source}: use git:URL@REV with --repo OWNER/NAME and --version KEY")
        return SynthConfig(
            source=url, rev=rev, project=repo.split("/")[1], repo=repo, version=version, **settings
        )
    raise SwegymError(f"--source {source}: expected pypi:NAME==VERSION or git:URL@REV")


def resolve_commit(cfg: SynthConfig) -> tuple[str, str | None]:
    """(commit of the clean source, sha256 of its sdist or None) for ``cfg.source``."""
    from swegym.sources.gitsource import resolve_rev
    from swegym.sources.materialize import resolve_source
    from swegym.sources.pypi import download_sdist, parse_pypi_source

    if cfg.source.startswith("pypi:"):
        _, commit = resolve_source(cfg.source, cfg.repo)
        _, sha = download_sdist(parse_pypi_source(cfg.source))
        return commit, sha
    return resolve_rev(cfg.source, cfg.rev or "HEAD"), None
