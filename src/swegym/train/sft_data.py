"""Rejection sampling into SFT data: resolved episodes as a TRL conversational dataset, with stats."""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from swegym.agent.schemas import TOOLS
from swegym.errors import TrainError
from swegym.rollouts.records import EpisodeRecord
from swegym.train.chat import prepare_messages, to_text_format, tokenize_conversation
from swegym.train.deps import quiet_hf, require
from swegym.train.episodes import load_episodes, require_resolved


class SFTDataConfig(BaseModel):
    """How `swegym train data sft` turns runs into a dataset."""

    runs: list[Path]
    """Rollout runs (`runs/NAME`) to take resolved episodes from."""
    out: Path
    """Output directory: a Hugging Face dataset (`save_to_disk`) plus `stats.json`."""
    model: str = "local"
    """The target model's tokenizer: counts tokens and drops over-length trajectories."""
    max_per_task: int | None = Field(default=None, ge=1)
    """Keep at most this many trajectories per task (chosen at random with `seed`)."""
    dedupe: bool = True
    """Drop trajectories whose assistant turns repeat an earlier one exactly."""
    max_tokens: int | None = Field(default=None, ge=16)
    """Drop trajectories longer than this many tokens under the target chat template."""
    text_tool_calls: bool = False
    """Render tool calls in SWE-Gym's `<function=...>` text format instead of native tool calls."""
    seed: int = 0


def _clean(msg: dict[str, Any]) -> dict[str, Any]:
    """A message in TRL's conversational shape: every row has the same keys (Arrow needs that)."""
    return {
        "role": msg["role"],
        "content": msg.get("content") or "",
        "tool_calls": msg.get("tool_calls") or [],
        "tool_call_id": msg.get("tool_call_id") or "",
        "name": msg.get("name") or "",
    }


