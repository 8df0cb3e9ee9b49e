import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import tests.support.slow_ops  # noqa: F401  (registers test operators)
from dataforge import Pipeline, Source, op
from dataforge.engine.accounting import AccountingError
from dataforge.errors import ConfigError
from dataforge.io.shards import ShardSpec
from dataforge.pipeline import OutputSpec

ROOT = Path(__file__).resolve().parents[1]
ALPACA = str(ROOT / "sample_data" / "alpaca.jsonl")


def shard_hashes(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / "data").glob("*.parquet"))}


def test_accounting_per_stage_and_overall(tmp_path):
    pipe = Pipeline([op("normalize"), op("test_drop_odd_len"), op("test_dedup_output"),
                     op("length", field="output", min=200)], batch_size=400)
    data = pl.read_ndjson(ALPACA)
    data = pl.concat([data, data.head(100).with_columns(pl.col("instruction") + " again")])
    res = pipe.run(data, tmp_path / "o")
    m = res.manifest
    for st in m["stages"]:
        assert st["rows_in"] + st["rows_added"] == st["rows_out"] + st["rows_rejected"], st
        assert sum(st["rejected_by_reason"].values()) == st["rows_rejected"]
    by = {s["name"]: s for s in m["stages"]}
    assert by["test_drop_odd_len"]["rows_rejected"] > 0 and by["length"]["rows_rejected"] > 0
    # chained: each stage's input is the previous stage's output
    assert by["test_drop_odd_len"]["rows_out"] == by["test_dedup_output"]["rows_in"]
    t = m["totals"]
    assert t["rows_in"] == 1650 and t["balanced"] and t["rows_out"] + t["rows_rejected"] == 1650
    rej = pl.concat([pl.read_parquet(tmp_path / "o" / r["path"]) for r in m["rejects"]], how="diagonal_relaxed")
    assert rej.height == t["rows_rejected"]
    assert set(rej["stage"]) == {"test_drop_odd_len", "test_dedup_output", "length"}
    assert rej["reason"].null_count() == 0
    out = pl.concat([pl.read_parquet(p) for p in res.shards])
    assert out.height + rej.height == 1650
    assert not set(out["id"]) & set(rej["id"])


def test_rows_added_are_accounted(tmp_path):
    m = Pipeline([op("test_doubler"), op("test_drop_odd_len")]).run(ALPACA, tmp_path / "o").manifest
    assert m["stages"][1]["rows_added"] == 1550
    assert m["totals"]["rows_out"] + m["totals"]["rows_rejected"] == 3100 and m["totals"]["balanced"]


def test_silent_row_loss_is_an_error(tmp_path):
    with pytest.raises(AccountingError, match="test_loser"):
        Pipeline([op("test_loser")]).run(ALPACA, tmp_path / "o")


def test_shards_hub_naming_load_dataset_and_manifest(tmp_path):
    import datasets

    out = tmp_path / "o"
    spec = ShardSpec(max_rows_per_shard=400, splits={"train": 0.9, "validation": 0.1})
    Pipeline([op("normalize")], output=OutputSpec(shards=spec, report=False)).run(ALPACA, out)
    names = sorted(p.name for p in (out / "data").glob("*.parquet"))
    assert names[0] == "train-00000-of-00004.parquet" and "validation-00000-of-00001.parquet" in names
    ds = datasets.load_dataset("parquet", data_dir=str(out / "data"))
    assert set(ds) == {"train", "validation"}
    assert ds["train"].num_rows + ds["validation"].num_rows == 1550
    assert set(ds["train"].column_names) >= {"id", "instruction", "input", "output", "task", "source", "meta"}
    m = json.loads((out / "manifest.json").read_text())
    assert {s["path"] for s in m["shards"]} == set(names)
    for s in m["shards"]:
        assert hashlib.sha256((out / "data" / s["path"]).read_bytes()).hexdigest() == s["sha256"]
        assert s["rows"] <= 400
    assert m["schema"][0] == {"name": "id", "type": "string"}  # the canonical Arrow type
    assert {"recipe_hash", "created_by", "stages", "totals"} <= set(m)
    # which code and rules made the data: the code's own version (an editable install's
    # metadata said 0.2.0 for 0.3 code), the shipped rules' digest, the commit of a checkout
    import dataforge

    assert m["created_by"]["dataforge"] == dataforge.__version__ and len(m["created_by"]["rules_digest"]) == 32
    assert 100 <= m["splits"]["validation"] <= 220  # ~10 % of 1550


