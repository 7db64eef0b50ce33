"""`swegym serve-env` against hostile clients: the token (constant-time, Bearer or Basic, so
OpenEnv's client works unchanged), a non-loopback bind refused without one, no reward from the
client, no client-supplied task, no host files, no way into another session."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from swegym.server.client import ClientError, SWEGymClient
from swegym.server.config import ServeConfig, ServeError, check_bind, is_loopback
from swegym.server.guard import presented_token
from test_serve_env import TASK_ID, Server

pytestmark = pytest.mark.sandbox

TOKEN = "correct-horse-battery-staple-42"


def test_non_loopback_bind_without_token_refuses_before_binding() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "swegym", "serve-env", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "SWEGYM_SERVE_TOKEN": ""},
    )
    assert r.returncode == 2 and r.stderr.startswith("error: refusing to bind 0.0.0.0 without a token")
    assert "Traceback" not in r.stderr
    with pytest.raises(ServeError, match="at least 16"):
        check_bind(ServeConfig(host="0.0.0.0", token="short"))
    check_bind(ServeConfig(host="0.0.0.0", token=TOKEN))  # a token makes it acceptable
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1") and not is_loopback("example.com")


def test_token_is_read_from_bearer_and_basic_headers() -> None:
    assert presented_token({"headers": [(b"authorization", b"Bearer abc")]}) == b"abc"
    basic = __import__("base64").b64encode(b"user:abc")
    assert presented_token({"headers": [(b"authorization", b"Basic " + basic)]}) == b"abc"
    assert presented_token({"headers": [(b"authorization", b"Basic !!!")]}) is None
    assert presented_token({"headers": []}) is None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("serve-sec") / "server.log", "--token", TOKEN, "--max-sessions", "4")
    try:
        yield srv
    finally:
        srv.stop()


def authed(server: Server) -> str:
    return server.url.replace("http://", f"http://swegym:{TOKEN}@")


def test_wrong_or_missing_token_is_rejected(server: Server) -> None:
    from openenv.core.generic_client import GenericEnvClient

    assert httpx.get(f"{server.url}/health").status_code == 200  # says only that it is up
    for headers in ({}, {"Authorization": "Bearer wrong-token-of-some-length"}):
        assert httpx.get(f"{server.url}/capacity", headers=headers).status_code == 401
        assert httpx.post(f"{server.url}/sessions", headers=headers).status_code == 401
    for url in (server.url, server.url.replace("http://", "http://swegym:wrong-token-0123456@")):
        with pytest.raises(ConnectionError):
            GenericEnvClient(base_url=url).sync().connect()
    with pytest.raises(ClientError, match="cannot connect"):
        SWEGymClient(server.url, token="wrong-token-0123456789").connect()
    ok = httpx.get(f"{server.url}/capacity", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["tasks"] == 1


def test_openenv_client_with_the_token_in_its_url_runs_unchanged(server: Server) -> None:
    from openenv.core.generic_client import GenericEnvClient

    with GenericEnvClient(base_url=authed(server)).sync() as env:
        r = env.reset(instance_id=TASK_ID)
        assert r.observation["instance_id"] == TASK_ID
        r = env.step({"name": "execute_bash", "arguments": {"command": "echo inside"}})
        assert "inside" in r.observation["output"] and not r.done


def test_a_client_cannot_set_the_reward_or_supply_a_task(server: Server) -> None:
    from openenv.core.generic_client import GenericEnvClient

    with GenericEnvClient(base_url=authed(server)).sync() as env:
        forged = {"instance_id": "x", "repo": "a/b", "base_commit": "0", "patch": "", "test_patch": ""}
        for bad in ({"task": forged}, {"options": {"task": forged}}, {"instance_id": "not-served"}):
            with pytest.raises(RuntimeError, match=r"VALIDATION_ERROR|unknown instance_id"):
                env.reset(**bad)
        env.reset(instance_id=TASK_ID)
        with pytest.raises(RuntimeError, match="VALIDATION_ERROR"):
            env.step({"name": "finish", "arguments": {}, "reward": 1.0})
        with pytest.raises(RuntimeError, match="VALIDATION_ERROR"):
            env.step({"name": "finish", "done": True})
        # metadata is OpenEnv's free-form field: carried, never read
        r = env.step({"name": "finish", "arguments": {}, "metadata": {"reward": 1.0, "resolved": True}})
        assert r.done and r.reward == 0.0 and r.observation["outcome"] == "no_diff"
        with pytest.raises(RuntimeError, match="ended"):
            env.step({"name": "finish", "arguments": {}})
    headers = {"Authorization": f"Bearer {TOKEN}"}
    sid = httpx.post(f"{server.url}/sessions", headers=headers).json()["session_id"]
    bad = httpx.post(f"{server.url}/sessions/{sid}/reset", headers=headers, json={"task": forged})
    assert bad.status_code == 422
    httpx.delete(f"{server.url}/sessions/{sid}", headers=headers)


def test_no_host_files_and_no_other_sessions(server: Server, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("HOST-SECRET-VALUE")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with SWEGymClient(server.url, token=TOKEN) as env:
        env.reset(instance_id=TASK_ID)
        out = env.step("execute_bash", {"command": f"cat {secret}; ls /work /root 2>&1 | head -3"}).output
        assert "HOST-SECRET-VALUE" not in out and "No such file" in out
        view = env.step("str_replace_editor", {"command": "view", "path": str(secret)}).output
        assert "HOST-SECRET-VALUE" not in view and "does not exist" in view
        # sessions are named only by random ids (uuid4: 122 random bits) never shown to others
        ids = [httpx.post(f"{server.url}/sessions", headers=headers).json()["session_id"] for _ in range(3)]
        assert len(set(ids)) == 3 and all(uuid.UUID(i).version == 4 for i in ids)
        guess = httpx.get(f"{server.url}/sessions/{uuid.uuid4()}/state", headers=headers)
        assert guess.status_code == 404
        for sid in ids:
            httpx.delete(f"{server.url}/sessions/{sid}", headers=headers)
    # OpenEnv's stateless HTTP /reset and /step (a sandbox per request) are not served
    assert httpx.post(f"{server.url}/reset", headers=headers, json={}).status_code in (404, 405)
    assert httpx.post(f"{server.url}/step", headers=headers, json={"action": {}}).status_code in (404, 405)


def test_http_session_lifecycle_and_capacity_refusal(server: Server) -> None:
    base, H = server.url, {"Authorization": f"Bearer {TOKEN}"}
    ids = [httpx.post(f"{base}/sessions", headers=H).json()["session_id"] for _ in range(4)]
    try:
        full = httpx.post(f"{base}/sessions", headers=H)
        assert full.status_code == 503 and full.headers["retry-after"] and "capacity" in full.text
        from openenv.core.generic_client import GenericEnvClient

        # a WebSocket handshake beyond capacity is refused with HTTP 503 (Retry-After)
        with pytest.raises(ConnectionError, match="HTTP 503"):
            GenericEnvClient(base_url=authed(server)).sync().connect()
        with pytest.raises(ClientError, match="HTTP 503"):
            SWEGymClient(server.url, token=TOKEN).connect()
    finally:
        for sid in ids:
            assert httpx.delete(f"{base}/sessions/{sid}", headers=H).status_code == 200
    assert httpx.get(f"{base}/capacity", headers=H).json()["active_sessions"] == 0
    assert httpx.delete(f"{base}/sessions/{ids[0]}", headers=H).status_code == 404
    step = httpx.post(f"{base}/sessions/{ids[0]}/step", headers=H, json={"action": {"name": "finish"}})
    assert step.status_code == 404


def test_without_the_rl_extra_serve_env_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['openenv'] = None\n"
        "from swegym.cli.app import main\n"
        "sys.argv = ['swegym', 'serve-env', '--port', '1', '--no-prepare']\n"
        "main()\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        "error: swegym serve-env needs openenv-core (openenv.core is missing): pip install 'swegym[rl]'"
    )
