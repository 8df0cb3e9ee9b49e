import json

import polars as pl
import pyarrow as pa
import pytest

from dataforge import Pipeline, Source, op
from dataforge.errors import InputError
from dataforge.io import read

ROWS = [{"instruction": f"Say {i}", "input": "", "output": f"answer {i}"} for i in range(5)]


def rows_of(src, **kw):
    return pl.concat([b.rows for b in read.iter_batches(src, **kw)], how="diagonal_relaxed")


def test_jsonl(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    assert rows_of(str(p)).height == 5


def test_jsonl_bad_line_names_file_and_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    lines = [json.dumps(r) for r in ROWS]
    lines.insert(2, '{"instruction": "oops", ')
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"bad\.jsonl:3: malformed JSON"):
        rows_of(str(p))


def test_jsonl_quarantine_goes_to_rejects(tmp_path):
    p = tmp_path / "bad.jsonl"
    lines = [json.dumps(r) for r in ROWS]
    lines.insert(2, "not json at all")
    lines.insert(4, "[1, 2]")
    p.write_text("\n".join(lines) + "\n")
    res = Pipeline([]).run(Source(name="bad", path=str(p), on_error="quarantine"), tmp_path / "out")
    t = res.manifest["totals"]
    assert t["rows_in"] == 7 and t["rows_out"] == 5 and t["rows_rejected"] == 2 and t["balanced"]
    rej = pl.read_parquet(tmp_path / "out" / "rejects" / "00-read.parquet")
    assert rej["reason"].str.starts_with("parse_error").all()
    assert sorted(json.loads(d)["line"] for d in rej["detail"]) == [3, 5]
    assert "not json at all" in rej["raw"].to_list()


def test_json_array_and_csv_tsv(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(ROWS))
    assert rows_of(str(tmp_path / "a.json")).height == 5
    pl.DataFrame(ROWS).write_csv(tmp_path / "a.csv")
    pl.DataFrame(ROWS).write_csv(tmp_path / "a.tsv", separator="\t")
    assert rows_of(str(tmp_path / "a.csv"))["output"].to_list()[0] == "answer 0"
    assert rows_of(str(tmp_path / "a.tsv")).height == 5


def test_bad_json_array(tmp_path):
    (tmp_path / "a.json").write_text('[{"a": 1},\n {"a": ]')
    with pytest.raises(InputError, match=r"a\.json:2"):
        rows_of(str(tmp_path / "a.json"))


def test_parquet_file_glob_and_folder(tmp_path):
    d = tmp_path / "pq"
    d.mkdir()
    for i in range(3):
        pl.DataFrame(ROWS).write_parquet(d / f"part-{i}.parquet")
    assert rows_of(str(d / "part-0.parquet")).height == 5
    assert rows_of(str(d / "*.parquet")).height == 15
    assert rows_of(str(d)).height == 15
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="junk.parquet"):
        rows_of(str(tmp_path / "junk.parquet"))


def test_datasets_objects_and_folder(tmp_path):
    import datasets

    ds = datasets.Dataset.from_list(ROWS)
    assert rows_of(ds).height == 5
    dd = datasets.DatasetDict({"train": ds, "test": ds.select(range(2))})
    assert rows_of(dd).height == 7
    folder = tmp_path / "hfds"
    (folder / "data").mkdir(parents=True)
    pl.DataFrame(ROWS).write_parquet(folder / "data" / "train-00000-of-00001.parquet")
    (folder / "README.md").write_text("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
                                      "    path: data/train-*\n---\n")
    assert rows_of(str(folder), options={"split": "train"}).height == 5


def test_in_memory_tables():
    assert rows_of(pl.DataFrame(ROWS)).height == 5
    assert rows_of(pa.Table.from_pylist(ROWS)).height == 5


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="not found"):
        rows_of(str(tmp_path / "nope.jsonl"))
    with pytest.raises(InputError, match="format"):
        rows_of(str(tmp_path / "data.xyz"))


