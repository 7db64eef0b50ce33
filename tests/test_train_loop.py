"""The whole training loop on a CPU with a tiny real model (SmolLM2-135M from PyPI).

rollouts (oracle, wrong, and the local model) -> SFT data -> SFT steps -> verifier data ->
verifier steps -> rerank -> report, each artifact checked. Stage timings go to
$SWEGYM_TRAIN_TIMINGS when set (benchmarks/train_cpu.py uses that).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import labelled
from swegym.tasks.export import export_tasks
from swegym.tasks.model import Task

pytest.importorskip("trl")
pytest.importorskip("peft")
pytestmark = pytest.mark.sandbox

TIMINGS: dict[str, float] = {}


def swegym(*args: str, timeout: int = 1800) -> str:
    start = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "swegym", *args], capture_output=True, text=True, timeout=timeout
    )
    stage = " ".join(a for a in args[:3] if not a.startswith("-"))
    TIMINGS[stage] = TIMINGS.get(stage, 0.0) + round(time.perf_counter() - start, 1)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def runs(calc_task: Task, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("train-loop")
    src = root / "tasks.jsonl"
    export_tasks(labelled(calc_task, 2), src)
    out = {"root": root, "tasks": src}
    for name, extra in (
        ("oracle", ["--k", "2"]),
        ("wrong", ["--k", "2"]),
        ("local", ["--k", "1", "--id", "fixture__calc-0", "--max-turns", "2", "--max-tokens", "48"]),
    ):
        out[name] = root / "runs" / name
        swegym("rollout", "--tasks", str(src), "--model", name, "--out", str(out[name]), *extra)
    yield out
    print("stage timings (s):", json.dumps(TIMINGS))
    if os.environ.get("SWEGYM_TRAIN_TIMINGS"):
        Path(os.environ["SWEGYM_TRAIN_TIMINGS"]).write_text(json.dumps(TIMINGS, indent=2))


def _losses(ckpt: Path) -> list[float]:
    return [p["loss"] for p in json.loads((ckpt / "loss.json").read_text())]


def check_sft_data(data: Path) -> list[dict[str, Any]]:
    from datasets import load_from_disk

    rows = list(load_from_disk(str(data / "dataset")))
    stats = json.loads((data / "stats.json").read_text())
    assert len(rows) == 4 and {r["run"].rsplit("/", 1)[-1] for r in rows} == {"oracle"}
    assert stats["totals"]["episodes"] == 9 and stats["totals"]["resolved"] == 4
    assert stats["per_repo"][0]["repo"] == "fixture/calc" and stats["per_repo"][0]["kept"] == 4
    assert all(json.loads(r["tools"])[0]["function"]["name"] == "execute_bash" for r in rows)
    assert any(m["tool_calls"] for m in rows[0]["messages"] if m["role"] == "assistant")
    return rows


def check_label_mask(rows: list[dict[str, Any]]) -> None:
    from swegym.train.models import load_tokenizer
    from swegym.train.sft import tokenize_rows

    tok = load_tokenizer("local")
    for enc in tokenize_rows(rows, tok, text_tool_calls=False):
        ids, mask, labels = enc["input_ids"], enc["assistant_masks"], enc["labels"]
        assert all((lab == -100) == (m == 0) for lab, m in zip(labels, mask, strict=True))
        learnt = tok.decode([t for t, m in zip(ids, mask, strict=True) if m])
        ignored = tok.decode([t for t, m in zip(ids, mask, strict=True) if not m])
        assert "<function=execute_bash>" in learnt and "<function=finish>" in learnt
        assert "EXECUTION RESULT" not in learnt and "<|im_start|>assistant" not in learnt
        assert "EXECUTION RESULT" in ignored and "clamp(50, 0, 10)" in ignored
        assert learnt.count("<|im_end|>") == sum(1 for m in rows[0]["messages"] if m["role"] == "assistant")


def check_adapter_reload(ckpt: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from swegym.train.trainer import load_adapter_model

    ids = torch.tensor([[1, 520, 9531, 198, 73, 2097, 13465]])
    with torch.no_grad():
        a = load_adapter_model(ckpt).eval()(ids).logits
        b = AutoModelForCausalLM.from_pretrained(str(ckpt / "merged")).eval()(ids).logits
    assert torch.allclose(a, b, atol=1e-3), float((a - b).abs().max())


@pytest.mark.timeout(5400)  # a few minutes alone on 2 cores; much more on a shared, loaded machine
def test_cpu_training_loop(runs: dict[str, Path]) -> None:
    root = runs["root"]
    sft_data = root / "data-sft"
    out = swegym(
        "train", "data", "sft", "--runs", str(runs["oracle"]), "--runs", str(runs["wrong"]),
        "--runs", str(runs["local"]), "--max-per-task", "2", "--out", str(sft_data),
    )  # fmt: skip
    assert "fixture/calc" in out and "resolved" in out
    rows = check_sft_data(sft_data)
    check_label_mask(rows)

    ckpt = root / "ckpt-sft"
    args = ["--data", str(sft_data), "--model", "local", "--out", str(ckpt), "--preset", "cpu-tiny"]
    swegym("train", "sft", *args, "--max-steps", "4")
    losses = _losses(ckpt)
    assert len(losses) == 4 and sum(losses[-2:]) < sum(losses[:2]), losses
    assert (ckpt / "loss.png").stat().st_size > 1000
    assert (ckpt / "adapter" / "adapter_config.json").exists()
    assert (ckpt / "merged" / "config.json").exists() and (ckpt / "merged" / "model.safetensors").exists()
    check_adapter_reload(ckpt)
    again = swegym("train", "sft", *args, "--max-steps", "5")
    assert "resumed from" in again and "checkpoint-4" in again and len(_losses(ckpt)) == 5

    ver_data = root / "data-verifier"
    out = swegym(
        "train", "data", "verifier", "--runs", str(runs["oracle"]), "--runs", str(runs["wrong"]),
        "--max-chars", "1200", "--out", str(ver_data),
    )  # fmt: skip
    assert "4 YES, 4 NO" in out
    ver = root / "ckpt-verifier"
    swegym(
        "train", "verifier", "--data", str(ver_data), "--model", "local", "--out", str(ver),
        "--max-steps", "6", "--lr", "1e-3", "--batch-size", "2", "--grad-accum", "1", "--max-length", "1024",
    )  # fmt: skip
    assert _losses(ver)[-1] < _losses(ver)[0]

    rr = root / "rerank"
    both = ["--runs", str(runs["oracle"]), "--runs", str(runs["wrong"]), "--verifier", str(ver)]
    swegym("rerank", *both, "--out", str(rr))
    check_rerank(rr, runs)
    hy = root / "rerank-hybrid"
    swegym("rerank", *both, "--out", str(hy), "--score", "hybrid", "--tasks", str(runs["tasks"]))
    scores = [json.loads(line) for line in (hy / "scores.jsonl").read_text().splitlines()]
    assert all(s["signals"]["applies"] for s in scores)
    assert all(s["signals"]["existing_tests"] == 1.0 for s in scores)  # test_add, test_clamp_inside
    assert json.loads((hy / "rerank.json").read_text())["metrics"][-1]["best_at_k"] == 1.0


def check_rerank(rr: Path, runs: dict[str, Path]) -> None:
    scores = [json.loads(line) for line in (rr / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == 8 and all(0.0 <= s["p_yes"] <= 1.0 for s in scores)
    good = [s["p_yes"] for s in scores if s["resolved"]]
    bad = [s["p_yes"] for s in scores if not s["resolved"]]
    assert min(good) > max(bad), (good, bad)
    rep = json.loads((rr / "rerank.json").read_text())
    assert [r["k"] for r in rep["metrics"]] == [1, 2, 3, 4]
    for r in rep["metrics"]:
        assert r["best_at_k"] >= r["random_at_k"] and r["best_ci"][0] <= r["best_at_k"] <= r["best_ci"][1]
    # k = 1 leaves nothing to choose from; with all 4 samples a separating verifier always picks a fix.
    assert rep["metrics"][0]["best_at_k"] == rep["metrics"][0]["random_at_k"] == 0.5
    assert rep["metrics"][-1]["best_at_k"] == 1.0 and rep["picked_resolved"] == 2
    preds = [json.loads(line) for line in (rr / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 2 and all("hi + 1" in p["model_patch"] for p in preds)
    assert (rr / "rerank.png").stat().st_size > 1000


@pytest.mark.timeout(3600)
def test_scaling_experiment_serves_each_checkpoint(runs: dict[str, Path]) -> None:
    """`swegym experiment scaling` end to end on a CPU: nested subsets, SFT, a real server, rollouts."""
    import socket

    server = Path(sys.executable).parent / "transformers"
    if not server.exists():
        pytest.skip("the transformers CLI (transformers serve) is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = runs["root"] / "scaling"
    cfg = {
        "runs": [str(runs["oracle"])],
        "tasks": str(runs["tasks"]),
        "sizes": [1, 2],
        "model": "local",
        "out": str(out),
        "sft": {"preset": "cpu-tiny", "max_steps": 1},
        "serve_cmd": f"{server} serve {{model}} --port {{port}}",
        "port": port,
        "max_turns": 2,
        "rollout_args": ["--text-tool-calls", "--max-tokens", "48", "--workers", "1"],
    }
    (runs["root"] / "scaling.json").write_text(json.dumps(cfg))
    swegym("experiment", "scaling", "--config", str(runs["root"] / "scaling.json"))
    results = json.loads((out / "scaling.json").read_text())["results"]
    assert [r["trajectories"] for r in results] == [1, 2]
    assert all(0.0 <= r["resolve_rate"] <= 1.0 for r in results)
    for n in (1, 2):
        assert (out / f"ckpt-{n}" / "merged" / "model.safetensors").exists()
        report = json.loads((out / f"runs-{n}" / "report.json").read_text())
        # The served checkpoint answered: no episode ended in a model error.
        assert report["outcomes"]["model_error"] == 0 and report["totals"]["episodes"] == 2
