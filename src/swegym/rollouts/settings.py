"""A run's settings, kept in its store so that a resumed run cannot silently change them."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from swegym.agent.loop import AgentConfig
from swegym.errors import SwegymError
from swegym.rollouts.store import RunStore

RESUMABLE = frozenset({"tasks"})
"""Settings a resumed run may change (more tasks can join a run)."""
OPTIONAL = ("local_backend", "tool_grammar")
"""Settings only some runs have; left out of the record when unset."""


class RunSettings(BaseModel):
    """What shapes a run's episodes: the same settings on resume, or another run directory."""

    model: str
    base_url: str | None = None
    temperature: float = 0.0
    tasks: str = ""
    agent: AgentConfig
    local_backend: str | None = None
    """The built-in model's server (only for a run that starts it)."""
    tool_grammar: bool | None = None
    """Whether the built-in model's replies were constrained to one well-formed tool call."""


def record_settings(store: RunStore, run_dir: Path, settings: RunSettings) -> None:
    """Store ``settings`` in the run; a one-line `SwegymError` if the run holds other ones."""
    current = settings.model_dump(mode="json")
    for key in OPTIONAL:
        if current[key] is None:
            del current[key]  # runs made before these settings existed compare without them
    previous = store.get_meta("settings") or {}
    changed = sorted(k for k in current if k not in RESUMABLE and k in previous and previous[k] != current[k])
    if changed:
        raise SwegymError(
            f"{run_dir} holds a run made with other settings ({', '.join(changed)}); resume with the "
            "same settings or pick another --out"
        )
    store.set_meta("settings", current)
