"""The Ray executor: one Ray task per unit, placed by environment, results back to the driver.

The driver (this process) pulls units, submits each as a Ray task reserving the unit's CPUs and
memory (:class:`~swegym.executors.base.UnitResources`), pinned softly to a node chosen by
:class:`~swegym.executors.placement.GroupQueue` (so a node keeps the environments it built), and
yields the results as they come back; the caller journals them. A unit whose node or worker
dies is retried by Ray elsewhere (the pin is soft), then by the driver itself; every unit is
yielded exactly once, keyed by its position, so a lost node neither loses nor duplicates rows.
Nothing on a node writes the driver's journal or run store.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sized
from typing import Any, TypeVar

from swegym.executors.base import ExecutorError, UnitResources
from swegym.executors.placement import GroupQueue
from swegym.extras import import_extra

T = TypeVar("T")
R = TypeVar("R")

INSTALL = "pip install 'swegym[ray]'"
_POLL_S = 1.0


def import_ray() -> Any:
    """The ``ray`` module, or one line saying how to install it."""
    return import_extra("ray", needed_by="--executor ray", install=INSTALL, error=ExecutorError)


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
    """What runs on a node: one unit (``fn`` arrives once per node through the object store)."""
    return fn(item)


class RayExecutor:
    """Units as Ray tasks on the cluster at ``address`` (else ``$RAY_ADDRESS``, else a local Ray
    started for this process). ``workers`` does not apply: the cluster's CPUs bound the units in
    flight."""

    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        resources: UnitResources | None = None,
        local_options: dict[str, Any] | None = None,
    ) -> None:
        self.ray = import_ray()  # fail at once, before any work, when Ray is missing
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.resources = resources or UnitResources()
        self.local_options = local_options or {}
        """``ray.init`` options of a Ray started here (no address), e.g. ``num_cpus``, ``_temp_dir``."""
        self.in_flight: dict[int, str] = {}
        """Unit position -> the node it was placed on, while it runs (what a node loss puts at risk)."""
        self.resubmitted = 0
        """Units the driver itself ran again after Ray gave up on them."""
        self._started = False
        self._auth_mode: str | None = None

    def _connect(self) -> None:
        if self.ray.is_initialized():
            return
        # A Ray started here may switch this process to token auth (it sets RAY_AUTH_MODE when a
        # ~/.ray/auth_token exists); put the variable back on close so a later cluster is not
        # refused for a token this process never had to give.
        self._auth_mode = os.environ.get("RAY_AUTH_MODE")
        try:
            self.ray.init(
                address=self.address,
                **({} if self.address else self.local_options),
                log_to_driver=False,
                include_dashboard=False,
                configure_logging=False,
                # The driver's modules (swegym, its closures) are importable on the nodes: they
                # run the same install; environment variables stay per node (its swegym cache).
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address or "a local Ray"
            raise ExecutorError(f"cannot reach the Ray cluster at {where}: {exc}") from None
        self._started = True

    def _slots(self) -> dict[str, int]:
        """Alive node id -> units it can run at once (its CPUs over a unit's request)."""
        out = {}
        for node in self.ray.nodes():
            cpus = float(node.get("Resources", {}).get("CPU", 0))
            if node.get("Alive") and cpus >= self.resources.cpus:
                out[node["NodeID"]] = int(cpus // self.resources.cpus)
        return out

    def _remote(self) -> Any:
        r = self.resources
        return self.ray.remote(
            num_cpus=r.cpus,
            memory=r.memory_mb * (1 << 20) or None,
            max_retries=r.max_retries,
            retry_exceptions=False,  # a unit's own failure is its result, never rerun
        )(_call)

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        workers: int,
        group: Callable[[T], str] | None = None,
        on_start: Callable[[T], None] | None = None,
    ) -> Generator[R, None, None]:
        """See :meth:`swegym.executors.base.Executor.map`."""
        self._connect()
        lookahead = len(items) if isinstance(items, Sized) else 1
        indexed = ((i, it) for i, it in enumerate(items))
        queue: GroupQueue[tuple[int, T]] = GroupQueue(
            indexed, lambda p: group(p[1]) if group else "", lookahead
        )
        run = _Run(self, fn, queue, on_start)
        try:
            yield from run.results()
        finally:
            run.cancel()

    def close(self) -> None:
        """Disconnect from the cluster (a local Ray started here stops)."""
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()
            if self._auth_mode is None:
                os.environ.pop("RAY_AUTH_MODE", None)
            else:
                os.environ["RAY_AUTH_MODE"] = self._auth_mode
        self._started = False


class _Run:
    """One ``map``: the units in flight, where they were placed, which have been yielded."""

    def __init__(
        self,
        ex: RayExecutor,
        fn: Callable[[Any], Any],
        queue: GroupQueue[tuple[int, Any]],
        on_start: Callable[[Any], None] | None,
    ) -> None:
        self.ray = ex.ray
        self.ex = ex
        self.task = ex._remote()
        self.fn_ref = ex.ray.put(fn)
        self.queue = queue
        self.on_start = on_start
        self.flight: dict[Any, tuple[int, Any, str]] = {}  # ref -> (index, item, node)
        self.yielded: set[int] = set()
        self.lost: dict[int, int] = {}  # index -> driver-side resubmissions
        self.slots: dict[str, int] = {}
        self.checked = 0.0

    def _submit(self) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        now = time.monotonic()
        if now - self.checked > _POLL_S or not self.slots:
            self.slots, self.checked = self.ex._slots(), now
        if not self.slots:
            raise ExecutorError("the Ray cluster has no alive node with enough CPUs for one unit")
        busy: dict[str, int] = {}
        for _, _, node in self.flight.values():
            busy[node] = busy.get(node, 0) + 1
        for node, width in self.slots.items():
            while busy.get(node, 0) < width:
                pair = self.queue.take(node)
                if pair is None:
                    return
                index, item = pair
                if self.on_start is not None:
                    self.on_start(item)
                strategy = NodeAffinitySchedulingStrategy(node_id=node, soft=True)
                ref = self.task.options(scheduling_strategy=strategy).remote(self.fn_ref, item)
                self.flight[ref] = (index, item, node)
                self.ex.in_flight[index] = node
                busy[node] = busy.get(node, 0) + 1

    def results(self) -> Iterator[Any]:
        while True:
            self._submit()
            if not self.flight:
                if self.queue.empty():
                    return
                continue
            ready, _ = self.ray.wait(list(self.flight), num_returns=1, timeout=_POLL_S)
            for ref in ready:
                index, item, _node = self.flight.pop(ref)
                self.ex.in_flight.pop(index, None)
                out = self._get(ref, index, item)
                if out is not _LOST and index not in self.yielded:
                    self.yielded.add(index)
                    yield out

    def _get(self, ref: Any, index: int, item: Any) -> Any:
        exc_mod = self.ray.exceptions
        try:
            return self.ray.get(ref)
        except exc_mod.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None  # the unit's own exception, as locally
        except (exc_mod.WorkerCrashedError, exc_mod.NodeDiedError, exc_mod.ObjectLostError) as exc:
            # Ray's own retries are spent (its nodes kept dying): run it again from here.
            self.lost[index] = self.lost.get(index, 0) + 1
            if self.lost[index] > self.ex.resources.max_retries:
                raise ExecutorError(f"unit {index} lost {self.lost[index]} times: {exc}") from None
            self.queue.push_front((index, item))
            self.ex.resubmitted += 1
            return _LOST

    def cancel(self) -> None:
        for ref in list(self.flight):
            with contextlib.suppress(Exception):  # already finished, or its node is gone
                self.ray.cancel(ref, force=True)
        self.flight.clear()
        self.ex.in_flight.clear()


_LOST = object()
