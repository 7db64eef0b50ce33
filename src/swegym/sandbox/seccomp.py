"""The sandbox's seccomp filter: a small classic BPF program that bwrap loads (``--seccomp FD``).

It refuses, with EPERM, the system calls that reach into another process (``ptrace``,
``process_vm_readv``/``writev``), and any call that would give a file a setuid or setgid bit
(``chmod``-family calls, and ``open``/``mknod`` creating a file with those bits): the overlay's
upper layer is a host directory, and a setuid-root file planted there would be one on the host
too. ``openat2`` (whose mode sits behind a pointer the filter cannot read) answers ENOSYS, so
libc falls back to ``openat``; ``io_uring_setup`` is refused because io_uring opens files without
going through the filter. Every other call is allowed. System calls of a foreign ABI (i386 via
``int 0x80``, x32 on x86_64) are refused, since their numbers differ from the ones checked here.
"""

from __future__ import annotations

import errno
import functools
import os
import platform
import stat
import struct

# Classic BPF opcodes (linux/bpf_common.h) and seccomp return values (linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_NR, _ARCH = 0, 4  # offsets in struct seccomp_data; args[i] at 16 + 8 * i (low word first)
_X32_BIT = 0x40000000
_SETID_BITS = stat.S_ISUID | stat.S_ISGID

DENIED = ("ptrace", "process_vm_readv", "process_vm_writev", "io_uring_setup")
"""Calls refused outright with EPERM."""
MODE_CHECKED = ("chmod", "fchmod", "fchmodat", "fchmodat2", "open", "creat", "openat", "mknod", "mknodat")
"""Calls refused with EPERM when their mode argument carries S_ISUID or S_ISGID."""

# (audit arch, syscall numbers, index of the mode argument of each mode-checked call).
_ARCHES: dict[str, tuple[int, dict[str, int], dict[str, int]]] = {
    "x86_64": (
        0xC000003E,
        {"ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "io_uring_setup": 425,
         "openat2": 437, "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452, "open": 2,
         "creat": 85, "openat": 257, "mknod": 133, "mknodat": 259},
        {"chmod": 1, "fchmod": 1, "fchmodat": 2, "fchmodat2": 2, "open": 2, "creat": 1,
         "openat": 3, "mknod": 1, "mknodat": 2},
    ),
    "aarch64": (
        0xC00000B7,
        {"ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "io_uring_setup": 425,
         "openat2": 437, "fchmod": 52, "fchmodat": 53, "fchmodat2": 452, "openat": 56,
         "mknodat": 33},
        {"fchmod": 1, "fchmodat": 2, "fchmodat2": 2, "openat": 3, "mknodat": 2},
    ),
}  # fmt: skip


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _refuse(err: int) -> bytes:
    return _insn(_RET_K, _RET_ERRNO | err)


def build_program(machine: str) -> bytes:
    """The filter for ``machine`` (``platform.machine()`` spelling), as bytes of sock_filter."""
    arch, numbers, mode_arg = _ARCHES[machine]
    # Each block below leaves the syscall number in A for the next one, or returns.
    prog = [_insn(_LD_W_ABS, _ARCH), _insn(_JEQ_K, arch, 1, 0), _refuse(errno.EPERM)]
    prog.append(_insn(_LD_W_ABS, _NR))
    if machine == "x86_64":
        prog += [_insn(_JGE_K, _X32_BIT, 0, 1), _refuse(errno.EPERM)]
    prog += [_insn(_JEQ_K, numbers["openat2"], 0, 1), _refuse(errno.ENOSYS)]
    for name in DENIED:
        prog += [_insn(_JEQ_K, numbers[name], 0, 1), _refuse(errno.EPERM)]
    for name in MODE_CHECKED:
        if name not in mode_arg:
            continue  # no such call on this architecture (aarch64 has only the *at forms)
        prog += [
            _insn(_JEQ_K, numbers[name], 0, 4),
            _insn(_LD_W_ABS, 16 + 8 * mode_arg[name]),
            _insn(_JSET_K, _SETID_BITS, 0, 1),
            _refuse(errno.EPERM),
            _insn(_RET_K, _RET_ALLOW),
        ]
    prog.append(_insn(_RET_K, _RET_ALLOW))
    return b"".join(prog)


@functools.lru_cache(maxsize=1)
def _host_program() -> bytes:
    machine = platform.machine()
    if machine not in _ARCHES:
        raise OSError(f"no seccomp filter for the {machine} architecture")
    return build_program(machine)


def filter_fd() -> int:
    """A fresh descriptor holding the filter, at offset 0 (bwrap reads it to the end once).

    Close-on-exec: pass it to the child with ``pass_fds``; close it once the child started."""
    fd = os.memfd_create("swegym-seccomp", os.MFD_CLOEXEC)
    try:
        os.write(fd, _host_program())
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        raise
    return fd
