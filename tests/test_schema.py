import polars as pl
import pytest

from dataforge import schema
from dataforge.errors import SchemaError


def record(**kw):
    base = {c: "x" for c in schema.COLUMNS} | {"system": None, "parent_id": None, "meta": "{}"}
    return pl.DataFrame([base | kw], schema={c: pl.Utf8 for c in schema.COLUMNS})


def test_valid_record_passes():
    schema.validate(record(), "unit")


def test_wrong_type_names_column_types_and_source():
    df = record().with_columns(pl.lit(3).alias("output"))
    with pytest.raises(SchemaError) as e:
        schema.validate(df, "file.jsonl")
    msg = str(e.value)
    assert "file.jsonl" in msg and "'output'" in msg and "String" in msg and "Int32" in msg


def test_missing_column_and_null_required():
    with pytest.raises(SchemaError, match="missing canonical column"):
        schema.validate(record().drop("task"), "src")
    with pytest.raises(SchemaError, match="'instruction' may not be null"):
        schema.validate(record(instruction=None), "src")


def test_score_columns_must_be_numeric():
    with pytest.raises(SchemaError, match="score_x"):
        schema.validate(record().with_columns(pl.lit("a").alias("score_x")), "src")


def test_conform_fills_defaults_and_stable_ids():
    raw = pl.DataFrame({"instruction": ["Say hi", "Add"], "output": ["hi", "2"], "extra": [1, 2]})
    a = schema.conform(raw, source="s", defaults={"source": "s"})
    assert a.columns == list(schema.COLUMNS)
    assert a["input"].to_list() == ["", ""] and a["source"].to_list() == ["s", "s"]
    assert a["meta"].to_list() == ["{}", "{}"]
    b = schema.conform(raw, source="s")
    assert a["id"].to_list() == b["id"].to_list() and a["id"].n_unique() == 2
    schema.validate(a, "conformed")


def test_conform_keeps_raw_rows_for_convert():
    raw = pl.DataFrame({"text": ["good film"], "label": [1]})
    out = schema.conform(raw, source="rt")
    assert set(out.columns) == {"text", "label", "id"}


def test_meta_set_is_valid_json():
    import json

    df = pl.DataFrame({"meta": ["{}", '{"a": 1}', None], "t": ["x", 'q"uote', "z"]})
    out = df.select(schema.meta_set(pl.col("meta"), template=pl.col("t"), k=3))
    got = [json.loads(s) for s in out.to_series()]
    assert got == [{"template": "x", "k": 3}, {"a": 1, "template": 'q"uote', "k": 3}, {"template": "z", "k": 3}]


def test_meta_set_keeps_earlier_values_of_keys_set_again():
    """A step that sets a key the row already has (a rewrite of a generated row sets model,
    sampling and seed again) writes each key once; the earlier values stay under `earlier`,
    nested step by step. Appending had written duplicate keys, and JSON readers keep the last."""
    import json

    df = pl.DataFrame({"meta": ['{"origin":{"file":"a.jsonl","line":3},"model":"gen","seed":42,"sampling":{"respond":{"t":0.7}}}',
                                '{"origin":{"file":"a.jsonl","line":4}}', '{"note":"model: x"}']})
    once = df.select(schema.meta_set(pl.col("meta"), model=pl.lit("rewriter"), seed=7,
                                     sampling={"rewrite": {"t": 0.2}})).to_series()
    first = json.loads(once[0])
    assert first == {"origin": {"file": "a.jsonl", "line": 3}, "model": "rewriter", "seed": 7,
                     "sampling": {"rewrite": {"t": 0.2}},
                     "earlier": {"model": "gen", "seed": 42, "sampling": {"respond": {"t": 0.7}}}}
    assert json.loads(once[1]) == {"origin": {"file": "a.jsonl", "line": 4}, "model": "rewriter", "seed": 7,
                                   "sampling": {"rewrite": {"t": 0.2}}}
    assert json.loads(once[2])["note"] == "model: x" and "earlier" not in json.loads(once[2])
    # a third step nests the second's values over the first's
    twice = pl.DataFrame({"meta": once}).select(schema.meta_set(pl.col("meta"), model="translator")).to_series()
    third = json.loads(twice[0])
    assert third["model"] == "translator" and third["earlier"]["model"] == "rewriter"
    assert third["earlier"]["earlier"]["model"] == "gen" and third["earlier"]["earlier"]["seed"] == 42
    for t in list(once) + list(twice):  # every key once, at every level
        json.loads(t, object_pairs_hook=lambda p: (len({k for k, _ in p}) == len(p)) or pytest.fail(t))


def test_meta_set_and_step_nesting_leave_bad_or_unrelated_meta_alone():
    """A meta that is no JSON object (the input check admits '{...}' text) is left as it is,
    not a crash; a key only nested deeper is no clash; a literal meta clashes on every row."""
    import json

    df = pl.DataFrame({"meta": ['{"seed": 1, "note": \'x\'}', '{"sampling":{"r":{"seed":3}}}', None]})
    out = df.select(schema.meta_set(schema.nest_step_provenance(pl.col("meta")), seed=7)).to_series().to_list()
    assert out[0].startswith('{"seed": 1, "note": \'x\'}'[:-1])  # unparsed: appended as before
    assert json.loads(out[1]) == {"earlier": {"sampling": {"r": {"seed": 3}}}, "seed": 7}
    assert json.loads(out[2]) == {"seed": 7}
    lit = pl.DataFrame({"v": [1, 2, 3]}).select(schema.meta_set(pl.lit('{"k":0}'), k=pl.col("v"))).to_series()
    assert [json.loads(t) for t in lit] == [{"k": v, "earlier": {"k": 0}} for v in (1, 2, 3)]
