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


# -- red-team trial, issue 12 item 3 ------------------------------------------------------------
def test_threat_host_environment_via_proc_1_environ(repo: Path, tmp_path: Path) -> None:
    """bwrap itself (pid 1 inside) starts with a minimal environment, not the host's."""
    from swegym.sandbox.base import ExecRequest

    os.environ["SWEGYM_FAKE_SECRET"] = "s3cr3t-token"
    try:
        sb = open_sandbox(repo)
        try:
            dump = "cat /proc/[0-9]*/environ | tr '\\0' '\\n'"
            out = sb.run(dump).output
            once = sb.exec_once(ExecRequest(script=dump, timeout=30)).output
        finally:
            sb.close()
    finally:
        del os.environ["SWEGYM_FAKE_SECRET"]
    assert "PATH=" in out and "PATH=" in once  # the dump did read the environments
    assert "s3cr3t" not in out and "s3cr3t" not in once
    assert str(Path.cwd()) not in out  # nor the host's working directory


def test_threat_base_interpreter_site_packages_visible(repo: Path, tmp_path: Path) -> None:
    """A mounted interpreter prefix shows its stdlib, never its site-packages."""
    import sys

    prefix = tmp_path / "prefix"
    stdlib = prefix / "lib" / "python3.99"
    (stdlib / "site-packages").mkdir(parents=True)
    (stdlib / "dist-packages").mkdir()
    (stdlib / "os.py").write_text("# stdlib\n")
    (stdlib / "site-packages" / "solution.py").write_text("ANSWER = 42\n")
    (stdlib / "dist-packages" / "solution.py").write_text("ANSWER = 42\n")
    base = Path(sys.base_prefix)
    layout = Layout(repo_layers=[repo], ro_binds=[(prefix, str(prefix)), (base, str(base))])
    sb = LocalSandbox(layout, SandboxConfig())
    sb.start()
    try:
        assert sb.run(f"cat {stdlib}/os.py").output == "# stdlib\n"
        r = sb.run(f"ls -A {stdlib}/site-packages {stdlib}/dist-packages; cat {stdlib}/*/solution.py 2>&1")
        assert "ANSWER" not in r.output and "solution.py:" not in r.output, r.output
        assert "No such file" in r.output
        ver = f"python{sys.version_info.major}.{sys.version_info.minor}"
        listing = sb.run(f"ls -A {base}/lib/{ver}/site-packages /usr/lib/python3/dist-packages").output
        assert all(line.endswith(":") or not line for line in listing.splitlines()), listing
        # The base interpreter still runs from its stdlib, without its third-party packages.
        r = sb.run(f"{base}/bin/{ver} -c 'import json, ssl; import pytest' 2>&1 | tail -1")
        assert "No module named 'pytest'" in r.output
    finally:
        sb.close()


SETUID_ATTACK = (
    "cp /bin/sh /testbed/sh1; chmod u+s /testbed/sh1; chmod 6755 /testbed/sh1;"
    " cp /bin/sh /testbed/sh2; chmod g+s /testbed/sh2;"
    " python3 -c \"import os; os.close(os.open('/testbed/sh3', os.O_CREAT | os.O_WRONLY, 0o4755))\";"
    " python3 -c \"import os; os.mknod('/testbed/sh4', 0o104755)\"; mkdir -m 2755 /testbed/d;"
    " python3 -c \"import os; fd = os.open('/testbed/sh1', os.O_RDONLY); os.fchmod(fd, 0o4755)\";"
    " ls -l /testbed"
)


def test_threat_setuid_file_planted_in_upper_dir(sandbox: LocalSandbox) -> None:
    """No file the sandbox writes to its (host-side) upper layer carries a setuid/setgid bit, and
    the layer sits under private (0700) directories."""
    out = sandbox.run(SETUID_ATTACK).output
    assert "Operation not permitted" in out
    upper = sandbox.upper_dir
    assert upper is not None and (upper / "sh1").exists()
    for path in [upper, *upper.rglob("*")]:
        mode = path.lstat().st_mode
        assert not mode & (0o4000 | 0o2000), f"{path.name}: {oct(mode)}"
    for parent in (upper.parent, upper.parent.parent):
        assert parent.stat().st_mode & 0o077 == 0, f"{parent}: {oct(parent.stat().st_mode)}"


def _host_file_fds(sb: LocalSandbox) -> list[str]:
    """Descriptors, held by the sandbox's processes, of regular files on the host side."""
    out = sb.run("ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -o -- '-> /.*' || true").output
    return [t for t in out.split() if t.startswith("/") and not t.startswith(("/dev/", "/proc/"))]


