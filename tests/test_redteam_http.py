"""Red team of the two HTTP surfaces: `swegym view` and `swegym serve-env`, attacked for real on
loopback. Each test is named after the threat it defends; agent output, a run's contents, every
serve-env client and every web page the user visits while a server runs are hostile.

An attack the server does not yet stop stays here, skipped with ``OPEN: ...`` (to be fixed in
swegym.server); the others pass."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from swegym.rollouts.store import RunStore
from swegym.viewer.query import EpisodeQuery
from swegym.viewer.server import ViewerConfig, ViewerServer, make_server
from test_viewer import FIX_DIFF, _call, episode

# -- the viewer ------------------------------------------------------------------------------

PAYLOAD = (
    "<img src=x onerror=\"window.__pwned='img'\">"
    "<script>window.__pwned='script'</script>"
    "<svg onload=\"window.__pwned='svg'\"></svg>"
    "<iframe src=\"javascript:top.__pwned='iframe'\"></iframe>"
    "<style>body{display:none}</style>"
    "\"'><a href=\"javascript:window.__pwned='href'\">x</a>"
)
"""Markup, script, SVG, frame and CSS an agent (or a hostile task set) could put in any field."""


def _hostile_run(run: Path) -> Path:
    """A run whose every free-text field is `PAYLOAD`: ids, repo, model, error, diff, the
    conversation (content, native, text and malformed tool calls), test names, settings."""
    store = RunStore(run)
    store.set_meta("settings", {"model": PAYLOAD, "tasks": PAYLOAD, "k": 2})
    messages = [
        {"role": "system", "content": PAYLOAD},
        {"role": "user", "content": PAYLOAD},
        {"role": "assistant", "content": PAYLOAD,
         "tool_calls": [_call(0, "execute_bash", {"command": PAYLOAD})]},
        {"role": "tool", "tool_call_id": "c0", "name": "execute_bash", "content": PAYLOAD * 40},
        {"role": "assistant", "content": None, "tool_calls": [
            _call(1, "str_replace_editor", {"command": "str_replace", "path": PAYLOAD + ".py",
                                           "old_str": PAYLOAD, "new_str": PAYLOAD}),
            _call(2, PAYLOAD, {PAYLOAD: PAYLOAD}),
            {"id": PAYLOAD, "type": "function", "function": {"name": PAYLOAD, "arguments": PAYLOAD}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "name": PAYLOAD, "content": PAYLOAD},
        {"role": "assistant", "content": f"{PAYLOAD}<function=execute_bash><parameter=command>{PAYLOAD}"
                                         "</parameter></function>"},
        {"role": "assistant", "content": None, "tool_calls": [_call(3, "finish", {"message": PAYLOAD})]},
    ]  # fmt: skip
    report = {
        "resolved": False,
        "FAIL_TO_PASS": {"success": [], "failure": [PAYLOAD]},
        "PASS_TO_PASS": {"success": [PAYLOAD], "failure": []},
    }
    for sample in (0, 1):
        store.save(
            episode(
                PAYLOAD, sample, "tests_failed", repo=PAYLOAD, model=PAYLOAD, error=PAYLOAD * 30,
                diff=f"{FIX_DIFF}+{PAYLOAD}\n--- a/{PAYLOAD}\n+++ b/{PAYLOAD}.py\n+{PAYLOAD}",
                report=report, messages=messages, steps=[],
            )
        )  # fmt: skip
    store.close()
    # Fields the loop never lets an agent choose, written by hand: the viewer trusts no column.
    db = sqlite3.connect(run / "rollouts.db")
    db.execute("UPDATE episodes SET outcome = ? WHERE sample = 1", (PAYLOAD,))
    db.commit()
    db.close()
    return run


def _serve(runs: list[Path]) -> ViewerServer:
    srv = make_server(ViewerConfig(runs=runs, port=0, n_boot=50))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ViewerServer]:
    # The run directory's own name is markup too, and names an SQLite URI's parameters.
    root = tmp_path_factory.mktemp("redteam-view")
    srv = _serve([_hostile_run(root / "<img src=x onerror=alert(1)>?mode=rwc&x=#y")])
    yield srv
    srv.shutdown()
    srv.server_close()


def _req(
    srv: ViewerServer, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


def _files(run: Path) -> dict[str, str]:
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in run.rglob("*")
        if p.is_file()
    }


def test_viewer_never_writes_the_store_even_through_a_symlinked_or_uri_named_run_dir(tmp_path: Path) -> None:
    # A directory name that would turn ``file:...?mode=ro`` into ``mode=rwc`` if pasted unquoted,
    # reached through a symlink; every API and every method is tried against it.
    real = _hostile_run(tmp_path / "real?mode=rwc&cache=shared#")
    link = tmp_path / "linked-run"
    link.symlink_to(real, target_is_directory=True)
    before = _files(real)
    srv = _serve([link])
    try:
        assert srv.index.runs[0].name == "linked-run" and srv.index.runs[0].episodes == 2
        for path in ("/api/runs", "/api/overview?run=0", "/api/episodes?sort=score&order=desc",
                     "/api/episode?run=0&id=1", "/api/siblings?run=0&id=1", "/"):  # fmt: skip
            assert _req(srv, path)[0] == 200, path
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert _req(srv, "/api/episodes", method=method)[0] == 405
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            srv.index.db.execute("DELETE FROM r0.episodes")
    finally:
        srv.shutdown()
        srv.server_close()
    after = _files(real)
    # SQLite's WAL readers need the shared-memory index beside the database (an empty -wal and
    # a -shm appear); the database itself and every other file are untouched.
    assert {k: v for k, v in after.items() if not k.endswith(("-wal", "-shm"))} == before
    assert (real / "rollouts.db-wal").stat().st_size == 0 if (real / "rollouts.db-wal").exists() else True


@pytest.mark.parametrize(
    "params",
    [
        "sort=task;DROP TABLE episodes",
        "sort=task&order=asc,(SELECT 1)",
        "order=desc;--",
    ],
)
def test_viewer_sql_injection_through_sort_is_refused(hostile: ViewerServer, params: str) -> None:
    status, _, body = _req(hostile, "/api/episodes?" + params.replace(" ", "%20"))
    assert status == 400 and json.loads(body)["error"].startswith("bad filter")


def test_viewer_sql_injection_through_filters_is_only_data(hostile: ViewerServer) -> None:
    # Values are bound parameters, LIKE wildcards in the task filter are literal characters.
    for params in ("repo=' OR 1=1 --", "model=x' UNION SELECT * FROM r0.meta --", "task=pwned%img",
                   "task=_img", "outcome=tests_failed' OR '1'='1"):  # fmt: skip
        q = EpisodeQuery.from_params(dict([params.split("=", 1)]))
        assert hostile.index.page(q).total == 0, params
    assert hostile.index.page(EpisodeQuery(repo=PAYLOAD)).total == 2


@pytest.mark.parametrize(
    "path",
    [
        "/api/episodes?offset=100000000000000000000",
        "/api/episode?run=0&id=100000000000000000000",
        "/api/siblings?run=0&id=-99999999999999999999999",
        "/api/episodes?task=" + "a" * 60_000,
        "/api/episodes?limit=100000",
        "/api/episodes?turns_min=1e999&tokens_max=nan",
    ],
)
def test_viewer_huge_or_overflowing_params_are_one_clear_400(hostile: ViewerServer, path: str) -> None:
    status, _, body = _req(hostile, path)
    assert status in (200, 400), body[:200]
    if status == 400:
        assert "Error" not in json.loads(body)["error"]  # one line for a person, no exception name


@pytest.mark.parametrize(
    "path",
    [
        "/static/../index.py", "/static/..%2findex.py", "/static/%2e%2e%2fserver.py", "/static//etc/passwd",
        "/static/app.js%00.html", "/static/app.js/", "/static/./app.js", "/static/APP.JS",
        "/../../etc/passwd", "//etc/passwd", "/static/%2fetc%2fpasswd", "/static/..\\server.py",
        "/static/__init__.py",
    ],
)  # fmt: skip
def test_viewer_static_path_traversal_is_refused(hostile: ViewerServer, path: str) -> None:
    status, _, body = _req(hostile, path)
    assert status == 404 and b"root:" not in body and b"import" not in body


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:8765", "127.0.0.1.evil.example", "localhost.evil.example:80",
     "[::1].evil.example", "[::1]evil.example:80", "0.0.0.0:8765", "127.1", "2130706433", ""],
)  # fmt: skip
def test_viewer_dns_rebinding_host_header_is_refused(hostile: ViewerServer, host: str) -> None:
    status, headers, _ = _req(hostile, "/api/episodes", headers={"Host": host})
    assert status == 421 and "access-control-allow-origin" not in headers


def test_viewer_cross_origin_reads_get_no_cors_grant(hostile: ViewerServer) -> None:
    evil = {"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    status, headers, _ = _req(hostile, "/api/episodes", headers=evil)
    assert status == 200 and not any(k.startswith("access-control-") for k in headers)
    assert headers["cross-origin-resource-policy"] == "same-origin"  # no <script src> or <img> embedding
    status, headers, _ = _req(hostile, "/api/episodes", method="OPTIONS", headers=evil)
    assert status >= 400 and not any(k.startswith("access-control-") for k in headers)


def test_viewer_slowloris_connections_do_not_block_other_clients(hostile: ViewerServer) -> None:
    # Sixteen clients that send half a request and hang: a real request still answers at once.
    idle = []
    try:
        for _ in range(16):
            s = socket.create_connection(("127.0.0.1", hostile.server_address[1]), timeout=5)
            s.sendall(b"GET /api/episodes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            idle.append(s)
        status, _, body = _req(hostile, "/api/episodes")
        assert status == 200 and json.loads(body)["total"] == 2
    finally:
        for s in idle:
            s.close()


# -- the viewer in a real browser ------------------------------------------------------------

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
_no_browser = not (Path(CHROMEDRIVER).is_file() and Path(CHROMIUM).is_file())

_PROBE = """
const bad = [];
for (const el of document.querySelectorAll('*')) {
  for (const a of el.attributes) {
    if (a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value)) bad.push(el.tagName + ' ' + a.name);
  }
}
const app = document.getElementById('app');
const tags = 'img, script, iframe, style, object, embed, link, meta, base';
const injected = app ? app.querySelectorAll(tags).length : -1;
const hidden = getComputedStyle(document.body).display === 'none';
return {pwned: window.__pwned || null, bad, injected, hidden,
        rendered: !!(app && app.dataset.rendered), text: app ? app.innerText.length : 0};
