"""Published labels against derived ones: truncated ids, the categories, ``--labels``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import TESTS_BASE, TESTS_NEW, run_git
from swegym.harness.agreement import compare_labels, failure_messages, map_published
from swegym.harness.validate import validate_task
from swegym.tasks.model import Task

S3 = "tests/test_s3/test_server.py::test_s3_server_bucket_create"
# moto's own parametrization (tests/test_s3/test_server.py): ["bar_baz", "bar+baz", "baz bar"];
# SWE-Gym's PASS_TO_PASS for moto holds "...test_s3_server_bucket_create[baz" (cut at the space).
MOTO_IDS = [f"{S3}[bar_baz]", f"{S3}[bar+baz]", f"{S3}[baz bar]"]


def test_truncated_ids_map_to_the_real_node_ids() -> None:
    published = [f"{S3}[bar_baz]", f"{S3}[bar+baz]", f"{S3}[baz"]
    mapped, truncated, missing = map_published(published, MOTO_IDS)
    assert mapped == MOTO_IDS
    assert truncated == {f"{S3}[baz": [f"{S3}[baz bar]"]}
    assert missing == []
    # A cut id stands for every id it is a prefix of up to a space, never for a longer word.
    observed = ["t.py::f[a b]", "t.py::f[a c]", "t.py::f[ab]", "t.py::g"]
    mapped, truncated, missing = map_published(["t.py::f[a", "t.py::f[x", "t.py::g"], observed)
    assert truncated == {"t.py::f[a": ["t.py::f[a b]", "t.py::f[a c]"]}
    assert mapped == ["t.py::f[a b]", "t.py::f[a c]", "t.py::g"]
    assert missing == ["t.py::f[x"]


OBSERVED = ["t.py::fixed", "t.py::passes_anyway", "t.py::flips", f"{S3}[baz bar]", "t.py::online"]
OBSERVED += ["t.py::new_f2p", "t.py::extra", "t.py::dated"]


def test_every_category_of_difference() -> None:
    agreement, f2p, p2p = compare_labels(
        ["t.py::fixed", "t.py::passes_anyway", "t.py::flips"],
        [f"{S3}[baz", "t.py::online", "t.py::gone", "t.py::dated"],
        fail_to_pass=["t.py::fixed", "t.py::new_f2p"],
        pass_to_pass=["t.py::passes_anyway", f"{S3}[baz bar]", "t.py::extra"],
        flaky=["t.py::flips"],
        observed=OBSERVED,
        messages={"t.py::online": "requests.exceptions.ConnectionError: Max retries exceeded with url"},
        exclude=["t.py::dated"],
    )
    assert agreement.status == "differ"
    assert agreement.truncated == {f"{S3}[baz": [f"{S3}[baz bar]"]}
    assert agreement.missing == ["t.py::gone"]
    assert agreement.network == ["t.py::online"]
    assert agreement.flaky == ["t.py::flips"]
    assert agreement.date_dependent == ["t.py::dated"]
    assert agreement.mismatch == {"t.py::passes_anyway": "published FAIL_TO_PASS, derived PASS_TO_PASS"}
    assert agreement.extra_fail_to_pass == ["t.py::new_f2p"]
    assert agreement.extra_pass_to_pass == ["t.py::extra"]
    assert f2p == ["t.py::fixed", "t.py::passes_anyway", "t.py::flips"]
    assert p2p == [f"{S3}[baz bar]", "t.py::online", "t.py::dated"]
    assert "1 need the network" in agreement.describe()
    same, _, _ = compare_labels(
        [f"{S3}[baz"], [], fail_to_pass=[f"{S3}[baz bar]"], pass_to_pass=[], flaky=[], observed=MOTO_IDS
    )
    assert same.status == "agree" and same.describe() == "agree: 1 truncated ids mapped"


def test_failure_messages_from_the_channel_and_the_summary() -> None:
    records = json.dumps(
        {"nodeid": "a.py::x", "when": "call", "outcome": "failed", "message": "OSError: boom"}
    )
    log = (
        "FAILED b.py::y - socket.gaierror: [Errno -3] Temporary failure in name resolution\nPASSED a.py::z\n"
    )
    assert failure_messages(records, log) == {
        "b.py::y": "socket.gaierror: [Errno -3] Temporary failure in name resolution",
        "a.py::x": "OSError: boom",
    }


SPACED = """

