"""Settings of the environment server and the checks made before it binds a socket."""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from swegym.agent.env import EnvConfig
from swegym.agent.loop import AgentConfig
from swegym.errors import SwegymError
from swegym.loopback import is_loopback_name
from swegym.rollouts.runner import default_workers

INSTALL_RL = "pip install 'swegym[rl]'"
MIN_TOKEN_CHARS = 16
TOKEN_ENV = "SWEGYM_SERVE_TOKEN"


class ServeError(SwegymError):
    """The environment server cannot start, or a request to it is refused."""


def default_max_sessions(memory_mb: int) -> int:
    """Concurrent sessions by default: 8 per grading slot (sessions mostly wait on the model;
    a sandbox's shell is a few MB), so at most 8 x min(cores, free memory / sandbox memory)."""
    return max(2, 8 * default_workers(memory_mb))


class ServeConfig(BaseModel):
    """Configuration of `swegym serve-env`."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    tasks: str = "bundled:lite"
    """Task source (`swegym.tasks.loaders.load_tasks`); clients pick among these tasks only."""
    ids: list[str] = Field(default_factory=list)
    """Only these instance ids (empty: all)."""
    max_sessions: int | None = Field(default=None, ge=1)
    """Most concurrent sessions (each a sandbox); beyond it a new session is refused.
    None: `default_max_sessions`."""
    grade_workers: int | None = Field(default=None, ge=1)
    """Most episodes graded at once (grading runs the tests); more wait. None: by cores and memory."""
    session_timeout: float = Field(default=900.0, gt=0)
    """A session with no request for this many seconds (and no step running) is closed."""
    token: str | None = None
    """Required of every request (Bearer, or the password of Basic auth) when set; mandatory
    when binding anything but loopback."""
    allow_origins: list[str] = Field(default_factory=list)
    """Browser origins (``https://app.example:8443``) allowed besides loopback ones; a request
    with any other ``Origin`` is refused (a web page must not drive the server)."""
    max_body_mb: float = Field(default=8.0, gt=0)
    """Largest HTTP request body and WebSocket message (MiB); larger ones are refused unread."""
    prepare: bool = True
    """Build every task's environment before listening (a first reset is then fast)."""
    env: EnvConfig = Field(default_factory=EnvConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    """Episode limits (turns, seconds, context) applied by the server, as in `swegym rollout`."""

    def sessions(self) -> int:
        return self.max_sessions or default_max_sessions(self.env.sandbox.memory_mb)

    def max_body(self) -> int:
        return int(self.max_body_mb * (1 << 20))

    def graders(self) -> int:
        return self.grade_workers or default_workers(self.env.sandbox.memory_mb)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (127.0.0.0/8, ::1 or localhost)."""
    return is_loopback_name(host)


def check_bind(config: ServeConfig) -> None:
    """Refuse a non-loopback bind without a token, and a token too short to resist guessing."""
    if config.token is not None and len(config.token) < MIN_TOKEN_CHARS:
        raise ServeError(f"the token must have at least {MIN_TOKEN_CHARS} characters")
    if not is_loopback(config.host) and not config.token:
        raise ServeError(
            f"refusing to bind {config.host} without a token: pass --token (or set ${TOKEN_ENV}), "
            "or bind 127.0.0.1"
        )


def token_from_env() -> str | None:
    """The token from ``$SWEGYM_SERVE_TOKEN`` (keeps it off the command line), if set."""
    return os.environ.get(TOKEN_ENV) or None
