"""Operators see the run-wide settings: the recipe's `embedding:` reaches every operator's
context (it used to be dropped when the engine bound operators to their stage, so embedding
operators fell back to MiniLM while the checkpoint keys said `static`)."""
from __future__ import annotations

import polars as pl

from dataforge import Pipeline, op
from dataforge.embed import run_default
from dataforge.io.source import Source


def test_run_wide_embedding_reaches_stage_and_source_operators(tmp_path):
    rows = pl.DataFrame({"instruction": ["say one thing here", "say two things here"], "input": ["", ""],
                         "output": ["one", "two"]})
    stage_op, source_op = op("normalize"), op("normalize")
    src = Source(name="rows", path=rows, ops=[source_op])
    Pipeline([stage_op], embedding="static", seed=3).run(src, out=tmp_path / "out")
    for o, stage in ((stage_op, "normalize"), (source_op, "rows/normalize")):
        assert run_default(o) == "static"
        assert (o.ctx.seed, o.ctx.stage, o.ctx.out) == (3, stage, tmp_path / "out")
    assert source_op.ctx.source == "rows"
