"""Engine benchmark: a 3-operator map/filter pipeline over generated rows.

Prints rows/s and peak RSS for 100k and 1M rows (each size in a fresh process, so peak RSS
is that run's own), next to the reference way: plain Polars reading the whole file into
memory and applying the same expressions (`normalize`'s own, HTML decoding included, and the
two length filters), then writing one zstd Parquet file. Our engine streams batches, so its peak RSS
should stay flat while the in-memory reference grows with the data.

    .venv/bin/python benchmarks/engine.py [--sizes 100000 1000000] [--engine local|ray] [--repeats N]

With --repeats N each side runs N times, alternating (ours, reference, ours, ...), and the
ratio is printed of the medians and of the best runs: on a shared 2-core machine a single
pair of runs moves by +-25% with whatever else runs.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("data model train token answer question write list explain summary code topic "
         "review language score filter value result example format").split()


def generate(path: Path, n: int) -> None:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    chunk = 100_000
    frames = []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        w = np.array(WORDS)
        ins = [" ".join(x) for x in w[rng.integers(0, len(WORDS), size=(m, 8))]]
        out = [" ".join(x) for x in w[rng.integers(0, len(WORDS), size=(m, rng.integers(1, 40)))]]
        frames.append(pl.DataFrame({"instruction": ins, "input": [""] * m, "output": out}))
    pl.concat(frames).write_parquet(path)


def run_one(mode: str, src: str, engine: str) -> dict:
    t0 = time.perf_counter()
    if mode == "dataforge":
        from dataforge import OutputSpec, Pipeline, op

        out = tempfile.mkdtemp()
        Pipeline([op("normalize"), op("length", field="output", min=20),
                  op("length", field="instruction", unit="words", min=3, max=100)],
                 batch_size=50_000, output=OutputSpec(report=False)).run(src, out, engine=engine)
        m = json.loads((Path(out) / "manifest.json").read_text())
        rows = m["totals"]["rows_out"]
        timings = m.get("timings")
    else:  # reference: plain Polars, whole table in memory, the same expressions
        import polars as pl

        from dataforge import op

        df = pl.read_parquet(src)
        # `normalize`'s own expressions (HTML entities, NFKC, blank runs): the reference must do
        # the same work, or the ratio measures the operator's extra work, not the engine
        df = op("normalize").map(df)
        df = df.filter(pl.col("output").fill_null("").str.len_chars() >= 20) \
            .filter(pl.col("instruction").fill_null("").str.count_matches(r"\S+").is_between(3, 100))
        df.write_parquet(tempfile.mktemp(suffix=".parquet"), compression="zstd")
        rows = df.height
    secs = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "rows_out": rows, "seconds": round(secs, 2), "peak_rss_mb": round(rss_mb),
            "timings": timings if mode == "dataforge" else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--engine", default="local")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run_one(*a.child)))
        return
    tmp = Path(tempfile.mkdtemp())
    print(f"{'rows':>9} {'mode':>10} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12}")
    results = {}
    for n in a.sizes:
        src = tmp / f"gen-{n}.parquet"
        generate(src, n)
        runs: dict[str, list[dict]] = {"dataforge": [], "polars": []}
        for _ in range(a.repeats):
            for mode in ("dataforge", "polars"):
                p = subprocess.run([sys.executable, __file__, "--child", mode, str(src), a.engine],
                                   capture_output=True, text=True, check=True)
                r = json.loads(p.stdout.strip().splitlines()[-1])
                runs[mode].append(r)
                print(f"{n:>9} {mode:>10} {r['seconds']:>8} {n / r['seconds']:>10.0f} {r['peak_rss_mb']:>12}")
        for mode, rs in runs.items():  # the median run stands for its side
            results[(n, mode)] = sorted(rs, key=lambda r: r["seconds"])[(len(rs) - 1) // 2]
        ours, ref = results[(n, "dataforge")], results[(n, "polars")]
        print(f"{'':>9} ratio time dataforge/polars = {ours['seconds'] / ref['seconds']:.2f}, "
              f"(goal <= 1.5), RSS dataforge/polars = {ours['peak_rss_mb'] / ref['peak_rss_mb']:.2f}"
              + (" (medians of %d runs each; best runs: %.2f)" % (
                  a.repeats, min(r["seconds"] for r in runs["dataforge"]) /
                  min(r["seconds"] for r in runs["polars"])) if a.repeats > 1 else ""))
        if ours.get("timings"):
            print(f"{'':>9} where dataforge's time goes: " + ", ".join(
                f"{s['stage']} {s['seconds']:.1f}s" for s in ours["timings"]["stages"]))
    if len(a.sizes) > 1:
        s0, s1 = a.sizes[0], a.sizes[-1]
        growth = results[(s1, "dataforge")]["seconds"] / results[(s0, "dataforge")]["seconds"]
        print(f"time growth {s0}->{s1}: x{growth:.1f} for x{s1 / s0:.0f} rows")


if __name__ == "__main__":
    main()
