"""Preference pairs: best vs worst response per prompt, every other row rejected with a reason."""
from __future__ import annotations

import json

import polars as pl

from dataforge import Pipeline, op
from dataforge.pipeline import OutputSpec
from dataforge.schema import REJECT


def responses():
    return pl.DataFrame({
        "instruction": ["Name a fruit."] * 3 + ["Say hi."] + ["Count to 3."] * 2 + ["Pick a color."] * 2,
        "input": [""] * 8,
        "output": ["Apple.", "Rock.", "Banana, maybe.", "Hi!", "1 2 3", "1, 2, 3.", "Red.", "Blue."],
        "score_quality": [0.9, 0.1, 0.6, 0.8, 0.4, 0.7, 0.5, 0.52],
    })


def test_pairs_and_reasons():
    df = responses().with_columns(id=pl.Series([f"r{i}" for i in range(8)]), meta=pl.lit("{}"))
    out = op("preference_pairs", min_margin=0.05).process(df)
    by_id = dict(zip(out["id"], out[REJECT]))
    assert by_id["r0"] is None and by_id["r5"] is None
    assert by_id["r1"] == "preference: used in pair r0"
    assert by_id["r2"] == "preference: unused response of pair r0"
    assert by_id["r3"] == "preference: single response"
    assert by_id["r4"] == "preference: used in pair r5"
    assert by_id["r6"].startswith("preference: margin 0.02 <= 0.05") and by_id["r7"].startswith("preference: margin")
    pairs = out.filter(pl.col(REJECT).is_null())
    assert pairs.select("output", "rejected").rows() == [("Apple.", "Rock."), ("1, 2, 3.", "1 2 3")]
    meta = json.loads(pairs["meta"][0])
    assert meta == {"rejected_id": "r1", "chosen_score": 0.9, "rejected_score": 0.1}


def test_pairs_through_the_engine_balance(tmp_path):
    res = Pipeline([op("preference_pairs")], output=OutputSpec(keep_columns=["rejected"], formats=["preference"])).run(
        responses(), tmp_path / "o")
    data = pl.read_parquet(res.shards[0])
    assert data.height == 3 and data["rejected"].null_count() == 0
    assert res.manifest["totals"]["balanced"] and res.manifest["totals"]["rows_rejected"] == 5
    st = {s["name"]: s for s in res.manifest["stages"]}["preference_pairs"]
    assert st["rejected_by_reason"] == {"preference": 5}
    pref = pl.concat([pl.read_parquet(tmp_path / "o" / "preference" / e["path"])
                      for e in res.manifest["exports"]["preference"]])
    assert {"prompt", "chosen", "rejected"} <= set(pref.columns)
    row = pref.filter(pl.col("chosen") == "Apple.").row(0, named=True)
    assert row["rejected"] == "Rock." and "Name a fruit." in str(row["prompt"])