def test_threat_log_flood_through_proc_fd(sandbox: LocalSandbox, tmp_path: Path) -> None:
    """Output written through /proc/<pid>/fd reaches host log files capped: it is a pipe."""
    from swegym.sandbox.base import ExecRequest

    log = tmp_path / "grading.log"
    flood = (
        "ls -l /proc/1/fd/ /proc/$PPID/fd/; yes | head -c 40000000 > /proc/$PPID/fd/1;"
        " yes | head -c 40000000 > /proc/1/fd/2; yes | head -c 40000000"
    )
    r = sandbox.exec_once(ExecRequest(script=flood, timeout=60, log_path=str(log), log_limit=1 << 20))
    assert r.exit_code == 0
    assert log.stat().st_size < (1 << 20) + 200 and "elided" in log.read_text()
    assert str(log) not in r.output and len(r.output) <= 4_000_100
    assert _host_file_fds(sandbox) == []  # nor does the session hold a host file


def test_threat_transfer_file_swapped_for_fifo(
    sandbox: LocalSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A FIFO put where the host expects a transfer file is refused at once, not waited on."""
    import uuid

    from swegym.errors import SandboxError

    fixed = uuid.UUID(int=0x5EC)
    monkeypatch.setattr(uuid, "uuid4", lambda: fixed)
    xfer = "/run/swegym/xfer"
    sandbox.run(
        f"mkfifo {xfer}/r-{fixed.hex} {xfer}/w-{fixed.hex};"
        f" (while :; do cat {xfer}/r-{fixed.hex} > /dev/null; done) > /dev/null 2>&1 &"
    )
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            sandbox.read_file("/testbed/file.txt")
        except SandboxError as exc:
            errors.append(exc)
        try:
            sandbox.write_file("/tmp/x", b"x")
        except SandboxError as exc:
            errors.append(exc)

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # blocked on the FIFO: release it (a writer lets the open return), then fail
        assert sandbox._workdir is not None
        for _ in range(2):
            fd = os.open(sandbox._workdir / "xfer" / f"r-{fixed.hex}", os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        t.join(5)
        pytest.fail("the host blocked on a FIFO in the transfer directory")
    assert len(errors) == 2 and all("tampered" in str(e) for e in errors), errors


def test_threat_nested_user_namespace(sandbox: LocalSandbox) -> None:
    """No user namespace can be created inside (it would hand back every capability)."""
    for flags in ("--user", "--user --mount --pid --fork"):
        r = sandbox.run(f"unshare {flags} true; echo rc=$?")
        assert "rc=1" in r.output, r.output


PTRACE_ATTACK = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
for pid in (1, int(sys.argv[1])):
    print(pid, "ptrace", libc.ptrace(16, pid, None, None), ctypes.get_errno())  # PTRACE_ATTACH
    start = int(open(f"/proc/{pid}/maps").readline().split("-")[0], 16)
    buf = ctypes.create_string_buffer(64)
    local, remote = IOVec(ctypes.addressof(buf), 64), IOVec(start, 64)
    got = libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    print(pid, "process_vm_readv", got, ctypes.get_errno())
try:
    with open("/proc/1/mem", "rb") as fh:
        fh.seek(int(open("/proc/1/maps").readline().split("-")[0], 16))
        print("mem", len(fh.read(64)))
except OSError as exc:
    print("mem refused", exc.errno)
"""


def test_threat_ptrace_of_sandbox_processes(sandbox: LocalSandbox) -> None:
    """ptrace and process_vm_readv are refused (EPERM), for pid 1 and for any other process;
    the memory of pid 1 (bwrap) cannot be read through /proc/1/mem."""
    sandbox.write_file("/tmp/attack.py", PTRACE_ATTACK.encode())
    out = sandbox.run("sleep 30 & python3 /tmp/attack.py $!; kill %1").output
    lines = out.splitlines()
    attempts = [ln for ln in lines if "ptrace" in ln or "process_vm_readv" in ln]
    assert len(attempts) == 4 and all(ln.endswith(" -1 1") for ln in attempts), out
    assert "mem 64" not in out and any(ln.startswith("mem") for ln in lines), out


def test_threat_filling_dev_is_bounded(sandbox: LocalSandbox) -> None:
    """/dev is read-only (its device nodes still work) and /dev/shm is a sized tmpfs."""
    r = sandbox.run("head -c 100M /dev/zero > /dev/fill; ls -s /dev/fill; echo x > /dev/null && echo null-ok")
    assert "null-ok" in r.output and "No such file" in r.output, r.output
    r = sandbox.run("head -c 200M /dev/zero > /dev/shm/fill; du -m /dev/shm/fill | cut -f1", timeout=60)
    assert int(r.output.strip().splitlines()[-1]) <= 32
