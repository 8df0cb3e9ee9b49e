"""`eda` with nlpaug for real, the synonym table, and per-row determinism."""
from __future__ import annotations

import gzip
import json
import random

import numpy as np
import polars as pl
import pytest

from dataforge.augment import synonyms as syn
from dataforge.errors import ConfigError, MissingResourceError
from dataforge.ops.base import RunContext, create
from dataforge.schema import content_id, conform

ALL = ["synonym", "insert", "swap", "delete", "keyboard", "ocr", "spelling"]


@pytest.fixture(scope="module")
def alpaca(request) -> pl.DataFrame:
    from tests.conftest import SAMPLE

    return conform(pl.read_ndjson(SAMPLE / "alpaca.jsonl", n_rows=60), source="alpaca")


def run(df: pl.DataFrame, seed: int = 7, **params) -> pl.DataFrame:
    op = create("eda", {"min_similarity": None, **params}).bind(RunContext(seed=seed))
    op.ensure_setup()
    return op.process(df)


def new_rows(out: pl.DataFrame) -> pl.DataFrame:
    return out.filter(pl.col("parent_id").is_not_null())


def test_new_rows_carry_provenance(alpaca):
    df = alpaca.head(30)
    out = run(df, per_row=2, actions=ALL)
    assert out.head(30).equals(df.with_columns(pl.lit(None, dtype=pl.Utf8).alias("_reject"),
                                               pl.lit(None, dtype=pl.Utf8).alias("_reject_detail")))
    new = new_rows(out)
    assert new.height == 60
    assert set(new["parent_id"]) == set(df["id"])
    assert new["source"].str.ends_with("+eda").all()
    kept = new.filter(pl.col("_reject").is_null())  # a rejected new row has an id of its own
    assert kept["id"].to_list() == content_id(kept).to_list()
    assert out["id"].n_unique() == out.height
    metas = [json.loads(m) for m in new["meta"]]
    assert {m["augmenter"] for m in metas} == {"eda"}
    assert {m["variant"] for m in metas} == set(ALL)  # rotation covers every action
    assert all(isinstance(m["seed"], int) and m["params"]["aug_p"] == 0.1 for m in metas)
    assert all(m["backend"].startswith("nlpaug ") and m["model"] is None for m in metas)
    assert metas[0]["synonyms"]["table"] == "en.tsv.gz" and len(metas[0]["synonyms"]["sha256"]) == 16
    # a row's two slots use two different actions
    per_parent = new.group_by("parent_id").agg(pl.col("meta").str.json_path_match("$.variant").n_unique())
    assert (per_parent["meta"] == 2).all()
    kept = new.filter(pl.col("_reject").is_null())
    assert kept.height > 40
    parent_text = dict(zip(df["id"], df["instruction"]))
    assert all(t != parent_text[p] for t, p in zip(kept["instruction"], kept["parent_id"]))
    # only the augmented field changes
    joined = kept.join(df.select("id", pl.col("output").alias("o")), left_on="parent_id", right_on="id")
    assert (joined["output"] == joined["o"]).all()


def test_same_row_same_result_in_any_batch(alpaca):
    whole = new_rows(run(alpaca.head(40), per_row=2, actions=ALL))
    halves = pl.concat([new_rows(run(alpaca.slice(0, 17), per_row=2, actions=ALL)),
                        new_rows(run(alpaca.slice(17, 23), per_row=2, actions=ALL))])
    assert whole.sort("id").equals(halves.sort("id"))
    other_seed = new_rows(run(alpaca.head(40), seed=8, per_row=2, actions=ALL))
    assert set(other_seed["id"]) != set(whole["id"])


def test_ratio_picks_a_share_of_rows(alpaca):
    new = new_rows(run(alpaca, ratio=0.5, actions=["swap"]))
    assert 18 <= new["parent_id"].n_unique() <= 42


def test_global_random_state_is_restored(alpaca):
    random.seed(1)
    np.random.seed(1)
    run(alpaca.head(5), actions=["swap", "keyboard"])
    a = (random.random(), np.random.random())
    random.seed(1)
    np.random.seed(1)
    assert a == (random.random(), np.random.random())


def test_synonym_replacement_and_insertion_use_the_table():
    table = syn.load_table()
    text = "Write a happy story about a quick dog."
    random.seed(0)
    np.random.seed(0)
    replaced = syn.synonym_replace_aug(table, 1.0, None).augment(text)[0]
    inserted = syn.synonym_insert_aug(table, 0.3, None).augment(text)[0]
    words = text.rstrip(".").split()
    changed = [(a, b) for a, b in zip(words, replaced.rstrip(".").split()) if a != b]
    assert changed, replaced
    for a, b in changed:  # every replacement is a synonym from the table (case aligned)
        assert b.lower() in table[a.lower()] or b.lower() in " ".join(table[a.lower()]), (a, b)
    assert len(inserted.split()) > len(text.split())
    # insertion: only synonyms of the text's words are added, the original words keep their order
    small = {"story": ("tale",), "dog": ("hound",)}
    out = syn.synonym_insert_aug(small, 0.5, None).augment("write a story about a dog")[0].split()
    added = list(out)
    for w in "write a story about a dog".split():
        added.remove(w)
    assert added and set(added) <= {"tale", "hound"}, out
    it = iter(out)
    assert all(w in it for w in "write a story about a dog".split())


