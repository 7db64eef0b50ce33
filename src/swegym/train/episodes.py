"""Reading finished episodes from one or more rollout runs, with one clear line for bad runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from swegym.errors import TrainError
from swegym.rollouts.records import EpisodeRecord
from swegym.rollouts.store import RunStore


def load_episodes(runs: list[Path], *, with_messages: bool = True) -> list[EpisodeRecord]:
    """Finished, graded episodes of ``runs`` (each tagged with ``run``), in run order.

    Raises :class:`TrainError` for a path that is not a run, an unreadable database, or runs that
    hold no finished episode at all.
    """
    if not runs:
        raise TrainError("no run given: pass --runs runs/NAME (made by `swegym rollout`)")
    out: list[EpisodeRecord] = []
    for run in runs:
        if not run.exists():
            raise TrainError(f"{run}: no such run directory")
        store = RunStore(run, create=False)
        try:
            for ep in store.episodes(with_messages=with_messages):
                if with_messages and not _well_formed(ep.messages or []):
                    raise TrainError(
                        f"{run}: episode {ep.instance_id}#{ep.sample} has malformed messages "
                        "(expected system/user first, then assistant turns)"
                    )
                ep.run = str(run)
                out.append(ep)
        except TrainError:
            raise
        except Exception as exc:  # a corrupt or foreign SQLite file
            raise TrainError(f"{run}: cannot read the run's episodes ({exc})") from None
        finally:
            store.close()
    if not out:
        raise TrainError(f"{', '.join(map(str, runs))}: no finished episode in the run(s)")
    return out


def _well_formed(messages: list[dict[str, Any]]) -> bool:
    roles = [m.get("role") for m in messages]
    return (
        len(roles) >= 2
        and all(r in ("system", "user", "assistant", "tool") for r in roles)
        and "assistant" in roles
    )


def require_resolved(episodes: list[EpisodeRecord], what: str) -> list[EpisodeRecord]:
    """The resolved episodes, or one line saying that none resolved. A tampered episode is never
    among them, even one that claims to be resolved (built without validation, say): training on
    a run that forged its test results would teach the forgery."""
    good = [e for e in episodes if e.resolved and not e.tampered]
    if not good:
        raise TrainError(
            f"{what} needs resolved episodes, and none of the {len(episodes)} episodes resolved its task"
        )
    return good
