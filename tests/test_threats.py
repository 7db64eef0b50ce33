"""One test per threat, named after it. Each attack is bounded even if its defence were off,
and ``test_defences_are_load_bearing`` shows that each attack succeeds when its defence is off."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from swegym.sandbox.bwrap import Layout
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.local import LocalSandbox

pytestmark = pytest.mark.sandbox


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    d = tmp_path / "repo"
    d.mkdir()
    (d / "file.txt").write_text("original\n")
    return d


def open_sandbox(repo: Path, **cfg: object) -> LocalSandbox:
    sb = LocalSandbox(Layout(repo_layers=[repo]), SandboxConfig.model_validate(cfg))
    sb.start()
    return sb


@pytest.fixture
def sandbox(repo: Path) -> Iterator[LocalSandbox]:
    sb = open_sandbox(repo, memory_mb=256, pids=64, tmp_size_mb=32, output_limit=10_000)
    yield sb
    sb.close()


@pytest.fixture
def loopback_server() -> Iterator[int]:
    """A TCP server on the host's loopback; the sandbox must not reach it."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.sendall(b"hello-from-host\n")
                conn.close()
            except OSError:
                continue

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    srv.close()


def test_agent_cannot_reach_network(sandbox: LocalSandbox, loopback_server: int) -> None:
    r = sandbox.run(f"timeout 3 bash -c 'cat < /dev/tcp/127.0.0.1/{loopback_server}'; echo rc=$?")
    assert "hello-from-host" not in r.output
    ifaces = sandbox.run("cat /proc/net/dev | tail -n +3 | cut -d: -f1").output.split()
    assert ifaces == ["lo"]


def test_agent_cannot_write_outside_workspace(sandbox: LocalSandbox, repo: Path) -> None:
    for target in ("/usr/evil", "/etc/evil", "/evil", "/opt/evil", "/proc/sys/kernel/evil"):
        r = sandbox.run(f"echo x > {target}")
        assert r.exit_code != 0, target
    assert sandbox.run("echo changed > /testbed/file.txt && cat /testbed/file.txt").output == "changed\n"
    assert (repo / "file.txt").read_text() == "original\n"  # the shared lower layer is untouched
    assert not Path("/usr/evil").exists() and not Path("/evil").exists()


def test_agent_cannot_read_host_secrets(repo: Path, tmp_path: Path) -> None:
    os.environ["SWEGYM_FAKE_SECRET"] = "s3cr3t-token"
    home_secret = Path.home() / ".swegym-threat-test-secret"
    home_secret.write_text("s3cr3t-file\n")
    try:
        sb = open_sandbox(repo)
        try:
            out = sb.run(
                "env; cat ~/.swegym-threat-test-secret; cat /root/.swegym-threat-test-secret;"
                f" ls -a {Path.home()} /root; cat /etc/shadow"
            ).output
        finally:
            sb.close()
        assert "s3cr3t" not in out
        assert "cannot access '/root'" in out  # the host's home directory does not exist inside
    finally:
        home_secret.unlink()
        del os.environ["SWEGYM_FAKE_SECRET"]


def test_agent_cannot_see_host_processes(sandbox: LocalSandbox) -> None:
    pids = [p for p in sandbox.run("ls /proc").output.split() if p.isdigit()]
    assert len(pids) < 10  # only the sandbox's own processes


FORK_BOMB = "( for i in $(seq 300); do sleep 30 & done ) 2>/dev/null; echo spawned"


def test_fork_bomb_is_contained(sandbox: LocalSandbox) -> None:
    sandbox.run(FORK_BOMB, timeout=30)
    assert sandbox.process_count() <= 64 + 2  # the limit, plus bwrap's own two processes
    sandbox.run("kill -9 -1")  # builtin: needs no fork
    assert sandbox.run("echo alive").output.startswith("alive")


def test_memory_bomb_is_contained(sandbox: LocalSandbox) -> None:
    # `tail -n 1` buffers a line with no newline: 600 MB of zeros needs 600 MB of memory.
    r = sandbox.run("head -c 600M /dev/zero | tail -n 1 | wc -c", timeout=60)
    assert "629145600" not in r.output
    assert sandbox.run("echo alive").output == "alive\n"


def test_filling_tmp_is_bounded(sandbox: LocalSandbox) -> None:
    r = sandbox.run("head -c 200M /dev/zero > /tmp/fill; du -m /tmp/fill | cut -f1", timeout=60)
    assert int(r.output.strip().splitlines()[-1]) <= 32


def test_filling_workspace_disk_is_bounded(repo: Path) -> None:
    sb = open_sandbox(repo, disk_mb=20)
    try:
        r = sb.run(
            "for i in $(seq 200); do head -c 1M /dev/zero > /testbed/f$i; sleep 0.01; done", timeout=60
        )
        assert r.timed_out and "disk limit" in r.output
        assert sb.upper_dir is not None
    finally:
        sb.close()


def test_output_flood_is_capped(sandbox: LocalSandbox) -> None:
    r = sandbox.run("yes | head -c 50000000", timeout=60)
    assert r.exit_code == 0 and r.truncated_bytes > 40_000_000
    assert len(r.output) < 11_000 and "elided" in r.output
    r = sandbox.run("yes", timeout=1)
    assert r.timed_out and len(r.output) < 11_000


