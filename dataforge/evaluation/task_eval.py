"""Accuracy of the task classifier on hand-labelled rows (benchmarks/quality_data/kinds.tsv),
split into a dev half (used while writing rules/tasks/classifier.yaml) and a held-out half."""
from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from dataforge.evaluation.quality_set import ROOT, _imported, kinds
from dataforge.tasks.classify import classify


def half(key: str) -> str:
    return "dev" if hashlib.blake2b(key.encode(), digest_size=4).digest()[0] % 2 == 0 else "test"


def labelled(sample_dir: Path = ROOT / "sample_data") -> pl.DataFrame:
    df = _imported(sample_dir, kinds())
    key = df["meta"].str.json_path_match("$.import_key")
    return df.with_columns(key.alias("key"), key.map_elements(half, return_dtype=pl.Utf8).alias("half"))


def accuracy_report(sample_dir: Path = ROOT / "sample_data") -> dict:
    df = labelled(sample_dir)
    df = df.with_columns(classify(df).alias("pred"))
    ok = pl.col("pred") == pl.col("kind")
    res = {}
    for h in ("dev", "test"):
        d = df.filter(pl.col("half") == h)
        res[h] = {"n": d.height, "accuracy": round(float(d.select(ok.mean()).item()), 3)}
    test = df.filter(pl.col("half") == "test")
    per = test.group_by("kind").agg(ok.mean().alias("acc"), pl.len().alias("n")).sort("n", descending=True)
    return {"accuracy": res["test"]["accuracy"], "n": res["test"]["n"], "dev_accuracy": res["dev"]["accuracy"],
            "dev_n": res["dev"]["n"], "test_per_kind": {k: {"accuracy": round(a, 3), "n": n} for k, a, n in per.iter_rows()},
            "converted": converted_report(sample_dir)}


def converted_report(sample_dir: Path = ROOT / "sample_data") -> dict:
    """The classifier on rows `convert` made (true task: the template family's), as if they
    had been imported without a task: accuracy per family."""
    from dataforge.evaluation.quality_set import _converted
    df = _converted(sample_dir, 0)
    df = df.with_columns(classify(df).alias("pred"))
    per = df.group_by("kind").agg((pl.col("pred") == pl.col("kind")).mean().alias("acc"), pl.len().alias("n"),
                                  pl.col("pred").mode().first().alias("most_common"))
    return {k: {"accuracy": round(a, 3), "n": n, "most_common": m} for k, a, n, m in per.sort("kind").iter_rows()}


def confusions(h: str = "dev") -> pl.DataFrame:
    df = labelled()
    df = df.with_columns(classify(df).alias("pred")).filter((pl.col("half") == h) & (pl.col("pred") != pl.col("kind")))
    return df.select("kind", "pred", "instruction", "input")
