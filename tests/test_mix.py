"""Mixing by ratio / proportional-with-cap / temperature, caps, multi-stage output."""
from __future__ import annotations

import polars as pl
import pytest

from dataforge import Pipeline, op
from dataforge.errors import ConfigError
from dataforge.pipeline import OutputSpec
from dataforge.schema import REJECT
from dataforge.score.quota import largest_remainder, quotas, shares

SIZES = {"synthetic": 700, "curated": 250, "web": 50}


def rows(sizes=SIZES):
    src = [s for s, n in sizes.items() for _ in range(n)]
    n = len(src)
    return pl.DataFrame({"id": [f"r{i:04d}" for i in range(n)], "source": src,
                         "instruction": [f"q{i}" for i in range(n)], "output": ["a"] * n,
                         "score_quality": [((i * 37) % 101) / 100 for i in range(n)]})


def kept_counts(out, by=("source",)):
    k = out.filter(pl.col(REJECT).is_null())
    return {tuple(r[:-1]) if len(r) > 2 else r[0]: r[-1] for r in k.group_by(*by).len().rows()}


@pytest.mark.parametrize("ratios,total", [({"synthetic": 0.6, "curated": 0.3, "web": 0.1}, None),
                                          ({"synthetic": 0.5, "curated": 0.5}, 333),
                                          ({"synthetic": 0.7, "curated": 0.2, "web": 0.1}, 10_000)])
def test_ratios_are_hit_within_rounding(ratios, total):
    o = op("mix", method="ratio", ratios=ratios, total=total)
    out = o.process(rows())
    got = kept_counts(out)
    n = sum(got.values())
    for s, r in ratios.items():
        assert abs(got.get(s, 0) - r * n) <= 1, (got, ratios)
        assert got.get(s, 0) <= SIZES[s]
    if total is not None and total <= 1000:
        assert n == total
    rej = out.filter(pl.col(REJECT).is_not_null())
    for r in set(rej[REJECT]):  # the group, its quota and its rows; a group the ratios leave out says so
        if r.startswith("mix: not in the ratios: "):
            assert r == "mix: not in the ratios: web (method ratio gives groups the ratios do not name no rows)"
            assert "web" not in ratios
            continue
        src = r.split(" (")[0].removeprefix("mix: over quota for ")
        assert r == f"mix: over quota for {src} (quota {got.get(src, 0)} of {SIZES[src]} rows)"
    assert rej.height + n == out.height


def test_proportional_with_cap_and_temperature():
    got = kept_counts(op("mix", method="proportional", cap=200).process(rows()))
    assert got == {"synthetic": 200, "curated": 200, "web": 50}
    # higher temperature flattens the mix toward uniform
    t1 = shares(SIZES, "temperature", {}, None, 1.0)
    t3 = shares(SIZES, "temperature", {}, None, 3.0)
    assert t1["synthetic"] == pytest.approx(0.7) and t3["synthetic"] < t1["synthetic"] and t3["web"] > t1["web"]
    got = kept_counts(op("mix", method="temperature", temperature=3.0).process(rows()))
    n = sum(got.values())
    for s, p in t3.items():
        assert abs(got[s] - p * n) <= 1
    assert got["web"] == 50  # the smallest source limits the total


def test_caps_order_by_and_quota_rounding():
    out = op("mix", method="ratio", ratios={"synthetic": 0.5, "curated": 0.5}, caps={"curated": 40},
             order_by=["score_quality"]).process(rows())
    got = kept_counts(out)
    assert got == {"synthetic": 40, "curated": 40}
    best = rows().filter(pl.col("source") == "synthetic").sort(["score_quality", "id"], descending=[True, False]).head(40)
    assert set(out.filter(pl.col(REJECT).is_null() & (pl.col("source") == "synthetic"))["id"]) == set(best["id"])
    assert sum(largest_remainder({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, 100).values()) == 100
    assert quotas({"a": 10, "b": 0}, {"a": 0.5, "b": 0.5}, None) == {"a": 0, "b": 0}


def test_multi_stage_output_and_errors(tmp_path):
    stages = {"stage1": {"synthetic": 0.8, "curated": 0.2}, "stage2": {"curated": 1.0}}
    o = op("mix", stages=stages, stage_sizes={"stage1": 500})
    out = o.process(rows())
    got = kept_counts(out, by=("stage", "source"))
    assert got == {("stage1", "synthetic"): 400, ("stage1", "curated"): 100, ("stage2", "curated"): 150}
    assert o.report_metrics()["quotas"]["stage2"] == {"curated": 150}
    with pytest.raises(ConfigError, match="no rows with source"):
        op("mix", method="ratio", ratios={"typo": 1.0}).process(rows())
    with pytest.raises(ConfigError):
        op("mix", method="ratio")
    # through the engine: the stage column is kept, accounting balances, metrics are recorded
    res = Pipeline([op("mix", stages=stages)], output=OutputSpec(keep_columns=["stage"])).run(
        rows().drop("id"), tmp_path / "o")
    data = pl.concat([pl.read_parquet(p) for p in res.shards])
    assert set(data["stage"]) == {"stage1", "stage2"} and res.manifest["totals"]["balanced"]
    assert res.manifest["metrics"]["mix"]["quotas"]["stage1"]["synthetic"] == 700


def test_derived_rows_count_toward_the_source_the_ratios_and_caps_name():
    # a new user's cap of 120 on a source let its eda rows ("rt+eda") through on top
    import polars as pl

    from dataforge import op
    from dataforge.ops.base import RunContext

    df = pl.DataFrame({"id": [str(i) for i in range(40)], "source": ["a"] * 10 + ["a+eda"] * 10 + ["b"] * 20,
                       "instruction": ["x"] * 40, "output": ["y"] * 40})
    o = op("mix", method="proportional", caps={"a": 5}).bind(RunContext(seed=1))
    kept = o.run(df.lazy()).filter(pl.col("_reject").is_null())
    assert kept["source"].str.starts_with("a").sum() == 5 and o.report_metrics()["available"] == {"b": 20, "a": 5}
    o = op("mix", ratios={"a": 0.5, "b": 0.5}, total=20).bind(RunContext(seed=1))
    kept = o.run(df.lazy()).filter(pl.col("_reject").is_null())
    assert kept["source"].str.starts_with("a").sum() == 10  # (the eda rows were "not in the ratios")
    # a ratio that names the derived source keeps it apart
    o = op("mix", ratios={"a": 0.5, "a+eda": 0.25, "b": 0.25}, total=20).bind(RunContext(seed=1))
    kept = o.run(df.lazy()).filter(pl.col("_reject").is_null())
    assert (kept["source"] == "a+eda").sum() == 5
