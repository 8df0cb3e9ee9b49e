"""Recipe v5's training step (dataforge/static_train.py): what it trains on, and that it is
deterministic and does what it says on a small table. The trained model itself is checked in
tests/test_static_embed.py."""
from __future__ import annotations

import json

import numpy as np

from dataforge import static_train as T
from dataforge.evaluation import quality_set


def _texts(path, *fields):
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        for f in fields:
            v = r.get(f)
            if isinstance(v, list):
                v = " ".join(v)
            if isinstance(v, str) and v.strip():
                out.add(" ".join(v.split()))
    return out


def test_quality_rows_cover_what_the_quality_set_converts():
    # every slice of the quality set lies inside the rows kept out of training
    rows = quality_set.converted_rows()
    assert quality_set.CONVERTED
    for name, lo, n, _ in quality_set.CONVERTED:
        assert int(lo) + int(n) <= rows[name], name


def _alpaca_rows(sample_dir, rows):
    lines = (sample_dir / "alpaca.jsonl").read_text(encoding="utf-8").splitlines()
    out = set()
    for i in rows:
        r = json.loads(lines[i])
        out |= {" ".join(r["output"].split()), " ".join(f"{r['instruction']} {r['input']}".split())}
    return out, len(lines)


def test_corpus_holds_no_benchmark_seed_or_quality_set_rows(sample_dir):
    texts = set(T.corpus(sample_dir))
    assert len(texts) > 5000
    held, n_alpaca = _alpaca_rows(sample_dir, range(T.ALPACA_FIRST_ROW))  # benchmarks/embed.py's rows
    imported = [int(k.split(":")[1]) for k in quality_set.kinds() if k.startswith("alpaca:")]
    assert imported and max(imported) >= T.ALPACA_FIRST_ROW
    held |= _alpaca_rows(sample_dir, imported)[0]  # the quality set's Alpaca rows
    held |= _texts(sample_dir / "seed_tasks.jsonl", "instruction")
    for name, n in quality_set.converted_rows().items():
        lines = (sample_dir / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        for line in lines[:n]:
            r = json.loads(line)
            for v in r.values():
                if isinstance(v, list) and all(isinstance(x, str) for x in v):
                    v = " ".join(v)
                if isinstance(v, str) and len(v) > 40:  # short strings (labels, titles) may recur
                    held.add(" ".join(v.split()))
    assert not texts & held
    # the other Alpaca rows train it: instruction data is what users embed
    later, _ = _alpaca_rows(sample_dir, sorted(set(range(T.ALPACA_FIRST_ROW, n_alpaca)) - set(imported)))
    assert len(texts & later) > 1500


def test_clip_cuts_at_the_token_window():
    from tokenizers import Tokenizer

    from dataforge.embed import resolve_model

    tok = Tokenizer.from_file(f"{resolve_model(None)}/tokenizer.json")
    tok.no_truncation()
    long = " ".join(["word"] * 400)
    short, cut = T.clip(["a short text", long], tok, max_tokens=100)
    assert short == "a short text"  # even with the shipped tokenizer's padding to 128 on
    tok.no_padding()
    assert len(tok.encode(cut, add_special_tokens=False).ids) == 100 and long.startswith(cut)


def _toy(seed=0):
    rng = np.random.default_rng(seed)
    vocab, dims, n = 60, 8, 200
    vecs = rng.normal(size=(vocab, dims)).astype(np.float32)
    ids = [list(rng.integers(0, vocab - 10, size=rng.integers(3, 9))) for _ in range(n)]  # 10 ids never seen
    target = rng.normal(size=(n, 12))
    target /= np.linalg.norm(target, axis=1, keepdims=True)
    return vecs, ids, target


def _pair_error(vecs, ids, target):
    s = T._pool(ids, vecs.astype(np.float64))
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    return float(np.mean((s @ s.T - target @ target.T) ** 2))


def test_training_is_deterministic_and_fits_the_pairwise_cosines():
    vecs, ids, target = _toy()
    cfg = T.TrainConfig(steps=150, batch=64, l2=0.1, lr=0.02)
    a = T.fit_targets(vecs, ids, target, cfg)
    b = T.fit_targets(vecs.copy(), ids, target.copy(), cfg)
    assert a.dtype == np.float32 and a.shape == vecs.shape
    assert np.array_equal(a, b)  # bit for bit
    assert np.array_equal(a[-10:], vecs[-10:])  # tokens no text shows do not move
    assert _pair_error(a, ids, target) < 0.8 * _pair_error(vecs, ids, target)
    # the L2 pull holds the table near where it started
    held = T.fit_targets(vecs, ids, target, T.TrainConfig(steps=150, batch=64, l2=100.0, lr=0.02))
    assert np.abs(held - vecs).mean() < np.abs(a - vecs).mean()


def test_regression_variant_runs():
    vecs, ids, target = _toy(1)
    cfg = T.TrainConfig(steps=20, batch=64, linear="procrustes", reg_weight=1.0, pair_weight=0.0)
    out = T.fit_targets(vecs, ids, target, cfg)
    assert out.shape == vecs.shape and np.all(np.isfinite(out))
