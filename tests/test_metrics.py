"""Tests for swegym.metrics: pass@k estimator, bootstrap CI, report aggregation and plots."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

from swegym.metrics.passk import bootstrap_ci, mean_pass_at_k, pass_at_k
from swegym.metrics.plots import PLOT_FILES, write_plots
from swegym.metrics.render import render_text
from swegym.metrics.report import build_report
from swegym.rollouts.records import EpisodeRecord

# --------------------------------------------------------------------------------------------
# pass@k


def brute_force_pass_at_k(n: int, c: int, k: int) -> float:
    """Fraction of all k-subsets of n samples (c of them correct) that contain a correct one."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_matches_brute_force(n: int) -> None:
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_force_pass_at_k(n, c, k), abs=1e-12), (n, c, k)


def test_pass_at_k_closed_form() -> None:
    # 1 - C(n-c, k) / C(n, k) with exact integers, for a size brute force would not enumerate.
    for n, c, k in [(50, 3, 5), (100, 1, 10), (200, 17, 7), (30, 29, 1)]:
        expected = 1 - math.comb(n - c, k) / math.comb(n, k)
        assert pass_at_k(n, c, k) == pytest.approx(expected, rel=1e-12)


def test_pass_at_k_edge_cases() -> None:
    assert pass_at_k(5, 0, 1) == 0.0
    assert pass_at_k(5, 0, 5) == 0.0
    assert pass_at_k(5, 5, 1) == 1.0
    assert pass_at_k(5, 5, 5) == 1.0
    # k == n: solved iff any sample solved it.
    assert pass_at_k(4, 1, 4) == 1.0
    assert pass_at_k(4, 0, 4) == 0.0
    # n - c < k  ->  exactly 1.0
    assert pass_at_k(10, 8, 3) == 1.0
    # pass@1 is the plain success fraction.
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    # large n stays finite and monotone in k.
    values = [pass_at_k(1000, 10, k) for k in (1, 10, 100)]
    assert all(0.0 < v < 1.0 for v in values)
    assert values == sorted(values)


