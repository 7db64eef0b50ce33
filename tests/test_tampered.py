"""`Outcome.TAMPERED` is its own outcome wherever a grade flows: verdicts, ``swegym eval``'s
report, the agent loop, the run store and its exports, run reports, SFT data (never kept),
verifier data (a negative) and reranking (never a success). Real objects, no sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from swegym.agent.loop import EpisodeResult, _finish
from swegym.harness.evaluate import instance_report
from swegym.harness.grading import TestsStatus
from swegym.harness.report import evaluation_summary
from swegym.harness.verdict import LIMIT_REASONS, MODEL_ERROR_REASON, Outcome, Verdict
from swegym.metrics.render import render_text
from swegym.metrics.report import build_report
from swegym.rollouts.export import export_run
from swegym.rollouts.records import EpisodeRecord
from swegym.rollouts.store import RunStore
from swegym.train.episodes import load_episodes, require_resolved
from swegym.train.rerank import Scored, metrics_table, pick_best
from swegym.train.sft_data import SFTDataConfig, select, sft_stats
from swegym.train.verifier import VerifierDataConfig, build_verifier_rows

CALL = {
    "id": "c1",
    "type": "function",
    "function": {"name": "execute_bash", "arguments": '{"command": "ls"}'},
}


def messages(marker: str) -> list[dict[str, Any]]:
    """A small well-formed conversation; ``marker`` makes its assistant turns unique (no dedupe)."""
    return [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "Fix clamp."},
        {"role": "assistant", "content": marker, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "c1", "name": "execute_bash", "content": "calc.py"},
    ]


def forged_verdict() -> Verdict:
    """What a grader might hand back for a run that forged passing results: every test "passed"."""
    passed = TestsStatus(success=["tests/test_calc.py::test_clamp_upper"], failure=[])
    return Verdict(
        outcome=Outcome.TAMPERED,
        resolved=True,
        patch_applied=True,
        tests_status={"FAIL_TO_PASS": passed, "PASS_TO_PASS": TestsStatus()},
        error="a canary test reported the wrong outcome",
    )


def finished(instance_id: str, outcome: Outcome, *, resolved: bool | None, sample: int = 0) -> EpisodeResult:
    return EpisodeResult(
        instance_id=instance_id,
        repo="o/r",
        sample=sample,
        model="m",
        outcome=outcome,
        resolved=resolved,
        reward=1.0 if resolved else 0.0,
        diff=f"diff --git a/{instance_id}.py b/{instance_id}.py\n",
        messages=messages(f"{instance_id}#{sample}:{outcome}"),
    )


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A real run store: per task, a resolved, a failed and a tampered episode that claims success."""
    run = tmp_path / "run"
    store = RunStore(run)
    for task in ("a", "b"):
        store.save(finished(task, Outcome.RESOLVED, resolved=True, sample=0))
        store.save(finished(task, Outcome.TESTS_FAILED, resolved=False, sample=1))
        store.save(finished(task, Outcome.TAMPERED, resolved=True, sample=2))
    store.close()
    return run


# -- the verdict ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["finish", MODEL_ERROR_REASON, *sorted(LIMIT_REASONS)])
def test_a_tampered_verdict_stays_tampered_whatever_ended_the_episode(reason: str) -> None:
    verdict = Verdict(outcome=Outcome.TAMPERED, error="forged results").at_end(reason)
    assert verdict.outcome is Outcome.TAMPERED and verdict.error == "forged results"


def test_a_tampered_verdict_is_never_credited_even_if_it_says_resolved() -> None:
    verdict = forged_verdict()
    assert not verdict.credited and verdict.reward == 0.0
    assert verdict.report is not None and verdict.report["resolved"] is False
    honest = verdict.model_copy(update={"outcome": Outcome.RESOLVED})
    assert honest.credited and honest.reward == 1.0


def test_the_agent_loop_records_a_tampered_episode_as_graded_and_unresolved() -> None:
    res = EpisodeResult(instance_id="a", repo="o/r")
    _finish(res, {"verdict": forged_verdict(), "diff": "d"})
    assert res.outcome is Outcome.TAMPERED and res.resolved is False and res.reward == 0.0
    assert res.error == "a canary test reported the wrong outcome"


# -- swegym eval's report.json ------------------------------------------------------------------


def test_eval_report_counts_tampered_on_its_own() -> None:
    tampered = instance_report("t", "diff", forged_verdict())
    assert tampered.status == "tampered" and tampered.outcome is Outcome.TAMPERED
    assert tampered.resolved is False
    reports = [
        tampered,
        instance_report("r", "diff", Verdict(outcome=Outcome.RESOLVED, resolved=True, patch_applied=True)),
        instance_report("u", "diff", Verdict(outcome=Outcome.TESTS_FAILED, patch_applied=True)),
        instance_report("e", "", Verdict(outcome=Outcome.INFRA_ERROR, error="boom")),
    ]
    summary = evaluation_summary(reports, total_instances=5, submitted=["t", "r", "u", "e"])
    assert (summary.tampered_instances, summary.tampered_ids) == (1, ["t"])
    assert summary.resolved_ids == ["r"] and summary.unresolved_ids == ["u"] and summary.error_ids == ["e"]
    assert summary.completed_ids == ["r", "t", "u"]  # graded to the end, though not a success
    assert summary.resolve_rate == 0.2
    data = json.loads(summary.to_json())
    assert data["tampered_instances"] == 1 and data["tampered_ids"] == ["t"]
    assert data["instances"]["t"]["status"] == "tampered" and data["instances"]["t"]["outcome"] == "tampered"