def strip_empty(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages without the empty fields that :func:`_clean` added (templates test for presence)."""
    return [{k: v for k, v in m.items() if v or k in ("role", "content")} for m in messages]


def _action_key(messages: list[dict[str, Any]]) -> str:
    acts = [(m.get("content"), m.get("tool_calls")) for m in messages if m["role"] == "assistant"]
    return hashlib.sha256(json.dumps(acts, sort_keys=True, default=str).encode()).hexdigest()


def select(cfg: SFTDataConfig, episodes: list[EpisodeRecord]) -> tuple[list[EpisodeRecord], dict[str, int]]:
    """Resolved (never tampered) episodes after dedupe and the per-task cap; counts of what was
    dropped."""
    good = require_resolved(episodes, "SFT data")
    dropped = {"duplicates": 0, "over_cap": 0}
    seen: set[str] = set()
    by_task: dict[str, list[EpisodeRecord]] = defaultdict(list)
    for ep in good:
        key = _action_key(ep.messages or [])
        if cfg.dedupe and key in seen:
            dropped["duplicates"] += 1
            continue
        seen.add(key)
        by_task[ep.instance_id].append(ep)
    rng = random.Random(cfg.seed)
    kept: list[EpisodeRecord] = []
    for task in sorted(by_task):
        eps = by_task[task]
        if cfg.max_per_task is not None and len(eps) > cfg.max_per_task:
            dropped["over_cap"] += len(eps) - cfg.max_per_task
            eps = sorted(rng.sample(eps, cfg.max_per_task), key=lambda e: (e.run or "", e.sample))
        kept.extend(eps)
    return kept, dropped


def build_rows(cfg: SFTDataConfig, episodes: list[EpisodeRecord], tokenizer: Any) -> dict[str, Any]:
    """Dataset rows and stats (see :func:`write_sft_dataset`)."""
    kept, dropped = select(cfg, episodes)
    dropped["over_length"] = 0
    rows = []
    for ep in kept:
        msgs = [_clean(m) for m in ep.messages or []]
        if cfg.text_tool_calls:
            msgs = [_clean(m) for m in to_text_format(strip_empty(msgs), TOOLS)]
        shown, tools = prepare_messages(tokenizer, strip_empty(msgs), TOOLS, cfg.text_tool_calls)
        n_tokens = len(tokenize_conversation(tokenizer, shown, tools)["input_ids"])
        if cfg.max_tokens is not None and n_tokens > cfg.max_tokens:
            dropped["over_length"] += 1
            continue
        rows.append(
            {
                "messages": msgs,
                "tools": json.dumps(TOOLS),
                "instance_id": ep.instance_id,
                "repo": ep.repo,
                "run": ep.run,
                "sample": ep.sample,
                "turns": sum(1 for m in msgs if m["role"] == "assistant"),
                "tokens": n_tokens,
            }
        )
    if not rows:
        raise TrainError(
            f"no trajectory left after filtering ({dropped}); raise --max-tokens or --max-per-task"
        )
    return {"rows": rows, "stats": sft_stats(episodes, rows, dropped)}


def sft_stats(
    episodes: list[EpisodeRecord], rows: list[dict[str, Any]], dropped: dict[str, int]
) -> dict[str, Any]:
    """Per repository: episodes read, resolved share, trajectories kept, tokens and turns."""
    per: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"episodes": 0, "resolved": 0, "kept": 0, "tokens": 0, "turns": 0}
    )
    for ep in episodes:
        per[ep.repo]["episodes"] += 1
        per[ep.repo]["resolved"] += int(bool(ep.resolved))
    for r in rows:
        p = per[r["repo"]]
        p["kept"] += 1
        p["tokens"] += r["tokens"]
        p["turns"] += r["turns"]
    table = []
    for repo in sorted(per):
        p = per[repo]
        table.append(
            {
                "repo": repo,
                **p,
                "resolved_share": p["resolved"] / p["episodes"] if p["episodes"] else 0.0,
                "mean_tokens": p["tokens"] / p["kept"] if p["kept"] else 0.0,
                "mean_turns": p["turns"] / p["kept"] if p["kept"] else 0.0,
            }
        )
    n_res = sum(int(bool(e.resolved)) for e in episodes)
    totals = {
        "episodes": len(episodes),
        "resolved": n_res,
        "tampered": sum(1 for e in episodes if e.tampered),  # read, and never kept
        "resolved_share": n_res / len(episodes),
        "trajectories": len(rows),
        "tasks": len({r["instance_id"] for r in rows}),
        "tokens": sum(r["tokens"] for r in rows),
        "max_tokens": max(r["tokens"] for r in rows),
        "turns": sum(r["turns"] for r in rows),
        "dropped": dropped,
    }
    return {"totals": totals, "per_repo": table}


def write_sft_dataset(cfg: SFTDataConfig) -> dict[str, Any]:
    """Build the SFT dataset of ``cfg`` and save it with its ``stats.json``; return the stats.

    Rows follow TRL's conversational shape: ``messages`` (OpenAI chat messages, tool calls with
    JSON-string arguments) and ``tools`` (the JSON tool schemas), plus provenance columns.
    """
    from swegym.train.models import load_tokenizer

    datasets = require("datasets")
    quiet_hf()
    episodes = load_episodes(cfg.runs)
    require_resolved(episodes, "SFT data")  # before loading (or converting) the model: fail fast
    tokenizer = load_tokenizer(cfg.model)
    built = build_rows(cfg, episodes, tokenizer)
    cfg.out.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(built["rows"]).save_to_disk(str(cfg.out / "dataset"))
    stats = {**built["stats"], "config": json.loads(cfg.model_dump_json())}
    (cfg.out / "stats.json").write_text(json.dumps(stats, indent=2))
    return stats


def render_stats(stats: dict[str, Any]) -> str:
    """A small text table of :func:`sft_stats`."""
    t = stats["totals"]
    lines = [
        f"{t['trajectories']} trajectories from {t['tasks']} tasks; {t['resolved']}/{t['episodes']} episodes "
        f"resolved ({100 * t['resolved_share']:.1f}%); {t['tokens']} tokens, {t['turns']} assistant turns; "
        f"dropped {t['dropped']}",
        f"{'repo':30} {'episodes':>8} {'resolved%':>9} {'kept':>5} {'tokens/traj':>11} {'turns/traj':>10}",
    ]
    for r in stats["per_repo"]:
        lines.append(
            f"{r['repo'][:30]:30} {r['episodes']:>8} {100 * r['resolved_share']:>8.1f}% {r['kept']:>5} "
            f"{r['mean_tokens']:>11.0f} {r['mean_turns']:>10.1f}"
        )
    return "\n".join(lines)
