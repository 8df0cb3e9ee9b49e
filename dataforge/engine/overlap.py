"""Commit batch i in a background thread while batch i+1 is read and processed (`Committer`),
and read the next checkpoint part while this one is processed (`prefetch`).

Writing a checkpoint part (Parquet compression, fsync) and computing the next batch (Polars)
both run outside the GIL, so on more than one core they overlap. Commits stay in batch order
and at most one is in flight (memory stays one batch above the streaming minimum); a commit
is still atomic, its stats file written last, so a run killed with a commit in flight redoes
that batch on resume exactly as before.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")


class Committer:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataforge-commit")
        self._pending: Future | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run fn(*args) after the previous commit has finished (raising its error, if any)."""
        self.wait()
        self._pending = self._pool.submit(fn, *args)

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def __enter__(self) -> "Committer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.wait()
            elif self._pending is not None:  # an error in the work: let the commit in flight end
                pending, self._pending = self._pending, None
                earlier = pending.exception()
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
