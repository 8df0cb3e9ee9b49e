"""Every read row records where it came from: `meta.origin` = {"file", "line"} (Parquet and
tables: "row"), through `convert` and its rejects, and kept when our own output is read again."""
from __future__ import annotations

import json

import polars as pl
import pytest

from dataforge import Pipeline, Source, op


def _origins(res) -> dict[str, dict]:
    df = pl.concat([pl.read_parquet(p) for p in sorted(res.shards)])
    return {r["instruction"]: json.loads(r["meta"]).get("origin") for r in df.iter_rows(named=True)}


def _rec(i: int, **more) -> str:
    return json.dumps({"instruction": f"Describe item {i} in one sentence", "output": f"Item {i} is a thing.", **more})


def test_jsonl_glob_records_name_file_and_line_relative_to_the_source(tmp_path):
    d = tmp_path / "data" / "sub"
    d.mkdir(parents=True)
    (tmp_path / "data" / "a.jsonl").write_text(_rec(1) + "\n\n" + _rec(2) + "\n")
    # a bad line (quarantined) and a blank line must not shift the lines of the rows after them
    (d / "b.jsonl").write_text("{not json\n" + _rec(3) + "\n\n" + _rec(4) + "\n")
    src = Source(name="s", path=str(tmp_path / "data" / "**" / "*.jsonl"), on_error="quarantine")
    res = Pipeline([op("normalize")], seed=1).run(src, tmp_path / "out")
    got = _origins(res)
    assert got["Describe item 1 in one sentence"] == {"file": "a.jsonl", "line": 1}
    assert got["Describe item 2 in one sentence"] == {"file": "a.jsonl", "line": 3}
    assert got["Describe item 3 in one sentence"] == {"file": "sub/b.jsonl", "line": 2}
    assert got["Describe item 4 in one sentence"] == {"file": "sub/b.jsonl", "line": 4}
    assert str(tmp_path) not in "".join(json.dumps(o) for o in got.values())  # never a local folder


def test_csv_line_is_where_the_record_starts(tmp_path):
    (tmp_path / "t.csv").write_text('instruction,output\n"Describe item 1 in one sentence","two\nlines"\n'
                                    'Describe item 2 in one sentence,one line\n')
    res = Pipeline([], seed=1).run(Source(name="t", path=str(tmp_path / "t.csv")), tmp_path / "out")
    got = _origins(res)
    assert got["Describe item 1 in one sentence"] == {"file": "t.csv", "line": 2}
    assert got["Describe item 2 in one sentence"] == {"file": "t.csv", "line": 4}


def test_parquet_and_tables_give_rows_and_limit_keeps_them(tmp_path):
    df = pl.DataFrame({"instruction": [f"Describe item {i} in one sentence" for i in range(1, 8)],
                       "output": [f"Item {i} is a thing." for i in range(1, 8)]})
    df.write_parquet(tmp_path / "p.parquet")
    res = Pipeline([op("normalize")], batch_size=3, seed=1).run(
        [Source(name="p", path=str(tmp_path / "p.parquet")), Source(name="t", path=df.head(2).with_columns(
            pl.col("instruction").str.replace("item", "thing")), limit=2)], tmp_path / "out")
    got = _origins(res)
    assert got["Describe item 7 in one sentence"] == {"file": "p.parquet", "row": 7}
    assert got["Describe thing 2 in one sentence"] == {"row": 2}


def test_datasets_splits_are_named(tmp_path):
    datasets = pytest.importorskip("datasets")
    dd = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"instruction": ["Describe item 1 in one sentence"], "output": ["A."]}),
        "test": datasets.Dataset.from_dict({"instruction": ["Describe item 2 in one sentence",
                                                            "Describe item 3 in one sentence"], "output": ["B.", "C."]})})
    res = Pipeline([], seed=1).run(Source(name="hf", path=dd), tmp_path / "out")
    got = _origins(res)
    assert got["Describe item 1 in one sentence"] == {"split": "train", "row": 1}
    assert got["Describe item 3 in one sentence"] == {"split": "test", "row": 2}