def test_column_mapping_rename_constant_template(tmp_path):
    raw = pl.DataFrame({"q": ["What is 2+2?"], "a": ["4"], "topic": ["math"]})
    src = Source(name="m", path=raw, map={"instruction": "q", "output": "a"}, set={"task": "math"},
                 template={"input": "Topic: {topic} {{literal}}"})
    res = Pipeline([]).run(src, tmp_path / "out")
    out = pl.read_parquet(res.shards[0])
    assert out["instruction"][0] == "What is 2+2?" and out["task"][0] == "math"
    assert out["input"][0] == "Topic: math {literal}"


def test_mapping_unknown_field_is_clear(tmp_path):
    src = Source(name="m", path=pl.DataFrame({"q": ["x"]}), map={"instruction": "question"})
    with pytest.raises(InputError, match="no field 'question'"):
        Pipeline([]).run(src, tmp_path / "out")


def test_null_required_field_names_file_line_and_field(tmp_path):
    p = tmp_path / "n.jsonl"
    p.write_text('{"instruction": "a b c", "output": "ok"}\n\n{"instruction": null, "output": "x"}\n'
                 '{"instruction": "d e f"}\n')
    with pytest.raises(InputError, match=r"n\.jsonl:3: field 'instruction' is missing or null"):
        Pipeline([]).run(str(p), tmp_path / "o")
    res = Pipeline([]).run(Source(name="n", path=str(p), on_error="quarantine"), tmp_path / "q")
    t = res.manifest["totals"]
    assert (t["rows_in"], t["rows_out"], t["rows_rejected"]) == (3, 1, 2)
    assert res.manifest["stages"][0]["rejected_by_reason"] == {"missing field": 2}
    rej = pl.read_parquet(tmp_path / "q" / "rejects" / "00-read.parquet")
    assert sorted(json.loads(d)["line"] for d in rej["detail"]) == [3, 4]
    assert set(rej["reason"]) == {"missing field: instruction", "missing field: output"}


def test_nested_value_where_text_is_expected(tmp_path):
    from dataforge.errors import SchemaError

    p = tmp_path / "l.jsonl"
    p.write_text('{"instruction": ["a", "b"], "output": "x"}\n')
    with pytest.raises(InputError, match=r"l\.jsonl:1: wrong type: field 'instruction' must be text, got list"):
        Pipeline([]).run(str(p), tmp_path / "o")


def test_parquet_errors_name_the_row(tmp_path):
    p = tmp_path / "b.parquet"
    pl.DataFrame({"instruction": ["a b c", "d e f"], "output": ["x", None]}).write_parquet(p)
    with pytest.raises(InputError, match=r"b\.parquet:2: field 'output'"):
        Pipeline([]).run(str(p), tmp_path / "o")


def test_files_in_other_encodings_say_which_and_how_to_convert(tmp_path):
    row = '{"instruction": "Say café.", "output": "Café."}\n'
    (tmp_path / "u16.jsonl").write_text(row, encoding="utf-16")
    (tmp_path / "latin1.jsonl").write_bytes(row.encode("latin-1"))
    (tmp_path / "latin1.json").write_bytes(("[" + row + "]").encode("latin-1"))
    for name, enc in (("u16.jsonl", "UTF-16"), ("latin1.jsonl", "Windows-1252"), ("latin1.json", "Windows-1252")):
        with pytest.raises(InputError, match=rf"not UTF-8 text .*{enc}.*iconv"):
            list(read.iter_batches(str(tmp_path / name)))


def test_a_latin1_csv_says_so_and_quarantine_warns_once(tmp_path, caplog):
    body = "instruction,output\nSay café.,Café.\nSay thé.,Thé.\n"
    (tmp_path / "latin1.csv").write_bytes(body.encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.csv:2: field 'instruction' is not UTF-8 text; it reads as "
                                         r"Windows-1252 .*iconv -f WINDOWS-1252 -t UTF-8 .*latin1\.csv > out\.csv"):
        list(read.iter_batches(str(tmp_path / "latin1.csv")))
    with caplog.at_level("WARNING", logger="dataforge.read"):
        bad = [x for b in read.iter_batches(str(tmp_path / "latin1.csv"), on_error="quarantine") for x in b.bad]
    assert len(bad) == 2
    said = [r.getMessage() for r in caplog.records if "Windows-1252" in r.getMessage()]
    assert len(said) == 1 and "quarantined" in said[0]