import socket

import pytest

from calc import clamp


@pytest.mark.parametrize("case", ["top end"])
def test_clamp_named(case):
    assert clamp(99, 0, 10) == 10


def test_online():
    # 192.0.2.0/24 is reserved for documentation; the sandbox has no network in any case.
    socket.create_connection(("192.0.2.1", 80), timeout=1)
"""


@pytest.fixture(scope="module")
def spaced_task(
    calc_task: Task, fixture_repo: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Task:
    """The calc task with a test patch that adds a parametrized test whose id has a space and a
    test that needs the network."""
    work = tmp_path_factory.mktemp("spaced")
    run_git(work, "clone", "-q", fixture_repo["path"], "r")
    repo = work / "r"
    run_git(repo, "checkout", "-q", fixture_repo["base"])
    (repo / "tests" / "test_calc.py").write_text(TESTS_NEW + SPACED)
    test_patch = run_git(repo, "diff", "--", "tests")
    assert TESTS_BASE in (repo / "tests" / "test_calc.py").read_text()
    return calc_task.model_copy(update={"instance_id": "fixture__calc-spaced", "test_patch": test_patch})


T = "tests/test_calc.py::"


@pytest.mark.sandbox
def test_validate_reports_agreement_and_labels_choose_the_lists(spaced_task: Task, tmp_path: Path) -> None:
    # Published lists as SWE-bench's parser would make them (the spaced id cut), then altered: a
    # test that passes anyway put in FAIL_TO_PASS, a network test and a missing one in PASS_TO_PASS.
    published = spaced_task.model_copy(
        update={
            "FAIL_TO_PASS": [f"{T}test_clamp_upper", f"{T}test_clamp_named[top", f"{T}test_add"],
            "PASS_TO_PASS": [f"{T}test_clamp_inside", f"{T}test_online", f"{T}test_gone"],
        }
    )
    res = validate_task(published, date_check=False, log_dir=tmp_path)
    assert res.status == "invalid" and res.labels == "published"
    ag = res.agreement
    assert ag is not None and ag.status == "differ"
    assert ag.truncated == {f"{T}test_clamp_named[top": [f"{T}test_clamp_named[top end]"]}
    assert ag.mismatch == {f"{T}test_add": "published FAIL_TO_PASS, derived PASS_TO_PASS"}
    assert ag.network == [f"{T}test_online"]
    assert ag.missing == [f"{T}test_gone"]
    assert "need the network" in res.reason
    # --labels derived: the runs' labels grade, the agreement is still reported.
    derived = validate_task(published, date_check=False, labels="derived")
    assert derived.status == "valid" and derived.labels == "derived"
    assert [f"{T}test_clamp_named[top end]", f"{T}test_clamp_upper"] == derived.FAIL_TO_PASS
    assert f"{T}test_online" not in derived.PASS_TO_PASS
    assert derived.task is not None and derived.task.meta["labels"] == "derived"
    assert derived.agreement is not None and derived.agreement.status == "differ"
    # Right lists, one id cut at its space: valid on the published lists, with the real id.
    right = spaced_task.model_copy(
        update={
            "FAIL_TO_PASS": [f"{T}test_clamp_upper", f"{T}test_clamp_named[top"],
            "PASS_TO_PASS": [f"{T}test_add", f"{T}test_clamp_inside"],
        }
    )
    ok = validate_task(right, date_check=False)
    assert ok.status == "valid", ok.reason
    # (test_online fails in both runs: in neither list, as in the published ones.)
    assert ok.agreement is not None and ok.agreement.status == "agree", ok.agreement
    assert [f"{T}test_clamp_upper", f"{T}test_clamp_named[top end]"] == ok.FAIL_TO_PASS
    assert ok.task is not None
    assert ok.task.meta["truncated_ids"] == {f"{T}test_clamp_named[top": [f"{T}test_clamp_named[top end]"]}
    assert ok.task.meta["labels"] == "published"
