"""Scoring and selection benchmark.

1. Embedding scoring overhead: our `score_novelty` (shared cached embedder + block
   nearest-neighbour search) against the reference way, raw `SentenceTransformer.encode`
   (or, for the static backend, raw model2vec encode) plus one numpy similarity matrix, on
   the same rows, for each backend in --backends. Goal: at most 10% overhead.
2. Cached rerun: the same operator in a "new process" (a fresh embedder reading the disk
   cache of the first run). Goal: at least 50x faster than the first run.
3. DEITA selection on 10k and 100k synthetic 384-d embeddings: our block greedy
   (`greedy_diverse`) against the one-row-at-a-time loop of the paper's reference code
   (run on 10k only; at 100k the loop takes minutes).

    .venv/bin/python benchmarks/score.py [--rows 400] [--sizes 10000 100000] [--budget 0.1] [--backends minilm static]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def rows(n: int):
    import polars as pl

    df = pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl").head(n)
    return df.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8))


def bench_embedding(n: int, repeats: int = 5, backend: str = "minilm") -> None:
    from dataforge import embed
    from dataforge.ops.base import RunContext, create
    from dataforge.score.texts import joined

    df = rows(n)
    texts = df.select(joined(["instruction", "input"], 1000)).to_series().to_list()
    if backend == "minilm":
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(embed.resolve_model(None), device="cpu")
    else:  # the static model through plain model2vec (StaticEncoder only forwards the call)
        from dataforge.static_embed import StaticEncoder

        model = StaticEncoder(embed.resolve_model(backend))
    model.encode(["warm up"] * 8)  # both sides run on a warm model
    embed.load_model(backend).encode(["warm up"] * 8)

    def reference():
        v = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        return np.clip(1 - sims.max(1), 0, 1)

    def ours_fresh(out: Path):
        embed._SHARED.clear()  # a new process: nothing in memory
        return create("score_novelty", {"model": backend}).bind(RunContext(out=out)).run(df.lazy())["score_novelty"].to_numpy()

    # interleaved repeats, best of each: shared CPUs make single timings noisy
    ref, ours, cached = [], [], []
    for _ in range(repeats):
        t = time.perf_counter()
        ref_nov = reference()
        ref.append(time.perf_counter() - t)
        out = Path(tempfile.mkdtemp())
        t = time.perf_counter()
        ours_nov = ours_fresh(out)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        ours_fresh(out)  # rerun: only the disk cache of the first run survives
        cached.append(time.perf_counter() - t)
    ref, ours, cached = min(ref), min(ours), min(cached)

    assert np.allclose(ours_nov, ref_nov, atol=1e-4), "scores differ from the reference"
    print(f"embedding scoring with {backend}, {n} rows (instruction + input), best of {repeats}:")
    print(f"  raw {'SentenceTransformer' if backend == 'minilm' else 'model2vec'}.encode + numpy : {ref:7.2f} s")
    print(f"  dataforge score_novelty (first run)    : {ours:7.2f} s   overhead {100 * (ours / ref - 1):+.1f}% "
          f"(goal <= +10%)")
    if backend == "minilm":
        print(f"  dataforge score_novelty (cached rerun) : {cached:7.3f} s   {ours / cached:.0f}x faster than the "
              f"first run (goal >= 50x)")
    else:
        print(f"  dataforge score_novelty (rerun)        : {cached:7.3f} s   (static vectors are recomputed: "
              f"cheaper than a disk cache)")


def clustered(n: int, d: int = 384, k: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(k, d)).astype(np.float32)
    x = c[rng.integers(k, size=n)] + 0.25 * rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def naive(v: np.ndarray, order: np.ndarray, tau: float, budget: int) -> list[int]:
    chosen: list[int] = []
    for r in order:
        if len(chosen) >= budget:
            break
        if not chosen or float((v[chosen] @ v[r]).max()) <= tau:
            chosen.append(int(r))
    return chosen


def gflops() -> float:
    """Matrix-product speed right now: selection time scales with it (shared CPUs vary a lot)."""
    a = np.ones((1024, 384), np.float32)
    b = np.ones((2000, 384), np.float32)
    t = time.perf_counter()
    for _ in range(20):
        a @ b.T
    return 20 * 2 * 1024 * 2000 * 384 / (time.perf_counter() - t) / 1e9


def bench_selection(sizes: list[int], budget_share: float, tau: float) -> None:
    from dataforge.score.index import greedy_diverse

    print(f"DEITA selection (384-d, tau {tau}; float32 matmul here: {gflops():.0f} GFLOP/s):")
    for n in sizes:
        v = clustered(n)
        order = np.random.default_rng(1).permutation(n)
        for budget in (int(n * budget_share), None):
            t = time.perf_counter()
            adm, _, _ = greedy_diverse(v, order, tau, budget)
            ours = time.perf_counter() - t
            label = f"budget {budget}" if budget else "no budget"
            line = f"  {n:>7} rows, {label:>12}: dataforge {ours:6.2f} s ({int(adm.sum())} admitted)"
            if n <= 20_000:
                t = time.perf_counter()
                ref = naive(v, order, tau, budget or n)
                base = time.perf_counter() - t
                assert sorted(ref) == sorted(np.flatnonzero(adm).tolist()), "selections differ"
                line += f" | one-at-a-time loop {base:6.2f} s | ratio {base / ours:.1f}x"
            print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--budget", type=float, default=0.1)
    ap.add_argument("--tau", type=float, default=0.9)
    ap.add_argument("--skip-embedding", action="store_true")
    ap.add_argument("--backends", nargs="+", default=["minilm", "static"])
    a = ap.parse_args()
    if not a.skip_embedding:
        for backend in a.backends:
            bench_embedding(a.rows, backend=backend)
    bench_selection(a.sizes, a.budget, a.tau)


if __name__ == "__main__":
    main()