def test_converted_rows_and_their_rejects_carry_the_raw_rows_origin(tmp_path):
    rows = [{"text": "A warm, funny film with a great cast.", "label": 1},
            {"text": "meh", "label": 7},  # no such label: a convert reject
            {"text": "Dull, slow and far too long.", "label": 0}]
    (tmp_path / "reviews.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    conv = op("convert", family="sentiment", templates=["review_question"])
    res = Pipeline([conv], seed=1).run(Source(name="rv", path=str(tmp_path / "reviews.jsonl")), tmp_path / "out")
    df = pl.concat([pl.read_parquet(p) for p in sorted(res.shards)])
    by_line = {json.loads(m)["origin"]["line"]: json.loads(m) for m in df["meta"]}
    assert set(by_line) == {1, 3} and all(m["origin"]["file"] == "reviews.jsonl" for m in by_line.values())
    assert by_line[3]["source_row"] and by_line[3]["template"] == "sentiment/review_question"
    rej = pl.read_parquet(tmp_path / "out" / res.manifest["rejects"][0]["path"])
    assert rej["reason"].to_list() == ["unknown_label: label=7"]
    assert json.loads(rej["meta"][0])["origin"] == {"file": "reviews.jsonl", "line": 2}
    assert json.loads(rej["detail"][0])["raw"] == {"text": "meh", "label": 7}  # the input row, nothing added


def test_reading_our_output_again_keeps_the_first_origin(tmp_path):
    (tmp_path / "a.jsonl").write_text(_rec(1) + "\n" + _rec(2) + "\n")
    first = Pipeline([], seed=1).run(Source(name="a", path=str(tmp_path / "a.jsonl")), tmp_path / "one")
    again = Pipeline([], seed=1).run(Source(name="again", path=str(first.shards[0])), tmp_path / "two")
    df = pl.read_parquet(again.shards[0])
    metas = [json.loads(m) for m in df.sort("instruction")["meta"]]
    assert [m["origin"] for m in metas] == [{"file": "a.jsonl", "line": 1}, {"file": "a.jsonl", "line": 2}]
    assert all(m.count('"origin"') == 1 for m in df["meta"])


def test_a_raw_rows_id_does_not_depend_on_where_it_was_read(tmp_path):
    # the same raw row on two lines is one content: one id, the same prompt draws
    from dataforge.schema import content_id

    row = json.dumps({"text": "A warm, funny film with a great cast.", "label": 1})
    (tmp_path / "r.jsonl").write_text(row + "\n" + row + "\n")
    src = Source(name="r", path=str(tmp_path / "r.jsonl"))
    b = next(iter(src.batches(10)))
    assert "_origin" in b.rows.columns
    ids = content_id(b.rows)
    assert ids[0] == ids[1] == content_id(b.rows.drop("_origin"))[0]


def test_meta_text_must_be_a_json_object_and_blank_meta_is_none(tmp_path):
    # keys are added to meta, so text like "from reddit" would come out as broken JSON: it is a
    # row error naming file, line and field; an empty CSV cell is no meta
    from dataforge.errors import InputError

    (tmp_path / "m.jsonl").write_text(_rec(1, meta="from reddit") + "\n" + _rec(2, meta='{"k": 1}') + "\n"
                                      + _rec(3, meta="") + "\n")
    with pytest.raises(InputError, match=r"m.jsonl:1: wrong type: field 'meta' must hold a JSON object, got text \"from reddit\""):
        Pipeline([], seed=1).run(Source(name="m", path=str(tmp_path / "m.jsonl")), tmp_path / "a")
    res = Pipeline([op("langid", fields=["instruction"], langs=["en"])], seed=1).run(
        Source(name="m", path=str(tmp_path / "m.jsonl"), on_error="quarantine"), tmp_path / "b")
    metas = {r["instruction"]: json.loads(r["meta"]) for r in pl.read_parquet(res.shards[0]).iter_rows(named=True)}
    assert metas["Describe item 2 in one sentence"]["k"] == 1
    assert metas["Describe item 3 in one sentence"]["origin"] == {"file": "m.jsonl", "line": 3}
    rej = pl.read_parquet(tmp_path / "b" / res.manifest["rejects"][0]["path"])
    assert rej["reason"].to_list() == ["wrong type: field 'meta' must hold a JSON object, got text \"from reddit\""]


def test_records_converted_by_imports_keep_their_origin(tmp_path):
    # Alpaca-format rows are records when read (origin goes to meta at once); `imports`
    # rewrites meta and must carry the origin over, as every other family does
    (tmp_path / "alpaca.jsonl").write_text(
        _rec(1, input="") + "\n" + _rec(2, input="a list of parts") + "\n")
    src = Source(name="alp", path=str(tmp_path / "alpaca.jsonl"), ops=[op("convert", family="imports")])
    res = Pipeline([], seed=1).run(src, tmp_path / "out")
    df = pl.read_parquet(res.shards[0])
    metas = {r["instruction"]: json.loads(r["meta"]) for r in df.iter_rows(named=True)}
    assert {k: m["origin"] for k, m in metas.items()} == {
        "Describe item 1 in one sentence": {"file": "alpaca.jsonl", "line": 1},
        "Describe item 2 in one sentence": {"file": "alpaca.jsonl", "line": 2}}
    assert all(m["template"].startswith("imports/") for m in metas.values())


def test_rule_based_scores_do_not_claim_the_run_llm():
    """A recipe's `llm:` reaches score_clarity / score_quality / score_alignment only with
    `judge: true`; the manifest and card had listed them as users of the LLM whatever they did."""
    from dataforge import op
    from dataforge.models_used import collect

    ops = [op("respond"), op("score_clarity"), op("score_quality"), op("score_alignment", model="static"),
           op("score_clarity", judge=True)]
    labels = ["respond", "clarity", "quality", "alignment", "clarity_judged"]
    (llm,) = [m for m in collect(ops, "openai:http://127.0.0.1:9/v1@m", labels) if m["role"] == "llm"]
    assert llm["used_by"] == ["respond", "clarity_judged"]


def test_manifest_names_the_bytes_of_each_source_file(tmp_path):
    """'Same source files' can be checked: each file a source read, with its size and digest."""
    import xxhash

    from dataforge import Pipeline, Source, op

    a = tmp_path / "a.jsonl"
    a.write_text('{"instruction": "Say hi.", "output": "Hi."}\n', encoding="utf-8")
    res = Pipeline([op("normalize")]).run([Source(name="a", path=str(a)),
                                           Source(name="mem", path=pl.DataFrame({"instruction": ["x y"], "output": ["z"]}))],
                                          out=tmp_path / "out")
    (fa,), mem = res.manifest["sources"][0]["files"], res.manifest["sources"][1]
    assert fa == {"path": str(a), "bytes": a.stat().st_size, "xxh3_128": xxhash.xxh3_128_hexdigest(a.read_bytes())}
    assert mem == {"name": "mem", "path": "<in-memory>"}


def test_model_paths_in_the_manifest_name_neither_the_user_nor_the_machine(tmp_path, monkeypatch):
    import sys

    from dataforge import op
    from dataforge.models_used import collect, portable_path

    lid = next(m for m in collect([op("langid")], None) if m["role"] == "fasttext")
    assert lid["path"].startswith("<python-env>/") and sys.prefix not in lid["path"], lid
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".cache" / "m").mkdir(parents=True)
    assert portable_path(str(tmp_path / ".cache" / "m")) == "~/.cache/m"
    assert portable_path("/opt/models/x") == "/opt/models/x"  # elsewhere: as given
