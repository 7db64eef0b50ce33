"""A small synchronous client for `swegym serve-env`, for users without openenv-core.

It speaks OpenEnv's WebSocket protocol (``/ws``: ``reset``, ``step``, ``state``, ``close``
messages; ``observation``, ``state`` or ``error`` answers), one connection per session::

    from swegym.server.client import SWEGymClient

    with SWEGymClient("http://127.0.0.1:8000") as env:
        r = env.reset(instance_id="pallets__click-2193")
        r = env.step("execute_bash", {"command": "ls"})
        r = env.step("finish")
        print(r.reward, r.observation["outcome"])

Needs only ``websockets`` (in the ``rl`` extra).
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from swegym.errors import SwegymError

IDLE_CLOSE = 4000
"""The close code of a session the server closed for idleness (`swegym.server.sessions`)."""


class ClientError(SwegymError):
    """The server refused a request (capacity, a bad action, a closed session) or went away."""


class StepResult(BaseModel):
    """One answer: the observation's fields, the reward (the grader's, at the end) and done."""

    observation: dict[str, Any] = Field(default_factory=dict)
    reward: float | None = None
    done: bool = False

    @property
    def output(self) -> str:
        """The task prompt (after reset) or the tool's output (after a step)."""
        return str(self.observation.get("output", ""))


def ws_url(base_url: str) -> str:
    """``http://host:port`` (or ``ws://...``) -> ``ws://host:port/ws``."""
    url = base_url.rstrip("/")
    for http, ws in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(http):
            url = ws + url[len(http) :]
    if not url.startswith(("ws://", "wss://")):
        url = "ws://" + url
    return url + "/ws"


class SWEGymClient:
    """One session on a `swegym serve-env` server; closing it (or losing it) ends the session."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 1800.0) -> None:
        self.url = ws_url(base_url)
        self.token = token
        self.timeout = timeout
        """Seconds to wait for one answer (a finish waits for grading)."""
        self._ws: Any = None

    def connect(self) -> SWEGymClient:
        from websockets.sync.client import connect

        if self._ws is None:
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
            local = urlsplit(self.url).hostname in ("127.0.0.1", "localhost", "::1")
            try:
                # A long ping timeout: on a loaded machine a pong can be late without the server
                # being gone (a dead server's socket closes, which recv sees at once).
                # Entered like `with connect(...)` (websockets >= 16 warns otherwise), left in close().
                self._ws = connect(
                    self.url,
                    additional_headers=headers,
                    max_size=64 << 20,
                    proxy=None if local else True,
                    ping_interval=30,
                    ping_timeout=300,
                    compression=None,
                ).__enter__()
            except Exception as exc:
                raise ClientError(f"cannot connect to {self.url}: {exc}") from None
        return self

    def reset(
        self, instance_id: str | None = None, seed: int | None = None, episode_id: str | None = None
    ) -> StepResult:
        """Start an episode on the server's task ``instance_id`` (or number ``seed``, or the next)."""
        data = {"instance_id": instance_id, "seed": seed, "episode_id": episode_id}
        return StepResult.model_validate(self._ask("reset", {k: v for k, v in data.items() if v is not None}))

    def step(self, name: str, arguments: dict[str, Any] | None = None) -> StepResult:
        """Run one tool call; ``finish`` ends the episode and the result carries the reward."""
        return StepResult.model_validate(self._ask("step", {"name": name, "arguments": arguments or {}}))

    def state(self) -> dict[str, Any]:
        """The session's episode: instance_id, turns, done, outcome, reward."""
        return self._ask("state", None)

    def close(self) -> None:
        """End the session (its sandbox is closed on the server)."""
        if self._ws is not None:
            try:
                self._ws.send(json.dumps({"type": "close"}))
                self._ws.close()
            except Exception:  # the server may already be gone; the session ends either way
                pass
            self._ws = None

    def _ask(self, kind: str, data: dict[str, Any] | None) -> dict[str, Any]:
        from websockets.exceptions import ConnectionClosed

        self.connect()
        message: dict[str, Any] = {"type": kind} if data is None else {"type": kind, "data": data}
        try:
            self._ws.send(json.dumps(message))
            answer = json.loads(self._ws.recv(timeout=self.timeout))
        except TimeoutError:
            raise ClientError(f"no answer to {kind} within {self.timeout:g}s") from None
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == IDLE_CLOSE:  # the server's idle reaper
                raise ClientError(f"this session was closed ({exc.rcvd.reason}); open a new one") from None
            raise ClientError(f"the connection to {self.url} broke during {kind}: {exc}") from None
        except Exception as exc:
            raise ClientError(f"the connection to {self.url} broke during {kind}: {exc}") from None
        if answer.get("type") == "error":
            err = answer.get("data", {})
            raise ClientError(f"server refused {kind}: {err.get('message')} ({err.get('code')})")
        return dict(answer.get("data", {}))

    def __enter__(self) -> SWEGymClient:
        return self.connect()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
