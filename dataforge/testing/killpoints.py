"""Test hook: SIGKILL the process at a named point of a run, to prove that resume works there.

Set DATAFORGE_TEST_KILL_AT to one of POINTS; the process kills itself (kill -9, no cleanup) the
first time it reaches that point. Unset (always, outside tests) it does nothing.
"""
from __future__ import annotations

import os
import signal

ENV = "DATAFORGE_TEST_KILL_AT"
POINTS = ("stages_done", "shard_written", "export_started", "manifest_written")


def killpoint(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