# -- the run store, its exports and run reports -------------------------------------------------


def test_the_store_reads_a_tampered_episode_back_as_unresolved(run_dir: Path) -> None:
    store = RunStore(run_dir, create=False)
    tampered = [e for e in store.episodes() if e.sample == 2]
    assert [e.outcome for e in tampered] == [Outcome.TAMPERED] * 2
    assert all(e.tampered and e.resolved is False and e.reward == 0.0 for e in tampered)
    out = run_dir / "episodes.jsonl"
    assert export_run(store, "jsonl", out) == 6
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    exported = [r for r in rows if r["outcome"] == "tampered"]
    assert len(exported) == 2 and all(r["resolved"] is False and r["reward"] == 0.0 for r in exported)
    store.close()


def test_run_report_shows_tampered_as_its_own_outcome(run_dir: Path) -> None:
    store = RunStore(run_dir, create=False)
    report = build_report(list(store.episodes()))
    store.close()
    assert report.outcomes["tampered"] == 2 and report.outcomes["resolved"] == 2
    assert report.totals.tampered == 2
    # Graded, and a failure: 2 of the 6 graded episodes resolved.
    assert (report.totals.graded, report.totals.resolved, report.totals.errors) == (6, 2, 0)
    assert report.pass_at_k[0].value == pytest.approx(1 / 3)
    text = render_text(report)
    assert "tampered 2" in text and "resolved 2/6 graded" in text


def test_a_record_claiming_a_tampered_success_is_normalized() -> None:
    record = EpisodeRecord(instance_id="a", outcome="tampered", resolved=True, reward=1.0)
    assert record.tampered and record.resolved is False and record.reward == 0.0


# -- training data ------------------------------------------------------------------------------


def test_sft_data_never_keeps_a_tampered_episode(run_dir: Path, tmp_path: Path) -> None:
    episodes = load_episodes([run_dir])
    # One that skipped validation and still claims success must not slip through either.
    claims = EpisodeRecord.model_construct(
        **{**episodes[2].model_dump(), "resolved": True, "reward": 1.0, "sample": 3}
    )
    assert claims.tampered and claims.resolved is True
    pool = [*episodes, claims]
    assert all(not e.tampered for e in require_resolved(pool, "SFT data"))
    kept, _ = select(SFTDataConfig(runs=[run_dir], out=tmp_path / "sft"), pool)
    assert sorted((e.instance_id, e.sample) for e in kept) == [("a", 0), ("b", 0)]
    stats = sft_stats(episodes, [{"instance_id": "a", "repo": "o/r", "tokens": 10, "turns": 1}], {})
    assert stats["totals"]["tampered"] == 2 and stats["totals"]["resolved"] == 2


def test_verifier_data_makes_a_tampered_episode_a_negative(run_dir: Path, tmp_path: Path) -> None:
    episodes = load_episodes([run_dir])
    claims = EpisodeRecord.model_construct(**{**episodes[2].model_dump(), "resolved": True, "sample": 3})
    cfg = VerifierDataConfig(runs=[run_dir], out=tmp_path / "verifier", balance=False)
    rows = build_verifier_rows(cfg, [*episodes, claims])
    labels = {(r["instance_id"], r["sample"]): r["label"] for r in rows}
    assert sorted(k for k, v in labels.items() if v) == [("a", 0), ("b", 0)]
    assert sorted(k for k, v in labels.items() if not v) == [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2)]
    answers = {r["completion"][0]["content"] for r in rows if r["sample"] >= 2}
    assert answers == {"NO"}


def test_rerank_never_counts_a_tampered_pick_as_resolved(run_dir: Path) -> None:
    episodes = load_episodes([run_dir])
    claims = EpisodeRecord.model_construct(**{**episodes[2].model_dump(), "resolved": True, "sample": 3})
    # The reranker likes the tampered episodes best: they are picked, and they are failures.
    groups = {"a": [Scored(episode=e, score=1.0 if e.sample >= 2 else 0.5) for e in [*episodes[:3], claims]]}
    assert pick_best(groups)[0].tampered
    first, *_, last = metrics_table(groups, n_boot=10, seed=0)
    assert first["pass_at_k"] == pytest.approx(0.25)  # one success in four, not three
    assert last["k"] == 4 and last["best_at_k"] == 0.0 and last["pass_at_k"] == 1.0
