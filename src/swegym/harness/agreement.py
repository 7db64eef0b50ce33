"""Agreement of a dataset's published labels with the labels swegym derives. Pure functions.

Official SWE-Gym rows carry FAIL_TO_PASS / PASS_TO_PASS made by SWE-bench's ``-rA`` text parser,
which takes the second whitespace-separated token of each summary line: a parametrized id with
a space in it is cut there (``tests/test_s3/test_server.py::test_s3_server_bucket_create[baz``).
Such ids are mapped back to the real node ids by prefix (:func:`map_published`), and every other
difference is put in one category: a test that needs the network (swegym's tests run with the
network off), a flaky test (outcomes differ between runs), a test no run reported, or a test the
runs put in another list.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, Field

from swegym.harness.parsers import json_records

LabelSource = Literal["published", "derived"]
"""Which lists grade episodes of a task that has published labels: its own (``published``,
truncated ids mapped to real ones) or those the validation runs derived (``derived``)."""

NETWORK_ERROR = re.compile(
    r"ConnectionError|ConnectionRefused|NewConnectionError|MaxRetryError|Max retries exceeded"
    r"|Failed to establish a new connection|Temporary failure in name resolution"
    r"|Name or service not known|nodename nor servname|getaddrinfo|gaierror|Network is unreachable"
    r"|No route to host|URLError|EndpointConnectionError|Could not connect to the endpoint"
    r"|ProxyError|SSLError|ConnectTimeout|socket\.timeout",
)
"""Failure messages that mean a test tried to reach the network (which the sandbox cuts off)."""

_SUMMARY_FAILURE = re.compile(r"^(?:FAILED|ERROR)\s+(\S.*?)\s+-\s+(.*)$")


class Agreement(BaseModel):
    """How a task's published labels compare with the derived ones (ids as published)."""

    status: Literal["agree", "differ"]
    truncated: dict[str, list[str]] = Field(
        default_factory=dict, description="Published id cut at a space -> the real node ids it stands for."
    )
    missing: list[str] = Field(default_factory=list, description="Published tests that no run reported.")
    network: list[str] = Field(
        default_factory=list, description="Published tests that failed on a network error (network off)."
    )
    flaky: list[str] = Field(
        default_factory=list, description="Published tests whose outcome differed between runs."
    )
    date_dependent: list[str] = Field(
        default_factory=list,
        description="Published tests left out under the real clock (date-dependent).",
    )
    mismatch: dict[str, str] = Field(
        default_factory=dict, description="Published test -> where it is and where the runs put it."
    )
    extra_fail_to_pass: list[str] = Field(
        default_factory=list, description="Derived FAIL_TO_PASS tests the published lists do not hold."
    )
    extra_pass_to_pass: list[str] = Field(
        default_factory=list, description="Derived PASS_TO_PASS tests the published lists do not hold."
    )

    def describe(self) -> str:
        """One line: 'agree' or the counts of each kind of difference."""
        parts = [
            f"{len(v)} {name}"
            for name, v in (
                ("truncated ids mapped", self.truncated),
                ("missing from the runs", self.missing),
                ("need the network", self.network),
                ("flaky", self.flaky),
                ("date-dependent", self.date_dependent),
                ("in another list", self.mismatch),
                ("extra FAIL_TO_PASS", self.extra_fail_to_pass),
                ("extra PASS_TO_PASS", self.extra_pass_to_pass),
            )
            if v
        ]
        return self.status + (": " + ", ".join(parts) if parts else "")


def map_published(
    published: Iterable[str], observed: Collection[str]
) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """Published ids -> real node ids: (mapped list, truncated id -> real ids, ids not found).

    An id a run reported is kept; one no run reported stands for every reported id that starts
    with it followed by whitespace (where SWE-bench's parser cut it); otherwise it is missing.
    """
    ordered = sorted(observed)
    seen = set(ordered)
    mapped: list[str] = []
    truncated: dict[str, list[str]] = {}
    missing: list[str] = []
    for pid in published:
        if pid in seen:
            mapped.append(pid)
            continue
        real: list[str] = []
        i = bisect.bisect_left(ordered, pid)
        while i < len(ordered) and ordered[i].startswith(pid):
            rest = ordered[i][len(pid) :]
            if rest[:1].isspace():
                real.append(ordered[i])
            i += 1
        if real:
            truncated[pid] = real
            mapped.extend(real)
        else:
            missing.append(pid)
    return list(dict.fromkeys(mapped)), truncated, missing


def failure_messages(results: str, log: str) -> dict[str, str]:
    """Test id -> its one-line failure reason: from the side channel's records, else from the
    ``-rA`` summary lines of the printed log (``FAILED id - reason``)."""
    out: dict[str, str] = {}
    for line in log.splitlines():
        m = _SUMMARY_FAILURE.match(line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    for rec in json_records(results):
        nodeid, message = rec.get("nodeid"), rec.get("message")
        if isinstance(nodeid, str) and isinstance(message, str) and message:
            out[nodeid] = message
    return out


def compare_labels(
    published_f2p: list[str],
    published_p2p: list[str],
    *,
    fail_to_pass: Collection[str],
    pass_to_pass: Collection[str],
    flaky: Collection[str],
    observed: Collection[str],
    messages: Mapping[str, str] | None = None,
    exclude: Collection[str] = (),
) -> tuple[Agreement, list[str], list[str]]:
    """Compare published with derived labels; also return the published lists mapped to real
    node ids (truncated ids replaced by the ids they stand for).

    ``observed``: every test id any run reported; ``messages``: failure reasons by test id (for
    the network category); ``exclude``: tests left out of the labels (date-dependent ones).
    """
    f2p, trunc_f, missing_f = map_published(published_f2p, observed)
    p2p, trunc_p, missing_p = map_published(published_p2p, observed)
    derived = {"FAIL_TO_PASS": set(fail_to_pass), "PASS_TO_PASS": set(pass_to_pass)}
    unstable, gone, msgs = set(flaky), set(exclude), messages or {}
    agreement = Agreement(status="agree", truncated={**trunc_f, **trunc_p}, missing=missing_f + missing_p)
    for name, tests in (("FAIL_TO_PASS", f2p), ("PASS_TO_PASS", p2p)):
        for t in tests:
            if t in derived[name]:
                continue
            if t in unstable:
                agreement.flaky.append(t)
            elif t in gone:
                agreement.date_dependent.append(t)
            elif NETWORK_ERROR.search(msgs.get(t, "")):
                agreement.network.append(t)
            else:
                agreement.mismatch[t] = f"published {name}, derived {_where(t, derived)}"
    published = set(f2p) | set(p2p)
    agreement.extra_fail_to_pass = sorted(derived["FAIL_TO_PASS"] - published)
    agreement.extra_pass_to_pass = sorted(derived["PASS_TO_PASS"] - published)
    differs = (
        agreement.missing
        or agreement.network
        or agreement.flaky
        or agreement.date_dependent
        or agreement.mismatch
        or agreement.extra_fail_to_pass
        or agreement.extra_pass_to_pass
    )
    agreement.status = "differ" if differs else "agree"
    return agreement, f2p, p2p


def _where(test: str, derived: Mapping[str, set[str]]) -> str:
    for name, tests in derived.items():
        if test in tests:
            return name
    return "neither (fails with the gold patch)"
