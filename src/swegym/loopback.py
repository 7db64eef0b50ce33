"""Loopback names, ``Host`` headers and ``Origin`` values, for the servers that bind 127.0.0.1.

One strict reading for every server (the viewer, serve-env): only canonical loopback addresses
and ``localhost`` count (``127.1``, ``2130706433``, ``0.0.0.0`` and ``localhost.`` do not), and a
``Host`` header that is not ``name``, ``name:port``, ``[addr]`` or ``[addr]:port`` is a name of its
own (so ``[::1].evil.example`` is not loopback).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_name(host: str) -> bool:
    """Whether ``host`` (a name or an address, maybe in brackets) is this machine's loopback.
    Only canonical addresses count: ``127.1``, ``2130706433`` and ``0.0.0.0`` do not."""
    host = host.strip("[]").lower() if host.startswith("[") and host.endswith("]") else host.lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8765`` -> ``[::1]``, ``x:80`` -> ``x``); a
    header that is not ``name``, ``name:port``, ``[addr]`` or ``[addr]:port`` is returned whole
    (so ``[::1].evil.example`` stays a non-loopback name)."""
    if header.startswith("["):
        end = header.find("]")
        tail = header[end + 1 :] if end > 0 else "?"
        ok = tail == "" or (tail[:1] == ":" and tail[1:].isdigit())
        return header[: end + 1] if ok else header
    name, sep, port = header.rpartition(":")
    return name if sep and header.count(":") == 1 and port.isdigit() else header


def is_loopback_host(header: str) -> bool:
    """Whether a ``Host`` header names this machine's loopback (an empty one does not)."""
    return bool(header) and is_loopback_name(host_name(header))


def is_loopback_origin(origin: str) -> bool:
    """Whether an ``Origin`` is ``http(s)://`` a loopback host, with an optional port."""
    try:
        url = urlsplit(origin)
        url.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        return False
    if url.scheme not in ("http", "https") or url.path or url.query or url.username:
        return False
    return is_loopback_host(url.netloc)
