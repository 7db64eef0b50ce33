"""The server app: swegym's /ws session endpoint (OpenEnv's protocol), OpenEnv's routes and
swegym's HTTP sessions, behind the request guard and (when a token is set) the token guard;
`load_served_tasks` and `run` (which checks the bind first)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI, WebSocketDisconnect
from openenv.core.env_server.types import ConcurrencyConfig, ServerMode

from swegym.harness.runner import prepare
from swegym.server.config import ServeConfig, check_bind, is_loopback
from swegym.server.environment import SWEGymEnvironment, TaskPool
from swegym.server.guard import TokenGuard
from swegym.server.models import SWEAction, SWEObservation
from swegym.server.origin import RequestGuard
from swegym.server.sessions import RETRY_AFTER_S, SwegymEnvServer
from swegym.server.wsroute import register_socket_route
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

log = logging.getLogger(__name__)
SESSION_SOCKETS = frozenset({"/ws", "/mcp"})


def create_app(config: ServeConfig, tasks: Sequence[Task]) -> Any:
    """The ASGI app serving ``tasks``: behind the request guard (Host, Origin, body type and
    size) and, when ``config.token`` is set, the token guard."""
    pool = TaskPool(tasks)
    gate = threading.BoundedSemaphore(config.graders())

    def factory() -> SWEGymEnvironment:
        return SWEGymEnvironment(pool, config.env, config.agent, gate)

    server = SwegymEnvServer(
        factory,
        SWEAction,
        SWEObservation,
        concurrency_config=ConcurrencyConfig(
            max_concurrent_envs=config.sessions(), session_timeout=config.session_timeout
        ),
    )
    server.grade_workers, server.task_count = config.graders(), len(pool.tasks)
    app = FastAPI(title="swegym environment server", version="1", description="See docs/rl.md.")
    # Production mode: OpenEnv's stateless HTTP /reset, /step and /state would each start (and
    # drop) a sandbox per request; /ws and /sessions are the stateful ways in.
    register_socket_route(app, server)  # first: it shadows OpenEnv's /ws
    server.register_routes(app, mode=ServerMode.PRODUCTION)
    server.register_session_routes(app)
    app.router.on_shutdown.append(server.close_all)
    app.state.env_server = server
    door = _SessionDoor(app, server)
    guarded = TokenGuard(door, config.token) if config.token else door
    # Outermost, always on: a loopback server is in reach of every page the user's browser opens.
    return RequestGuard(
        guarded,
        max_body=config.max_body(),
        check_host=is_loopback(config.host),
        allow_origins=config.allow_origins,
    )


class _SessionDoor:
    """In front of the app: a WebSocket handshake that would open a session beyond capacity is
    refused with HTTP 503 and Retry-After (an OpenEnv client's connect fails saying so), rather
    than accepted and then closed; and openenv-core's /ws handler, which lets starlette's
    `WebSocketDisconnect` escape when it closes a socket the client already dropped (a normal
    end, the session already destroyed), does not log a traceback per session."""

    def __init__(self, app: Any, server: SwegymEnvServer) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        if scope.get("path") in SESSION_SOCKETS and self.server.at_capacity():
            await _refuse(scope, send, self.server)
            return
        with contextlib.suppress(WebSocketDisconnect):
            await self.app(scope, receive, send)


async def _refuse(scope: Any, send: Any, server: SwegymEnvServer) -> None:
    body = (
        f"at capacity: {server.active_sessions}/{server.max_concurrent_envs} sessions; retry later".encode()
    )
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1013, "reason": body.decode()})
        return
    headers = [(b"content-type", b"text/plain"), (b"retry-after", str(RETRY_AFTER_S).encode())]
    await send({"type": "websocket.http.response.start", "status": 503, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})


def load_served_tasks(config: ServeConfig) -> list[Task]:
    """The tasks to serve, environments built when ``config.prepare`` (so resets are fast)."""
    tasks = load_tasks(config.tasks, ids=config.ids or None).tasks
    if config.prepare:
        with ThreadPoolExecutor(max(1, config.graders())) as pool:
            list(pool.map(lambda t: prepare(t, config.env.mirrors), tasks))
    return tasks


def run(app: Any, config: ServeConfig) -> None:
    """Serve ``app`` on ``config.host:config.port`` until interrupted (SIGINT/SIGTERM close every
    session, and with it its sandbox)."""
    import uvicorn

    check_bind(config)
    # Pings only catch a silent network partition (a dead client's socket closes at once); a
    # long timeout keeps a busy machine's slow pong from ending a live episode. No per-message
    # deflate: observations are a few KB, and compressing them costs more than it saves.
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level="warning",
        ws_ping_interval=30,
        ws_ping_timeout=300,
        ws_per_message_deflate=False,
        ws_max_size=config.max_body(),  # explicit: one cap for HTTP bodies and messages
    )
