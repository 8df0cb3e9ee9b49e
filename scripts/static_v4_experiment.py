"""Recipe v4 experiments: which training objective of dataforge/static_train.py generalises.

Tunes on a slice of Alpaca that neither benchmarks/embed.py (rows 0-299) nor the quality
evaluation set (benchmarks/quality_data/kinds.tsv) reads: rows 600-999 less the few the
quality set names. Prints, per variant, the Spearman of pairwise cosines (static vs MiniLM)
on outputs and on prompts, and the own-vs-shuffled cosine AUROC of (prompt, output) pairs.
`--heldout` adds the same figures on the benchmark's rows 0-299 (look at them only to
compare the finished candidates, never to pick settings).

    PYTHONPATH=. .venv/bin/python scripts/static_v4_experiment.py [--heldout]

MiniLM's vectors are cached in --cache (default /tmp/dataforge-static-v4) between runs.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataforge import static_train as T  # noqa: E402


def alpaca_rows(lo: int, hi: int) -> list[dict]:
    quality = {int(k.split(":")[1]) for k in
               (line.split("\t")[0] for line in (ROOT / "benchmarks/quality_data/kinds.tsv").read_text().splitlines())
               if k.startswith("alpaca:")}
    rows = [json.loads(x) for x in (ROOT / "sample_data/alpaca.jsonl").read_text().splitlines()]
    return [r for i, r in enumerate(rows) if lo <= i < hi and i not in quality]


def eval_texts(rows: list[dict]) -> tuple[list[str], list[str]]:
    # what score_alignment embeds: instruction + input, output; each cut at 1,000 chars
    prompts = [("\n".join(x for x in (r["instruction"], r.get("input") or "") if x))[:1000] for r in rows]
    return prompts, [r["output"] for r in rows]


def minilm(texts: list[str], path: Path, model_dir) -> np.ndarray:
    if path.is_file():
        return np.load(path)
    from sentence_transformers import SentenceTransformer

    v = SentenceTransformer(str(model_dir), device="cpu").encode(texts, batch_size=32, normalize_embeddings=True)
    np.save(path, v)
    return v


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    iu = np.triu_indices(len(a), 1)
    return float(spearmanr((a @ a.T)[iu], (b @ b.T)[iu]).correlation)


def auroc(p: np.ndarray, o: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    n = len(p)
    perm = np.random.default_rng(0).permutation(n)
    perm = np.where(perm == np.arange(n), (perm + 1) % n, perm)
    own, shuf = (p * o).sum(1), (p * o[perm]).sum(1)
    return float(roc_auc_score(np.r_[np.ones(n), np.zeros(n)], np.r_[own, shuf]))


def encode(vecs: np.ndarray, tok, texts: list[str]) -> np.ndarray:
    v = T._pool(T.token_ids(texts, tok), vecs.astype(np.float64))
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default="/tmp/dataforge-static-v4")
    ap.add_argument("--heldout", action="store_true")
    ap.add_argument("--variants", default="base", help="base or all (adds the settings tried)")
    ap.add_argument("--subsample", type=int, default=1, help="train on every k-th corpus text")
    a = ap.parse_args()
    cache = Path(a.cache)
    cache.mkdir(parents=True, exist_ok=True)

    from dataforge import static_embed as S
    from dataforge.embed import resolve_model

    src = Path(resolve_model(None))
    base = cache / "distilled.npy"
    if base.is_file():
        from tokenizers import Tokenizer
        vecs = np.load(base)
        tok = Tokenizer.from_file(str(src / "tokenizer.json"))
    else:
        t0 = time.perf_counter()
        vecs, tok = S.distilled(src)
        print(f"distilled in {time.perf_counter() - t0:.1f}s")
        np.save(base, vecs)
    tok.no_truncation()
    tok.no_padding()

    texts = T.clip(T.corpus(ROOT / "sample_data"), tok)
    ntok = sum(len(i) for i in T.token_ids(texts, tok))
    print(f"corpus: {len(texts)} texts, {ntok:,} tokens")
    import hashlib

    key = hashlib.blake2b("\n".join(texts).encode(), digest_size=8).hexdigest()
    tpath = cache / f"targets-{key}.npy"  # keyed by the corpus: a changed corpus gets new targets
    if tpath.is_file():
        tg = np.load(tpath)
    else:
        t0 = time.perf_counter()
        tg = T.targets(texts, src)
        print(f"MiniLM targets in {time.perf_counter() - t0:.1f}s")
        np.save(tpath, tg)

    sets = {"tune": alpaca_rows(600, 1000)}
    if a.heldout:
        sets["heldout"] = [json.loads(x) for x in (ROOT / "sample_data/alpaca.jsonl").read_text().splitlines()[:300]]
    evals = {}
    for name, rows in sets.items():
        p, o = eval_texts(rows)
        evals[name] = (p, o, minilm(p, cache / f"{name}-p.npy", src), minilm(o, cache / f"{name}-o.npy", src))

    c = T.TrainConfig()  # the shipped recipe
    variants = {
        "v3": None,
        "a: regression": replace(c, linear="procrustes", reg_weight=1.0, pair_weight=0.0),
        "b: regression+pairs": replace(c, linear="procrustes", reg_weight=1.0, pair_weight=1.0),
        "c: pairs (v4)": c,
    }
    extra = {  # settings tried on the tuning slice
        "a, ridge map": replace(c, linear="ridge", reg_weight=1.0, pair_weight=0.0, l2=1.0),
        "c, l2=10": replace(c, l2=10.0),
        "c, batch 1024": replace(c, batch=1024),
        "c, lr 0.01": replace(c, lr=0.01),
        "c, 600 steps": replace(c, steps=600),
    }
    if a.variants == "all":
        variants.update(extra)
    texts, tg = texts[::a.subsample], tg[::a.subsample]
    ids = T.token_ids(texts, tok)
    print(f"training on {len(texts)} texts, {sum(map(len, ids)):,} tokens")
    for name, cfg in variants.items():
        t0 = time.perf_counter()
        v = vecs if cfg is None else T.fit_targets(vecs, ids, tg, cfg)
        dt = time.perf_counter() - t0
        parts = []
        for ename, (p, o, mp, mo) in evals.items():
            sp, so = encode(v, tok, p), encode(v, tok, o)
            parts.append(f"{ename}: out {spearman(mo, so):.3f} prompt {spearman(mp, sp):.3f} "
                         f"auroc {auroc(sp, so):.3f} (minilm {auroc(mp, mo):.3f})")
        print(f"{name:10s} {dt:5.1f}s  " + " | ".join(parts), flush=True)


if __name__ == "__main__":
    main()
