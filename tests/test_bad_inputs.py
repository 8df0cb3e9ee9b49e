"""Bad input never changes or loses a row: a generated corpus (tests/support/bad_inputs.py)
of malformed, mistyped and ambiguous inputs, recipes, rules files and templates, each with
its expected outcome, under both `on_error: fail` (the default) and `on_error: quarantine`."""
import json
import re
from pathlib import Path

import polars as pl
import pytest

from dataforge.cli import main
from tests.support.bad_inputs import cases

CASES = cases()
RUNS = [(c, m) for c in CASES for m in c.modes]
RESULTS: dict[tuple[str, str], dict] = {}  # for the invariant test: what each run read and wrote


def test_corpus_is_broad():
    assert len(CASES) >= 60
    kinds = {c.name.split("_")[0] for c in CASES}
    assert {"jsonl", "json", "csv", "tsv", "parquet", "folder", "recipe", "template", "prompt"} <= kinds
    assert len({c.name for c in CASES}) == len(CASES)


def _written(out: Path) -> list[tuple[str, str, str]]:
    files = sorted((out / "data").glob("*.parquet"))
    if not files:
        return []
    df = pl.concat([pl.read_parquet(f) for f in files])
    return list(zip(df["instruction"], df["input"], df["output"]))


@pytest.mark.parametrize("case,mode", RUNS, ids=[f"{c.name}-{m}" for c, m in RUNS])
def test_case(case, mode, tmp_path, capsys):
    r = case.write(tmp_path / "in", mode)
    out = tmp_path / "out"
    rc_validate = main(["validate", str(r)])
    v_err = capsys.readouterr().err
    rc = main(["run", str(r), "-o", str(out)])
    err = capsys.readouterr().err
    for e in (v_err, err):
        assert "Traceback" not in e and "internal error" not in e, e
    expect = case.expect
    if expect == "quarantine" and mode == "fail":
        expect = "error"
    if expect == "error":
        assert rc != 0, f"{case.name}: the run succeeded, expected an error matching {case.match!r}"
        assert re.search(case.match, err), f"{case.name}: {err!r} does not match {case.match!r}"
        assert not list(out.glob("data/*.parquet")), "an error run wrote shards"
        if case.validate_fails:
            assert rc_validate != 0 and re.search(case.match, v_err), f"validate: {v_err!r}"
        return
    assert rc == 0, err
    assert rc_validate == 0, v_err
    m = json.loads((out / "manifest.json").read_text())
    t = m["totals"]
    written = _written(out)
    assert sorted(written) == sorted(case.good), "written rows differ from the input's good rows"
    assert t["rows_out"] == len(case.good) and t["rows_rejected"] == case.rejected
    RESULTS[(case.name, mode)] = {"totals": t, "written": written}
    if case.rejected:
        rej = pl.concat([pl.read_parquet(f) for f in (out / "rejects").glob("*.parquet")])
        assert rej.height == case.rejected
        for reason, detail in zip(rej["reason"], rej["detail"]):
            d = json.loads(detail)
            # a text file's line, a table's (Parquet) row
            at = d["row"] if Path(d["file"]).suffix == ".parquet" else d["line"]
            located = f"{Path(d['file']).name}:{at}: {reason.split(': ', 1)[-1]}"
            # the reason names the field or the problem; detail names file and line (or row)
            assert re.search(case.match, located) or re.search(case.match.split(": ", 1)[-1], reason), \
                (located, case.match)
            assert d["file"] and isinstance(at, int)


def test_invariant_rows_read_equal_written_plus_rejected(tmp_path):
    """Over every run of the corpus that finishes: rows read = written + rejected, and every
    written row is, string for string, one of the input's rows. (Runs the cases the
    parametrized test has not run in this session, so it holds alone or in any order.)"""
    by_name = {c.name: c for c in CASES}
    for case, mode in RUNS:
        if (case.name, mode) in RESULTS or case.expect == "error" or (case.expect == "quarantine" and mode == "fail"):
            continue
        out = tmp_path / f"{case.name}-{mode}"
        assert main(["run", str(case.write(out / "in", mode)), "-o", str(out / "out")]) == 0
        m = json.loads((out / "out" / "manifest.json").read_text())
        RESULTS[(case.name, mode)] = {"totals": m["totals"], "written": _written(out / "out")}
    assert len(RESULTS) >= 40
    for (name, mode), res in RESULTS.items():
        t = res["totals"]
        assert t["rows_in"] + t["rows_added"] == t["rows_out"] + t["rows_rejected"], (name, mode, t)
        good = set(by_name[name].good)
        assert all(w in good for w in res["written"]), (name, mode)


def test_licence_rules_with_a_yaml_tag_name_file_and_line(tmp_path):
    from dataforge.errors import ConfigError
    from dataforge.io.hub import load_license_rules

    p = tmp_path / "licenses.yaml"
    p.write_text("licenses:\n  mit: {name: MIT}\nsources:\n  - match: !!python/object/apply:os.system ['echo x']\n")
    with pytest.raises(ConfigError, match=r"licenses\.yaml:4: YAML error"):
        load_license_rules(p)
    p.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"licenses\.yaml:1: expected a mapping"):
        load_license_rules(p)


def test_shard_writer_refuses_to_write_outside_out(tmp_path):
    from dataforge.errors import ConfigError
    from dataforge.io.shards import ShardSpec, write_shards

    with pytest.raises(ConfigError, match="outside the output folder"):
        write_shards([], tmp_path / "out" / ".." / "elsewhere", ShardSpec(), root=tmp_path / "out")
    with pytest.raises(ConfigError, match="split name"):
        ShardSpec(splits={"../x": 1.0})


def test_datasets_folder_reading_fewer_rows_than_its_files_says_so(tmp_path, caplog):
    from tests.support.bad_inputs import G, jl

    from dataforge.io import read

    d = tmp_path / "d"
    (d / "data").mkdir(parents=True)
    (d / "data" / "train.jsonl").write_bytes(jl(*G))
    (d / "extra.jsonl").write_bytes(jl(*G))  # not named by the configs
    (d / "README.md").write_text("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
                                 "    path: data/*.jsonl\n---\n")
    rows = sum(b.rows.height for b in read.iter_batches(str(d)))
    assert rows == 3
    assert "loaded 3 rows" in caplog.text and "hold 6" in caplog.text


def test_a_string_cut_at_the_line_end_is_named_unterminated(tmp_path):
    """The line end is no part of the record: '{"instruction": "broken' reads "Unterminated
    string", not "Invalid control character" (the newline)."""
    from dataforge.io import read

    f = tmp_path / "a.jsonl"
    f.write_text('{"instruction": "ok", "output": "fine"}\n{"instruction": "broken\n', encoding="utf-8")
    (bad,) = [x for b in read.iter_batches(str(f), on_error="quarantine") for x in b.bad]
    assert bad["line"] == 2 and bad["error"].startswith("malformed JSON: Unterminated string"), bad
