"""dataforge train-classifier: a fastText quality classifier from positive and negative examples.

    dataforge train-classifier --positive good.jsonl --negative bad.jsonl -o quality.bin
    dataforge train-classifier --positive recipe.yaml:alpaca --negative junk.parquet -o q.bin

Each example is a file (JSONL, JSON, CSV, Parquet) or `RECIPE.yaml:SOURCE` (that source
of a recipe, with its mapping). A held-out split is scored and precision / recall / F1
of the positive class are printed next to the majority-class baseline; the model is
saved with those numbers in MODEL.json, which `quality_ft` reads for the fields.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from dataforge.errors import ConfigError, InputError


def register(sub) -> None:
    p = sub.add_parser("train-classifier", help="train a fastText quality classifier (positive vs negative examples)")
    p.add_argument("--positive", nargs="+", required=True, help="files or RECIPE.yaml:SOURCE of good examples")
    p.add_argument("--negative", nargs="+", required=True, help="files or RECIPE.yaml:SOURCE of bad examples")
    p.add_argument("-o", "--out", required=True, help="model path to write (MODEL.json gets the metrics)")
    p.add_argument("--fields", default="instruction,input,output",
                   help="comma-separated text fields (those present are used; default %(default)s)")
    p.add_argument("--holdout", type=float, default=0.2, help="held-out fraction for metrics (default %(default)s)")
    p.add_argument("--epoch", type=int, default=25)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--word-ngrams", type=int, default=2)
    p.add_argument("--dim", type=int, default=50)
    p.add_argument("--bucket", type=int, default=100_000,
                   help="hash buckets for word n-grams (model size ~ bucket x dim x 4 bytes; default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="at most this many rows per class")
    p.set_defaults(func=run)


def read_examples(specs: list[str], fields: list[str], limit: int | None) -> list[str]:
    from dataforge.clean.quality_model import text_expr

    texts: list[str] = []
    for spec in specs:
        src = _source(spec)
        for b in src.batches(50_000, origin=False):
            if not any(f in b.rows.columns for f in fields):
                raise InputError(f"{spec}: none of the fields {fields} is present (columns: {b.rows.columns}); "
                                 "use --fields")
            texts += [t for t in b.rows.select(text_expr(fields, b.rows.columns))
                      .to_series().to_list() if t]
            if limit and len(texts) >= limit:
                return texts[:limit]
    return texts


def _source(spec: str):
    """A file / glob, or RECIPE.yaml:SOURCE for a named source of a recipe."""
    from dataforge.io.source import Source

    path, sep, name = spec.rpartition(":")
    if sep and path.endswith((".yaml", ".yml")):
        from dataforge import recipe

        pipe = recipe.load(path)
        for s in pipe.sources:
            if s.name == name:
                return s
        raise ConfigError(f"{path}: no source named '{name}'; sources: {[s.name for s in pipe.sources]}")
    if not Path(spec).exists() and not any(ch in spec for ch in "*?["):
        raise InputError(f"{spec}: no such file")
    return Source(name=Path(spec).stem or "examples", path=spec)


def train(pos: list[str], neg: list[str], out: str | Path, *, fields: list[str], holdout: float = 0.2,
          epoch: int = 25, lr: float = 0.5, word_ngrams: int = 2, dim: int = 50, bucket: int = 100_000,
          seed: int = 0) -> dict:
    """Train, evaluate on the held-out split, retrain on everything, save model + metrics."""
    from dataforge.clean import fasttext_io as F
    from dataforge.clean import quality_model as Q

    if not pos or not neg:
        raise InputError(f"need positive and negative examples (got {len(pos)} positive, {len(neg)} negative)")
    if not 0 < holdout < 1:
        raise ConfigError(f"--holdout must be in (0, 1), got {holdout}")
    texts = F.clean_line(pos + neg)
    y = np.array([True] * len(pos) + [False] * len(neg))
    tr, te = Q.split(len(texts), holdout, seed)
    params = dict(epoch=epoch, lr=lr, wordNgrams=word_ngrams, dim=dim, bucket=bucket if word_ngrams > 1 else 0,
                  seed=seed, verbose=0, minCount=1)
    with tempfile.TemporaryDirectory() as tmp:
        def fit(idx):
            f = Path(tmp) / "train.txt"
            labels = [Q.POS if y[i] else Q.NEG for i in idx]
            f.write_text("\n".join(Q.fasttext_lines([texts[i] for i in idx], labels)) + "\n")
            return F.train_supervised(f, **params)

        model = fit(tr)
        labels, probs = F.predict(model, [texts[i] for i in te], k=-1)
        held = Q.metrics(y[te], Q.positive_probability(labels, probs))
        model = fit(np.arange(len(texts)))  # the saved model sees every example
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(str(out))
    meta = {"fields": fields, "labels": {"positive": Q.POS, "negative": Q.NEG},
            "train_rows": {"positive": len(pos), "negative": len(neg)}, "holdout": holdout,
            "params": params, "heldout_metrics": held}
    Q.save_meta(out, meta)
    return meta


def run(args) -> int:
    fields = [f.strip() for f in args.fields.split(",") if f.strip()]
    pos = read_examples(args.positive, fields, args.limit)
    neg = read_examples(args.negative, fields, args.limit)
    meta = train(pos, neg, args.out, fields=fields, holdout=args.holdout, epoch=args.epoch, lr=args.lr,
                 word_ngrams=args.word_ngrams, dim=args.dim, bucket=args.bucket, seed=args.seed)
    m = meta["heldout_metrics"]
    print(f"examples: {len(pos)} positive, {len(neg)} negative; held out {m['n']}")
    print(f"held-out: precision={m['precision']:.3f} recall={m['recall']:.3f} f1={m['f1']:.3f} "
          f"accuracy={m['accuracy']:.3f} (majority baseline {m['baseline_accuracy']:.3f})")
    print(f"model:    {args.out} (metrics in {args.out}.json)")
    return 0