def test_split_is_stable_per_id(tmp_path):
    spec = OutputSpec(shards=ShardSpec(splits={"train": 0.8, "test": 0.2}), report=False)
    Pipeline([], output=spec).run(ALPACA, tmp_path / "a")
    b = Pipeline([op("normalize")], output=spec).run(pl.read_ndjson(ALPACA).head(700), tmp_path / "b")
    test_a = set(pl.read_parquet(tmp_path / "a" / "data" / "test-*.parquet")["id"])
    test_b = set(pl.read_parquet(tmp_path / "b" / "data" / "test-*.parquet")["id"])
    ids_b = set(pl.concat([pl.read_parquet(p) for p in b.shards])["id"])
    assert test_b == test_a & ids_b


def test_deterministic_output(tmp_path):
    pipe = lambda: Pipeline([op("normalize"), op("test_drop_odd_len")], batch_size=300)  # noqa: E731
    pipe().run(ALPACA, tmp_path / "a")
    pipe().run(ALPACA, tmp_path / "b")
    assert shard_hashes(tmp_path / "a") == shard_hashes(tmp_path / "b")


def test_rerun_skips_and_invalidation_reruns_from_changed_stage(tmp_path):
    marker = tmp_path / "work.log"

    def pipe(min_len):
        return Pipeline([op("test_slow_upper", marker=str(marker)), op("test_dedup_output"),
                         op("length", field="output", min=min_len)], batch_size=500)

    first = pipe(50).run(ALPACA, tmp_path / "o")
    n_batches = len(marker.read_text().split())
    again = pipe(50).run(ALPACA, tmp_path / "o")
    assert len(marker.read_text().split()) == n_batches  # nothing recomputed
    assert again.skipped_stages == ["read", "test_slow_upper", "test_dedup_output", "length"]
    assert again.manifest == first.manifest
    changed = pipe(400).run(ALPACA, tmp_path / "o")
    assert len(marker.read_text().split()) == n_batches  # stages before the change were reused
    assert changed.skipped_stages == ["read", "test_slow_upper", "test_dedup_output"]
    assert changed.manifest["totals"]["rows_out"] < first.manifest["totals"]["rows_out"]
    # only the current plan's checkpoints remain
    assert len([d for d in (tmp_path / "o" / ".checkpoints").iterdir() if d.is_dir()]) == 4  # (and the LOCK file)


def test_force_reruns_everything(tmp_path):
    marker = tmp_path / "work.log"
    p = Pipeline([op("test_slow_upper", marker=str(marker))])
    p.run(ALPACA, tmp_path / "o")
    p.run(ALPACA, tmp_path / "o", force=True)
    assert len(marker.read_text().split()) == 2


