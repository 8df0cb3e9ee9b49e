"""Checkpoint parts are written by Polars' own writer, which keeps dictionary pages off long
unique texts (building and dropping them was a third of the write time); what is read back is
the same rows, and final shards keep their own encoding."""
from __future__ import annotations

import polars as pl
import pyarrow.parquet as pq

from dataforge import Pipeline, op
from dataforge.io import atomic


def _has_dictionary(path, columns=None) -> bool:
    md = pq.ParquetFile(path).metadata
    return any(md.row_group(g).column(c).has_dictionary_page
               for g in range(md.num_row_groups) for c in range(md.num_columns)
               if columns is None or md.row_group(g).column(c).path_in_schema in columns)


def test_checkpoint_writer_keeps_dictionaries_off_unique_texts_and_reads_back_the_same(tmp_path):
    df = pl.DataFrame({"text": [f"row {i} " * 5 for i in range(2000)], "lang": ["en"] * 2000})
    atomic.write_parquet(tmp_path / "d.parquet", df)
    assert _has_dictionary(tmp_path / "d.parquet")  # pyarrow's default, kept for shards and caches
    atomic.write_checkpoint(tmp_path / "c.parquet", df)
    assert not _has_dictionary(tmp_path / "c.parquet", ["text"])
    assert pl.read_parquet(tmp_path / "c.parquet").equals(df)


def test_checkpoints_plain_shards_unchanged(tmp_path):
    rows = pl.DataFrame({"instruction": [f"say the number {i} please" for i in range(300)],
                         "output": [f"the number is {i}" for i in range(300)]})
    res = Pipeline([op("normalize"), op("length", field="output", min=16)], batch_size=100).run(
        rows, out=tmp_path / "out")
    parts = sorted((tmp_path / "out" / ".checkpoints").glob("*/part-*.parquet"))
    assert parts  # (written by Polars, which chooses dictionary pages per column itself)
    kept = pl.concat([pl.read_parquet(p) for p in parts if "normalize" in p.parent.name])
    assert kept.height == 290 and kept["output"].str.len_chars().min() >= 16
    assert all(_has_dictionary(s) for s in res.shards)  # shards: the writer's defaults, as before
    # outputs "the number is 0".."9" have 15 characters: rejected, every other row kept
    assert pl.read_parquet(res.shards).height == 290
    assert sum(r["rows"] for r in res.manifest["rejects"]) == 10
