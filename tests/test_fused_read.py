"""The read stage and the first segment run in one pass (LocalEngine.run_read_segment).

Where the sources read again cheaply (Parquet, tables) the read stage is virtual: stats and
rejects, no parts. Every path must give the bytes a two-pass run gives, and a later step
that needs the read rows (a changed segment, a global operator first, Ray) must get them.
"""
from __future__ import annotations

import json

import polars as pl
import pytest

from dataforge import Pipeline, Source, op
from dataforge.engine.local import LocalEngine


def _rows(n: int = 450) -> pl.DataFrame:
    words = "alpha beta gamma delta epsilon zeta eta theta".split()
    return pl.DataFrame({
        "instruction": [f"Explain {words[i % 8]} number {i} in a sentence" for i in range(n)],
        "input": ["" for _ in range(n)],
        "output": [("ok" if i % 9 == 0 else f"{words[(i * 3) % 8]} is   item {i}, explained here.") for i in range(n)],
    })


def _ops(min_chars: int = 5):
    return [op("normalize"), op("length", field="output", min=min_chars)]


def _shards(res) -> list[bytes]:
    return [p.read_bytes() for p in sorted(res.shards)]


def _read_dir(out):
    return next((out / ".checkpoints").glob("00-read-*"))


def _two_pass(monkeypatch, ops, src, out):
    with monkeypatch.context() as m:
        m.setattr(LocalEngine, "fuse_read", False)
        return Pipeline(ops, batch_size=100, seed=1).run(src, out)


def test_parquet_source_reads_once_virtually_and_matches_two_passes(tmp_path, monkeypatch):
    _rows().write_parquet(tmp_path / "s.parquet")
    src = Source(name="s", path=str(tmp_path / "s.parquet"))
    ref = _two_pass(monkeypatch, _ops(), src, tmp_path / "ref")
    res = Pipeline(_ops(), batch_size=100, seed=1).run(src, tmp_path / "o")
    rd = _read_dir(tmp_path / "o")
    assert not list(rd.glob("part-*.parquet")), "a Parquet source needs no read parts"
    assert json.loads((rd / "DONE.json").read_text())["virtual"] is True
    assert len(list(rd.glob("stats-*.json"))) == 5
    assert _shards(res) == _shards(ref)
    assert res.manifest["stages"] == ref.manifest["stages"]  # the same accounting
    read = next(s for s in res.timings["stages"] if s["stage"] == "read")
    assert read["fused_into"] == "normalize+length" and read["rows_in"] == 450
    assert sum(r["rows"] for r in res.manifest["rejects"]) == 50


def test_changed_segment_after_a_virtual_read_reads_the_source_again(tmp_path):
    _rows().write_parquet(tmp_path / "s.parquet")
    src = Source(name="s", path=str(tmp_path / "s.parquet"))
    out = tmp_path / "o"
    Pipeline(_ops(), batch_size=100, seed=1).run(src, out)
    again = Pipeline(_ops(min_chars=30), batch_size=100, seed=1).run(src, out)
    assert "read" in again.skipped_stages and "normalize+length" not in again.skipped_stages
    fresh = Pipeline(_ops(min_chars=30), batch_size=100, seed=1).run(src, tmp_path / "fresh")
    assert _shards(again) == _shards(fresh)
    assert again.manifest["totals"] == fresh.manifest["totals"]


def test_a_global_first_after_a_virtual_read_gets_real_read_parts(tmp_path):
    df = _rows()
    pl.concat([df, df.head(40)]).write_parquet(tmp_path / "s.parquet")
    src = Source(name="s", path=str(tmp_path / "s.parquet"))
    out = tmp_path / "o"
    Pipeline(_ops(), batch_size=100, seed=1).run(src, out)
    assert json.loads((_read_dir(out) / "DONE.json").read_text()).get("virtual")
    ops = [op("dedup_exact")] + _ops()  # the same read stage key, now followed by a global stage
    res = Pipeline(ops, batch_size=100, seed=1).run(src, out)
    assert list(_read_dir(out).glob("part-*.parquet")), "the read stage ran again for real"
    fresh = Pipeline(ops, batch_size=100, seed=1).run(src, tmp_path / "fresh")
    assert _shards(res) == _shards(fresh)
    assert res.manifest["totals"]["rows_in"] == 490 and res.manifest["totals"]["balanced"]


