"""The request guard: the outermost ASGI middleware, in front of the token guard.

A server on loopback is reachable from every web page the user's browser opens, so it refuses
what only a browser attacking it would send: a ``Host`` that is not loopback (DNS rebinding:
evil.example resolved to 127.0.0.1), an ``Origin`` that is not loopback or allowed (cross-site
WebSocket hijacking, CSRF), a POST body that is not JSON (a form or ``text/plain`` simple POST,
which needs no CORS preflight), and a body over the size cap (read and held whole otherwise).
Clients that send no ``Origin`` (OpenEnv's, `SWEGymClient`, httpx) pass unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, MutableMapping
from typing import Any

from swegym.loopback import host_name, is_loopback_host, is_loopback_name, is_loopback_origin
from swegym.server.guard import ASGIApp, Receive, Scope, Send

__all__ = ["RequestGuard", "host_name", "is_loopback_host", "is_loopback_name", "is_loopback_origin"]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class BodyTooLarge(Exception):
    """A chunked body passed the cap while the app read it."""


class RequestGuard:
    """Refuses a foreign Origin (403), a foreign Host when ``check_host`` (421), a non-JSON POST
    body (415) and a body over ``max_body`` bytes (413); a refused WebSocket handshake gets the
    same status (or a close before accept where the server cannot send one)."""

    def __init__(
        self, app: ASGIApp, *, max_body: int, check_host: bool, allow_origins: Iterable[str] = ()
    ) -> None:
        self.app, self.max_body, self.check_host = app, max_body, check_host
        self.allow_origins = frozenset(o.rstrip("/").lower() for o in allow_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await _refuse(scope, send, *refusal)
        elif scope["type"] == "websocket":
            await self.app(scope, receive, send)
        else:
            await self._limited(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        host = _header(scope, b"host") or ""
        if self.check_host and not is_loopback_host(host):
            return 421, f"refused Host {host[:100]!r}: this server answers loopback names only"
        origin = _header(scope, b"origin")
        if origin is not None and not self._origin_ok(origin):
            return 403, f"refused Origin {origin[:100]!r}: pass --allow-origin to serve a browser page"
        if scope["type"] != "http":
            return None
        length = _header(scope, b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > self.max_body):
            return 413, f"request body over {self.max_body} bytes"
        ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        has_body = (length is not None and length.strip() != "0") or bool(
            _header(scope, b"transfer-encoding")
        )
        if scope.get("method") == "POST" and (ctype or has_body) and ctype != "application/json":
            return 415, "POST bodies must be Content-Type: application/json"
        return None

    def _origin_ok(self, origin: str) -> bool:
        return is_loopback_origin(origin) or origin.rstrip("/").lower() in self.allow_origins

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app, with ``receive`` counting a body's bytes (chunked bodies carry no length)."""
        seen, started = 0, False

        async def counted() -> MutableMapping[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge
            return message

        async def watched(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await _refuse(scope, send, 413, f"request body over {self.max_body} bytes")


async def _refuse(scope: Scope, send: Send, status: int, reason: str) -> None:
    body = json.dumps({"detail": reason}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if scope["type"] == "http":
        headers.append((b"connection", b"close"))  # an unread body must not be parsed as a request
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
