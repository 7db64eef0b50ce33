"""swegym's own ``/ws`` route: OpenEnv's WebSocket session protocol, but watching the client.

OpenEnv's handler reads the socket only between requests, so a client that drops mid-step is
noticed only when the step ends (a ``sleep 1000`` holds the session, its sandbox and a capacity
slot that long). Here a reader task receives all the time: a disconnect while a step runs kills
the session's sandbox from outside (the step then fails fast) and destroys the session at once.
The wire protocol is OpenEnv's (``reset``, ``step``, ``state``, ``close`` messages; observation,
state or error answers), so OpenEnv's client and `SWEGymClient` work unchanged. This route is
registered before OpenEnv's, which it shadows.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from typing import TYPE_CHECKING, Any, cast

from fastapi import FastAPI, WebSocket
from openenv.core.env_server.exceptions import EnvironmentFactoryError, SessionCapacityError
from openenv.core.env_server.serialization import deserialize_action, serialize_observation
from openenv.core.env_server.types import (
    WSErrorCode,
    WSErrorResponse,
    WSObservationResponse,
    WSResetMessage,
    WSStateResponse,
    WSStepMessage,
)
from pydantic import ValidationError

if TYPE_CHECKING:
    from swegym.server.environment import SWEGymEnvironment
    from swegym.server.sessions import SwegymEnvServer

log = logging.getLogger(__name__)
MAX_PENDING = 16
"""Messages a client may send ahead of their answers; more and the connection is closed."""
CLOSE = object()
"""What `_answer` returns for a ``close`` message."""


def register_socket_route(app: FastAPI, server: SwegymEnvServer) -> None:
    """``/ws``: one session per connection, ended by ``close``, by the client's going away (at
    once, even mid-step), by the idle reaper (close code 4000) or by server shutdown."""

    @app.websocket("/ws")
    async def session_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            sid, env = await server._create_session()
        except SessionCapacityError as exc:
            extra = {"active_sessions": exc.active_sessions, "max_sessions": exc.max_sessions}
            await _close(websocket, _error(str(exc), WSErrorCode.CAPACITY_REACHED, **extra))
            return
        except EnvironmentFactoryError as exc:
            await _close(websocket, _error(str(exc), WSErrorCode.FACTORY_ERROR))
            return
        server.sockets[sid] = websocket
        try:
            await _serve(websocket, server, sid, cast("SWEGymEnvironment", env))
        finally:
            server.sockets.pop(sid, None)
            await server._destroy_session(sid)
            await _close(websocket)


async def _serve(websocket: WebSocket, server: SwegymEnvServer, sid: str, env: SWEGymEnvironment) -> None:
    inbox: asyncio.Queue[str | None] = asyncio.Queue()
    gone = asyncio.Event()
    reader = asyncio.create_task(_read(websocket, inbox, gone))
    try:
        while (text := await inbox.get()) is not None:
            work = asyncio.ensure_future(_answer(server, sid, env, text))
            lost = asyncio.ensure_future(gone.wait())
            await asyncio.wait({work, lost}, return_when=asyncio.FIRST_COMPLETED)
            lost.cancel()
            if not work.done():
                # The client went away mid-request: stop its sandbox now (the step's thread
                # then returns), rather than when the command would have ended.
                log.info("client of session %s left mid-request; closing its sandbox", sid[:8])
                work.add_done_callback(_quiet)
                await asyncio.to_thread(env.kill)
                return
            answer = work.result()
            if answer is CLOSE:
                return
            try:
                await websocket.send_text(str(answer))
            except Exception:  # the client (or the reaper) closed the socket
                return
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader


async def _read(websocket: WebSocket, inbox: asyncio.Queue[str | None], gone: asyncio.Event) -> None:
    """Receive every message as it comes; None (and ``gone``) once the client has left."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if inbox.qsize() >= MAX_PENDING:
                await _close(websocket, code=1008, reason=f"more than {MAX_PENDING} pending messages")
                break
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            inbox.put_nowait(text)
    except Exception:  # a socket torn down under us is a client that left
        pass
    finally:
        gone.set()
        inbox.put_nowait(None)


async def _answer(server: SwegymEnvServer, sid: str, env: SWEGymEnvironment, text: str) -> object:
    """The JSON answer to one client message (OpenEnv's), or `CLOSE`."""
    try:
        message = json.loads(text)
        kind = message.get("type", "") if isinstance(message, dict) else ""
    except json.JSONDecodeError as exc:
        return _error(f"Invalid JSON: {exc}", WSErrorCode.INVALID_JSON)
    try:
        if kind == "reset":
            data = WSResetMessage(**message).data
            kwargs = server._get_valid_kwargs(inspect.signature(env.reset), data)
            obs = await server._run_in_session_executor(sid, env.reset, **kwargs)
            server._update_session_activity(sid)
            return WSObservationResponse(data=serialize_observation(obs)).model_dump_json()
        if kind == "step":
            action = deserialize_action(WSStepMessage(**message).data, server.action_cls)
            obs = await server._run_in_session_executor(sid, env.step, action)
            server._update_session_activity(sid, increment_step=True)
            return WSObservationResponse(data=serialize_observation(obs)).model_dump_json()
        if kind == "state":
            return WSStateResponse(data=env.state.model_dump()).model_dump_json()
        if kind == "close":
            return CLOSE
        # OpenEnv's "mcp" message reaches MCP tools; this environment has none (its tools are
        # steps), so it is an unknown type here like any other.
        return _error(f"Unknown message type: {str(kind)[:40]}", WSErrorCode.UNKNOWN_TYPE)
    except ValidationError as exc:
        return WSErrorResponse(
            data={"message": "Invalid message", "code": WSErrorCode.VALIDATION_ERROR, "errors": exc.errors()}
        ).model_dump_json()
    except Exception as exc:  # a failed request is answered; the session goes on
        return _error(str(exc), WSErrorCode.EXECUTION_ERROR)


def _error(message: str, code: WSErrorCode, **extra: Any) -> str:
    return WSErrorResponse(data={"message": message, "code": code, **extra}).model_dump_json()


async def _close(websocket: WebSocket, last: str | None = None, code: int = 1000, reason: str = "") -> None:
    """Send ``last`` (if any) and close; a socket already closed or lost is left as it is."""
    with contextlib.suppress(Exception):
        if last is not None:
            await websocket.send_text(last)
        await websocket.close(code, reason)


def _quiet(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned request's outcome (its client is gone; nothing is logged)."""
    if not task.cancelled():
        task.exception()
