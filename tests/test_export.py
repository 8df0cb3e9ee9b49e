"""Export layouts: each format's shape and content, the pipeline writing OUT/<format>/, templates."""
from __future__ import annotations

import json

import polars as pl
import pytest

from dataforge.errors import ConfigError, MissingResourceError
from dataforge.io import export
from dataforge.io.shards import ShardSpec
from dataforge.io.source import Source
from dataforge.ops.base import MapOp
from dataforge.pipeline import OutputSpec, Pipeline

ROWS = pl.DataFrame({
    "id": ["a", "b", "c"],
    "instruction": ["Say hi", "Add the numbers", "Name a colour"],
    "input": ["", "1 2", "  "],
    "output": ["hi", "3", "blue"],
    "system": [None, "You add.", ""],
    "rejected": ["no", None, "the sky"],
})


def test_messages_put_system_first_only_when_set():
    m = export.get("messages")(ROWS)["messages"].to_list()
    assert m[0] == [{"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "hi"}]
    assert [t["role"] for t in m[1]] == ["system", "user", "assistant"]
    assert m[1][1]["content"] == "Add the numbers\n\n1 2"  # input follows the instruction
    assert [t["role"] for t in m[2]] == ["user", "assistant"] and m[2][0]["content"] == "Name a colour"


def test_sharegpt_alpaca_preference():
    conv = export.get("sharegpt")(ROWS)["conversations"].to_list()
    assert [t["from"] for t in conv[1]] == ["system", "human", "gpt"] and conv[1][2]["value"] == "3"
    alp = export.get("alpaca")(ROWS)
    assert alp.columns == ["id", "instruction", "input", "output", "system"]
    pairs = ROWS.filter(pl.col("rejected").is_not_null())
    pref = export.get("preference")(pairs)
    assert pref.row(0, named=True) == {"id": "a", "prompt": "Say hi", "chosen": "hi", "rejected": "no",
                                       "system": None}
    assert pref.columns == ["id", "prompt", "chosen", "rejected", "system"]
    with pytest.raises(ConfigError, match="preference_pairs"):
        export.get("preference")(ROWS.drop("rejected"))
    with pytest.raises(ConfigError, match="1 row"):  # row b is not a pair: refuse rather than drop it
        export.get("preference")(ROWS)


def test_text_builtin_templates():
    chatml = export.get("text")(ROWS)["text"].to_list()
    assert chatml[1] == ("<|im_start|>system\nYou add.<|im_end|>\n<|im_start|>user\nAdd the numbers\n\n1 2"
                         "<|im_end|>\n<|im_start|>assistant\n3<|im_end|>\n")
    llama = export.get("text-llama3")(ROWS)["text"].to_list()
    assert llama[0].startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nSay hi<|eot_id|>")
    alp = export.get("text-alpaca")(ROWS)["text"].to_list()
    assert "### Instruction:\nSay hi\n\n### Response:\nhi" in alp[0] and alp[1].startswith("You add.")
    with pytest.raises(ConfigError, match="no chat template 'nope'"):
        export.get("text-nope")
    with pytest.raises(ConfigError, match="unknown export format"):
        export.get("jsonl")


def test_text_with_a_tokenizer_chat_template(tmp_path):
    from dataforge.testing.tiny_models import build_tokenizer

    tok_dir = tmp_path / "tok"
    build_tokenizer(tok_dir, chat_format="qwen2")
    text = export.get("text", tokenizer=str(tok_dir))(ROWS)["text"].to_list()
    assert text[0] == "<|im_start|>user\nSay hi<|im_end|>\n<|im_start|>assistant\nhi<|im_end|>\n"
    with pytest.raises(MissingResourceError):
        export.get("text", tokenizer=str(tmp_path / "absent"))


class AddRejected(MapOp):
    """Stand-in for preference_pairs' extra column: a worse response for each row."""

    name = "t_add_rejected"

    def map(self, df):
        return df.with_columns(pl.format("I don't know ({}).", pl.col("id")).alias("rejected"))


def test_pipeline_writes_every_format(tmp_path, sample_dir):
    out = tmp_path / "o"
    fmts = ["messages", "alpaca", "sharegpt", "preference", "text", "text-llama3"]
    spec = OutputSpec(shards=ShardSpec(splits={"train": 0.8, "test": 0.2}), formats=fmts, keep_columns=["rejected"],
                      report=False)
    res = Pipeline([AddRejected()], output=spec).run(Source(name="alpaca", path=str(sample_dir / "alpaca.jsonl"),
                                                            limit=60), out)
    data = pl.read_parquet(out / "data" / "*.parquet")
    assert "rejected" in data.columns
    for fmt in fmts:
        files = sorted((out / fmt).glob("*.parquet"))
        assert {f.name.split("-")[0] for f in files} == {"train", "test"}, fmt
        got = pl.read_parquet(files)
        assert got.height == data.height == sum(s["rows"] for s in res.manifest["exports"][fmt]), fmt
        assert set(got["id"]) <= set(data["id"])
    # the same row lands in the same split in data/ and in every export
    train_ids = set(pl.read_parquet(out / "data" / "train-*.parquet")["id"])
    assert set(pl.read_parquet(out / "messages" / "train-*.parquet")["id"]) == train_ids
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["exports"]) == set(fmts)


def test_shards_use_dictionary_pages_only_for_few_valued_columns(tmp_path):
    """Label-like columns (source, task) get dictionary pages; long unique texts do not (building
    and dropping their dictionaries was a third of the shard writer's time), nor min/max
    statistics, which numbers and labels keep. Rows read back equal."""
    import pyarrow.parquet as pq

    from dataforge.io.shards import write_shards

    n = 3000
    df = pl.DataFrame({"id": [f"r{i}" for i in range(n)], "output": [f"answer number {i} " * 5 for i in range(n)],
                       "source": ["a", "b", "c"] * (n // 3), "score_x": [i / n for i in range(n)]})
    part = tmp_path / "part.parquet"
    df.write_parquet(part)
    shards = write_shards([part], tmp_path / "data", ShardSpec(splits={"train": 1.0}))
    f = pq.ParquetFile(tmp_path / "data" / shards[0]["path"])
    enc = {f.schema_arrow.names[i]: f.metadata.row_group(0).column(i).encodings for i in range(f.metadata.num_columns)}
    assert "RLE_DICTIONARY" in enc["source"]
    assert not {"RLE_DICTIONARY", "PLAIN_DICTIONARY"} & set(enc["output"]) | {"RLE_DICTIONARY"} & set(enc["id"])
    stats = {f.schema_arrow.names[i]: f.metadata.row_group(0).column(i).is_stats_set
             for i in range(f.metadata.num_columns)}
    assert stats["score_x"] and stats["source"] and not stats["output"]
    assert pl.read_parquet(tmp_path / "data" / shards[0]["path"]).equals(df)
