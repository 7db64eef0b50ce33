"""The request guard: the outermost ASGI middleware, in front of the token guard.

A server on loopback is reachable from every web page the user's browser opens, so it refuses
what only a browser attacking it would send: a ``Host`` that is not loopback (DNS rebinding:
evil.example resolved to 127.0.0.1), an ``Origin`` that is not loopback or allowed (cross-site
WebSocket hijacking, CSRF), a POST body that is not JSON (a form or ``text/plain`` simple POST,
which needs no CORS preflight), and a body over the size cap (read and held whole otherwise).
Clients that send no ``Origin`` (OpenEnv's, `SWEGymClient`, httpx) pass unchanged.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from swegym.server.guard import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_name(host: str) -> bool:
    """Whether ``host`` (a name or an address, maybe in brackets) is this machine's loopback.
    Only canonical addresses count: ``127.1``, ``2130706433`` and ``0.0.0.0`` do not."""
    host = host.strip("[]").lower() if host.startswith("[") and host.endswith("]") else host.lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8765`` -> ``[::1]``, ``x:80`` -> ``x``); a
    header that is not ``name``, ``name:port``, ``[addr]`` or ``[addr]:port`` is returned whole
    (so ``[::1].evil.example`` stays a non-loopback name)."""
    if header.startswith("["):
        end = header.find("]")
        tail = header[end + 1 :] if end > 0 else "?"
        ok = tail == "" or (tail[:1] == ":" and tail[1:].isdigit())
        return header[: end + 1] if ok else header
    name, sep, port = header.rpartition(":")
    return name if sep and header.count(":") == 1 and port.isdigit() else header


def is_loopback_host(header: str) -> bool:
    """Whether a ``Host`` header names this machine's loopback (an empty one does not)."""
    return bool(header) and is_loopback_name(host_name(header))


def is_loopback_origin(origin: str) -> bool:
    """Whether an ``Origin`` is ``http(s)://`` a loopback host, with an optional port."""
    try:
        url = urlsplit(origin)
        url.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        return False
    if url.scheme not in ("http", "https") or url.path or url.query or url.username:
        return False
    return is_loopback_host(url.netloc)


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