@pytest.mark.parametrize(("n", "c", "k"), [(0, 0, 1), (3, 4, 1), (3, -1, 1), (3, 1, 0), (3, 1, 4)])
def test_pass_at_k_rejects_bad_arguments(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_mean_pass_at_k() -> None:
    assert mean_pass_at_k([(3, 1), (2, 2), (2, 0)], 1) == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert mean_pass_at_k([(3, 1), (2, 2), (2, 0)], 2) == pytest.approx((2 / 3 + 1 + 0) / 3)
    with pytest.raises(ValueError):
        mean_pass_at_k([], 1)
    with pytest.raises(ValueError):
        mean_pass_at_k([(3, 1), (1, 1)], 2)  # a task with n < k


BASE_TASKS = [(5, 0), (5, 1), (5, 2), (5, 5), (5, 3), (5, 0), (5, 4), (5, 1), (5, 0), (5, 2)]


def test_bootstrap_ci_contains_estimate_and_is_deterministic() -> None:
    for k in (1, 2, 5):
        point = mean_pass_at_k(BASE_TASKS, k)
        lo, hi = bootstrap_ci(BASE_TASKS, k, n_boot=2000, seed=1)
        assert 0.0 <= lo <= point <= hi <= 1.0
        assert lo < hi
        assert bootstrap_ci(BASE_TASKS, k, n_boot=2000, seed=1) == (lo, hi)


def test_bootstrap_ci_narrows_with_more_tasks() -> None:
    lo_s, hi_s = bootstrap_ci(BASE_TASKS, 1)
    lo_l, hi_l = bootstrap_ci(BASE_TASKS * 20, 1)
    assert hi_l - lo_l < (hi_s - lo_s) / 2  # ~ 1/sqrt(20) in theory
    point = mean_pass_at_k(BASE_TASKS, 1)
    assert lo_l <= point <= hi_l


def test_bootstrap_ci_degenerate_and_bad_input() -> None:
    assert bootstrap_ci([(4, 2)], 1) == pytest.approx((0.5, 0.5))
    assert bootstrap_ci([(4, 4), (3, 3)], 2) == pytest.approx((1.0, 1.0))
    with pytest.raises(ValueError):
        bootstrap_ci([], 1)
    with pytest.raises(ValueError):
        bootstrap_ci(BASE_TASKS, 1, alpha=1.5)
    with pytest.raises(ValueError):
        bootstrap_ci(BASE_TASKS, 1, n_boot=0)


# --------------------------------------------------------------------------------------------
# report


def episode(
    iid: str, repo: str, sample: int, resolved: bool | None, outcome: str, turns: int, **kw: Any
) -> EpisodeRecord:
    ep: dict[str, Any] = {
        "instance_id": iid,
        "repo": repo,
        "sample": sample,
        "resolved": resolved,
        "outcome": outcome,
        "turns": turns,
        "prompt_tokens": 1000 * turns,
        "completion_tokens": 100 * turns,
        "model_seconds": 1.0,
        "env_seconds": 2.0,
        "total_seconds": 4.0,
        "temperature": 0.7,
        "model": "m1",
    }
    ep.update(kw)
    return EpisodeRecord.model_validate(ep)


def report_json(episodes: list[EpisodeRecord]) -> dict[str, Any]:
    """The report as ``report.json`` holds it (the shape readers of the file rely on)."""
    data: dict[str, Any] = json.loads(build_report(episodes).to_json())
    return data


def synthetic() -> list[EpisodeRecord]:
    # task A: n=3, c=1 | task B: 3 episodes, one infra error -> n=2, c=2 | task C: n=2, c=0
    return [
        episode("a__a-1", "org/one", 0, True, "resolved", 1),
        episode("a__a-1", "org/one", 1, False, "tests_failed", 2),
        episode("a__a-1", "org/one", 2, False, "limit_reached", 3),
        episode("b__b-2", "org/one", 0, True, "resolved", 4),
        episode("b__b-2", "org/one", 1, True, "resolved", 5),
        episode("b__b-2", "org/one", 2, None, "infra_error", 6),
        episode("c__c-3", "org/two", 0, False, "no_diff", 7),
        episode("c__c-3", "org/two", 1, False, "patch_failed", 8),
    ]


def test_build_report_numbers() -> None:
    r = report_json(synthetic())
    t = r["totals"]
    assert t["episodes"] == 8
    assert t["tasks"] == 3
    assert t["repos"] == 2
    assert t["K"] == 3
    assert t["min_samples"] == 2
    assert t["graded"] == 7
    assert t["resolved"] == 3
    assert t["resolve_rate"] == pytest.approx(3 / 7)
    assert t["errors"] == 1
    assert t["error_rate"] == pytest.approx(1 / 8)
    assert t["duplicate_samples"] == 0

    pk = {row["k"]: row for row in r["pass_at_k"]}
    assert sorted(pk) == [1, 2, 3]
    # pass@1: A 1/3, B 2/2, C 0
    assert pk[1]["tasks"] == 3
    assert pk[1]["value"] == pytest.approx((1 / 3 + 1 + 0) / 3)
    # pass@2: A 1 - C(2,2)/C(3,2) = 2/3, B 1, C 0
    assert pk[2]["tasks"] == 3
    assert pk[2]["value"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    # pass@3: only A has 3 graded episodes; 1 - C(2,3)/C(3,3) = 1
    assert pk[3]["tasks"] == 1
    assert pk[3]["value"] == pytest.approx(1.0)
    assert (pk[3]["ci_low"], pk[3]["ci_high"]) == pytest.approx((1.0, 1.0))
    for row in r["pass_at_k"]:
        assert row["ci_low"] <= row["value"] + 1e-12
        assert row["value"] <= row["ci_high"] + 1e-12

    repos = {row["repo"]: row for row in r["per_repo"]}
    assert [row["repo"] for row in r["per_repo"]] == ["org/one", "org/two"]
    assert repos["org/one"]["tasks"] == 2
    assert repos["org/one"]["episodes"] == 6
    assert repos["org/one"]["graded"] == 5
    assert repos["org/one"]["resolve_rate"] == pytest.approx(3 / 5)
    assert repos["org/one"]["pass_at_1"] == pytest.approx((1 / 3 + 1) / 2)
    assert repos["org/two"]["tasks"] == 1
    assert repos["org/two"]["resolve_rate"] == 0.0
    assert repos["org/two"]["pass_at_1"] == 0.0

    stats = r["episode_stats"]
    assert stats["turns"]["mean"] == pytest.approx(4.5)
    assert stats["turns"]["median"] == pytest.approx(4.5)
    assert stats["prompt_tokens"]["mean"] == pytest.approx(4500)
    assert stats["completion_tokens"]["median"] == pytest.approx(450)
    assert stats["total_seconds"]["total"] == pytest.approx(32.0)
    split = r["time_split"]
    assert split["model_share"] == pytest.approx(0.25)
    assert split["env_share"] == pytest.approx(0.5)
    assert split["other_share"] == pytest.approx(0.25)

    assert r["outcomes"] == {
        "resolved": 3,
        "tests_failed": 1,
        "patch_failed": 1,
        "no_diff": 1,
        "limit_reached": 1,
        "model_error": 0,
        "tampered": 0,
        "infra_error": 1,
        "ungraded": 0,
    }
    assert r["by_config"] == []
    assert r["distributions"]["turns"] == [1, 2, 3, 4, 5, 6, 7, 8]
    json.dumps(r)  # serialisable


def test_build_report_by_config_and_oddities() -> None:
    eps = synthetic()
    eps += [
        episode("a__a-1", "org/one", 0, True, "resolved", 2, model="m2", temperature=0.0),
        episode("c__c-3", "org/two", 0, False, "model_error", 1, model="m2", temperature=0.0),
        episode("c__c-3", "org/two", 0, False, "weird_new_outcome", 1, model="m2", temperature=0.0),  # dup
    ]
    r = report_json(eps)
    assert r["totals"]["duplicate_samples"] == 1
    assert r["totals"]["K"] == 4  # A: 3 + 1 records, C: 2 + 2 records
    cfg = {(row["model"], row["temperature"]): row for row in r["by_config"]}
    assert set(cfg) == {("m1", 0.7), ("m2", 0.0)}
    assert cfg[("m2", 0.0)]["episodes"] == 3
    assert cfg[("m2", 0.0)]["tasks"] == 2
    assert cfg[("m2", 0.0)]["pass_at_1"] == pytest.approx((1.0 + 0.0) / 2)
    assert cfg[("m1", 0.7)]["pass_at_1"] == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert r["outcomes"]["model_error"] == 1
    assert r["outcomes"]["weird_new_outcome"] == 1
    assert list(r["outcomes"])[-1] == "weird_new_outcome"


def test_build_report_uneven_samples_and_all_errors() -> None:
    eps = [
        episode("x", "o/r", 0, True, "resolved", 3),
        episode("y", "o/r", 0, False, "no_diff", 3),
        episode("y", "o/r", 1, True, "resolved", 3),
        episode("y", "o/r", 2, True, "resolved", 3),
        episode("z", "o/s", 0, None, "infra_error", 0),
        episode("z", "o/s", 1, None, "model_error", 0),
    ]
    r = report_json(eps)
    assert r["totals"]["K"] == 3
    assert r["totals"]["min_samples"] == 1
    pk = {row["k"]: row for row in r["pass_at_k"]}
    # z has no graded episode: never part of pass@k; x only for k=1.
    assert pk[1]["tasks"] == 2
    assert pk[1]["value"] == pytest.approx((1 + 2 / 3) / 2)
    assert pk[2]["tasks"] == 1
    assert pk[2]["value"] == pytest.approx(1.0)
    repos = {row["repo"]: row for row in r["per_repo"]}
    assert repos["o/s"]["resolve_rate"] is None
    assert repos["o/s"]["pass_at_1"] is None
    text = render_text(build_report(eps))
    assert "o/s" in text


def test_build_report_pass_at_k_none_when_no_task_qualifies() -> None:
    eps = [
        episode("x", "o/r", 0, True, "resolved", 3),
        episode("x", "o/r", 1, None, "infra_error", 3),
    ]
    r = report_json(eps)
    assert r["pass_at_k"][1] == {"k": 2, "tasks": 0, "value": None, "ci_low": None, "ci_high": None}
    assert "-" in render_text(build_report(eps))


def test_build_report_minimal_records() -> None:
    minimal = [EpisodeRecord(instance_id="x", resolved=False)]
    r = report_json(minimal)
    assert r["totals"]["tasks"] == 1
    assert r["per_repo"][0]["repo"] == "unknown"
    assert r["outcomes"]["unknown"] == 1
    assert r["episode_stats"]["turns"] == {"mean": None, "median": None, "total": None, "count": 0}
    assert r["time_split"]["model_share"] is None
    assert r["tool_calls"]["episodes"] == 0 and r["tool_calls"]["mean"] is None
    assert "tool calls" not in render_text(build_report(minimal))


def test_build_report_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no episodes"):
        build_report([])
    with pytest.raises(ValueError, match="not an EpisodeRecord"):
        build_report([{"instance_id": "x", "resolved": True}])  # type: ignore[list-item]
    # A record without an instance id or a grade cannot be made (pydantic's error is a ValueError).
    with pytest.raises(ValueError, match="instance_id"):
        EpisodeRecord.model_validate({"resolved": True})
    with pytest.raises(ValueError, match="resolved"):
        EpisodeRecord.model_validate({"instance_id": "x"})
    with pytest.raises(ValueError, match="resolved"):
        EpisodeRecord.model_validate({"instance_id": "x", "resolved": "yes"})


def test_tool_call_section_counts_calls_and_the_share_that_parsed() -> None:
    eps = [
        episode("a", "org/one", 0, True, "resolved", 3, tool_calls=4, tool_calls_parsed=3),
        episode("a", "org/one", 1, False, "tests_failed", 2, tool_calls=2, tool_calls_parsed=2),
        episode("b", "org/two", 0, False, "no_diff", 1, tool_calls=1, tool_calls_parsed=0),
        episode("c", "org/two", 0, None, "infra_error", 0),  # a row from before tool calls were counted
    ]
    rep = build_report(eps)
    calls = rep.tool_calls
    assert (calls.episodes, calls.total, calls.parsed) == (3, 7, 5)
    assert calls.mean == pytest.approx(7 / 3) and calls.median == 2.0
    assert calls.parsed_share == pytest.approx(5 / 7)
    assert [r.repo for r in calls.per_repo] == [r.repo for r in rep.per_repo]
    two = {r.repo: r for r in calls.per_repo}["org/two"]
    assert (two.episodes, two.total, two.parsed_share) == (1, 1, 0.0)
    assert "tool calls: 2.333 per episode (median 2.000), 7 in all, 71.4% parsed" in render_text(rep)


def test_report_json_keeps_its_sections_and_row_keys_first() -> None:
    data = report_json(synthetic())
    assert list(data) == [
        "totals",
        "pass_at_k",
        "per_repo",
        "episode_stats",
        "time_split",
        "outcomes",
        "by_config",
        "distributions",
        "tool_calls",
    ]
    assert list(data["per_repo"][0])[:2] == ["repo", "tasks"]
    assert list(data["tool_calls"]["per_repo"][0])[:2] == ["repo", "episodes"]
    eps = [*synthetic(), episode("a__a-1", "org/one", 3, True, "resolved", 1, model="m2")]
    assert list(report_json(eps)["by_config"][0])[:3] == ["model", "temperature", "tasks"]


def test_render_text() -> None:
    text = render_text(build_report(synthetic()))
    assert "tasks 3" in text
    assert "pass@k" in text
    assert "org/one" in text and "org/two" in text
    assert "infra_error" in text
    assert "model 25.0%, env 50.0%" in text
    assert "model_error" not in text  # zero counts are hidden
    lines = text.splitlines()
    # pass@1 = 44.4%
    assert any(line.split()[:1] == ["1"] and "44.4%" in line for line in lines)


# --------------------------------------------------------------------------------------------
# plots


def test_write_plots(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    paths = write_plots(build_report(synthetic()), tmp_path / "plots")
    assert [p.name for p in paths] == list(PLOT_FILES)
    for p in paths:
        assert p.is_file()
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 1000


def test_write_plots_without_data(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    r = build_report([EpisodeRecord(instance_id="x", resolved=None)])
    paths = write_plots(r, tmp_path)
    assert len(paths) == len(PLOT_FILES)
    assert all(p.stat().st_size > 0 for p in paths)


def test_write_plots_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(RuntimeError, match=r"pip install 'swegym\[plots\]'"):
        write_plots(build_report(synthetic()), tmp_path)
    assert not list(tmp_path.iterdir())