"""


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    if _no_browser:
        pytest.skip("browser tests need Debian's chromium and chromium-driver")
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="browser tests need selenium (the dev extra)"
    )
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-extensions", "--no-first-run"):  # fmt: skip
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


def _visit(drv: Any, url: str) -> dict[str, Any]:
    from selenium.webdriver.support.ui import WebDriverWait

    drv.get(url)
    WebDriverWait(drv, 15).until(lambda d: d.execute_script(_PROBE)["rendered"], message=url)
    time.sleep(0.2)  # an onerror or onload would have fired by now
    return dict(drv.execute_script(_PROBE))


def test_viewer_xss_through_every_field_and_url_parameter_never_runs(
    driver: Any, hostile: ViewerServer
) -> None:
    from urllib.parse import quote

    base = hostile.url.rstrip("/")
    p = quote(PAYLOAD, safe="")
    ep = hostile.index.page(EpisodeQuery()).rows
    pages = [
        "/", "/episodes", f"/episodes?task={p}&repo={p}&model={p}&outcome={p}",
        f"/episodes?sort={p}&order={p}&turns_min={p}", f"/episodes?repo={p}",
        f"/episode?ep=0:{ep[0].id}&pos=0", f"/episode?ep=0:{ep[1].id}&repo={p}&pos={p}",
        f"/episode?ep={p}:{p}", f"/compare?a=0:{ep[0].id}&b=0:{ep[1].id}", f"/compare?a={p}&b={p}",
        f"/episodes#{p}",
    ]  # fmt: skip
    for page in pages:
        seen = _visit(driver, base + page)
        assert seen["pwned"] is None and not seen["bad"] and seen["injected"] == 0, (page, seen)
        assert not seen["hidden"] and seen["text"] > 0, page
    # An unknown path reflected in a 404: JSON, never a document that could run.
    driver.get(f"{base}/{p}")
    assert driver.execute_script("return [document.contentType, window.__pwned || null]") == [
        "application/json",
        None,
    ]
    # Markup that reached the DOM as HTML would at least have tripped the CSP: none did.
    logs = [e["message"] for e in driver.get_log("browser")]
    assert not [m for m in logs if "Content Security Policy" in m or "Refused to" in m], logs
    # Shown as text: the payload is on the page, verbatim.
    _visit(driver, f"{base}/episode?ep=0:{ep[0].id}")
    assert PAYLOAD[:40] in driver.find_element("id", "app").text


def test_viewer_huge_hostile_diff_does_not_hang_the_episode_page(driver: Any, tmp_path: Path) -> None:
    # An agent can leave a diff of any size (a generated file): the page must still render.
    run = tmp_path / "huge"
    store = RunStore(run)
    big = "diff --git a/gen.py b/gen.py\n--- a/gen.py\n+++ b/gen.py\n@@ -0,0 +1,200000 @@\n" + "".join(
        f"+x_{i} = '{'<b>' * 3}{i}'  # {PAYLOAD[:20]}\n" for i in range(200_000)
    )
    store.save(episode("huge__diff-1", 0, "tests_failed", diff=big))
    store.close()
    srv = _serve([run])
    try:
        start = time.perf_counter()
        seen = _visit(driver, f"{srv.url.rstrip('/')}/episode?ep=0:1")
        elapsed = time.perf_counter() - start
        assert seen["pwned"] is None and seen["injected"] == 0
        # Generous: a page that builds 200,000 highlighted lines takes far longer (or never ends).
        assert elapsed < 10, f"{elapsed:.1f} s to render a 200,000-line diff"
    finally:
        srv.shutdown()
        srv.server_close()


# -- serve-env: the token guard, in process ----------------------------------------------------

TOKEN = "correct-horse-battery-staple-42"


def _guarded(scope: dict[str, Any]) -> int:
    """The status the token guard answers ``scope`` with (200: passed on to the app)."""
    from swegym.server.guard import TokenGuard

    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        sent.append({"type": "http.response.start", "status": 200})

    async def send(message: Any) -> None:
        sent.append(dict(message))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    import asyncio

    asyncio.run(TokenGuard(app, TOKEN)({"type": "http", "path": "/capacity", **scope}, receive, send))
    if sent[0]["type"] == "websocket.close":
        return 403
    return int(sent[0]["status"])


def _basic(user: bytes, password: bytes | None) -> bytes:
    raw = user if password is None else user + b":" + password
    return b"Basic " + base64.b64encode(raw)


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"authorization", b"Bearer ")],
        [(b"authorization", b"Bearer")],
        [(b"authorization", b"bearer " + TOKEN[:-1].encode())],
        [(b"authorization", b"Bearer " + TOKEN.encode() + b"x")],
        [(b"authorization", b"Bearer " + TOKEN.encode() + b"\x00")],
        [(b"authorization", b"Bearer " + TOKEN.upper().encode())],
        [(b"authorization", b"Token " + TOKEN.encode())],
        [(b"authorization", b"Bearer wrong"), (b"authorization", b"Bearer " + TOKEN.encode())],
        [(b"x-authorization", b"Bearer " + TOKEN.encode())],
        [(b"authorization", _basic(TOKEN.encode(), None))],  # the token as user name, no password
        [(b"authorization", _basic(TOKEN.encode(), b""))],
        [(b"authorization", b"Basic " + base64.b64encode(b":" + TOKEN.encode())[:-2])],
    ],
)
def test_serve_env_token_bypass_tricks_are_refused(headers: list[tuple[bytes, bytes]]) -> None:
    assert _guarded({"headers": headers}) == 401
    assert _guarded({"type": "websocket", "path": "/ws", "headers": headers}) == 403


@pytest.mark.parametrize(
    "path", ["/health/", "/Health", "/health/../capacity", "/healthz", "/ws", "/mcp", "/docs"]
)
def test_serve_env_only_the_exact_health_path_is_open(path: str) -> None:
    assert _guarded({"path": path, "headers": []}) == 401
    good = [(b"authorization", b"Bearer  " + TOKEN.encode() + b" ")]
    assert _guarded({"path": path, "headers": good}) == 200
    assert _guarded({"path": "/health", "headers": []}) == 200


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "", "::", "0", "127.0.0.1.nip.io", "localhost.", "::ffff:7f00:1"]
)
def test_serve_env_non_loopback_spellings_need_a_token(host: str) -> None:
    from swegym.server.config import ServeConfig, ServeError, check_bind

    with pytest.raises(ServeError, match="without a token"):
        check_bind(ServeConfig(host=host))
    with pytest.raises(ServeError, match="at least 16"):
        check_bind(ServeConfig(host=host, token=" " * 15))


# -- serve-env: a real server on loopback (no token: what a web page in the browser can reach) --


@pytest.fixture(scope="module")
def env_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from test_serve_env import Server

    srv = Server(
        tmp_path_factory.mktemp("redteam-serve") / "server.log",
        "--max-sessions",
        "3",
        "--session-timeout",
        "4",
    )
    try:
        yield srv
    finally:
        srv.stop()


def _active(srv: Any) -> int:
    return int(httpx.get(f"{srv.url}/capacity", timeout=10).json()["active_sessions"])


def _settle(srv: Any, want: int = 0, within: float = 15.0) -> int:
    deadline = time.time() + within
    while (n := _active(srv)) != want and time.time() < deadline:
        time.sleep(0.25)
    return n


def _ws(srv: Any, **kw: Any) -> Any:
    import websockets.sync.client as wsc

    return wsc.connect(srv.url.replace("http://", "ws://") + "/ws", open_timeout=10, **kw)


def _send(ws: Any, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    ws.send(json.dumps({"type": kind, "data": data}))
    return dict(json.loads(ws.recv(timeout=120)))


EVIL = "http://evil.example"


@pytest.mark.sandbox
def test_serve_env_cross_site_websocket_hijacking_is_refused(env_server: Any) -> None:
    from websockets.exceptions import InvalidStatus

    from test_serve_env import TASK_ID

    # Browsers let any page open ws://127.0.0.1:PORT/ws (no CORS for WebSockets); only the
    # Origin header tells the server the request came from evil.example.
    with pytest.raises(InvalidStatus), _ws(env_server, additional_headers={"Origin": EVIL}) as ws:
        _send(ws, "reset", {"instance_id": TASK_ID})
        _send(ws, "step", {"name": "execute_bash", "arguments": {"command": "id"}})
    assert _settle(env_server) == 0


@pytest.mark.sandbox
def test_serve_env_dns_rebinding_host_header_is_refused(env_server: Any) -> None:
    port = env_server.port
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}"):
        r = httpx.post(f"{env_server.url}/sessions", headers={"Host": host})
        assert r.status_code in (400, 403, 421), (host, r.status_code)
        r = httpx.get(f"{env_server.url}/capacity", headers={"Host": host})
        assert r.status_code in (400, 403, 421), (host, r.status_code)
    assert _settle(env_server) == 0


@pytest.mark.sandbox
def test_serve_env_csrf_simple_posts_cannot_open_sessions(env_server: Any) -> None:
    # What <form method=post> or fetch(..., {mode: "no-cors"}) sends: no preflight, Origin set.
    plain = {"Origin": EVIL, "Content-Type": "text/plain"}
    create = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "openenv/session/create", "params": {}})
    try:
        assert httpx.post(f"{env_server.url}/sessions", headers=plain).status_code == 403
        assert httpx.post(f"{env_server.url}/mcp", headers=plain, content=create).status_code == 403
    finally:
        assert _settle(env_server) == 0


@pytest.mark.sandbox
def test_serve_env_huge_http_body_is_refused_before_it_is_read(env_server: Any) -> None:
    body = b'{"action": {"name": "execute_bash", "arguments": {"command": "' + b"a" * (32 << 20) + b'"}}}'
    r = httpx.post(
        f"{env_server.url}/sessions/{'0' * 36}/step",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 413


@pytest.mark.sandbox
def test_serve_env_huge_websocket_message_closes_only_that_session(env_server: Any) -> None:
    from websockets.exceptions import ConnectionClosed

    with _ws(env_server, max_size=None) as ws, pytest.raises(ConnectionClosed):
        ws.send("x" * (20 << 20))  # over uvicorn's 16 MiB frame limit
        ws.recv(timeout=20)
    assert _settle(env_server) == 0
    assert httpx.get(f"{env_server.url}/health").status_code == 200


@pytest.mark.sandbox
def test_serve_env_slowloris_handshakes_do_not_block_clients_and_idle_slots_are_reaped(
    env_server: Any,
) -> None:
    from test_serve_env import TASK_ID

    slow = []
    try:
        for _ in range(16):  # half a handshake each, never finished
            s = socket.create_connection(("127.0.0.1", env_server.port), timeout=5)
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nX-Slow: ")
            slow.append(s)
        with _ws(env_server) as ws:
            assert _send(ws, "reset", {"instance_id": TASK_ID})["type"] == "observation"
        # A handshake that completes and then says nothing holds its slot for the idle timeout
        # only (4 s here), even though the client answers every ping.
        with _ws(env_server):
            assert _active(env_server) == 1
            assert _settle(env_server, 0, within=20) == 0
    finally:
        for s in slow:
            s.close()


@pytest.mark.sandbox
def test_serve_env_idle_reaped_websocket_is_closed(env_server: Any) -> None:
    from websockets.exceptions import ConnectionClosed

    # Reaped, the slot is free, so the same client opens another; each leaves a live socket.
    with _ws(env_server) as idle:
        assert _settle(env_server, 0, within=20) == 0
        with pytest.raises(ConnectionClosed):
            idle.recv(timeout=10)


@pytest.mark.sandbox
def test_serve_env_session_flood_stops_at_capacity_and_ids_do_not_outlive_close(env_server: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    base = env_server.url
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: httpx.post(f"{base}/sessions", timeout=30), range(10)))
    made = [r.json()["session_id"] for r in answers if r.status_code == 201]
    try:
        assert len(made) == 3, [r.status_code for r in answers]
        assert all(r.status_code == 503 and r.headers["retry-after"] for r in answers if r.status_code != 201)

        # MCP's close names a session by id: a made-up one closes nothing; MCP's own session
        # create is held to the same capacity; and MCP is no second way to run a tool.
        def rpc(method: str, **params: Any) -> dict[str, Any]:
            body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
            return dict(httpx.post(f"{base}/mcp", json=body, timeout=30).json())

        assert "error" in rpc("openenv/session/close", session_id="x" * 36) and _active(env_server) == 3
        assert "capacity" in json.dumps(rpc("openenv/session/create")) and _active(env_server) == 3
        call = rpc("tools/call", session_id=made[0], name="execute_bash", arguments={"command": "id"})
        assert "error" in call and "uid=" not in json.dumps(call)
    finally:
        for sid in made:
            httpx.delete(f"{base}/sessions/{sid}")
    for sid in made:  # a closed session's id is dead for every route
        assert httpx.post(f"{base}/sessions/{sid}/reset", json={}).status_code == 404
        assert httpx.get(f"{base}/sessions/{sid}/state").status_code == 404
    assert _settle(env_server) == 0


CONFTEST = """import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    out = yield
    out.get_result().outcome = "passed"
