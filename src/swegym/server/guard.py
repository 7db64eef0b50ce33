"""The token guard: an ASGI middleware in front of every HTTP and WebSocket route.

A request carries the token as ``Authorization: Bearer <token>`` or as the password of Basic
auth (``ws://any:<token>@host:port``, which the ``websockets`` library an OpenEnv client uses
turns into that header, so OpenEnv clients work unchanged). It is compared in constant time.
``/health`` stays open (it says only that the server is up).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/health"})


def presented_token(scope: Scope) -> bytes | None:
    """The token a request presents in its Authorization header, if any."""
    for name, value in scope.get("headers", []):
        if name.lower() != b"authorization":
            continue
        kind, _, cred = value.strip().partition(b" ")
        if kind.lower() == b"bearer":
            return cred.strip()
        if kind.lower() == b"basic":
            try:
                _, _, password = base64.b64decode(cred.strip(), validate=True).partition(b":")
            except (binascii.Error, ValueError):
                return None
            return password
    return None


class TokenGuard:
    """Refuses HTTP requests (401) and WebSocket handshakes (403) without the right token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = presented_token(scope)
        if given is not None and hmac.compare_digest(given, self.token):
            await self.app(scope, receive, send)
            return
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "invalid or missing token"})
            return
        body = b'{"detail":"invalid or missing token: send Authorization: Bearer <token>"}'
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b"Bearer"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