def test_jsonl_source_keeps_its_read_parts_and_reruns_the_segment_from_them(tmp_path, monkeypatch):
    path = tmp_path / "s.jsonl"
    lines = [json.dumps(r) for r in _rows(300).to_dicts()]
    lines.insert(17, '{"instruction": "broken json", ')
    path.write_text("\n".join(lines) + "\n")
    src = Source(name="s", path=str(path), on_error="quarantine")
    ref = _two_pass(monkeypatch, _ops(), src, tmp_path / "ref")
    res = Pipeline(_ops(), batch_size=100, seed=1).run(src, tmp_path / "o")
    rd = _read_dir(tmp_path / "o")
    # parsing JSON again would cost more than reading a part back: one part per batch
    assert len(list(rd.glob("part-*.parquet"))) == len(list(rd.glob("stats-*.json"))) >= 3
    assert not json.loads((rd / "DONE.json").read_text()).get("virtual")
    assert _shards(res) == _shards(ref)
    reasons = [r["reason"] for r in pl.read_parquet(tmp_path / "o" / "rejects" / "*.parquet").to_dicts()]
    assert any(r.startswith("parse_error") for r in reasons)
    assert res.manifest["rejects"] == ref.manifest["rejects"]
    again = Pipeline(_ops(min_chars=30), batch_size=100, seed=1).run(src, tmp_path / "o")
    assert again.skipped_stages == ["read"]


@pytest.mark.parametrize("drop_read_stats", [False, True])
def test_a_killed_fused_run_resumes_byte_identical(tmp_path, drop_read_stats):
    _rows().write_parquet(tmp_path / "s.parquet")
    src = Source(name="s", path=str(tmp_path / "s.parquet"))
    ref = Pipeline(_ops(), batch_size=100, seed=1).run(src, tmp_path / "ref")
    out = tmp_path / "o"
    Pipeline(_ops(), batch_size=100, seed=1).run(src, out)
    # a kill after batch 1: the segment's later commits are gone (and the read's too, or not:
    # the read batch commits first, so it may be ahead of the segment)
    for stage in (out / ".checkpoints").iterdir():
        if stage.name.startswith("00-read") and not drop_read_stats:
            (stage / "DONE.json").unlink()
            continue
        for f in sorted(stage.glob("stats-*.json"))[2:] + list(stage.glob("DONE.json")):
            f.unlink()
    (out / "manifest.json").unlink()
    res = Pipeline(_ops(), batch_size=100, seed=1).run(src, out)
    assert _shards(res) == _shards(ref)
    assert res.manifest["totals"] == ref.manifest["totals"]


def test_ray_after_a_virtual_read_runs_the_read_for_real(tmp_path, monkeypatch):
    """An engine that does not fuse (Ray reads on the driver, segments on workers) meets a
    virtual read of an earlier local run: it must read again, not see an empty stage."""
    _rows().write_parquet(tmp_path / "s.parquet")
    src = Source(name="s", path=str(tmp_path / "s.parquet"))
    out = tmp_path / "o"
    Pipeline(_ops(), batch_size=100, seed=1).run(src, out)
    ref = Pipeline(_ops(min_chars=30), batch_size=100, seed=1).run(src, tmp_path / "ref")
    monkeypatch.setattr(LocalEngine, "fuse_read", False)  # what RayEngine declares
    res = Pipeline(_ops(min_chars=30), batch_size=100, seed=1).run(src, out)
    assert "read" not in res.skipped_stages
    assert list(_read_dir(out).glob("part-*.parquet"))
    assert _shards(res) == _shards(ref)