"""


@pytest.mark.sandbox
def test_serve_env_agent_cannot_forge_the_reward_or_reach_host_and_other_sessions(env_server: Any) -> None:
    import uuid

    from swegym.server.client import SWEGymClient
    from test_serve_env import TASK_ID

    mark = uuid.uuid4().hex
    host_file = Path("/tmp") / f"redteam-escape-{mark}"
    with SWEGymClient(env_server.url) as a, SWEGymClient(env_server.url) as b:
        a.reset(instance_id=TASK_ID)
        b.reset(instance_id=TASK_ID)
        a.step("execute_bash", {"command": f"echo {mark} > /testbed/MARK; echo {mark} > /tmp/MARK"})
        seen = b.step(
            "execute_bash", {"command": f"grep -rl {mark} /testbed /tmp /var/tmp /root 2>&1 | head"}
        )
        assert mark not in seen.output and "MARK" not in seen.output
        a.step("str_replace_editor", {"command": "create", "path": str(host_file), "file_text": mark})
        assert not host_file.exists()
        # Resets mid-episode start over in a new sandbox: the old one is gone, not left behind.
        count = len(env_server.sandbox_processes())
        for _ in range(3):
            b.reset(instance_id=TASK_ID)
        assert len(env_server.sandbox_processes()) == count
        # The grading files: the failing test made a no-op, a conftest that reports every test
        # passed; then a finish that claims the reward in its arguments.
        cmd = (
            f"cat > /testbed/tests/conftest.py <<'EOF'\n{CONFTEST}EOF\n"
            "sed -i 's/def test_ttu_tuple_key(self):/def test_ttu_tuple_key(self):\\n        return/' "
            "/testbed/tests/test_tlru.py"
        )
        a.step("execute_bash", {"command": cmd})
        r = a.step("finish", {"message": "done", "reward": 1.0, "resolved": True})
        assert r.done and r.reward == 0.0 and r.observation["resolved"] is False
        assert "conftest.py" in r.observation["diff"]  # the attempt was graded, not lost
    assert _settle(env_server) == 0


@pytest.mark.sandbox
def test_serve_env_abrupt_disconnect_mid_step_frees_the_sandbox_at_once(env_server: Any) -> None:
    import struct

    from test_serve_env import TASK_ID

    ws = _ws(env_server)
    _send(ws, "reset", {"instance_id": TASK_ID})
    ws.send(
        json.dumps({"type": "step", "data": {"name": "execute_bash", "arguments": {"command": "sleep 100"}}})
    )
    time.sleep(1)
    assert env_server.sandbox_processes() and _active(env_server) == 1
    ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, no close frame
    ws.socket.close()
    deadline = time.time() + 15
    while (env_server.sandbox_processes() or _active(env_server)) and time.time() < deadline:
        time.sleep(0.5)
    assert not env_server.sandbox_processes() and _active(env_server) == 0
