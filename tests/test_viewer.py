"""`swegym view` without a browser: the read-only index, filters in SQL, the HTTP layer's defences.

The run stores here are written through the real `RunStore.save` (the rollout's own writer); the
builders are shared with tests/test_viewer_browser.py.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swegym.agent.loop import EpisodeResult, Step
from swegym.rollouts.records import EpisodeRecord
from swegym.rollouts.store import RunStore
from swegym.viewer.details import _turn, episode_detail, grade_rows
from swegym.viewer.index import RunIndex
from swegym.viewer.query import EpisodeQuery, ViewerError
from swegym.viewer.server import CSP, ViewerConfig, ViewerServer, _static_files, make_server

HOSTILE = (
    "<script>window.__pwned = 'script'</script>\n"
    "<img src=x onerror=\"window.__pwned = 'img'\">\n"
    '<a href="javascript:window.__pwned = \'link\'" id="evil-link">click me</a>\n'
)
"""Markup an agent could print: none of it may run in the viewer."""

FIX_DIFF = "\n".join(
    [
        "diff --git a/calc.py b/calc.py",
        "index 3b18e51..a2c4f9d 100644",
        "--- a/calc.py",
        "+++ b/calc.py",
        "@@ -4,5 +4,6 @@ def add(a, b):",
        " ",
        " def clamp(x, lo, hi):",
        "-    return max(lo, min(x, hi + 1))",
        "+    # The upper bound is inclusive: hi itself, not hi + 1.",
        "+    return max(lo, min(x, hi))",
        " ",
        "",
    ]
)
F2P = ["tests/test_calc.py::test_clamp_upper"]
P2P = ["tests/test_calc.py::test_add", "tests/test_calc.py::test_clamp_inside"]
PYTEST_OUT = "\n".join(
    ["============================= test session starts =============================="]
    + [f"tests/test_calc.py::test_case_{i} PASSED" for i in range(120)]
    + ["============================== 120 passed in 0.42s ==============================="]
)


def _call(i: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"c{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def conversation(obs: str = "calc.py\ntests/") -> tuple[list[dict[str, Any]], list[Step]]:
    """A realistic CodeAct conversation: bash, the editor, a long pytest run, finish."""
    calls = [
        ("execute_bash", {"command": "cd /testbed && ls && grep -n 'def clamp' -A2 calc.py"}, obs),
        (
            "str_replace_editor",
            {
                "command": "str_replace",
                "path": "/testbed/calc.py",
                "old_str": "    return max(lo, min(x, hi + 1))",
                "new_str": "    return max(lo, min(x, hi))",
            },
            "The file /testbed/calc.py has been edited.",
        ),
        ("execute_bash", {"command": "python -m pytest -q tests/ | tail -n 200"}, PYTEST_OUT),
        ("finish", {"message": "clamp's upper bound is inclusive now"}, "finished"),
    ]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a software engineer working in /testbed."},
        {"role": "user", "content": "clamp(50, 0, 10) returns 11; it should return 10."},
    ]
    steps = [Step(role="system"), Step(role="user")]
    for i, (name, args, out) in enumerate(calls):
        messages.append(
            {
                "role": "assistant",
                "content": "Let me look." if i == 0 else None,
                "tool_calls": [_call(i, name, args)],
            }
        )
        steps.append(
            Step(
                role="assistant", seconds=0.8 + i / 10, prompt_tokens=900 + 150 * i, completion_tokens=40 + i
            )
        )
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "name": name, "content": out})
        steps.append(Step(role="tool", seconds=0.05 * (i + 1), tool=name, error=False))
    return messages, steps


def episode(instance_id: str, sample: int, outcome: str, **kw: Any) -> EpisodeResult:
    """A finished episode; ``outcome`` decides resolved/reward/report unless ``kw`` says otherwise."""
    messages, steps = conversation(kw.pop("obs", "calc.py\ntests/"))
    resolved = {"resolved": True, "infra_error": None}.get(outcome, False)
    passed = outcome == "resolved"
    report = {
        "resolved": passed,
        "FAIL_TO_PASS": {"success": F2P if passed else [], "failure": [] if passed else F2P},
        "PASS_TO_PASS": {"success": P2P, "failure": []},
    }
    fields: dict[str, Any] = {
        "instance_id": instance_id, "repo": "fixture/calc", "sample": sample, "model": "oracle",
        "temperature": 0.0, "outcome": outcome, "resolved": resolved, "reward": float(passed), "turns": 4,
        "tool_calls": 4, "tool_calls_parsed": 4, "prompt_tokens": 4200, "completion_tokens": 170,
        "model_seconds": 3.4, "env_seconds": 1.1, "total_seconds": 4.9, "diff": FIX_DIFF,
        "report": report if outcome in ("resolved", "tests_failed", "tampered") else None,
        "messages": messages, "steps": steps,
    }  # fmt: skip
    return EpisodeResult.model_validate({**fields, **kw})


def small_run(run: Path) -> Path:
    """Three tasks, two samples each: resolved, failed, tampered, errors, and one hostile episode."""
    store = RunStore(run)
    store.set_meta("settings", {"model": "oracle", "tasks": "bundled:lite", "k": 2})
    for ep in (
        episode("fixture__calc-1", 0, "resolved"),
        episode("fixture__calc-1", 1, "tests_failed"),
        episode("fixture__calc-2", 0, "tampered", error="a canary test reported the wrong outcome"),
        episode("fixture__calc-2", 1, "resolved", turns=9, prompt_tokens=12000),
        episode("other__pkg_100%-3", 0, "infra_error", repo="other/pkg", error="sandbox: bwrap failed"),
        episode(
            "other__pkg_100%-3", 1, "patch_failed", repo="other/pkg", obs=HOSTILE * 3,
            diff=FIX_DIFF + "+" + HOSTILE.replace("\n", "\n+"), error=HOSTILE, model="hostile<b>model</b>",
        ),
    ):  # fmt: skip
        store.save(ep)
    store.close()
    (run / "rerank").mkdir()
    # The "verifier" ranks the resolved episodes first, so Best@k beats Random@k.
    outcomes = {(e.instance_id, e.sample): e.outcome for e in _records(run)}
    scores = [
        (iid, s, (0.9 if outcomes[iid, s] == "resolved" else 0.2) - 0.01 * n)
        for n, (iid, s) in enumerate(sorted(outcomes))
    ]
    (run / "rerank" / "scores.jsonl").write_text(
        "".join(
            json.dumps({"instance_id": i, "sample": s, "run": str(run), "score": v, "p_yes": v}) + "\n"
            for i, s, v in scores
        )
    )
    return run


def _records(run: Path) -> list[EpisodeRecord]:
    store = RunStore(run, create=False)
    try:
        return list(store.episodes())
    finally:
        store.close()


def big_run(run: Path, n: int = 10_000) -> Path:
    """``n`` episodes (1,000 tasks x 10 samples, 50 repositories) through `RunStore.save`."""
    store = RunStore(run)
    # The rollout's writer commits each episode; without fsyncs that is quick enough for 10,000.
    store.db.execute("PRAGMA synchronous=OFF")
    outcomes = ["resolved", "tests_failed", "patch_failed", "no_diff", "limit_reached"]
    templates = {o: episode("t", 0, o, messages=[], steps=[]) for o in outcomes}
    for i in range(n):
        task, sample = divmod(i, 10)
        ep = templates[outcomes[(task + sample) % 5]].model_copy(
            update={
                "instance_id": f"repo{task % 50}__pkg-{task}", "sample": sample,
                "repo": f"org/repo{task % 50}", "turns": 1 + (i * 7) % 40,
                "prompt_tokens": 1000 + (i * 37) % 30000,
            }
        )  # fmt: skip
        store.save(ep)
    store.close()
    return run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_run(tmp_path_factory.mktemp("viewer") / "run")


@pytest.fixture
def index(run_dir: Path) -> Iterator[RunIndex]:
    idx = RunIndex([run_dir])
    yield idx
    idx.close()


def test_filters_sort_and_pages_run_in_sql(index: RunIndex) -> None:
    page = index.page(EpisodeQuery())
    assert page.total == 6 and [r.instance_id for r in page.rows][:2] == ["fixture__calc-1"] * 2
    assert index.page(EpisodeQuery(outcome="resolved")).total == 2
    assert index.page(EpisodeQuery(repo="other/pkg", sample=1)).rows[0].outcome == "patch_failed"
    assert index.page(EpisodeQuery(k=1)).total == 3
    assert index.page(EpisodeQuery(turns_min=5)).rows[0].turns == 9
    assert index.page(EpisodeQuery(tokens_min=10_000)).total == 1
    # LIKE wildcards in the task filter are literal characters.
    assert index.page(EpisodeQuery(task="100%")).total == 2
    assert index.page(EpisodeQuery(task="calc_")).total == 0
    desc = index.page(EpisodeQuery(sort="score", order="desc", limit=2, offset=1))
    assert desc.total == 6 and len(desc.rows) == 2
    scores = [r.score for r in index.page(EpisodeQuery(sort="score", order="desc")).rows]
    assert scores == sorted(scores, reverse=True) and None not in scores
    assert index.page(EpisodeQuery(score_min=0.6)).total == 2
    # A tampered episode is never shown as resolved.
    tampered = index.page(EpisodeQuery(outcome="tampered")).rows[0]
    assert tampered.resolved is False and "canary" in (tampered.error or "")
    assert index.facets()["repo"] == ["fixture/calc", "other/pkg"]


@pytest.mark.parametrize(
    "params",
    [{"sort": "id; DROP TABLE episodes"}, {"order": "sideways"}, {"limit": "100000"}, {"turns_min": "x"}],
)
def test_bad_filters_are_one_line(params: dict[str, str]) -> None:
    with pytest.raises(ViewerError, match="bad filter"):
        EpisodeQuery.from_params(params)


def test_episode_detail_turns_grades_and_score(index: RunIndex) -> None:
    row = index.page(EpisodeQuery(task="calc-1", sample=1)).rows[0]
    d = episode_detail(index, 0, row.id)
    assert [t.role for t in d.turns[:4]] == ["system", "user", "assistant", "tool"]
    assert d.turns[2].tool_calls[0].name == "execute_bash" and d.turns[2].prompt_tokens == 900
    assert d.turns[3].tool == "execute_bash" and d.turns[3].seconds == pytest.approx(0.05)
    f2p = [t for t in d.tests if t.label == "FAIL_TO_PASS"]
    assert [(t.before, t.after) for t in f2p] == [("failed", "failed")]
    assert {t.after for t in d.tests if t.label == "PASS_TO_PASS"} == {"passed"}
    assert d.score is not None and d.score_info["p_yes"] == d.score
    with pytest.raises(ViewerError, match="no finished episode"):
        index.record(0, 10_000)


def test_text_and_malformed_tool_calls_are_shown_per_tool() -> None:
    text = _turn({"idx": 2, "role": "assistant", "content": "Look first.\n<function=execute_bash>\n"
                  "<parameter=command>ls</parameter>\n</function>"})  # fmt: skip
    assert text.content == "Look first." and text.tool_calls[0].from_text
    assert (text.tool_calls[0].name, text.tool_calls[0].arguments) == ("execute_bash", {"command": "ls"})
    bad = _turn({"idx": 3, "role": "assistant", "content": None, "tool_calls": json.dumps(
        [{"id": "c1", "function": {"name": "str_replace_editor", "arguments": "{not json"}}])})  # fmt: skip
    assert bad.tool_calls[0].arguments is None and bad.tool_calls[0].raw == "{not json"
    assert _turn({"idx": 4, "role": "assistant", "tool_calls": "[oops"}).tool_calls[0].raw == "[oops"
    assert grade_rows({"FAIL_TO_PASS": "garbage"}) == [] and grade_rows(None) == []


def test_scores_of_a_multi_run_rerank_go_to_their_own_run(tmp_path: Path, run_dir: Path) -> None:
    rows = [
        {"instance_id": "fixture__calc-1", "sample": 0, "run": "runs/" + run_dir.name, "score": 0.25},
        {"instance_id": "fixture__calc-1", "sample": 1, "run": "runs/another", "score": 0.75},
    ]
    path = tmp_path / "scores.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    idx = RunIndex([run_dir], scores=[path])
    assert idx.scores(0) == {("fixture__calc-1", 0): 0.25}
    idx.close()
    path.write_text("{}\n")
    with pytest.raises(ViewerError, match=r"scores\.jsonl:1: not a scores row"):
        RunIndex([run_dir], scores=[path])


def test_runs_are_opened_read_only(run_dir: Path) -> None:
    db = run_dir / "rollouts.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    idx = RunIndex([run_dir])
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        idx.db.execute("DELETE FROM r0.episodes")
    idx.page(EpisodeQuery())
    idx.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_a_run_made_before_newer_columns_opens(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "rollouts.db")
    db.executescript(
        "CREATE TABLE episodes (id INTEGER PRIMARY KEY, instance_id TEXT, sample INTEGER, repo TEXT, "
        "outcome TEXT, resolved INTEGER, status TEXT);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO episodes VALUES (1, 'a__b-1', 0, 'a/b', 'resolved', 1, 'done');"
    )
    db.commit()
    db.close()
    idx = RunIndex([tmp_path])
    page = idx.page(EpisodeQuery(sort="tokens"))
    assert page.total == 1 and page.rows[0].tokens is None and page.rows[0].turns is None
    assert idx.record(0, 1).outcome == "resolved"
    assert episode_detail(idx, 0, 1).turns == []  # no messages table at all
    idx.close()


def test_not_a_run_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ViewerError, match="not a rollout run"):
        RunIndex([tmp_path])
    (tmp_path / "rollouts.db").write_text("not sqlite at all, " * 100)
    with pytest.raises(ViewerError, match="not a readable rollout database"):
        RunIndex([tmp_path])
    out = subprocess.run(
        [sys.executable, "-m", "swegym", "view", str(tmp_path / "nope")], capture_output=True, text=True
    )
    assert out.returncode == 2 and out.stderr.strip().startswith("error: ") and "Traceback" not in out.stderr


def test_static_assets_ship_in_the_package() -> None:
    files = _static_files()
    assert {"index.html", "app.js", "style.css", "dom.js", "episode.js", "list.js"} <= set(files)
    # No external URL anywhere in the page's files (no CDN, no web font).
    for name, body in files.items():
        text = body.decode()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text, (
            name
        )
        # No API that parses a string as markup or code.
        for sink in (
            ".innerHTML",
            ".outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "Function(",
        ):
            assert sink not in text, (name, sink)


@pytest.fixture(scope="module")
def server(run_dir: Path) -> Iterator[ViewerServer]:
    srv = make_server(ViewerConfig(runs=[run_dir], port=0))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(
    srv: ViewerServer, path: str, method: str = "GET", host: str | None = None
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=10)
    conn.request(method, path, headers={"Host": host} if host else {})
    return conn.getresponse()


@pytest.mark.parametrize("path", ["/", "/episodes?outcome=resolved", "/api/runs", "/static/app.js", "/nope"])
def test_every_response_carries_the_csp_and_nosniff(server: ViewerServer, path: str) -> None:
    res = _get(server, path)
    res.read()
    assert res.getheader("Content-Security-Policy") == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert res.getheader("X-Content-Type-Options") == "nosniff"


def test_api_serves_untrusted_text_as_json(server: ViewerServer) -> None:
    res = _get(server, "/api/episodes?repo=other/pkg&sample=1")
    body = json.loads(res.read())
    assert res.getheader("Content-Type").startswith("application/json")
    assert body["rows"][0]["model"] == "hostile<b>model</b>"


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8765", "192.168.1.5", "localhost.evil.example"]
)
def test_dns_rebinding_hosts_are_refused(server: ViewerServer, host: str) -> None:
    res = _get(server, "/api/runs", host=host)
    assert res.status == 421 and b"loopback only" in res.read()


@pytest.mark.parametrize("host", ["localhost:1234", "127.0.0.1", "[::1]:80"])
def test_loopback_hosts_are_served(server: ViewerServer, host: str) -> None:
    assert _get(server, "/api/runs", host=host).status == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_the_viewer_is_get_only(server: ViewerServer, method: str) -> None:
    assert _get(server, "/api/runs", method=method).status == 405


@pytest.mark.parametrize(
    "path", ["/static/../index.py", "/static/%2e%2e/server.py", "/static/index.py", "/static/"]
)
def test_static_serves_only_the_page_files(server: ViewerServer, path: str) -> None:
    assert _get(server, path).status == 404


def test_bad_requests_answer_one_line(server: ViewerServer) -> None:
    res = _get(server, "/api/episode?run=7&id=1")
    assert res.status == 400 and json.loads(res.read()) == {"error": "no run 7: the viewer shows runs 0..0"}
    res = _get(server, "/api/overview?run=0")
    ov = json.loads(res.read())
    assert ov["report"]["totals"]["episodes"] == 6 and ov["report"]["totals"]["tampered"] == 1
    assert ov["rerank"] and {"best_at_k", "pass_at_k", "random_at_k"} <= set(ov["rerank"][0])


def test_a_live_run_shows_new_episodes(tmp_path: Path) -> None:
    run = tmp_path / "live"
    store = RunStore(run)
    store.save(episode("fixture__calc-1", 0, "resolved"))
    srv = make_server(ViewerConfig(runs=[run], port=0, n_boot=50))
    try:
        assert srv.overviews.get(0).report["totals"]["episodes"] == 1  # type: ignore[index]
        assert srv.facets()["outcome"] == ["resolved"]
        store.claim("fixture__calc-1", 1, "fixture/calc")  # running: not shown
        assert srv.index.page(EpisodeQuery()).total == 1
        store.save(episode("fixture__calc-1", 1, "no_diff"))
        assert srv.index.page(EpisodeQuery()).total == 2
        assert srv.overviews.get(0).report["totals"]["episodes"] == 2  # type: ignore[index]
        assert srv.facets()["outcome"] == ["no_diff", "resolved"]
    finally:
        srv.server_close()
        store.close()