def test_command_that_never_ends_is_killed(sandbox: LocalSandbox) -> None:
    sandbox.run("cd /tmp && export KEEP=1")
    start = time.perf_counter()
    r = sandbox.run("sleep 1000", timeout=1)
    assert r.timed_out and r.exit_code is None and time.perf_counter() - start < 5
    assert sandbox.run("pwd; echo $KEEP").output == "/tmp\n1\n"  # the shell survived


def test_command_reading_stdin_does_not_swallow_next(sandbox: LocalSandbox) -> None:
    assert sandbox.run("cat; read x; echo after").output == "after\n"
    assert sandbox.run("echo next").output == "next\n"


def test_forged_end_marker_does_not_end_command(sandbox: LocalSandbox) -> None:
    r = sandbox.run("printf '\\n__SWEGYM_0000000000000000_0__\\n'; sleep 0.2; echo real-end")
    assert "real-end" in r.output


def _host_pids_running(marks: list[str]) -> list[int]:
    """Host pids of `sleep MARK` processes (seen from outside the sandbox)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if any(f"sleep\x00{m}".encode() in cmd for m in marks):
                found.append(int(entry))
    return found


def test_orphan_processes_after_episode(repo: Path) -> None:
    import secrets

    marks = [f"300.{secrets.randbelow(10**6)}{i}" for i in range(2)]  # unique per run, short-lived
    sb = open_sandbox(repo)
    sb.run(
        f"(setsid nohup sleep {marks[0]} > /dev/null 2>&1 &); (sleep {marks[1]} &) ; disown -a; echo started"
    )
    # Both detached sleeps must really be running before the close, or the check below is empty.
    deadline = time.monotonic() + 5
    while len(_host_pids_running(marks)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_host_pids_running(marks)) == 2, "the detached sleeps did not start"
    sb.close()
    time.sleep(0.2)
    assert _host_pids_running(marks) == []


def _attack_succeeds(threat: str, repo: Path, port: int) -> bool:
    """Run ``threat``'s attack with its defence switched off; True if the attack got through."""
    if threat == "network":
        sb = open_sandbox(repo, network=True)
        out = sb.run(f"timeout 3 bash -c 'cat < /dev/tcp/127.0.0.1/{port}'").output
        sb.close()
        return "hello-from-host" in out
    if threat == "fork_bomb":
        sb = open_sandbox(repo, pids=64, use_cgroups=False)
        sb.run(FORK_BOMB, timeout=30)
        count = sb.process_count()
        sb.close()
        return count > 64 + 2
    if threat == "tmp":
        sb = open_sandbox(repo, tmp_size_mb=1024)
        out = sb.run("head -c 200M /dev/zero > /tmp/fill; du -m /tmp/fill | cut -f1", timeout=60).output
        sb.close()
        return int(out.strip().splitlines()[-1]) > 32
    if threat == "memory":
        sb = open_sandbox(repo, memory_mb=4096)
        out = sb.run("head -c 600M /dev/zero | tail -n 1 | wc -c", timeout=60).output
        sb.close()
        return "629145600" in out
    raise AssertionError(threat)


@pytest.mark.slow
@pytest.mark.parametrize("threat", ["network", "fork_bomb", "tmp", "memory"])
def test_defences_are_load_bearing(threat: str, repo: Path, loopback_server: int) -> None:
    assert _attack_succeeds(threat, repo, loopback_server)


def test_transfer_dir_links_are_not_followed_on_host(sandbox: LocalSandbox, tmp_path: Path) -> None:
    from swegym.errors import SandboxError

    secret = tmp_path / "host-secret.txt"
    secret.write_text("host-only\n")
    sandbox.run("echo inside > /testbed/f.txt")
    assert sandbox.read_file("/testbed/f.txt") == b"inside\n"
    # A link placed in the transfer directory must not make the host read its own files.
    sandbox.run(f"ln -s {secret} /run/swegym/xfer/trap")
    assert sandbox._workdir is not None
    trap = sandbox._workdir / "xfer" / "trap"
    assert trap.is_symlink()
    with pytest.raises(OSError):
        os.open(trap, os.O_RDONLY | os.O_NOFOLLOW)
    with pytest.raises(SandboxError):
        sandbox.read_file("/testbed/missing.txt")


def test_background_job_cannot_fill_workspace_disk(repo: Path) -> None:
    sb = open_sandbox(repo, disk_mb=20)
    try:
        sb.run("(while :; do head -c 1M /dev/zero >> /testbed/fill; sleep 0.01; done) > /dev/null 2>&1 &")
        time.sleep(4)
        assert sb.upper_dir is not None
        size_mb = (sb.upper_dir / "fill").stat().st_size >> 20
        assert size_mb < 60  # the writer was stopped soon after crossing the 20 MB limit
        assert sb.process_count() <= 3  # bwrap's two and the shell: the background job is gone
        assert "disk limit" in sb.run("true").output
    finally:
        sb.close()