def test_datasets_saved_to_disk_read_as_saved(tmp_path):
    import datasets

    ds = datasets.Dataset.from_list(ROWS)
    ds.save_to_disk(str(tmp_path / "one"))
    assert rows_of(str(tmp_path / "one"))["instruction"].to_list() == [r["instruction"] for r in ROWS]
    datasets.DatasetDict({"train": ds, "test": ds.select(range(2))}).save_to_disk(str(tmp_path / "dd"))
    assert rows_of(str(tmp_path / "dd")).height == 7
    assert rows_of(str(tmp_path / "dd"), options={"split": "test"}).height == 2
    with pytest.raises(InputError, match=r"no split 'dev' in this saved dataset; it has \['test', 'train'\]"):
        rows_of(str(tmp_path / "dd"), options={"split": "dev"})


def test_paths_that_share_a_file_name_are_two_sources_and_rejects_name_files_relatively(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "train.jsonl").write_text(json.dumps(ROWS[0] | {"output": f"from {d}"}) + "\n{oops\n")
    srcs = Pipeline.as_sources([str(tmp_path / "a" / "train.jsonl"), str(tmp_path / "b" / "train.jsonl")])
    assert [s.name for s in srcs] == ["train", "train-2"]
    for s in srcs:
        s.on_error = "quarantine"
    res = Pipeline([]).run(srcs, out=tmp_path / "out")
    assert sorted(pl.read_parquet(res.shards[0])["source"]) == ["train", "train-2"]
    rej = pl.read_parquet(tmp_path / "out" / "rejects" / "*.parquet")
    assert [json.loads(d) for d in rej["detail"]] == [{"file": "train.jsonl", "line": 2}] * 2
    assert str(tmp_path) not in "".join(rej["detail"])


def test_a_csv_with_another_separator_says_which(tmp_path):
    f = tmp_path / "semi.csv"
    f.write_text("instruction;output\nSay hi;Hi\nSay bye;Bye\n")
    with pytest.raises(InputError, match=r"semi\.csv:1: .*separated by ';'; set `options: \{separator: \";\"\}`"):
        list(read.iter_batches(str(f)))
    rows = pl.concat([b.rows for b in read.iter_batches(str(f), options={"separator": ";"})])
    assert rows.rows() == [("Say hi", "Hi"), ("Say bye", "Bye")]
    one = tmp_path / "one.csv"  # a real one-column file is read as it is
    one.write_text("text\nhello there\n")
    assert next(read.iter_batches(str(one))).rows.columns == ["text"]


