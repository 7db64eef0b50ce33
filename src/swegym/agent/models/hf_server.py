"""An OpenAI-compatible chat server on transformers/torch, for the built-in local model.

``python -m swegym.agent.models.hf_server --model smollm2-135m-instruct --port 8080`` serves
``GET /v1/models`` and ``POST /v1/chat/completions`` (non-streaming, with ``usage`` token counts
and llama.cpp-style ``timings``) on 127.0.0.1 only: it has no authentication. Requests are
answered one at a time by one :class:`~swegym.agent.models.hf_engine.Engine`, which keeps the KV
cache of the previous request and reuses its longest common prefix.

Constrained tool calls: a request whose body has ``"swegym_tool_grammar": [tool schemas...]`` (the
OpenAI ``tools`` shape) gets exactly one call to one of those tools in SWE-Gym's text format,
well-formed by construction (see :mod:`swegym.agent.models.toolgrammar`), as the message content.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from swegym.agent.models.catalog import MODELS
from swegym.agent.models.hf_engine import Engine
from swegym.agent.models.hf_weights import converted_model_dir, import_hf

LOOPBACK = "127.0.0.1"


def load_engine(model: str, n_ctx: int, threads: int) -> Engine:
    """An engine for a bundled model's name, a bundled GGUF's path, or a transformers checkpoint."""
    torch, transformers = import_hf("torch"), import_hf("transformers")
    torch.set_num_threads(threads)
    bundled = next((s.name for s in MODELS.values() if model in (s.name, s.filename)), None)
    path = Path(model).expanduser()
    if bundled is None and path.suffix == ".gguf":
        bundled = next((s.name for s in MODELS.values() if s.filename == path.name), None)
    kwargs: dict[str, Any] = {}
    if bundled is not None:
        where = str(converted_model_dir(bundled))
    elif path.suffix == ".gguf":
        where, kwargs = str(path.parent), {"gguf_file": path.name}
    else:
        where = str(path)
    transformers.logging.set_verbosity_error()
    tok = transformers.AutoTokenizer.from_pretrained(where, **kwargs)
    lm = transformers.AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **kwargs)
    return Engine(lm.eval(), tok, n_ctx)


def _text(content: Any) -> str:
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _messages(raw: list[dict[str, Any]]) -> list[dict[str, str]]:
    # Small chat templates know system/user/assistant only; a tool result is shown as a user turn.
    out = []
    for m in raw:
        role = m.get("role", "user")
        out.append(
            {
                "role": role if role in ("system", "user", "assistant") else "user",
                "content": _text(m.get("content")),
            }
        )
    return out


def completion(engine: Engine, alias: str, body: dict[str, Any]) -> dict[str, Any]:
    """The JSON answer to one ``/v1/chat/completions`` request body."""
    tools = body.get("swegym_tool_grammar") or None
    gen = engine.generate(
        _messages(body.get("messages") or []),
        max_tokens=int(body.get("max_tokens") or 256),
        temperature=float(body.get("temperature") or 0.0),
        tools=tools,
        seed=body.get("seed"),
    )
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": alias,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": gen.text},
                "finish_reason": gen.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": gen.prompt_tokens,
            "completion_tokens": gen.completion_tokens,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens,
        },
        "timings": gen.timings,
    }


def make_handler(engine: Engine, alias: str) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``engine`` (one request at a time: one KV cache)."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # the agent loop logs its own timings; one line per request would flood the log

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": alias, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with lock:
                    answer = completion(engine, alias, body)
            except (ValueError, TypeError, KeyError) as exc:
                self._send(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
                return
            except Exception as exc:  # a failed generation must answer, not drop the connection
                self._send(
                    500, {"error": {"message": f"{type(exc).__name__}: {exc}", "type": "server_error"}}
                )
                return
            self._send(200, answer)

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, load the model, serve until terminated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="bundled model name, .gguf path or checkpoint dir")
    parser.add_argument("--alias", default=None, help="model id reported by /v1/models")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n-ctx", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    engine = load_engine(args.model, args.n_ctx, args.threads)
    server = ThreadingHTTPServer((LOOPBACK, args.port), make_handler(engine, args.alias or args.model))
    print(f"serving {args.model} on http://{LOOPBACK}:{args.port}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
