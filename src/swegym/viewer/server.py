"""The viewer's HTTP server: the standard library's ``ThreadingHTTPServer``, JSON API plus static page.

What a hostile trajectory or a hostile web page could try, and what stops it:

* Script in an observation, a diff or a task name: the API sends JSON (``nosniff``), the page
  renders it as text, and the Content-Security-Policy allows scripts from this server's own files
  only (no inline script, no ``eval``), so even markup that slipped into the DOM could not run.
* A web page in the same browser reading the viewer through DNS rebinding: a server bound to a
  loopback address answers only requests whose ``Host`` is a loopback name.
* Writing to a run: the API is GET-only and the runs are attached read-only.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, Field

from swegym.loopback import is_loopback_host, is_loopback_name
from swegym.viewer.details import episode_detail
from swegym.viewer.index import RunIndex
from swegym.viewer.overview import OverviewCache
from swegym.viewer.query import SQL_INT_MAX, EpisodeQuery, ViewerError

__all__ = ["CSP", "ViewerConfig", "ViewerServer", "make_server", "serve"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""Sent with every response: nothing but this server's own files may load or run."""

PAGES = frozenset({"/", "/episodes", "/episode", "/compare"})
"""Paths the single-page app answers (the URL's query string holds the view's state)."""
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(?:html|js|css|svg)$")


class ViewerConfig(BaseModel):
    """`swegym view`: which runs, where to listen."""

    runs: list[Path] = Field(min_length=1)
    host: str = "127.0.0.1"
    """Loopback by default; anything else exposes the runs to the network."""
    port: int = Field(default=8765, ge=0, le=65535)
    """0 picks a free port."""
    scores: list[Path | None] = Field(default_factory=list)
    """A rerank's ``scores.jsonl`` per run (default: ``RUN/rerank/scores.jsonl`` when present)."""
    n_boot: int = Field(default=1000, ge=1)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, maybe in brackets) is this machine's loopback."""
    return is_loopback_name(host)


def _static_files() -> dict[str, bytes]:
    """The page's files, read once from the installed package."""
    root = resources.files("swegym.viewer") / "static"
    return {f.name: f.read_bytes() for f in root.iterdir() if _STATIC_NAME.match(f.name)}


class ViewerServer(ThreadingHTTPServer):
    """A threading HTTP server that holds the viewer's index, overview cache and static files."""

    daemon_threads = True

    def __init__(self, config: ViewerConfig) -> None:
        self.config = config
        self.index = RunIndex(config.runs, scores=config.scores)
        self.overviews = OverviewCache(self.index, n_boot=config.n_boot)
        self.static = _static_files()
        self.check_host = is_loopback(config.host)
        if ":" in config.host:  # an IPv6 address such as ::1
            self.address_family = socket.AF_INET6
        self._facets: tuple[tuple[tuple[int, int], ...], dict[str, list[str]]] | None = None
        self._facets_lock = threading.Lock()
        self.facets()  # warm: the first page load should not wait for three scans
        try:
            super().__init__((config.host, config.port), ViewerHandler)
        except OSError as exc:
            self.index.close()
            raise ViewerError(f"cannot listen on {config.host}:{config.port} ({exc}); try --port 0") from None

    def facets(self) -> dict[str, list[str]]:
        """`RunIndex.facets`, cached until a run records another episode."""
        version = tuple(self.index.version(r.index) for r in self.index.runs)
        with self._facets_lock:
            if self._facets is None or self._facets[0] != version:
                self._facets = (version, self.index.facets())
            return self._facets[1]

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-response (a closed tab, a dropped keep-alive) is routine.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self.index.close()


class ViewerHandler(BaseHTTPRequestHandler):
    """GET-only: the page, its static files, and the JSON API under ``/api/``."""

    server: ViewerServer
    protocol_version = "HTTP/1.1"  # keep-alive: the page's modules come over one connection
    server_version = "swegym-view"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the terminal shows the URL, not every request

    def _send(self, status: int, body: bytes, ctype: str, *, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "max-age=300" if cache else "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        host = self.headers.get("Host", "")
        if self.server.check_host and not is_loopback_host(host):
            # DNS rebinding: a page at evil.example resolved to 127.0.0.1 sends Host: evil.example.
            self._error(
                HTTPStatus.MISDIRECTED_REQUEST, f"refused Host {host!r}: the viewer answers loopback only"
            )
            return
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query))
        try:
            if url.path.startswith("/api/"):
                self._json(HTTPStatus.OK, self._api(url.path[5:], params))
            elif url.path in PAGES:
                self._send(HTTPStatus.OK, self.server.static["index.html"], "text/html")
            elif url.path.startswith("/static/") and url.path[8:] in self.server.static:
                name = url.path[8:]
                self._send(HTTPStatus.OK, self.server.static[name], _TYPES[Path(name).suffix], cache=True)
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no page {url.path}")
        except ViewerError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except Exception as exc:  # one bad request must not take the server down
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")

    def _api(self, name: str, params: dict[str, str]) -> Any:
        index = self.server.index
        if name == "runs":
            return {"runs": [r.model_dump() for r in index.runs], "facets": self.server.facets()}
        if name == "overview":
            return self.server.overviews.get(_int(params, "run")).model_dump(mode="json")
        if name == "episodes":
            return index.page(EpisodeQuery.from_params(params)).model_dump()
        if name == "episode":
            return episode_detail(index, _int(params, "run"), _int(params, "id")).model_dump(mode="json")
        if name == "siblings":
            return [r.model_dump() for r in index.siblings(_int(params, "run"), _int(params, "id"))]
        raise ViewerError(f"no API {name!r}")

    def _refuse(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "the viewer is read-only: GET only")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse


def _int(params: dict[str, str], name: str) -> int:
    try:
        value = int(params[name])
    except (KeyError, ValueError):
        raise ViewerError(f"the request needs an integer {name}=") from None
    if abs(value) > SQL_INT_MAX:
        raise ViewerError(f"{name}= is out of range (at most {SQL_INT_MAX})")
    return value


def make_server(config: ViewerConfig) -> ViewerServer:
    """A bound server (not yet serving); ``server.url`` says where. Close it with ``server_close()``."""
    return ViewerServer(config)


def serve(config: ViewerConfig, *, ready: threading.Event | None = None) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = make_server(config)
    if ready:
        ready.set()
    try:
        server.serve_forever()
    finally:
        server.server_close()