def test_compressed_text_files_read_like_their_plain_selves(tmp_path):
    # many Hub datasets ship "train.jsonl.gz": gzip, bz2 and xz stream through the stdlib, the
    # format is the name without the ending, and lines, origins and errors are the file's own
    import bz2
    import gzip
    import lzma

    text = "".join(json.dumps(r) + "\n" for r in ROWS).encode()
    csv_text = pl.DataFrame(ROWS).write_csv().encode()
    (tmp_path / "d").mkdir()
    files = {"d/a.jsonl.gz": gzip.compress(text), "d/b.jsonl.bz2": bz2.compress(text),
             "d/c.jsonl.xz": lzma.compress(text), "d/e.jsonl": text,
             "x.json.gz": gzip.compress(json.dumps(ROWS).encode()), "y.csv.gz": gzip.compress(csv_text),
             "z.tsv.bz2": bz2.compress(pl.DataFrame(ROWS).write_csv(separator="\t").encode())}
    zstandard = pytest.importorskip("zstandard")  # the `zstd` extra, installed by `make venv`
    z = zstandard.ZstdCompressor()
    files["d/f.jsonl.zst"] = z.compress(text[:50]) + z.compress(text[50:])  # two frames, cut mid-line
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    plain = rows_of(str(tmp_path / "d" / "e.jsonl"))
    for name in files:
        if not name.startswith("d/"):
            assert read.detect_format(str(tmp_path / name)) == name.split(".")[1]
            assert rows_of(str(tmp_path / name)).equals(plain), name
    # a folder and a glob find the compressed files beside the plain one
    assert read.detect_format(str(tmp_path / "d")) == "jsonl"
    assert rows_of(str(tmp_path / "d")).height == 25
    assert rows_of(str(tmp_path / "d" / "*.jsonl.*")).height == 20
    res = Pipeline([]).run(Source(name="gz", path=str(tmp_path / "d")), tmp_path / "out")
    assert res.manifest["totals"]["rows_out"] == 25
    origins = pl.concat([pl.read_parquet(p) for p in res.shards])["meta"].str.json_path_match("$.origin.file")
    assert set(origins) == {"a.jsonl.gz", "b.jsonl.bz2", "c.jsonl.xz", "e.jsonl", "f.jsonl.zst"}
    # a bad line inside is named by its decompressed line number
    bad = text.replace(b'"Say 2"', b'"Say 2",', 1)
    (tmp_path / "bad.jsonl.gz").write_bytes(gzip.compress(bad))
    with pytest.raises(InputError, match=r"bad\.jsonl\.gz:3: malformed JSON"):
        rows_of(str(tmp_path / "bad.jsonl.gz"))


