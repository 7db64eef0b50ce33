"""`swegym serve-env`: SWE tasks as an OpenEnv environment server (HTTP and WebSocket).

`swegym.server.config` (settings, no optional imports), `swegym.server.models` (wire models),
`swegym.server.environment` (one `SWEEnv` per session), `swegym.server.app` (the FastAPI app
from openenv-core's server plus swegym's HTTP session routes and token guard),
`swegym.server.client` (a small client that needs no openenv). Everything but `config` and
`client` needs the ``rl`` extra.
"""
