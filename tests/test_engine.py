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
    assert len(list((tmp_path / "o" / ".checkpoints").iterdir())) == 4


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
        res = Pipeline(pipeline_ops, batch_size=100, seed=5).run(srcs, out)
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
