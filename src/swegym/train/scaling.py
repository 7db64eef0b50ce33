"""`swegym experiment scaling`: SFT on nested subsets of N1 < N2 < ... trajectories, roll out each.

SWE-Gym's data-scaling study (122/245/491 trajectories) as one command: the SFT dataset is built
once, shuffled once with the seed, and each size takes a prefix of it, so subsets are nested. Each
merged model is served by ``serve_cmd`` (vLLM by default), rolled out with ``swegym rollout`` against
that OpenAI-compatible endpoint, and its resolve rate recorded.
"""

from __future__ import annotations

import itertools
import json
import random
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field, ValidationError, field_validator

from swegym.errors import TrainError
from swegym.harness.verdict import Outcome
from swegym.metrics.schema import Report
from swegym.train.deps import require


class ScalingConfig(BaseModel):
    """The experiment file (JSON or TOML) of `swegym experiment scaling`."""

    runs: list[Path]
    """Rollout runs whose resolved episodes are the training pool."""
    tasks: str = "bundled:lite"
    """Tasks to evaluate each fine-tuned model on."""
    sizes: list[int]
    """Training-set sizes, strictly increasing (nested subsets)."""
    model: str = "local"
    out: Path = Path("experiments/scaling")
    sft: dict[str, Any] = Field(default_factory=lambda: {"preset": "paper"})
    """`swegym train sft` settings (`preset` plus any TrainConfig field)."""
    serve_cmd: str = "vllm serve {model} --port {port} --served-model-name {name} --max-model-len 32768"
    """How to serve a merged checkpoint; `{model}`, `{port}` and `{name}` are filled in."""
    port: int = 8000
    k: int = Field(default=1, ge=1)
    temperature: float = 0.0
    max_turns: int = Field(default=30, ge=1)
    rollout_args: list[str] = Field(default_factory=list)
    """Extra arguments for `swegym rollout` (e.g. ["--workers", "8"])."""
    seed: int = 0

    @field_validator("sizes")
    @classmethod
    def _increasing(cls, v: list[int]) -> list[int]:
        if not v or any(b <= a for a, b in itertools.pairwise(v)) or v[0] < 1:
            raise ValueError("sizes must be positive and strictly increasing, e.g. [122, 245, 491]")
        return v


def load_scaling_config(path: Path) -> ScalingConfig:
    """Read a JSON or TOML experiment file."""
    if not path.is_file():
        raise TrainError(f"{path}: no such experiment file")
    text = path.read_text()
    if path.suffix == ".toml":
        try:
            import tomllib as toml
        except ImportError:  # Python 3.10
            import tomli as toml
        raw = toml.loads(text)
    else:
        raw = json.loads(text)
    try:
        return ScalingConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise TrainError(f"{path}: field '{where}': {err['msg']}") from None


def nested_subsets(n_rows: int, sizes: list[int], seed: int) -> list[list[int]]:
    """Row indices for each size: prefixes of one seeded permutation, so each contains the last."""
    if sizes[-1] > n_rows:
        raise TrainError(f"the largest size {sizes[-1]} is above the {n_rows} trajectories available")
    order = list(range(n_rows))
    random.Random(seed).shuffle(order)
    return [sorted(order[:n]) for n in sizes]


def _serve(cfg: ScalingConfig, model_dir: Path, name: str) -> subprocess.Popen[bytes]:
    cmd = cfg.serve_cmd.format(model=shlex.quote(str(model_dir)), port=cfg.port, name=name)
    proc = subprocess.Popen(shlex.split(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 900
    while time.time() < deadline:
        if proc.poll() is not None:
            raise TrainError(f"the model server exited with status {proc.returncode}: {cmd}")
        try:
            if httpx.get(f"http://127.0.0.1:{cfg.port}/v1/models", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(2)
    proc.terminate()
    raise TrainError(f"the model server did not answer within 15 minutes: {cmd}")


def _rollout(cfg: ScalingConfig, name: str, run: Path) -> float:
    cmd = [sys.executable, "-m", "swegym", "rollout", "--tasks", cfg.tasks, "--model", name]
    cmd += ["--base-url", f"http://127.0.0.1:{cfg.port}/v1", "--k", str(cfg.k), "--out", str(run)]
    cmd += ["--temperature", str(cfg.temperature), "--max-turns", str(cfg.max_turns), *cfg.rollout_args]
    done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        raise TrainError(f"rollout of {name} failed (status {done.returncode}); see {run}")
    report = Report.model_validate_json((run / "report.json").read_text())
    episodes = report.totals.episodes
    failed = sum(report.outcomes.get(str(o), 0) for o in (Outcome.MODEL_ERROR, Outcome.INFRA_ERROR))
    if episodes and failed == episodes:
        # A resolve rate of 0 from episodes that never reached the model would be a false result.
        raise TrainError(f"every episode of {name} failed with a model or infrastructure error; see {run}")
    if report.totals.resolve_rate is None:
        raise TrainError(f"no episode of {name} was graded; see {run}")
    return report.totals.resolve_rate


def run_scaling(cfg: ScalingConfig) -> dict[str, Any]:
    """Fine-tune and evaluate one model per size; write ``scaling.json``; return it."""
    from swegym.train.sft import SFTConfig, apply_preset, run_sft
    from swegym.train.sft_data import SFTDataConfig, write_sft_dataset

    datasets = require("datasets")
    data_dir = cfg.out / "data"
    write_sft_dataset(SFTDataConfig(runs=cfg.runs, out=data_dir, model=cfg.model, seed=cfg.seed))
    full = datasets.load_from_disk(str(data_dir / "dataset"))
    results = []
    sft = dict(cfg.sft)
    settings = apply_preset(sft.pop("preset", None), sft)
    for n, idx in zip(cfg.sizes, nested_subsets(len(full), cfg.sizes, cfg.seed), strict=True):
        sub = cfg.out / f"data-{n}"
        full.select(idx).save_to_disk(str(sub / "dataset"))
        ckpt = cfg.out / f"ckpt-{n}"
        run_sft(SFTConfig(data=sub, model=cfg.model, out=ckpt, **settings))
        # A server told the name serves it (vLLM's --served-model-name); one that is not (e.g.
        # `transformers serve PATH`) answers to the model's path.
        name = f"swegym-sft-{n}" if "{name}" in cfg.serve_cmd else str(ckpt / "merged")
        server = _serve(cfg, ckpt / "merged", name)
        try:
            rate = _rollout(cfg, name, cfg.out / f"runs-{n}")
        finally:
            server.terminate()
            server.wait(timeout=60)
        results.append({"trajectories": n, "resolve_rate": rate, "checkpoint": str(ckpt)})
        (cfg.out / "scaling.json").write_text(json.dumps({"results": results}, indent=2))
    return {"results": results, "out": str(cfg.out)}