def test_damaged_or_misnamed_compressed_files_are_named_errors(tmp_path):
    import gzip

    text = "".join(json.dumps(r) + "\n" for r in ROWS * 100).encode()
    (tmp_path / "cut.jsonl.gz").write_bytes(gzip.compress(text)[:-40])
    with pytest.raises(InputError, match=r"cut\.jsonl\.gz: cannot decompress the file after line \d+"):
        rows_of(str(tmp_path / "cut.jsonl.gz"))
    (tmp_path / "plain.jsonl.gz").write_bytes(text)
    with pytest.raises(InputError, match=r"plain\.jsonl\.gz: cannot decompress the file at its start"):
        rows_of(str(tmp_path / "plain.jsonl.gz"))
    (tmp_path / "t.json.gz").write_bytes(text[:100])
    with pytest.raises(InputError, match=r"t\.json\.gz: cannot decompress"):
        rows_of(str(tmp_path / "t.json.gz"))
    (tmp_path / "p.parquet.gz").write_bytes(gzip.compress(b"x"))
    with pytest.raises(InputError, match="Parquet compresses its own columns"):
        read.detect_format(str(tmp_path / "p.parquet.gz"))
    zstandard = pytest.importorskip("zstandard")
    # (zstandard's own stream reader stops quietly there)
    (tmp_path / "cut.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(text)[:-40])
    with pytest.raises(InputError, match=r"cut\.jsonl\.zst: cannot decompress"):
        rows_of(str(tmp_path / "cut.jsonl.zst"))
    (tmp_path / "l1.jsonl.gz").write_bytes(gzip.compress('{"instruction": "Café?", "output": "Oui."}\n'.encode("latin-1")))
    with pytest.raises(InputError, match=r"l1\.jsonl\.gz:1: not UTF-8 text.*Windows-1252.*<\(zcat "):
        rows_of(str(tmp_path / "l1.jsonl.gz"))


def test_a_list_mixing_kinds_in_one_row_says_so(tmp_path):
    rows = [{"instruction": "a", "output": "b", "tags": ["x", "y"]}, {"instruction": "c", "output": "d", "tags": ["x", 1]}]
    (tmp_path / "t.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    bad = [x for b in read.iter_batches(str(tmp_path / "t.jsonl"), on_error="quarantine") for x in b.bad]
    assert [(x["line"], x["error"]) for x in bad] == [
        (2, "wrong type: field 'tags[]' mixes text and number in one row; give it one shape")]


def _bad_of(src, **kw):
    return [x for b in read.iter_batches(src, on_error="quarantine", **kw) for x in b.bad]


@pytest.mark.parametrize("ext,sep", [("csv", ","), ("tsv", "\t")])
def test_csv_tsv_a_stray_quote_keeps_every_line_and_its_text(tmp_path, ext, sep):
    # a quote that opens no well-formed quoted field is a plain character: the lines after it
    # are not swallowed into one field, and '"Great" movie' keeps its quotes
    p = tmp_path / f"q.{ext}"
    p.write_text(f'instruction{sep}output\n"Open quote review{sep}pos\nsecond row{sep}neg\n'
                 f'fourth "x" row{sep}neg\n"Great" movie{sep}yes\n"ok{sep}fine"{sep}quoted\n')
    df = rows_of(str(p))
    assert df["instruction"].to_list() == ['"Open quote review', "second row", 'fourth "x" row',
                                           '"Great" movie', f"ok{sep}fine"]
    assert df["output"].to_list() == ["pos", "neg", "neg", "yes", "quoted"]


def test_tsv_a_quoted_field_that_swallows_whole_records_is_a_row_error(tmp_path):
    p = tmp_path / "q.tsv"
    p.write_text('instruction\toutput\n"Open quote\tpos\nsecond\tneg\nthird"\tpos\nfourth\tneg\n')
    with pytest.raises(InputError, match=r"q\.tsv:2: a quoted field spans lines 2-4.*stray"):
        rows_of(str(p))
    bad = _bad_of(str(p))
    assert [(x["line"], x["raw"]) for x in bad] == [(2, '"Open quote\tpos\nsecond\tneg\nthird"\tpos')]
    assert rows_of(str(p), on_error="quarantine")["instruction"].to_list() == ["fourth"]
    # a quoted field with line ends that does not look like records is read as one field
    p.write_text('instruction\toutput\n"line one\nline two"\tpos\n')
    assert rows_of(str(p))["instruction"].to_list() == ["line one\nline two"]


def _jsonl(tmp_path, name, rows):
    p = tmp_path / name
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(p)


def test_jsonl_a_nested_value_of_another_shape_is_a_row_error_not_rewritten(tmp_path):
    # Polars would turn {"deep": 1} into the text '{1}' and a chat's list content into a null
    # `messages`: the odd row is a row error naming its line and path
    msgs = [{"instruction": f"i{i}", "output": "o", "messages": [{"role": "user", "content": f"hi {i}"}]}
            for i in range(4)]
    msgs.insert(2, {"instruction": "L", "output": "o",
                    "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]})
    p = _jsonl(tmp_path, "m.jsonl", msgs)
    with pytest.raises(InputError, match=r"m\.jsonl:3: wrong type: field 'messages\[\]\.content' is list here "
                                         r"but text in most rows"):
        rows_of(p)
    df = rows_of(p, on_error="quarantine")
    assert df["instruction"].to_list() == ["i0", "i1", "i2", "i3"] and df["messages"].null_count() == 0
    nest = [{"instruction": "a", "output": "o", "extra": {"a": "x"}}] * 3 \
        + [{"instruction": "L", "output": "o", "extra": {"a": {"deep": 1}}}]
    bad = _bad_of(_jsonl(tmp_path, "n.jsonl", nest))
    assert [(x["line"], x["error"].split(" here")[0]) for x in bad] == [(4, "wrong type: field 'extra.a' is object")]


def test_jsonl_meta_objects_are_kept_as_each_row_wrote_them(tmp_path):
    rows = [{"instruction": "a", "output": "b", "meta": {"a": {"b": 1, "c": "y"}}},
            {"instruction": "c", "output": "d", "meta": {"a": [1, 2]}},
            {"instruction": "e", "output": "f", "meta": {"s": 1, "big": 12345678901234567890}},
            {"instruction": "g", "output": "h", "meta": {"s": 0.5, "t": "é"}},
            {"instruction": "i", "output": "j", "meta": '{"k": 2}'},  # text and objects may mix
            {"instruction": "k", "output": "l", "meta": {"origin": {"file": "orig.jsonl", "line": 9}}}]
    p = _jsonl(tmp_path, "meta.jsonl", rows)
    for size in (1, 2, 100):
        assert rows_of(p, batch_size=size)["meta"].to_list() == [
            '{"a":{"b":1,"c":"y"}}', '{"a":[1,2]}', '{"s":1,"big":12345678901234567890}', '{"s":0.5,"t":"é"}',
            '{"k": 2}', '{"origin":{"file":"orig.jsonl","line":9}}']
    res = Pipeline([]).run(Source(name="m", path=p), tmp_path / "out")
    metas = pl.read_parquet(res.shards[0])["meta"].to_list()
    assert sorted(json.loads(m).get("s", 0) for m in metas) == [0, 0, 0, 0, 0.5, 1]
    assert '{"origin":{"file":"orig.jsonl","line":9}}' in metas
    # meta that is neither an object nor text is a row error
    bad = _bad_of(_jsonl(tmp_path, "m2.jsonl", [{"instruction": "a", "output": "b", "meta": [1]}]))
    assert bad[0]["error"] == "wrong type: field 'meta' must hold a JSON object, got list [1]"


def test_jsonl_integer_ids_of_any_size_are_text_and_rejects_show_the_line(tmp_path):
    p = _jsonl(tmp_path, "ids.jsonl", ['{"id":1,"instruction":"a","output":"b"}',
                                        '{"id":12345678901234567890,"instruction":"c","output":"d"}',
                                        '{"id":123456789012345678901234567890,"instruction":"e","output":"f"}',
                                        '{"id":"x4","instruction":"g","output":"h"}',
                                        '{"id":1.0,"instruction":"i","output":"j"}',
                                        '{"id":5,"instruction":"k","output":null}'])
    with pytest.raises(InputError, match=r"ids\.jsonl:5: wrong type: field 'id' must be text or an integer, got number 1\.0"):
        rows_of(p)
    res = Pipeline([]).run(Source(name="ids", path=p, on_error="quarantine"), tmp_path / "out")
    assert sorted(pl.read_parquet(res.shards[0])["id"].to_list()) == [
        "1", "12345678901234567890", "123456789012345678901234567890", "x4"]
    rej = pl.read_parquet(tmp_path / "out" / "rejects" / "00-read.parquet")
    assert sorted(rej["raw"].to_list()) == ['{"id":1.0,"instruction":"i","output":"j"}',
                                            '{"id":5,"instruction":"k","output":null}']


def test_template_renders_a_json_number_as_written_whatever_the_other_rows_hold(tmp_path):
    p = _jsonl(tmp_path, "t.jsonl", ['{"q":"a","a":"b","title":5}', '{"q":"c","a":"d","title":12345678901234567890}',
                                      '{"q":"e","a":"f","title":1e5}', '{"q":"g","a":"h","title":2.50}',
                                      '{"q":"i","a":"j","title":null}', '{"q":"k","a":"l"}'])
    src = Source(name="t", path=p, map={"instruction": "q", "output": "a"}, template={"input": "Title: {title}"})
    res = Pipeline([]).run(src, tmp_path / "out")
    out = pl.read_parquet(res.shards[0]).sort("instruction")
    assert out["input"].to_list() == ["Title: 5", "Title: 12345678901234567890", "Title: 1e5", "Title: 2.50",
                                      "Title: ", "Title: "]  # null or missing: empty
    assert not [c for c in out.columns if c.startswith(read.NUMBER_TEXT)]


def test_a_batch_lacking_a_mapped_or_templated_field_is_null_there_not_an_error(tmp_path):
    p = _jsonl(tmp_path, "t.jsonl", ['{"q":"a","a":"b"}', '{"q":"c","a":"d","title":"T","s":"sys"}'])
    src = Source(name="t", path=p, map={"instruction": "q", "output": "a", "system": "s"},
                 template={"input": "Title: {title}"})
    for size in (1, 10):
        res = Pipeline([], batch_size=size).run(src, tmp_path / f"out{size}")
        out = pl.read_parquet(res.shards[0]).sort("instruction")
        assert out["input"].to_list() == ["Title: ", "Title: T"] and out["system"].to_list() == [None, "sys"]
    typo = Source(name="t", path=p, map={"instruction": "q", "output": "a"}, template={"input": "{titel}"})
    with pytest.raises(InputError, match=r"template input: no row has the field\(s\) \['titel'\]"):
        Pipeline([], batch_size=1).run(typo, tmp_path / "out3")


def test_jsonl_rejects_keep_latin1_bytes_and_hint_at_json_for_pretty_or_array_files(tmp_path):
    p = tmp_path / "l.jsonl"
    p.write_bytes(b'{"instruction":"caf\xe9","output":"b"}\n{"instruction":"ok","output":"fine"}\n')
    bad = _bad_of(str(p))
    assert bad[0]["raw"] == '{"instruction":"caf\xe9","output":"b"}' and "as Latin-1" in bad[0]["error"]
    c = tmp_path / "l.csv"
    c.write_bytes(b"instruction,output\ncaf\xe9,b\n")
    assert [x["raw"] for x in _bad_of(str(c))] == ["caf\xe9,b"]
    pretty = _jsonl(tmp_path, "p.jsonl", ['{', '  "instruction": "a",', '  "output": "b"', '}'])
    with pytest.raises(InputError, match=r"p\.jsonl:1: malformed JSON.*set `format: json`"):
        rows_of(pretty)
    arr = _jsonl(tmp_path, "a.jsonl", ['[{"instruction":"a","output":"b"}]'])
    with pytest.raises(InputError, match=r"a\.jsonl:1: expected a JSON object, got list; .*set `format: json`"):
        rows_of(arr)


def test_rejects_of_tables_say_split_and_row(tmp_path):
    import datasets

    dd = datasets.DatasetDict({"train": datasets.Dataset.from_list([{"instruction": "a", "output": "x"},
                                                                    {"instruction": "b", "output": None}])})
    Pipeline([]).run(Source(name="d", path=dd, on_error="quarantine"), tmp_path / "out")
    rej = pl.read_parquet(tmp_path / "out" / "rejects" / "00-read.parquet")
    assert [json.loads(d) for d in rej["detail"]] == [{"split": "train", "row": 2}]
    table = pl.DataFrame({"instruction": ["a", "b"], "output": [None, "y"]})
    Pipeline([]).run(Source(name="t", path=table, on_error="quarantine"), tmp_path / "out2")
    rej = pl.read_parquet(tmp_path / "out2" / "rejects" / "00-read.parquet")
    assert [json.loads(d) for d in rej["detail"]] == [{"row": 1}]
    # a Parquet file's rows are rows, not lines (its rejects said "line")
    table.write_parquet(tmp_path / "t.parquet")
    Pipeline([]).run(Source(name="p", path=str(tmp_path / "t.parquet"), on_error="quarantine"), tmp_path / "out3")
    rej = pl.read_parquet(tmp_path / "out3" / "rejects" / "00-read.parquet")
    assert [json.loads(d) for d in rej["detail"]] == [{"file": "t.parquet", "row": 1}]


def test_limit_counts_malformed_lines_as_records_read(tmp_path):
    # a new user's `limit: 1000` read 1,004 records: four malformed lines came on top
    lines = [json.dumps({"instruction": f"q{i}", "output": f"a{i}"}) if i not in (3, 7) else '{"instruction": broken'
             for i in range(20)]
    (tmp_path / "x.jsonl").write_text("\n".join(lines) + "\n")
    res = Pipeline([]).run(Source(name="x", path=str(tmp_path / "x.jsonl"), on_error="quarantine", limit=10),
                           tmp_path / "out")
    t = res.manifest["totals"]
    assert (t["rows_in"], t["rows_out"], t["rows_rejected"]) == (10, 8, 2)
    kept = pl.concat([pl.read_parquet(p) for p in (tmp_path / "out" / "data").glob("*.parquet")])
    assert sorted(kept["instruction"]) == [f"q{i}" for i in (0, 1, 2, 4, 5, 6, 8, 9)]
