"""The local executor: a thread pool on this machine, as swegym has always run."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class LocalExecutor:
    """``workers`` threads in this process; ``group`` is irrelevant on one machine."""

    name = "local"

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        workers: int,
        group: Callable[[T], str] | None = None,
        on_start: Callable[[T], None] | None = None,
    ) -> Generator[R, None, None]:
        """See :meth:`swegym.executors.base.Executor.map`; at most ``workers`` items in flight.

        If the consumer stops early or is interrupted (Ctrl-C), nothing more starts and only the
        running items are waited for; an exception from ``fn`` propagates the same way.
        """

        def run(it: T) -> R:
            if on_start is not None:
                on_start(it)
            return fn(it)

        width = max(1, workers)
        todo = iter(items)
        pool = ThreadPoolExecutor(max_workers=width)
        running: set[Future[R]] = set()
        try:
            while True:
                while len(running) < width:
                    nxt = next(todo, _END)
                    if nxt is _END:
                        break
                    running.add(pool.submit(run, nxt))  # type: ignore[arg-type]
                if not running:
                    return
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    running.discard(fut)
                    yield fut.result()
        except BaseException:  # GeneratorExit and KeyboardInterrupt included
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)

    def close(self) -> None:
        """Nothing to release."""


_END = object()
