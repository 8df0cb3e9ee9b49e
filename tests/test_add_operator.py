"""docs/architecture.md's "Adding an operator" walkthrough, checked: the toy global operator
it shows (tests/support/toy_global.py, quoted whole) registers from a test module and runs
on both engines with the same shards, rejects, accounting and a distributed Ray form."""
from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "tests" / "support" / "toy_global.py"


def test_the_walkthrough_quotes_the_toy_operator_verbatim():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    section = doc.split("## Adding an operator", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks and blocks[0] == TOY.read_text(), "docs/architecture.md must quote tests/support/toy_global.py"


def test_engines_know_no_operator_by_name():
    from dataforge.ops import base

    names = base.load_all()
    for f in (ROOT / "dataforge" / "engine").glob("*.py"):
        words = set(re.findall(r"\w+", f.read_text()))
        assert not words & set(names), f"{f.name} names operator(s) {sorted(words & set(names))}"


@pytest.mark.slow
def test_toy_global_operator_runs_alike_on_both_engines(tmp_path, sample_dir, caplog, ray_cluster):
    from tests.support import toy_global
    from dataforge.ops import base
    from dataforge.pipeline import OutputSpec, Pipeline

    assert base.get("toy_first_word_once") is toy_global.FirstWordOnce
    data = pl.read_ndjson(sample_dir / "alpaca.jsonl").head(200).select("instruction", "input", "output")

    def make():
        return Pipeline([base.create("normalize"), base.create("toy_first_word_once")], batch_size=60,
                        output=OutputSpec(report=False))

    ray_cluster.cloudpickle.register_pickle_by_value(sys.modules[toy_global.__name__])
    a = make().run(data, out=tmp_path / "local", engine="local")
    with caplog.at_level(logging.INFO, logger="dataforge.engine.ray"):
        b = make().run(data, out=tmp_path / "ray", engine="ray")
    assert "'toy_first_word_once' runs distributed on Ray (FirstWordOnce.run_ray)" in caplog.text
    ma, mb = a.manifest, b.manifest
    assert [(s["path"], s["rows"], s["sha256"]) for s in ma["shards"]] == \
        [(s["path"], s["rows"], s["sha256"]) for s in mb["shards"]]
    assert ma["stages"] == mb["stages"] and ma["totals"] == mb["totals"] and mb["totals"]["balanced"]
    assert ma["rejects"] == mb["rejects"]
    for r in ma["rejects"]:
        assert pl.read_parquet(a.out / r["path"]).equals(pl.read_parquet(b.out / r["path"]))
    toy = next(s for s in mb["stages"] if s["operator"] == "toy_first_word_once")
    assert toy["rows_in"] == 200 and 20 < toy["rejected_by_reason"]["first_word_seen"] < 200
    kept = pl.concat([pl.read_parquet(b.out / "data" / s["path"]) for s in mb["shards"]])
    assert kept["instruction"].str.extract(r"^\W*(\w+)").str.to_lowercase().fill_null("").is_unique().all()