def test_input_change_invalidates(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(Path(ALPACA).read_text())
    p = Pipeline([op("normalize")])
    assert p.run(str(src), tmp_path / "o").manifest["totals"]["rows_out"] == 1550
    src.write_text("\n".join(Path(ALPACA).read_text().splitlines()[:10]) + "\n")
    assert p.run(str(src), tmp_path / "o").manifest["totals"]["rows_out"] == 10


@pytest.mark.parametrize("slow", ["test_slow_upper", "test_slow_upper_parallel"])
def test_sigkill_mid_stage_resumes_byte_identical(tmp_path, slow):
    # (the parallel operator's batches run two at once, and may commit out of order)
    driver = [sys.executable, str(ROOT / "tests" / "support" / "kill_driver.py"), ALPACA]
    ref = tmp_path / "ref"
    subprocess.run(driver + [str(ref), "0.1", str(ROOT), slow], check=True, capture_output=True)

    out = tmp_path / "killed"
    proc = subprocess.Popen(driver + [str(out), "0.1", str(ROOT), slow], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    ckpt = out / ".checkpoints"
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until the slow stage has committed a few batches
        done = list(ckpt.glob("01-*/stats-*.json")) if ckpt.exists() else []
        if len(done) >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists(), "the run finished before it was killed"
    committed = len(list(ckpt.glob("01-*/stats-*.json")))
    assert 3 <= committed < 16

    resumed = subprocess.run(driver + [str(out), "0.1", str(ROOT), slow], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert shard_hashes(out) == shard_hashes(ref)
    ref_m, out_m = (json.loads((d / "manifest.json").read_text()) for d in (ref, out))
    assert ref_m.pop("timings")["stages"] and out_m.pop("timings")["stages"]  # seconds differ by nature
    assert ref_m == out_m


def test_atomic_writes_leave_no_partial_files(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from dataforge.io import atomic

    target = tmp_path / "x.parquet"
    real = pq.write_table

    def boom(table, where, **kw):
        real(table.slice(0, 1), where, **kw)  # a partial file appears at the temp name...
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        atomic.write_parquet(target, pl.DataFrame({"a": [1, 2, 3]}))
    assert not target.exists() and list(tmp_path.iterdir()) == []  # ...and never at the real name


def test_operator_params_are_validated():
    with pytest.raises(ConfigError) as e:
        op("length", fieldd="output")
    assert "unknown parameter" in str(e.value) and "field: str" in str(e.value) and "min: int" in str(e.value)
    with pytest.raises(ConfigError, match="'min' must be int"):
        op("length", min="3")
    with pytest.raises(ConfigError, match="'unit' must be 'chars' | 'words'"):
        op("length", unit="bytes")
    with pytest.raises(ConfigError, match="unknown operator 'lenght'.*length"):
        op("lenght")


def test_declared_columns_checked_before_running(tmp_path):
    marker = tmp_path / "work.log"
    src = Source(name="tiny", path=pl.DataFrame({"instruction": ["a b c"], "output": ["x"]}))
    with pytest.raises(ConfigError, match="stage 'length'.*needs column\\(s\\) \\['nope'\\]"):
        Pipeline([op("test_slow_upper", marker=str(marker)), op("length", field="nope")]).run(src, tmp_path / "o")
    assert not marker.exists()


def test_raw_rows_at_the_end_are_a_clear_error(tmp_path):
    from dataforge.errors import SchemaError

    with pytest.raises(SchemaError, match="convert"):
        Pipeline([]).run(pl.DataFrame({"text": ["a"], "label": [1]}), tmp_path / "o")


def test_two_batches_at_once_write_what_one_at_a_time_writes(tmp_path, monkeypatch):
    # operators that may run on two batches at once (`batch_parallel`: convert, normalize,
    # length, rule_filter, classify_task) are given two; the shards, rejects and counts are
    # those of one batch at a time, in the fused read+segment pass and in a read stage alone
    from dataforge.engine.local import LocalEngine
    from dataforge.ops.convert import Convert

    rt = str(ROOT / "sample_data" / "rt_polarity.jsonl")

    def run(out: Path, pipeline_ops: list) -> dict:
        srcs = [Source(name="alpaca", path=ALPACA, limit=700, ops=[op("classify_task")]),
                Source(name="rt", path=rt, limit=500, ops=[Convert(family="sentiment")])]
        res = Pipeline(pipeline_ops, batch_size=100, seed=5, output=OutputSpec(report=False)).run(srcs, out)
        return res.manifest["totals"]

    chains = {"fused": lambda: [op("normalize"), op("length", field="output", min=5), op("rule_filter")],
              "read": lambda: []}
    for name, chain in chains.items():
        assert LocalEngine.in_flight(chain() + [op("classify_task")]) == (2 if (os.cpu_count() or 1) > 1 else 1)
        monkeypatch.setattr(LocalEngine, "in_flight", staticmethod(lambda ops: 1))
        one = run(tmp_path / f"{name}-1", chain())
        monkeypatch.setattr(LocalEngine, "in_flight", staticmethod(lambda ops: 2))
        two = run(tmp_path / f"{name}-2", chain())
        monkeypatch.undo()
        assert one == two and one["rows_rejected"] > 0 if name == "fused" else one == two
        assert shard_hashes(tmp_path / f"{name}-1") == shard_hashes(tmp_path / f"{name}-2")
        rej = [sorted(p.name for p in (tmp_path / f"{name}-{k}" / "rejects").glob("*.parquet")) for k in (1, 2)]
        assert rej[0] == rej[1]
        for f in rej[0]:
            a = pl.read_parquet(tmp_path / f"{name}-1" / "rejects" / f)
            assert a.equals(pl.read_parquet(tmp_path / f"{name}-2" / "rejects" / f))
    # an operator that did not say so keeps one batch at a time
    assert LocalEngine.in_flight([op("normalize"), op("test_slow_upper", sleep=0)]) == 1


def test_a_rerun_removes_temporaries_a_killed_run_left_in_out(tmp_path):
    src = pl.DataFrame({"instruction": ["Say hi."], "output": ["Hi."]})
    Pipeline([]).run(src, out=tmp_path / "out")
    left = [tmp_path / "out" / ".recipe.json.4242.tmp", tmp_path / "out" / "report" / ".index.html.4242.tmp"]
    for f in left:
        f.write_text("half")
    Pipeline([]).run(src, out=tmp_path / "out")  # a rerun: everything done, nothing recomputed
    assert not any(f.exists() for f in left)


# -- kept columns whose type differs between batches or files; score text; API; OUT lock ----

def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _kept(out, col):
    return pl.read_parquet(out / "data" / "*.parquet")[col]


@pytest.mark.parametrize("values, dtype, expect", [
    ([None, None, "http://x"], pl.Utf8, [None, None, "http://x"]),            # null, then text
    ([1, 2, 1.5], pl.Float64, [1.0, 2.0, 1.5]),                                # int, then float
    ([2**60, 3, 1.5], pl.Utf8, [str(2**60), "3", "1.5"]),                      # float would lose digits
    ([9007199254740993, 12345678901234567890, 1], pl.Utf8,
     ["9007199254740993", "12345678901234567890", "1"]),                       # wider than 64 bits
])
def test_kept_column_types_are_unified_across_batches(tmp_path, values, dtype, expect):
    src = _jsonl(tmp_path / "in.jsonl", [{"instruction": f"i{k}", "output": "o", "n": v} for k, v in enumerate(values)])
    res = Pipeline([], batch_size=1, output=OutputSpec(keep_columns=["n"])).run(
        Source(name="s", path=src, keep=["n"]), tmp_path / "o")
    got = _kept(tmp_path / "o", "n")
    assert got.dtype == dtype and got.to_list() == expect
    assert res.manifest["totals"]["rows_out"] == len(values)


def test_kept_column_int_in_one_file_text_in_another(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    _jsonl(d / "a.jsonl", [{"instruction": "a", "output": "b", "n": 1}])
    _jsonl(d / "b.jsonl", [{"instruction": "c", "output": "d", "n": "x"}])
    Pipeline([], output=OutputSpec(keep_columns=["n"])).run(Source(name="s", path=str(d), keep=["n"]), tmp_path / "o")
    assert sorted(_kept(tmp_path / "o", "n").to_list()) == ["1", "x"]
    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    pl.DataFrame({"instruction": ["a"], "output": ["b"], "n": [1]}).write_parquet(pq_dir / "p0.parquet")
    pl.DataFrame({"instruction": ["c"], "output": ["d"], "n": ["t"]}).write_parquet(pq_dir / "p1.parquet")
    Pipeline([op("dedup_exact")], output=OutputSpec(keep_columns=["n"])).run(
        Source(name="s", path=str(pq_dir), keep=["n"]), tmp_path / "o2")
    assert sorted(_kept(tmp_path / "o2", "n").to_list()) == ["1", "t"]


def test_a_score_column_holding_text_is_a_row_error(tmp_path):
    from dataforge.errors import InputError

    src = _jsonl(tmp_path / "in.jsonl", [{"instruction": "e", "output": "f", "score_q": "high"},
                                         {"instruction": "z", "output": "y", "score_q": "0.5"}])
    with pytest.raises(InputError, match=r"in.jsonl:1: wrong type: score field 'score_q' must be a number"):
        Pipeline([]).run(src, tmp_path / "o")
    res = Pipeline([]).run(Source(name="s", path=src, on_error="quarantine"), tmp_path / "q")
    assert res.manifest["totals"]["rows_out"] == 1 and res.manifest["totals"]["rows_rejected"] == 1
    rej = pl.read_parquet(tmp_path / "q" / res.manifest["rejects"][0]["path"])
    assert rej["reason"][0].startswith("wrong type: score field 'score_q'") and '"line": 1' in rej["detail"][0]
    assert _kept(tmp_path / "q", "score_q").to_list() == [0.5]


def test_run_accepts_pandas_and_names_what_it_accepts(tmp_path):
    pd = pytest.importorskip("pandas")
    res = Pipeline([]).run(pd.DataFrame({"instruction": ["a"], "output": ["x"]}), tmp_path / "o")
    assert res.manifest["totals"]["rows_out"] == 1
    with pytest.raises(TypeError, match="a Polars DataFrame"):
        Pipeline([]).run(object(), tmp_path / "o2")


def test_a_second_run_into_the_same_out_is_refused_and_a_stale_lock_taken_over(tmp_path):
    import fcntl

    from dataforge.pipeline import LOCK

    out = tmp_path / "o"
    out.mkdir()
    (out / ".checkpoints").mkdir()
    (out / ".checkpoints" / LOCK).write_text("999999999\n")  # a dead process's lock: taken over
    assert Pipeline([]).run(ALPACA, out).manifest["totals"]["rows_out"] == 1550
    with open(out / ".checkpoints" / LOCK, "r+") as fh:  # a live run holds it
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0), fh.truncate(), fh.write("4242\n"), fh.flush()
        with pytest.raises(ConfigError, match=r"is in use by pid 4242"):
            Pipeline([]).run(ALPACA, out)
    assert Pipeline([]).run(ALPACA, out).manifest["totals"]["rows_out"] == 1550


def test_a_file_changed_with_same_size_and_mtime_is_read_again(tmp_path):
    import xxhash

    src = tmp_path / "in.jsonl"
    src.write_text('{"instruction": "a", "output": "X"}\n')
    os.utime(src, (1_700_000_000, 1_700_000_000))
    Pipeline([op("normalize")]).run(str(src), tmp_path / "o")
    src.write_text('{"instruction": "a", "output": "Y"}\n')  # cp -p / rsync -t of a corrected file
    os.utime(src, (1_700_000_000, 1_700_000_000))
    res = Pipeline([op("normalize")]).run(str(src), tmp_path / "o")
    assert _kept(tmp_path / "o", "output").to_list() == ["Y"]
    files = res.manifest["sources"][0]["files"]
    assert files[0]["xxh3_128"] == xxhash.xxh3_128_hexdigest(src.read_bytes())
    # the digest kept with the read stage's checkpoint is the one the manifest shows
    rec = json.loads(next((tmp_path / "o" / ".checkpoints").glob("00-read-*/inputs.json")).read_text())
    assert rec[res.manifest["sources"][0]["name"]] == files
    again = Pipeline([op("normalize")]).run(str(src), tmp_path / "o")
    assert again.skipped_stages == ["read", "normalize"]


def test_duplicate_ids_are_counted_and_dedup_names_the_kept_row(tmp_path, caplog):
    a = _jsonl(tmp_path / "a.jsonl", [{"id": "x1", "instruction": "a", "output": "b"},
                                      {"id": "x2", "instruction": "c", "output": "d"}])
    b = _jsonl(tmp_path / "b.jsonl", [{"id": "x1", "instruction": "other", "output": "z"}])
    with caplog.at_level("WARNING"):
        m = Pipeline([]).run([Source(name="a", path=a), Source(name="b", path=b)], tmp_path / "o").manifest
    assert m["duplicate_ids"] == {"ids": 1, "rows": 2, "examples": [{"id": "x1", "rows": 2}]}
    assert "1 id(s) are written on more than one row" in caplog.text
    # one file read by two sources: dedup keeps the first; the reject names it by source and line
    res = Pipeline([op("dedup_exact")]).run([Source(name="a", path=a), Source(name="a2", path=a)], tmp_path / "d")
    assert res.manifest["duplicate_ids"]["ids"] == 0
    rej = pl.read_parquet(tmp_path / "d" / res.manifest["rejects"][0]["path"]).sort("id")
    assert rej["reason"].to_list() == ["duplicate_exact: duplicate of x1 (same normalised text) (kept: a: a.jsonl:1)",
                                       "duplicate_exact: duplicate of x2 (same normalised text) (kept: a: a.jsonl:2)"]
    # (kept_id stays the id: the report looks the kept row up by it)
    assert json.loads(rej["detail"][0])["kept_id"] == "x1"
