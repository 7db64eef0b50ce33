"""Pure parts of training: Best@k, judge prompts, text tool calls, YES/NO token ids, errors."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

from swegym.errors import MissingExtraError, OutOfMemoryError, TrainError, UnknownModelError
from swegym.metrics.bestk import best_at_k, bootstrap_mean_ci, random_at_k
from swegym.rollouts.records import EpisodeRecord
from swegym.train.chat import to_text_format
from swegym.train.deps import oom_guard, require
from swegym.train.judge import TRUNCATION_MARKER, judge_messages, truncate_middle
from swegym.train.signals import ExecutionSignals, hybrid_score, pick_targets


def brute_best_at_k(scores: list[float], resolved: list[bool], k: int) -> float:
    total, count = 0.0, 0
    for subset in itertools.combinations(range(len(scores)), k):
        top = max(scores[i] for i in subset)
        tied = [i for i in subset if scores[i] == top]
        total += sum(resolved[i] for i in tied) / len(tied)
        count += 1
    return total / count


def test_best_at_k_matches_brute_force_with_ties() -> None:
    rng = random.Random(3)
    for _ in range(50):
        n = rng.randint(1, 7)
        scores = [rng.choice([0.1, 0.5, 0.9, rng.random()]) for _ in range(n)]
        resolved = [rng.random() < 0.4 for _ in range(n)]
        for k in range(1, n + 1):
            assert best_at_k(scores, resolved, k) == pytest.approx(brute_best_at_k(scores, resolved, k))
            assert random_at_k(resolved, k) == pytest.approx(sum(resolved) / n)


def test_perfect_verifier_reaches_pass_at_k_and_ci_brackets_mean() -> None:
    assert best_at_k([0.9, 0.1, 0.2, 0.3], [True, False, False, False], 4) == 1.0
    assert best_at_k([0.9, 0.1, 0.2, 0.3], [True, False, False, False], 1) == 0.25
    lo, hi = bootstrap_mean_ci([0.0, 1.0, 1.0, 0.5], n_boot=500)
    assert 0.0 <= lo <= 0.625 <= hi <= 1.0


def test_truncate_middle_keeps_both_ends_with_a_marker() -> None:
    text = "HEAD" + "x" * 5000 + "TAIL"
    cut = truncate_middle(text, 400)
    assert len(cut) <= 400 and cut.startswith("HEAD") and cut.endswith("TAIL")
    assert "characters of the trajectory omitted" in cut
    assert truncate_middle("short", 400) == "short"
    assert TRUNCATION_MARKER.split("{")[0] in cut


def episode(resolved: bool) -> EpisodeRecord:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "execute_bash", "arguments": '{"command": "ls"}'},
    }
    return EpisodeRecord(
        instance_id="fixture__calc-1",
        resolved=resolved,
        diff="diff --git a/calc.py b/calc.py\n",
        messages=[
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "Fix clamp."},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "name": "execute_bash", "content": "calc.py"},
        ],
    )


def test_judge_prompt_has_task_trajectory_and_diff() -> None:
    msgs = judge_messages(episode(True), max_chars=2000)
    user = msgs[1]["content"]
    assert "Fix clamp." in user and "[AGENT 1]" in user and "execute_bash" in user
    assert "[OBSERVATION]\ncalc.py" in user and "diff --git a/calc.py" in user and user.endswith("YES or NO.")


def test_text_format_renders_swe_gym_calls() -> None:
    from swegym.agent.schemas import TOOLS

    out = to_text_format(episode(True).messages or [], TOOLS)
    assert "BEGIN FUNCTION: execute_bash" in out[0]["content"]
    assert out[2]["content"] == "<function=execute_bash>\n<parameter=command>ls</parameter>\n</function>"
    assert out[3] == {"role": "user", "content": "EXECUTION RESULT of [execute_bash]:\ncalc.py"}


def test_hybrid_signals_pick_targets_and_combine() -> None:
    diff = (
        "diff --git a/pkg/calc.py b/pkg/calc.py\n--- a/pkg/calc.py\n+++ b/pkg/calc.py\n"
        "diff --git a/tests/test_new.py b/tests/test_new.py\n--- /dev/null\n+++ b/tests/test_new.py\n"
    )
    existing, agent = pick_targets(diff, ["tests/test_calc.py", "tests/test_other.py", "pkg/calc.py"])
    assert existing == ["tests/test_calc.py"] and agent == ["tests/test_new.py"]
    w = {"verifier": 0.5, "applies": 0.2, "existing_tests": 0.2, "agent_tests": 0.1}
    signals = ExecutionSignals(applies=True, existing_tests=1.0, agent_tests=None)
    assert hybrid_score(0.8, signals, w) == pytest.approx((0.4 + 0.2 + 0.2) / 0.9)
    applied, failed = ExecutionSignals(applies=True), ExecutionSignals(applies=False)
    assert hybrid_score(0.8, failed, w) < hybrid_score(0.8, applied, w)


def test_missing_extra_and_oom_are_one_line() -> None:
    with pytest.raises(MissingExtraError, match=r"pip install 'swegym\[train\]'"):
        require("swegym_no_such_module_xyz")
    with pytest.raises(OutOfMemoryError) as info, oom_guard("training", "lower --max-length"):
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB\nmore detail")
    assert "\n" not in str(info.value) and "lower --max-length" in str(info.value)
    with pytest.raises(OutOfMemoryError), oom_guard("training", "x"):
        raise MemoryError()
    with pytest.raises(ValueError), oom_guard("training", "x"):
        raise ValueError("not memory")


def test_unknown_model_names() -> None:
    from swegym.train.models import resolve_model

    with pytest.raises(UnknownModelError, match="unknown model 'nonsense'"):
        resolve_model("nonsense")
    with pytest.raises(UnknownModelError):
        resolve_model("./no/such/dir")
    assert resolve_model("Qwen/Qwen2.5-7B-Instruct") == "Qwen/Qwen2.5-7B-Instruct"


def test_memory_estimate_grows_with_length() -> None:
    from swegym.train.trainer import TrainConfig, estimate_memory_gb

    small = estimate_memory_gb(7_000_000_000, 40_000_000, 2, TrainConfig(max_length=4096), 3584, 28)
    big = estimate_memory_gb(7_000_000_000, 40_000_000, 2, TrainConfig(max_length=32768), 3584, 28)
    assert 13 < small < big


def test_scaling_config_and_nested_subsets(tmp_path: Path) -> None:
    from swegym.train.scaling import load_scaling_config, nested_subsets

    subsets = nested_subsets(10, [2, 5, 9], seed=1)
    assert [len(s) for s in subsets] == [2, 5, 9]
    assert set(subsets[0]) <= set(subsets[1]) <= set(subsets[2])
    with pytest.raises(TrainError, match="above the 10"):
        nested_subsets(10, [5, 11], seed=1)
    f = tmp_path / "exp.json"
    f.write_text(json.dumps({"runs": ["runs/a"], "sizes": [4, 2]}))
    with pytest.raises(TrainError, match="strictly increasing"):
        load_scaling_config(f)
    f.write_text(json.dumps({"runs": ["runs/a"], "sizes": [122, 245, 491]}))
    assert load_scaling_config(f).sft == {"preset": "paper"}


def test_rerank_picks_the_top_scored_record_and_tabulates_best_at_k() -> None:
    from swegym.train.rerank import Scored, metrics_table, pick_best

    def scored(sample: int, resolved: bool, score: float) -> Scored:
        ep = EpisodeRecord(instance_id="t", sample=sample, resolved=resolved, outcome="resolved")
        return Scored(episode=ep, score=score)

    groups = {"t": [scored(0, False, 0.2), scored(1, True, 0.9), scored(2, True, 0.9)]}
    assert pick_best(groups)[0].sample == 1  # the earliest sample among tied scores
    rows = metrics_table(groups, n_boot=50, seed=0)
    assert [r["k"] for r in rows] == [1, 2, 3]
    assert rows[-1]["best_at_k"] == 1.0 and rows[0]["random_at_k"] == pytest.approx(2 / 3)


def _run_with(path: Path, resolved: list[bool]) -> Path:
    from swegym.agent.loop import EpisodeResult
    from swegym.rollouts.store import RunStore

    store = RunStore(path)
    for i, ok in enumerate(resolved):
        ep = episode(ok)
        store.save(
            EpisodeResult(
                instance_id=f"t-{i % 2}", repo="o/r", sample=i // 2, model="m", diff=ep.diff or "",
                outcome="resolved" if ok else "tests_failed", resolved=ok, messages=ep.messages or [],
            )
        )  # fmt: skip
    store.close()
    return path


def test_train_readers_take_records_from_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from swegym.train import rerank as rr
    from swegym.train.episodes import load_episodes
    from swegym.train.sft_data import SFTDataConfig, select
    from swegym.train.verifier import VerifierDataConfig, build_verifier_rows

    runs = [_run_with(tmp_path / "good", [True] * 4), _run_with(tmp_path / "bad", [False] * 4)]
    episodes = load_episodes(runs)
    assert [e.run for e in episodes] == [str(runs[0])] * 4 + [str(runs[1])] * 4
    kept, dropped = select(SFTDataConfig(runs=runs, out=tmp_path / "sft", max_per_task=1), episodes)
    assert len(kept) == 1 and dropped == {"duplicates": 3, "over_cap": 0}  # all four act alike
    rows = build_verifier_rows(VerifierDataConfig(runs=runs, out=tmp_path / "v"), episodes)
    assert sorted(r["label"] for r in rows) == [0, 0, 0, 0, 1, 1, 1, 1]
    # A verifier that knows the answer: rerank must pick resolved episodes and write its files.
    monkeypatch.setattr(rr, "_scorer", lambda cfg: lambda ep: {"p_yes": 0.9 if ep.resolved else 0.1})
    report = rr.rerank(rr.RerankConfig(runs=runs, verifier="unused", out=tmp_path / "rr", n_boot=20))
    assert report["picked_resolved"] == 2 and report["metrics"][-1]["best_at_k"] == 1.0
    scores = [json.loads(line) for line in (tmp_path / "rr" / "scores.jsonl").read_text().splitlines()]
    assert list(scores[0]) == ["instance_id", "sample", "run", "resolved", "score", "p_yes"]
    preds = [json.loads(line) for line in (tmp_path / "rr" / "predictions.jsonl").read_text().splitlines()]
    assert [p["model_name_or_path"] for p in preds] == ["m+rerank", "m+rerank"]