def test_table_keeps_punctuation_and_newlines():
    table = {"story": ("tale",)}
    aug = syn.synonym_replace_aug(table, 1.0, None)
    assert aug.augment("A story,\nthen more.")[0] == "A tale,\nthen more."


def test_classification_rows_keep_their_label():
    df = conform(pl.DataFrame({
        "instruction": ["Is this review positive or negative?"] * 3,
        "input": ["A great film with a moving story.", "Dull and slow.", "Fine."],
        "output": ["positive", "negative", "a long answer that may be rewritten here"],
        "task": ["classification", "open_qa", "open_qa"],
        "meta": ["{}", '{"label": 0}', "{}"],
    }), source="t")
    out = run(df, field="output", actions=["swap"], aug_p=0.5)
    assert set(new_rows(out)["parent_id"]) == {df["id"][2]}
    # the input of a classification row may be augmented; its output stays the label
    new = new_rows(run(df, field="input", actions=["swap"], aug_p=0.5))
    assert new.height == 3 and new["output"].to_list() == df["output"].to_list()


def test_errors_say_what_to_supply(tmp_path):
    with pytest.raises(MissingResourceError, match="build_synonyms.py"):
        run(conform(pl.DataFrame({"instruction": ["a b c"], "output": ["x"]}), source="t"),
            synonyms=str(tmp_path / "missing.tsv.gz"))
    with pytest.raises(ConfigError, match="unknown action"):
        create("eda", {"actions": ["synonyms"]})
    with pytest.raises(ConfigError, match="per_row"):
        create("eda", {"per_row": 0})


def test_custom_table_file(tmp_path):
    p = tmp_path / "syn.tsv.gz"
    with gzip.open(p, "wt") as f:
        f.write("story\tfable\n")
    df = conform(pl.DataFrame({"instruction": ["Tell a story"], "output": ["x"]}), source="t")
    new = new_rows(run(df, synonyms=str(p), actions=["synonym"], aug_p=1.0))
    assert new["instruction"].to_list() == ["Tell a fable"]


def test_build_script_parses_wordnet_files(tmp_path):
    from scripts.build_synonyms import build

    wn = tmp_path / "wn"
    wn.mkdir()
    header = "  1 This software and database is being provided to you\n"
    data = {
        "noun": ["00000001 03 n 03 story 0 narrative 0 Tale 0 000 | an account",
                 "00000002 03 n 02 story 0 floor 0 000 | a level of a building"],
        "verb": ["00000003 31 v 03 write 0 compose 0 pen 0 000 | produce a text"],
        "adj": ["00000004 00 s 02 happy 0 felicitous(a) 0 000 | glad"],
        "adv": [],
    }
    index = {
        "noun": ["story n 2 1 @ 2 1 00000001 00000002"],
        "verb": ["write v 1 1 @ 1 1 00000003"],
        "adj": ["happy a 1 1 & 1 1 00000004"],
        "adv": [],
    }
    for pos in data:
        (wn / f"data.{pos}").write_text(header + "".join(l + "  \n" for l in data[pos]))
        (wn / f"index.{pos}").write_text(header + "".join(l + "  \n" for l in index[pos]))
    table = build(wn, stopwords={"the"}, senses=2, max_synonyms=5)
    # story: only its tagged sense (1 of 2) is used; capitalised "Tale" is a proper noun and dropped
    assert table == {"happy": ["felicitous"], "story": ["narrative"], "write": ["compose", "pen"]}


def test_augmented_rows_are_not_augmented_again(alpaca):
    first = run(alpaca.head(5), actions=["swap"]).drop("_reject", "_reject_detail")
    assert first.height == 10
    second = run(first, actions=["delete"]).slice(10)  # what the second augmenter added
    assert second.height == 5 and set(second["parent_id"]) == set(alpaca.head(5)["id"])
    assert run(first, actions=["delete"], include_augmented=True).slice(10).height == 10


QUICKSTART_STEPS = """
name: t
seed: 42
sources:
  - {name: alpaca, path: sample_data/alpaca.jsonl, set: {task: open_qa}, limit: 120}
pipeline:
  - normalize: {}
  - eda: {field: instruction, actions: [synonym, insert, swap, delete], aug_p: 0.1, ratio: 0.5, min_similarity: 0.8}
output: {report: false}
"""


@pytest.mark.slow
def test_pipeline_run_balances_and_writes_rejects(tmp_path):
    from dataforge.recipe import loads
    from tests.conftest import ROOT

    res = loads(QUICKSTART_STEPS, base_dir=ROOT).run(out=tmp_path / "out")
    tot = res.manifest["totals"]
    assert tot["balanced"] and tot["rows_in"] == 120 and tot["rows_added"] > 30
    data = pl.read_parquet(res.shards)
    rej = pl.read_parquet([tmp_path / "out" / r["path"] for r in res.manifest["rejects"]])
    assert data.height + rej.height == 120 + tot["rows_added"]
    assert data["source"].str.ends_with("+eda").sum() == tot["rows_added"] - rej.height
    assert rej["reason"].str.contains(r"^(drift: cosine -?\d\.\d\d < 0\.80|copy: .+|constraint: "
                                      r"(scrambled word order|dangling last word|changed quoted text) .+)$").all()
