"""Commit batch i in a background thread while batch i+1 is read and processed (`Committer`),
and read the next checkpoint part while this one is processed (`prefetch`).

Writing a checkpoint part (Parquet compression, fsync) and computing the next batch (Polars)
both run outside the GIL, so on more than one core they overlap. Commits stay in batch order
and at most one is in flight (memory stays one batch above the streaming minimum); a commit
is still atomic, its stats file written last, so a run killed with a commit in flight redoes
that batch on resume exactly as before.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")


class Committer:
    """Background jobs, at most `in_flight` at once (default one: commits in batch order).
    With more, jobs of later batches may finish first; each batch's commit stands alone
    (part, then stats file), so a killed run still redoes exactly the uncommitted batches.
    Errors are raised in batch order: the earliest failing batch's error is the one seen."""

    def __init__(self, in_flight: int = 1) -> None:
        self._n = max(1, in_flight)
        self._pool = ThreadPoolExecutor(max_workers=self._n, thread_name_prefix="dataforge-commit")
        self._pending: deque[Future] = deque()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run fn(*args) once fewer than `in_flight` jobs are pending (raising the error of
        the oldest, if any)."""
        while len(self._pending) >= self._n:
            self._take_oldest()
        self._pending.append(self._pool.submit(fn, *args))

    def wait(self) -> None:
        while self._pending:
            self._take_oldest()

    def _take_oldest(self) -> None:
        f = self._pending.popleft()
        try:
            f.result()
        except BaseException:
            # the earliest batch's error is this one: let the later jobs end, then raise it
            for later in self._pending:
                later.exception()
            self._pending.clear()
            raise

    def __enter__(self) -> "Committer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.wait()
            else:  # an error in the work: let the jobs in flight end
                pending, self._pending = list(self._pending), deque()
                for f in pending:
                    earlier = f.exception()
                    if earlier is not None:  # that batch came first: its error is the one to report
                        raise earlier
        finally:
            self._pool.shutdown(wait=True)


_END = object()


def prefetch(items: Iterable[T]) -> Iterator[T]:
    """Yield from `items`, producing the next one in a background thread meanwhile (reading a
    Parquet part overlaps with processing the previous one); at most one item ahead."""
    it = iter(items)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataforge-read") as pool:
        ahead = pool.submit(next, it, _END)
        while True:
            item = ahead.result()
            if item is _END:
                return
            ahead = pool.submit(next, it, _END)
            yield item
