"""A Ray cluster of several nodes on this one machine, for tests, benchmarks and trying things out.

Each node is its own ``ray start --block`` process in its own session, with its own CPUs and
environment (its own ``SWEGYM_CACHE_DIR``, as a real node has its own disk); the head listens on
127.0.0.1 only, on free ports. A node stops by signalling its own process group, never with
``ray stop`` (which stops every Ray process of the user on the machine, other people's included)::

    with LocalCluster(tmp) as cluster:
        cluster.add_node(cpus=1, cache_dir=tmp / "cache-a")   # the head
        cluster.add_node(cpus=1, cache_dir=tmp / "cache-b")
        with use_executor(make_executor("ray", address=cluster.address)):
            ...
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from swegym.executors.base import ExecutorError


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    """One started node: its ``ray start --block`` process and where it logs."""

    proc: subprocess.Popen[bytes]
    cpus: int
    log: Path
    cache_dir: Path | None
    node_manager_port: int

    def node_id(self, nodes: list[dict[str, object]]) -> str:
        """This node's Ray id among ``ray.nodes()``."""
        return next(str(n["NodeID"]) for n in nodes if n.get("NodeManagerPort") == self.node_manager_port)


class LocalCluster:
    """Nodes started with ``ray start`` under ``root`` (its temp dir and logs), stopped on exit."""

    def __init__(self, root: Path, *, object_store_mb: int = 80, timeout: float = 180.0) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.object_store_mb = object_store_mb
        self.timeout = timeout
        self.nodes: list[Node] = []
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"

    def _ray(self) -> str:
        return str(Path(sys.executable).with_name("ray"))

    def _ports(self, node_manager: int) -> list[str]:
        lo = free_port()
        return [
            f"--node-manager-port={node_manager}",
            f"--object-manager-port={free_port()}",
            f"--min-worker-port={lo}",
            f"--max-worker-port={lo + 40}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
        ]

    def add_node(
        self, *, cpus: int = 1, cache_dir: Path | None = None, env: dict[str, str] | None = None
    ) -> Node:
        """Start a node (the first is the head) and wait until the cluster counts its CPUs."""
        head = not self.nodes
        args = [
            self._ray(),
            "start",
            "--block",
            f"--num-cpus={cpus}",
            "--num-gpus=0",
            "--disable-usage-stats",
        ]
        args += [f"--object-store-memory={self.object_store_mb << 20}", "--node-ip-address=127.0.0.1"]
        manager_port = free_port()
        args += self._ports(manager_port)
        if head:
            args += ["--head", f"--port={self.port}", "--include-dashboard=false"]
            args += [f"--temp-dir={self.root / 'ray'}"]
        else:
            args += [f"--address={self.address}"]
        # No token: Ray 2.60 turns token auth on when a ~/.ray/auth_token exists (someone else's
        # cluster may have made one) and in-process drivers would then be refused. The nodes
        # listen on 127.0.0.1 only, and sandboxed agent code has no network to reach them.
        node_env = {**os.environ, **(env or {}), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
        node_env.pop("RAY_ADDRESS", None)
        if cache_dir is not None:
            node_env["SWEGYM_CACHE_DIR"] = str(cache_dir)
        log = self.root / f"node-{len(self.nodes)}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                args, stdout=fh, stderr=subprocess.STDOUT, env=node_env, start_new_session=True
            )
        node = Node(proc, cpus, log, cache_dir, manager_port)
        self.nodes.append(node)
        self._wait_for_cpus(sum(n.cpus for n in self.nodes if n.proc.poll() is None), node)
        return node

    def _wait_for_cpus(self, want: int, node: Node) -> None:
        probe = (
            "import ray,sys; ray.init(address=sys.argv[1], log_to_driver=False, configure_logging=False);"
            "print(int(ray.cluster_resources().get('CPU', 0)))"
        )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if node.proc.poll() is not None:
                raise ExecutorError(f"ray start exited with {node.proc.returncode}; see {node.log}")
            try:
                out = subprocess.run(
                    [sys.executable, "-c", probe, self.address],
                    capture_output=True,
                    text=True,
                    env={
                        **{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"},
                        "RAY_AUTH_MODE": "disabled",
                    },
                    timeout=30,
                )
            except subprocess.TimeoutExpired:
                continue
            if out.returncode == 0 and out.stdout.strip().splitlines()[-1:] == [str(want)]:
                return
            time.sleep(0.5)
        raise ExecutorError(
            f"the local Ray cluster did not reach {want} CPUs in {self.timeout:.0f} s; see {node.log}"
        )

    def stop_node(self, node: Node, *, grace: float = 5.0) -> None:
        """Stop one node as a machine loss would: its Ray processes end, its work is lost."""
        if node.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
                os.killpg(node.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.proc.wait(timeout=grace)
        # Whatever the node started and left behind (its workers) is in its session's group.
        with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
            os.killpg(node.proc.pid, signal.SIGKILL)
        node.proc.wait()

    def close(self) -> None:
        """Stop every node, workers first, the head last."""
        for node in reversed(self.nodes):
            self.stop_node(node)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
