"""Convert benchmark: Polars plain substitution vs a per-row Jinja2 render loop, same rows, one run.

Rows: the rt-polarity sample repeated to N rows (default 1M), each with its own id. Both sides
pick a template per row the same way (seed + id) among the sentiment family's plain templates,
verbalise the label and render instruction/input/output:

- polars:  dataforge.templates.render (one `concat_str` per template and piece)
- jinja:   the same template sources compiled once in the same SandboxedEnvironment,
           `template.render(row)` per row (the usual converter loop)

It checks both give identical text, then prints seconds and the ratio (goal: >= 10x), and the
full `convert` operator (draws, meta, content ids included) for reference.

    .venv/bin/python benchmarks/convert.py [--rows 1000000]
"""
from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def rows(n: int) -> pl.DataFrame:
    base = pl.read_ndjson(ROOT / "sample_data" / "rt_polarity.jsonl")
    reps = -(-n // base.height)
    df = pl.concat([base] * reps).head(n)
    return df.with_columns(pl.format("rt-{}", pl.int_range(pl.len())).alias("id"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pipeline-rows", type=int, default=300_000, help="rows for the Pipeline.run measurement")
    args = ap.parse_args()

    from dataforge.ops.convert import Convert
    from dataforge import rand as draw
    from dataforge.templates import fields, render, sandbox
    from dataforge.templates.spec import PIECES, load_family

    fam = load_family("sentiment")
    plain_templates = [t for t in fam.templates if t.is_plain]
    df = rows(args.rows)
    ids = df["id"].to_list()
    pick = draw.choose(draw.base(ids, 0), "template", [1.0] * len(plain_templates))
    print(f"{df.height:,} rows, {len(plain_templates)} plain templates")

    # -- Polars: variables once, then each template renders its rows with concat_str
    t0 = time.perf_counter()
    v = fields.derive(df, fam)
    parts = []
    for i, t in enumerate(plain_templates):
        sel = np.flatnonzero(pick == i)
        ctx = render.context(t, fam, v[sel])
        parts.append(render.pieces(t, ctx))
    fast = pl.concat(parts).sort(fields.ROW)
    t_fast = time.perf_counter() - t0

    # -- Jinja: the same sources, one render per row and piece
    t0 = time.perf_counter()
    compiled = [{p: sandbox.compile_(t.pieces[p], t.where) for p in PIECES} for t in plain_templates]
    verbal = [t.labels or fam.labels for t in plain_templates]
    choices = [" or ".join(dict.fromkeys(vb.values())) for vb in verbal]  # two labels: "a or b"
    out = {p: [None] * df.height for p in PIECES}
    for i, r in enumerate(df.select("text", "label").iter_rows(named=True)):
        k = pick[i]
        row = {"text": r["text"], "label": verbal[k][str(r["label"])], "answer_choices": choices[k]}
        tpl = compiled[k]
        for p in PIECES:
            out[p][i] = tpl[p].render(row).strip()
    t_slow = time.perf_counter() - t0

    same = all(fast[p].to_list() == out[p] for p in PIECES)
    print(f"polars plain substitution: {t_fast:8.2f} s")
    print(f"per-row jinja2 loop:       {t_slow:8.2f} s")
    print(f"identical output: {same}")
    print(f"ratio (jinja / polars): {t_slow / t_fast:.1f}x")
    del out, fast, parts  # each contender runs with the same heap, not beside the other's 3M strings
    gc.collect()

    # -- the whole operator, for reference (adds draws, prompt wording, meta JSON, content ids)
    op = Convert(family="sentiment", templates=[t.id for t in plain_templates])
    t0 = time.perf_counter()
    full = op.map(df.with_columns(pl.col("id")))
    t_op = time.perf_counter() - t0
    print(f"convert operator (end to end, {full.height:,} rows): {t_op:8.2f} s; "
          f"ratio vs per-row jinja render alone: {t_slow / t_op:.1f}x (goal >= 10x)")

    # -- through Pipeline.run: Parquet source, checkpoints, shards, rejects and the report
    import tempfile

    from dataforge import Pipeline, Source

    n = min(args.pipeline_rows, df.height)
    tmp = Path(tempfile.mkdtemp(prefix="bench-convert-"))
    df.head(n).drop("id").write_parquet(tmp / "rt.parquet")
    df.head(1000).drop("id").write_parquet(tmp / "warm.parquet")

    def source(path: Path) -> Source:
        return Source(name="rt_polarity", path=str(path),
                      ops=[Convert(family="sentiment", templates=[t.id for t in plain_templates])])

    # one-time process costs (the report's and the shard writer's imports, thread pools) are
    # paid by a small run first, as a long-lived process or a second recipe would have them
    t0 = time.perf_counter()
    Pipeline([]).run(source(tmp / "warm.parquet"), out=tmp / "warm")
    print(f"warm-up Pipeline.run on 1,000 rows (one-time imports and setup): {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    res = Pipeline([]).run(source(tmp / "rt.parquet"), out=tmp / "out")
    t_pipe = time.perf_counter() - t0
    t_loop = t_slow * n / df.height  # the loop is linear in rows
    print(f"Pipeline.run with convert ({n:,} rows; shards, rejects, report): {t_pipe:8.2f} s; ratio vs the "
          f"per-row jinja loop on the same rows ({t_loop:.2f} s): {t_loop / t_pipe:.1f}x (goal >= 5x)")
    print("  where the pipeline's time goes: " + ", ".join(
        f"{s['stage']} {s['seconds']:.1f}s" for s in res.timings["stages"]))


if __name__ == "__main__":
    main()
