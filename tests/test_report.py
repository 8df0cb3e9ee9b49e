"""The quality report: what report.json measures, the HTML sections, compare mode, the CLI.

`build_rich_run` makes a run that has everything the report draws (scores, rejects,
duplicate clusters, dataset metrics, an embedding sample) with small operators defined
here, so the report is tested without depending on the scoring and cleaning operators.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dataforge.cli import main
from dataforge.io.source import Source
from dataforge.ops.base import GlobalOp, MapOp, reject_where
from dataforge.ops.basic import Length
from dataforge.pipeline import OutputSpec, Pipeline
from dataforge.io.shards import ShardSpec

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


class WordScore(MapOp):
    """score_words: output length in words / 100, clipped to [0, 1]."""

    name = "t_word_score"

    def map(self, df):
        n = pl.col("output").str.count_matches(r"\S+")
        return df.with_columns((n / 100).clip(0, 1).cast(pl.Float64).alias("score_words"),
                               (pl.col("instruction").str.len_chars() / 200).cast(pl.Float64).alias("score_inst"))


class ExactDedup(GlobalOp):
    """Reject rows whose instruction repeats an earlier one; detail names the cluster."""

    name = "t_exact_dedup"

    def run(self, lf):
        df = lf.collect().with_row_index("_i")
        first = df.group_by("instruction").agg(pl.col("_i").min().alias("_first"), pl.col("id").first().alias("_kid"))
        df = df.join(first, on="instruction", how="left").sort("_i")
        detail = pl.struct(kept_id=pl.col("_kid"), cluster_id=pl.col("_kid")).struct.json_encode()
        df = reject_where(df, pl.col("_i") != pl.col("_first"), "duplicate_exact: same instruction", detail)
        return df.drop("_i", "_first", "_kid")


class DatasetStats(GlobalOp):
    """Passes rows through; reports scalars, a distribution and a 2-D TF-IDF/SVD projection."""

    name = "t_dataset_stats"

    def run(self, lf):
        df = lf.collect()
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        x = TfidfVectorizer(min_df=2).fit_transform(df["instruction"].to_list())
        xy = TruncatedSVD(2, random_state=0).fit_transform(x)
        counts = df["task"].value_counts()
        p = counts["count"].to_numpy() / df.height
        self._m = {
            "distinct_instructions": df["instruction"].n_unique(),
            "task_entropy": float(-(p * np.log2(p)).sum()),
            "first_verbs": dict(df["instruction"].str.extract(r"^(\w+)").value_counts(sort=True).head(8).iter_rows()),
            "embedding_2d": [{"x": float(a), "y": float(b), "source": s, "task": t}
                             for (a, b), s, t in zip(xy, df["source"], df["task"])],
        }
        return df

    def report_metrics(self):
        return self._m


def build_rich_run(out: Path, sample: Path, *, limit: int = 300, formats=()) -> Path:
    dupes = pl.read_ndjson(sample / "alpaca.jsonl").head(20)
    sources = [Source(name="alpaca", path=str(sample / "alpaca.jsonl"), limit=limit, set={"task": "open_qa"}),
               Source(name="seed_tasks", path=str(sample / "seed_tasks.jsonl"), template={"input": "{name}"},
                      map={"output": "name"}, set={"task": "seed"}),
               Source(name="copies", path=dupes, set={"task": "open_qa"})]
    ops = [Length(field="instruction", unit="words", min=4), WordScore(), ExactDedup(), DatasetStats()]
    out_spec = OutputSpec(shards=ShardSpec(splits={"train": 0.9, "validation": 0.1}), formats=list(formats))
    Pipeline(ops, names=["min_words", "score", "dedup", "stats"], output=out_spec, name="rich").run(sources, out)
    return out


@pytest.fixture(scope="module")
def rich(tmp_path_factory) -> Path:
    return build_rich_run(tmp_path_factory.mktemp("rich") / "out", SAMPLE)


def test_every_run_ends_with_a_report(rich):
    assert (rich / "report" / "index.html").is_file()
    doc = json.loads((rich / "report.json").read_text())
    assert all(v == "ok" for v in doc["sections"].values()), doc["sections"]


def test_report_json_matches_the_data(rich):
    doc = json.loads((rich / "report.json").read_text())
    data = pl.read_parquet(rich / "data" / "*.parquet")
    # funnel = manifest stages; totals balance
    manifest = json.loads((rich / "manifest.json").read_text())
    assert [s["name"] for s in doc["funnel"]] == [s["name"] for s in manifest["stages"]]
    assert doc["run"]["totals"]["rows_out"] == data.height
    # coverage counts are the real counts
    assert doc["coverage"]["source"] == dict(data["source"].value_counts().iter_rows())
    assert sum(doc["coverage"]["task"].values()) == data.height
    # lengths: median output words as polars computes it
    assert doc["lengths"]["output"]["words"]["p50"] == pytest.approx(
        float(data["output"].str.count_matches(r"\S+").median()))
    # top example is the maximum score, bottom the minimum
    sw = doc["scores"]["score_words"]
    assert sw["top"][0]["score_words"] == pytest.approx(data["score_words"].max())
    assert sw["bottom"][0]["score_words"] == pytest.approx(data["score_words"].min())
    assert sw["stats"]["n"] == data.height
    # 20 copied alpaca rows: each makes a cluster of 2 (the kept row and its copy)
    sizes = doc["duplicates"]["cluster_sizes"]["dedup"]
    dup_rejects = sum(s["rows_rejected"] for s in manifest["stages"] if s["name"] == "dedup")
    assert sum((int(k) - 1) * v for k, v in sizes.items()) == dup_rejects >= 20
    # metrics from the global op
    assert doc["metrics"]["scalars"]["stats.distinct_instructions"] == data["instruction"].n_unique()
    assert "stats.first_verbs" in doc["metrics"]["distributions"]
    assert len(doc["embedding"]["points"]) == data.height
    # reject examples name their rule
    assert {e["rule"] for e in doc["rejects"]["examples"]} >= {"duplicate_exact", "too_short"}


def test_html_is_self_contained_and_has_every_section(rich):
    html = (rich / "report" / "index.html").read_text()
    for sid in ("summary", "funnel", "rejects", "scores", "examples", "lengths", "coverage",
                "duplicates", "diversity", "embedding"):
        assert re.search(rf'<section id="{sid}" data-status="ok"', html), sid
    # no CDN, no remote asset (URLs inside the data's text are text, escaped in the sample JSON)
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', html) and "@import" not in html
    assert not re.search(r'url\(\s*["\']?(https?:)?//', html)
    imgs = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(imgs) >= 8 and all(s.startswith("data:image/") for s in imgs)


def test_text_from_the_data_is_escaped(tmp_path):
    rows = pl.DataFrame({"instruction": ["<script>alert(1)</script> explain this please"],
                         "output": ["<b>bold</b> answer"]})
    out = tmp_path / "o"
    Pipeline([WordScore()], name="esc").run(rows, out)
    html = (out / "report" / "index.html").read_text()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_absent_inputs_give_notes_not_errors(tmp_path, sample_dir):
    out = tmp_path / "plain"
    Pipeline([Length(field="output", min=1)], name="plain").run(
        Source(name="alpaca", path=str(sample_dir / "alpaca.jsonl"), limit=50), out)
    doc = json.loads((out / "report.json").read_text())
    assert doc["sections"]["scores"] == "absent" and "score_" in doc["scores"]["note"]
    assert doc["sections"]["embedding"] == "absent"
    html = (out / "report" / "index.html").read_text()
    assert 'id="embedding" data-status="absent"' in html and "dataset_metrics" in html


def test_compare_mode_and_cli(rich, tmp_path, sample_dir, capsys):
    other = build_rich_run(tmp_path / "b", sample_dir, limit=120)
    assert main(["report", str(rich), "--compare", str(other)]) == 0
    printed = capsys.readouterr().out
    html_path = rich / "report" / "compare.html"
    assert str(html_path) in printed
    doc = json.loads(html_path.with_suffix(".json").read_text())
    a, b = doc["runs"]
    assert doc["diff"]["totals"]["rows_out"] == b["run"]["totals"]["rows_out"] - a["run"]["totals"]["rows_out"] < 0
    html = html_path.read_text()
    assert html.count('class="examples"') == 2 * 2 * 2  # 2 runs x 2 scores x top/bottom
    # plain `dataforge report OUT` rebuilds the single report
    (rich / "report" / "index.html").unlink()
    assert main(["report", str(rich)]) == 0
    assert (rich / "report" / "index.html").is_file()


def test_report_of_a_folder_without_manifest_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    assert "no manifest.json" in capsys.readouterr().err
