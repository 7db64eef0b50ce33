"""openenv-core's `HTTPEnvServer` with swegym's session lifecycle and HTTP session routes.

OpenEnv's WebSocket endpoint (``/ws``) is the session a standard OpenEnv client uses: one
connection, one environment; the connection closing (or the client vanishing) destroys it. Its
HTTP ``/reset`` and ``/step`` are stateless (a new environment per request), useless for an
episode in a sandbox, so they are not registered; ``/sessions/...`` gives HTTP clients the same
stateful session instead, on the same session table, capacity and idle timeout.

This builds on `HTTPEnvServer`'s session table (``_sessions``, ``_create_session``,
``_destroy_session``...), which is why the ``rl`` extra pins openenv-core exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, cast

from fastapi import FastAPI, HTTPException, Response, status
from openenv.core.env_server.exceptions import EnvironmentFactoryError, SessionCapacityError
from openenv.core.env_server.http_server import HTTPEnvServer
from pydantic import ValidationError

from swegym.errors import SwegymError
from swegym.server.client import IDLE_CLOSE
from swegym.server.environment import SWEGymEnvironment
from swegym.server.models import Capacity, ResetBody, SessionCreated, StepBody

log = logging.getLogger(__name__)
RETRY_AFTER_S = 5


class SwegymEnvServer(HTTPEnvServer):
    """Sessions that end on idle timeout (never mid-request), on close, on client loss, and on
    server shutdown, each closing its sandbox."""

    grade_workers = 1
    task_count = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sockets: dict[str, Any] = {}
        """Session id -> its /ws connection (`swegym.server.wsroute`), closed when it is reaped."""

    async def _reap_idle_sessions(self) -> None:
        timeout = self._session_idle_timeout_s
        if timeout is None:
            return
        interval = max(0.2, min(timeout / 4, 5.0))
        while True:
            try:
                await asyncio.sleep(interval)
                now = time.time()
                async with self._session_lock:
                    stale = [
                        sid
                        for sid, info in self._session_info.items()
                        if now - info.last_activity_at > timeout and not _busy(self._sessions.get(sid))
                    ]
                for sid in stale:
                    log.info("closing idle session %s", sid[:8])
                    await self._destroy_session(sid)
                    await self._close_socket(sid, IDLE_CLOSE, "idle timeout")
            except asyncio.CancelledError:
                break
            except Exception as exc:  # the reaper must outlive one bad session
                log.warning("idle-session reaper: %s", exc)

    async def close_all(self) -> None:
        """Destroy every session (server shutdown): no sandbox outlives the server."""
        for sid in list(self._sessions):
            await self._destroy_session(sid)
            await self._close_socket(sid, 1001, "server shutting down")

    async def _close_socket(self, sid: str, code: int, reason: str) -> None:
        # A reaped session's client is told (and its connection freed), not left on a dead socket.
        websocket = self.sockets.pop(sid, None)
        if websocket is not None:
            with contextlib.suppress(Exception):
                await websocket.close(code, reason)

    def at_capacity(self) -> bool:
        return self.active_sessions >= self.max_concurrent_envs

    def capacity(self) -> Capacity:
        return Capacity(
            active_sessions=self.active_sessions,
            max_sessions=self.max_concurrent_envs,
            grade_workers=self.grade_workers,
            tasks=self.task_count,
        )

    def register_session_routes(self, app: FastAPI) -> None:
        """``POST /sessions``, ``POST /sessions/{id}/reset|step``, ``GET /sessions/{id}/state``,
        ``DELETE /sessions/{id}``, ``GET /capacity``."""

        @app.post("/sessions", status_code=201, tags=["Sessions"])
        async def create_session(response: Response) -> SessionCreated:
            try:
                sid, _ = await self._create_session()
            except SessionCapacityError as exc:
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    detail=f"at capacity: {exc.active_sessions}/{exc.max_sessions} sessions; retry later",
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                ) from None
            except EnvironmentFactoryError as exc:
                raise HTTPException(500, detail=str(exc)) from None
            return SessionCreated(session_id=sid)

        @app.post("/sessions/{session_id}/reset", tags=["Sessions"])
        async def reset(session_id: str, body: ResetBody | None = None) -> dict[str, Any]:
            env = self._session_env(session_id)
            kwargs = (body or ResetBody()).model_dump(exclude_none=True)
            obs = await self._call(session_id, lambda: env.reset(**kwargs))
            self._update_session_activity(session_id)
            return _wire(obs)

        @app.post("/sessions/{session_id}/step", tags=["Sessions"])
        async def step(session_id: str, body: StepBody) -> dict[str, Any]:
            env = self._session_env(session_id)
            obs = await self._call(session_id, lambda: env.step(body.action))
            self._update_session_activity(session_id, increment_step=True)
            return _wire(obs)

        @app.get("/sessions/{session_id}/state", tags=["Sessions"])
        async def state(session_id: str) -> dict[str, Any]:
            return self._session_env(session_id).state.model_dump()

        @app.delete("/sessions/{session_id}", tags=["Sessions"])
        async def close(session_id: str) -> dict[str, Any]:
            self._session_env(session_id)
            await self._destroy_session(session_id)
            return {"session_id": session_id, "closed": True}

        @app.get("/capacity", tags=["Sessions"])
        async def capacity() -> Capacity:
            return self.capacity()

    def _session_env(self, session_id: str) -> SWEGymEnvironment:
        env = self._sessions.get(session_id)
        if env is None:
            # Unknown and still-starting sessions look alike: an id is a capability, and a
            # miss says nothing about which ids exist.
            raise HTTPException(404, detail="no such session (closed, timed out, or never opened)")
        return cast(SWEGymEnvironment, env)

    async def _call(self, session_id: str, fn: Any) -> Any:
        # The session's own single thread: its requests run one at a time, in order.
        self._update_session_activity(session_id)
        try:
            return await self._run_in_session_executor(session_id, fn)
        except ValidationError as exc:
            raise HTTPException(422, detail=exc.errors(include_url=False, include_context=False)) from None
        except SwegymError as exc:
            raise HTTPException(409, detail=str(exc)) from None


def _busy(env: Any) -> bool:
    return bool(getattr(env, "busy", 0))


def _wire(obs: Any) -> dict[str, Any]:
    from openenv.core.env_server.serialization import serialize_observation

    return serialize_observation(obs)
