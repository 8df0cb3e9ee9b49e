"""Embedding backends side by side, in one process, on the same Alpaca rows.

1. Speed (texts/s) on Alpaca outputs: raw `SentenceTransformer.encode` of MiniLM, dataforge's
   MiniLM path (`embed.Embedder`, hashing + cache), raw `model2vec` encode of the static model,
   and dataforge's static path; the static/MiniLM ratio (goal >= 50x).
2. Agreement: Spearman correlation of all pairwise cosines, static vs MiniLM (goal >= 0.9).
3. Judgment: `score_alignment` AUROC separating each row's own output from a shuffled one
   (another row's output), with each backend (must stay >= 0.95 with the static backend).
4. With `--order-ceiling K`: how much of MiniLM's geometry an order-blind model can see at
   all. MiniLM's vector of each text's words in K random orders (mean of the K vectors) against
   its vector of the text, as the same Spearman of pairwise cosines. A static model reads a
   bag of tokens, so it cannot tell a text from its shuffles; where MiniLM itself ranks the
   shuffled texts' pairs at 0.87 of agreement, 0.9 asks a static model for word order.

    .venv/bin/python benchmarks/embed.py [--rows 500]

The static model is built on first use (python -m dataforge.static_embed; ~3 min once).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def spearman_pairwise(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    iu = np.triu_indices(len(a), 1)
    return float(spearmanr((a @ a.T)[iu], (b @ b.T)[iu]).correlation)


def order_ceiling(st, sets: dict[str, list[str]], outputs_minilm: np.ndarray, k: int) -> None:
    """MiniLM on each text vs MiniLM's mean vector over `k` random orders of the text's words."""
    import random

    for name, texts in sets.items():
        orig = outputs_minilm if name == "outputs" else st.encode(texts, normalize_embeddings=True, batch_size=32)
        rng = random.Random(0)
        acc = np.zeros_like(orig)
        first = None
        for _ in range(k):
            shuffled = []
            for t in texts:
                words = t.split()
                rng.shuffle(words)
                shuffled.append(" ".join(words))
            v = st.encode(shuffled, normalize_embeddings=True, batch_size=32)
            first = v if first is None else first
            acc += v
        mean = acc / np.linalg.norm(acc, axis=1, keepdims=True)
        print(f"  order-blind estimate on {name}: MiniLM on the words shuffled vs on the text: "
              f"{spearman_pairwise(orig, first):.3f} (one order), {spearman_pairwise(orig, mean):.3f} "
              f"(mean of {k} orders)")


def alignment_auroc(df, model: str) -> float:
    """AUROC of score_alignment: true (instruction, output) pairs vs outputs shuffled across rows."""
    import polars as pl
    from sklearn.metrics import roc_auc_score

    from dataforge.ops.base import RunContext, create

    rng = np.random.default_rng(0)
    perm = rng.permutation(df.height)
    perm = np.where(perm == np.arange(df.height), (perm + 1) % df.height, perm)  # nobody keeps their own
    shuffled = df.with_columns(pl.Series("output", df["output"].to_numpy()[perm]),
                               (pl.col("id") + "-s").alias("id"))
    both = pl.concat([df, shuffled])
    op = create("score_alignment", {"model": model}).bind(RunContext())
    op.ensure_setup()
    s = op.process(both)["score_alignment"].to_numpy()
    y = np.r_[np.ones(df.height), np.zeros(df.height)]
    return float(roc_auc_score(y, s))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--pairs-rows", type=int, default=500, help="rows for the pairwise-cosine agreement")
    ap.add_argument("--order-ceiling", type=int, default=0, metavar="K",
                    help="also MiniLM on K random word orders of each text (the order-blind estimate, 4.)")
    ap.add_argument("--static-model", help="a model2vec folder to measure instead of the shipped recipe's "
                    "(e.g. an older recipe's cache folder, for before/after figures)")
    a = ap.parse_args()

    import polars as pl
    from sentence_transformers import SentenceTransformer

    from dataforge import embed, static_embed

    from dataforge.schema import conform

    df = conform(pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl").head(a.rows), source="alpaca",
                 defaults={"source": "alpaca", "task": "open_qa", "lang": "en"})
    texts = df["output"].to_list()
    n = len(texts)
    chars = sum(map(len, texts)) / n
    print(f"{n} Alpaca outputs (mean {chars:.0f} chars), best of {a.repeats}; machine shared, figures vary")

    t = time.perf_counter()
    spath = Path(a.static_model) if a.static_model else static_embed.ensure()
    static = str(spath) if a.static_model else "static"
    print(f"static model: {spath} (ready in {time.perf_counter() - t:.1f}s)")

    st = SentenceTransformer(embed.resolve_model(None), device="cpu")
    st.encode(["warm up"] * 8)
    embed.load_model(None).encode(["warm up"] * 8)
    raw_static = static_embed.StaticEncoder(spath)
    raw_static.encode(["warm up"])
    embed.load_model(static).encode(["warm up"])

    t_raw = best(lambda: st.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True),
                 a.repeats)
    t_ours = best(lambda: embed.Embedder(None).encode(texts), a.repeats)  # fresh: nothing cached
    t_sraw = best(lambda: raw_static.model.encode(texts, use_multiprocessing=False), max(a.repeats, 3))
    t_sours = best(lambda: embed.Embedder(static).encode(texts), max(a.repeats, 3))
    print(f"  raw MiniLM SentenceTransformer.encode : {n / t_raw:10,.0f} texts/s  ({t_raw:.2f}s)")
    print(f"  dataforge MiniLM path (Embedder)      : {n / t_ours:10,.0f} texts/s  overhead "
          f"{100 * (t_ours / t_raw - 1):+.1f}% (goal <= +10%)")
    print(f"  raw model2vec encode (static model)   : {n / t_sraw:10,.0f} texts/s")
    print(f"  dataforge static path (Embedder)      : {n / t_sours:10,.0f} texts/s")
    print(f"  static / MiniLM speed (dataforge paths): {t_ours / t_sours:8.0f}x (goal >= 50x)")

    k = min(a.pairs_rows, n)
    mini = embed.Embedder(None).encode(texts[:k])
    stat = embed.Embedder(static).encode(texts[:k])
    print(f"  Spearman of pairwise cosines, static vs MiniLM ({k} rows, {k * (k - 1) // 2:,} pairs): "
          f"{spearman_pairwise(mini, stat):.3f} (goal >= 0.9)")
    instr = df["instruction"].to_list()[:k]
    print(f"  same on instructions: {spearman_pairwise(embed.Embedder(None).encode(instr), embed.Embedder(static).encode(instr)):.3f}")

    if a.order_ceiling:
        order_ceiling(st, {"outputs": texts[:k], "instructions": instr}, mini, a.order_ceiling)

    for label, model in (("minilm", "minilm"), ("static", static)):
        t = time.perf_counter()
        auc = alignment_auroc(df, model)
        print(f"  score_alignment AUROC, own vs shuffled output, {label:6s}: {auc:.3f} "
              f"(goal >= 0.95; {time.perf_counter() - t:.1f}s)")


if __name__ == "__main__":
    main()
