"""A run with every situation the report and `dataforge explore` must show, planted on purpose:

- one rule (`eats_source`) removes ~30% of source `seed_tasks` and nothing else: the warning;
- `copies` repeats 20 alpaca rows: each dropped copy has a kept row (dedup detail `kept_id`);
- `t_shout` derives rows (parent_id) whose prompt equals the parent's, with another answer;
- a selection step (`select_t_half`) keeps about half of `alpaca` and every other row.
Operators are defined here so the tests do not depend on the cleaning and scoring operators.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from dataforge.io.shards import ShardSpec
from dataforge.io.source import Source
from dataforge.ops.base import FilterOp, GlobalOp, MapOp, reject_where
from dataforge.pipeline import OutputSpec, Pipeline
from dataforge.schema import content_id

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
EATEN = "seed_tasks"


class EatsSource(FilterOp):
    """Drops ~30% of one source (by id hash), none of the others."""

    name = "t_eats_source"

    def reasons(self, df):
        hit = (pl.col("source") == EATEN) & (pl.col("id").hash(3) % 10 < 3)
        return pl.when(hit).then(pl.lit("eats_source: planted"))


class Shout(MapOp):
    """Adds an upper-cased answer for every 4th alpaca row, as a derived row (parent_id)."""

    name = "t_shout"
    adds_rows = True

    def map(self, df):
        pick = df.filter((pl.col("source") == "alpaca") & (pl.col("id").hash(5) % 4 == 0))
        kids = pick.with_columns(pl.col("output").str.to_uppercase(), pl.col("id").alias("parent_id"),
                                 pl.lit("shout").alias("source"))
        kids = kids.with_columns(content_id(kids).alias("id"))
        return pl.concat([df, kids], how="vertical_relaxed")


class Score(MapOp):
    name = "t_score"

    def map(self, df):
        n = pl.col("output").str.count_matches(r"\S+")
        return df.with_columns((n / 100).clip(0, 1).cast(pl.Float64).alias("score_words"),
                               (pl.col("instruction").str.len_chars() / 200).cast(pl.Float64).alias("score_inst"))


class Dedup(GlobalOp):
    """Rejects rows whose instruction + output repeats an earlier one; detail names the kept row."""

    name = "t_dedup"

    def run(self, lf):
        df = lf.collect().with_row_index("_i")
        first = df.group_by("instruction", "output").agg(pl.col("_i").min().alias("_first"),
                                                         pl.col("id").first().alias("_kid"))
        df = df.join(first, on=["instruction", "output"], how="left").sort("_i")
        detail = pl.struct(kept_id=pl.col("_kid"), cluster_id=pl.col("_kid")).struct.json_encode()
        df = reject_where(df, pl.col("_i") != pl.col("_first"),
                          pl.format("duplicate_exact: duplicate of {}", pl.col("_kid")), detail)
        return df.drop("_i", "_first", "_kid")


class SelectHalf(GlobalOp):
    """A selection step: keeps about half of `alpaca` (by id hash) and every other row."""

    name = "select_t_half"

    def run(self, lf):
        df = lf.collect()
        return reject_where(df, (pl.col("source") == "alpaca") & (pl.col("id").hash(9) % 2 == 0),
                            "not_selected: below budget")


def long_links(n: int = 5) -> pl.DataFrame:
    """Rows whose text holds one long unbreakable token (a URL), repeated: dedup drops all but one.
    Such text once pushed compare mode's reject tables into each other."""
    url = "https://example.org/" + "a1b2c3d4" * 40
    return pl.DataFrame({"instruction": [f"Summarise the page at {url}"] * n, "input": [url] * n,
                         "output": [f"The page {url} says nothing."] * n})


def build_planted_run(out: Path, *, limit: int = 200, report: bool = True, links: bool = False,
                      metrics: bool = False, **report_options) -> Path:
    """`links`: add the long-URL rows; `metrics`: end with the real `dataset_metrics` (MiniLM embeddings)."""
    dupes = pl.read_ndjson(SAMPLE / "alpaca.jsonl").head(20)
    sources = [Source(name="alpaca", path=str(SAMPLE / "alpaca.jsonl"), limit=limit, set={"task": "open_qa"}),
               Source(name="seed_tasks", path=str(SAMPLE / "seed_tasks.jsonl"), template={"input": "{name}"},
                      map={"output": "name"}, set={"task": "brainstorming"}),
               Source(name="copies", path=dupes, set={"task": "open_qa"})]
    if links:
        sources.append(Source(name="links", path=long_links(), set={"task": "summarization"}))
    ops = [EatsSource(), Shout(), Score(), Dedup(), SelectHalf()]
    names = ["eat", "shout", "score", "dedup", "select"]
    if metrics:
        from dataforge.ops.metrics import DatasetMetrics

        ops.append(DatasetMetrics(sample=400, map_points=300))
        names.append("metrics")
    spec = OutputSpec(shards=ShardSpec(splits={"train": 0.9, "validation": 0.1}), report=report,
                      report_options=report_options)
    Pipeline(ops, names=names, output=spec, name="planted").run(sources, out)
    return out
