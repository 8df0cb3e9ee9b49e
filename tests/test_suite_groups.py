"""`make test` runs on two workers with `--dist loadgroup`: the groups in tests/conftest.py must
reach pytest-xdist's scheduler, which reads them from a suffix of each test's id. A pytest that
keeps ids elsewhere makes xdist drop the groups silently (the Ray tests then start a cluster on
each worker and the suite runs minutes longer), so this test fails instead."""
from __future__ import annotations

import os

import pytest


def test_xdist_groups_reach_the_scheduler(request):
    if not os.environ.get("PYTEST_XDIST_WORKER") or not request.config.getvalue("loadgroup"):
        pytest.skip("runs under `pytest -n N --dist loadgroup` (make test)")
    assert request.node.get_closest_marker("xdist_group"), "tests/conftest.py no longer marks this test"
    assert request.node.nodeid.endswith("@ray"), (
        f"pytest-xdist ignored the group of {request.node.nodeid}: pytest and pytest-xdist disagree "
        "on where a test's id lives (see constraints.txt)")
