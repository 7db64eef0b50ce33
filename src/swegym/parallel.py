"""Running one function over many items on a thread pool, results as they complete."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def completed(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Generator[R, None, None]:
    """Yield ``fn(item)`` for every item, in the order they finish, on ``workers`` threads.

    If the consumer stops early or is interrupted (Ctrl-C), the queued items are cancelled at once
    and only the running ones are waited for; an exception from ``fn`` propagates the same way.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = [pool.submit(fn, it) for it in items]
        for fut in as_completed(futures):
            yield fut.result()
    except BaseException:  # GeneratorExit and KeyboardInterrupt included
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
