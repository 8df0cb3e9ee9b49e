"""Background commits keep batch order, hold at most one batch in flight, and raise errors."""
import threading
import time

import pytest

from dataforge.engine.overlap import Committer


def test_commits_run_in_order_one_at_a_time():
    done, active, peak = [], [0], [0]
    lock = threading.Lock()

    def commit(i):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01 * (3 - i % 3))  # later batches finish faster if allowed to overlap
        done.append(i)
        with lock:
            active[0] -= 1

    with Committer() as c:
        for i in range(8):
            c.submit(commit, i)
    assert done == list(range(8)) and peak[0] == 1


def test_a_failed_commit_raises_at_the_next_submit_or_at_the_end():
    def bad(i):
        raise OSError(f"disk full at {i}")

    with pytest.raises(OSError, match="disk full at 0"):
        with Committer() as c:
            c.submit(bad, 0)
            c.submit(lambda i: None, 1)
    with pytest.raises(OSError, match="disk full at 5"):
        with Committer() as c:
            c.submit(bad, 5)


def test_prefetch_yields_every_item_in_order_and_stops_early_cleanly():
    from dataforge.engine.overlap import prefetch

    assert list(prefetch(iter(range(50)))) == list(range(50))
    assert list(prefetch([])) == []
    seen = []
    for x in prefetch(range(100)):
        seen.append(x)
        if x == 3:
            break
    assert seen == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        list(prefetch(int(c) for c in "12x"))


def test_the_earlier_batchs_error_wins_over_a_later_one():
    def bad(i):
        raise ValueError(f"bad line in batch {i}")

    with pytest.raises(ValueError, match="batch 0"):
        with Committer() as c:
            c.submit(bad, 0)
            raise ValueError("bad line in batch 1")  # found while batch 0 was being committed


def test_two_in_flight_overlap_and_report_the_earliest_batchs_error():
    active, peak = [0], [0]
    lock = threading.Lock()

    def job(i):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1

    with Committer(2) as c:
        for i in range(6):
            c.submit(job, i)
    assert peak[0] == 2

    def slow_bad(i):
        time.sleep(0.05)
        raise OSError(f"disk full at {i}")

    def fast_bad(i):
        raise OSError(f"disk full at {i}")

    # batch 0 fails after batch 1 did: batch 0's error is the one raised
    with pytest.raises(OSError, match="disk full at 0"):
        with Committer(2) as c:
            c.submit(slow_bad, 0)
            c.submit(fast_bad, 1)
            c.submit(job, 2)
    # the main thread's own error comes after the batches already submitted
    with pytest.raises(OSError, match="disk full at 3"):
        with Committer(2) as c:
            c.submit(slow_bad, 3)
            raise ValueError("reading batch 4 failed")
