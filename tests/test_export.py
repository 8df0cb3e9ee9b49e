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


def _fewshot_parts(tmp_path, n=400, cut=None):
    """Rows r0..r{n-1} of source rows s0..; every even row shows the next row as a few-shot exemplar."""
    metas = [json.dumps({"family": "f", "source_row": f"s{i}", "prompt_type": "few_shot" if i % 2 == 0 else "zero_shot",
                         "exemplars": [f"s{(i + 1) % n}"] if i % 2 == 0 else None}) for i in range(n)]
    df = pl.DataFrame({"id": [f"r{i}" for i in range(n)], "instruction": [f"q{i}" for i in range(n)],
                       "output": ["a"] * n, "meta": metas})
    parts = []
    for j, (a, b) in enumerate([(0, n)] if cut is None else [(0, cut), (cut, n)]):
        p = tmp_path / f"part-{j}.parquet"
        df.slice(a, b - a).write_parquet(p)
        parts.append(p)
    return df, parts


def test_rows_shown_as_few_shot_exemplars_are_training_rows(tmp_path):
    """FLAN's rule: a row whose text and answer another row shows as a solved exemplar is a
    training row, so no validation row is seen, with its answer, inside a training prompt. The
    split by id alone put some there; the moves are counted; parts do not change the result."""
    from dataforge.io.shards import SPLIT_COL, assign_splits, write_shards

    df, parts = _fewshot_parts(tmp_path)
    spec = ShardSpec(splits={"train": 0.5, "validation": 0.5})
    by_hash, st_hash, _ = assign_splits(parts, ShardSpec(splits=spec.splits, exemplar_split="hash"))
    split_of, st, _ = assign_splits(parts, spec)
    where = dict(zip(df["id"], split_of[0]))
    hashed = dict(zip(df["id"], by_hash[0]))
    shown = {f"r{i}" for i in range(1, 400, 2)}
    assert all(where[i] == "train" for i in shown)
    assert {i for i in shown if hashed[i] == "validation"}  # the split by id alone crossed
    assert all(where[i] == hashed[i] for i in where if i not in shown)  # nothing else moved
    moved = sum(1 for i in shown if hashed[i] == "validation")
    assert st["rows_to_train"] == {"validation": moved} and st["cross_split_uses"] == 0
    assert st["cross_split_uses_by_hash"] == st_hash["cross_split_uses"] > 0
    assert st_hash["rows_to_train"] == {}
    assert st_hash["cross_split_uses"] == sum(1 for i in range(0, 400, 2)
                                              if hashed[f"r{i + 1}"] == "validation" and hashed[f"r{i}"] == "train")
    # cut into two parts (other batches, a resumed run, Ray's blocks): the same splits
    (tmp_path / "two").mkdir()
    _, two = _fewshot_parts(tmp_path / "two", cut=157)
    again, st2, _ = assign_splits(two, spec)
    assert pl.concat(again).to_list() == split_of[0].to_list() and st2 == st
    shards = write_shards(parts, tmp_path / "data", spec, split_of=split_of)
    got = pl.concat([pl.read_parquet(tmp_path / "data" / s["path"]).with_columns(pl.lit(s["split"]).alias(SPLIT_COL))
                     for s in shards])
    assert dict(zip(got["id"], got[SPLIT_COL])) == where
