"""The request guard of `swegym serve-env` (`swegym.server.origin`), driven as an ASGI app: the
loopback Host and Origin parsers, --allow-origin, the JSON-only POST rule and the body cap.
The attacks on a running server are in tests/test_redteam_http.py."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import pytest

pytest.importorskip("openenv")

from swegym.server.origin import RequestGuard, is_loopback_host, is_loopback_origin


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:8000", "localhost", "LOCALHOST:1", "[::1]", "[::1]:80"]
)
def test_loopback_hosts_pass(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    ["", "evil.example", "evil.example:80", "127.0.0.1.evil.example", "[::1].evil.example", "[::1]x",
     "127.1", "2130706433", "0.0.0.0", "0.0.0.0:80", "localhost:", "[::1]:x", "127.0.0.1:80:80"],
)  # fmt: skip
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)


def test_origins() -> None:
    assert all(map(is_loopback_origin, ["http://127.0.0.1:8000", "https://localhost", "http://[::1]:1"]))
    bad = ["http://evil.example", "null", "file://", "ws://127.0.0.1", "http://127.0.0.1/x",
           "http://127.0.0.1:99999", "http://a@127.0.0.1", "http://127.0.0.1.evil.example"]  # fmt: skip
    assert not any(map(is_loopback_origin, bad))


def _call(guard: RequestGuard, headers: dict[str, str], body: list[bytes], method: str = "POST") -> int:
    """The status `guard` answers an HTTP request with (the app behind it, `_echo_app`, 200)."""
    sent: list[MutableMapping[str, Any]] = []
    chunks = [{"type": "http.request", "body": b, "more_body": i < len(body) - 1} for i, b in enumerate(body)]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    hdrs = [(k.lower().encode(), v.encode()) for k, v in {"Host": "127.0.0.1:1", **headers}.items()]
    scope = {"type": "http", "method": method, "path": "/sessions", "headers": hdrs}
    asyncio.run(guard(scope, receive, send))
    return int(sent[0]["status"])


def test_guard_statuses() -> None:
    js = {"Content-Type": "application/json"}
    ok = RequestGuard(_echo_app(), max_body=100, check_host=True, allow_origins=["https://ui.example/"])
    assert _call(ok, {}, [b""]) == 200  # no body, no Origin: httpx / OpenEnv clients
    assert _call(ok, js, [b"{}"]) == 200
    assert _call(ok, {"Origin": "https://ui.example", **js}, [b"{}"]) == 200  # --allow-origin
    assert _call(ok, {"Origin": "http://evil.example", **js}, [b"{}"]) == 403
    assert _call(ok, {"Host": "evil.example", **js}, [b"{}"]) == 421
    assert _call(ok, {"Content-Type": "text/plain", "Content-Length": "2"}, [b"{}"]) == 415
    assert _call(ok, {"Content-Length": "101", **js}, [b"x" * 101]) == 413
    assert _call(ok, {"Transfer-Encoding": "chunked", **js}, [b"x" * 60, b"x" * 60]) == 413
    anywhere = RequestGuard(_echo_app(), max_body=100, check_host=False)
    assert _call(anywhere, {"Host": "gpu-box:8000", **js}, [b"{}"]) == 200  # bound off loopback


def _echo_app() -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app
