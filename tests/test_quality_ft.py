"""fastText quality classifier: trains from positive/negative files, beats the trivial
baseline on held-out data, and the operator scores and filters rows."""
from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

from dataforge.clean import fasttext_io as F
from dataforge.cli import main
from dataforge.ops.quality_ft import QualityFastText

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """Positives: real Alpaca answers. Negatives: word salad with the same vocabulary and
    lengths, so only word order (bigrams) tells them apart."""
    d = tmp_path_factory.mktemp("q")
    df = pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl").head(600)
    rng = random.Random(0)
    vocab = " ".join(df["output"]).split()
    neg = [" ".join(rng.choice(vocab) for _ in t.split()) for t in df["output"]]
    df.select("output").write_ndjson(d / "pos.jsonl")
    pl.DataFrame({"output": neg}).write_ndjson(d / "neg.jsonl")
    return d


@pytest.fixture(scope="module")
def trained(examples) -> tuple[Path, str]:
    """The CLI's model, trained once per worker: the operator test needs it wherever it runs."""
    import contextlib
    import io

    model = examples / "q.bin"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["train-classifier", "--positive", str(examples / "pos.jsonl"), "--negative",
                   str(examples / "neg.jsonl"), "-o", str(model), "--epoch", "15", "--dim", "20",
                   "--bucket", "20000"])
    assert rc == 0
    return model, out.getvalue()


def test_train_classifier_cli_beats_baseline(trained):
    model, printed = trained
    assert "precision=" in printed and "recall=" in printed
    meta = json.loads(Path(str(model) + ".json").read_text())
    m = meta["heldout_metrics"]
    assert m["n"] == 240 and m["accuracy"] > m["baseline_accuracy"] + 0.3
    assert m["precision"] > 0.8 and m["recall"] > 0.8
    assert meta["fields"] == ["instruction", "input", "output"]


def test_operator_scores_and_filters(examples, trained):
    model = trained[0]
    pos = pl.read_ndjson(examples / "pos.jsonl").head(50)
    neg = pl.read_ndjson(examples / "neg.jsonl").head(50)
    df = pl.concat([pos, neg]).with_columns(pl.lit("q").alias("instruction"), pl.lit("").alias("input"))
    out = QualityFastText(model=str(model)).map(df)
    s = out["score_quality_ft"].to_numpy()
    assert ((s >= 0) & (s <= 1)).all() and s[:50].mean() > s[50:].mean() + 0.5
    assert "_reject" not in out.columns
    flt = QualityFastText(model=str(model), threshold=0.5).map(df)
    r = flt["_reject"]
    assert r[50:].null_count() < 10 and r[:50].null_count() > 40
    assert r.drop_nulls()[0].startswith("low_quality_ft: score ")


def test_train_from_recipe_source(tmp_path, examples):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"sources:\n  - name: good\n    path: {examples / 'pos.jsonl'}\n"
                      f"    limit: 200\npipeline: []\n")
    rc = main(["train-classifier", "--positive", f"{recipe}:good", "--negative", str(examples / "neg.jsonl"),
               "--limit", "200", "-o", str(tmp_path / "m.bin"), "--epoch", "5", "--dim", "10",
               "--bucket", "10000"])
    assert rc == 0
    meta = json.loads((tmp_path / "m.bin.json").read_text())
    assert meta["train_rows"] == {"positive": 200, "negative": 200}


def test_training_always_uses_safe_thread_count(tmp_path, monkeypatch):
    seen = {}
    ft = F._fasttext()
    real = ft.train_supervised

    def spy(**kw):
        seen.update(kw)
        return real(**kw)

    monkeypatch.setattr(ft, "train_supervised", spy)
    data = tmp_path / "d.txt"
    data.write_text("__label__a x y\n__label__b z w\n" * 10)
    F.train_supervised(data, thread=2, epoch=1, verbose=0)
    assert seen["thread"] >= F.MIN_TRAIN_THREADS


def test_missing_examples_are_clear_errors(tmp_path, capsys):
    rc = main(["train-classifier", "--positive", str(tmp_path / "nope.jsonl"), "--negative",
               str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "m.bin")])
    assert rc == 1 and "no such file" in capsys.readouterr().err
