"""Weighted judge ensembles: weights fitted on a labelled dev set score at least as well as the
unweighted mean of the same prompts, on the dev set and on held-out rows of the same kind.

The dev set is built from sample_data (Alpaca rows with planted defects, label 1 = intact);
the scripted judge's three prompts differ in accuracy (90%, 60%, 55% of their answers right,
the rest a guess), so an ensemble that trusts the accurate prompt more should rank better."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from dataforge.promptsearch import ensemble
from dataforge.promptsearch import metrics as M
from dataforge.promptsearch.devset import planted_defects
from dataforge.score.judge import Judge, aggregate
from dataforge.testing.scripted import ScriptedLLM

ROOT = Path(__file__).resolve().parents[1]
ACCURACY = {"acc": 0.9, "noisy": 0.6, "noisier": 0.55}


def _h(x) -> int:
    return int(hashlib.sha256(str(x).encode()).hexdigest()[:8], 16)


def _rows(offset: int, n: int, seed: int) -> pl.DataFrame:
    return planted_defects(pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl").slice(offset, n), 0.5, seed=seed)


@pytest.fixture
def judge_file(tmp_path) -> Path:
    doc = {"aspect": "quality", "scale": {"min": 1, "max": 5},
           "prompts": [{"name": name, "user": f"[{name}] Rate 1-5.\nInstruction: {{{{ instruction }}}}\n"
                                              f"Response: {{{{ output }}}}\nReply as JSON."} for name in ACCURACY]}
    p = tmp_path / "judge_scripted.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def scripted_judge(truth: dict[str, int]) -> ScriptedLLM:
    def answer(chat, s):
        text = chat[-1]["content"]
        name = text[1:text.index("]")]
        inst = text.split("Instruction: ", 1)[1].split("\nResponse:", 1)[0]
        r = _h(text) % 1000 / 1000
        if r < ACCURACY[name]:
            score = 4 + _h(text + "s") % 2 if truth[inst] else 1 + _h(text + "s") % 2
        else:
            score = 1 + _h(text + "g") % 5  # a guess
        return json.dumps({"score": score})
    return ScriptedLLM(answer)


def test_fitted_weights_score_at_least_as_well_as_the_mean(judge_file):
    dev, held = _rows(0, 80, seed=1), _rows(80, 160, seed=2)
    truth = {r["instruction"]: r["label"] for r in pl.concat([dev, held]).to_dicts()}
    judge = Judge(aspect="quality", llm=scripted_judge(truth), file=str(judge_file))
    raw_dev, raw_held = judge.raw_scores(dev), judge.raw_scores(held)
    y_dev, y_held = dev["label"].to_numpy(), held["label"].to_numpy()
    fit = [M.auroc(y_dev, raw_dev[:, j]) for j in range(3)]
    assert fit[0] > fit[1] and fit[0] > fit[2]  # the prompts do differ in accuracy

    w, dev_weighted, dev_mean = ensemble.fit_judge(raw_dev, fit, lambda s: M.auroc(y_dev, s))
    assert dev_weighted >= dev_mean and abs(w.sum() - 1) < 1e-9 and w[0] == w.max()
    held_weighted = M.auroc(y_held, aggregate(raw_held, "weighted", w))
    held_mean = M.auroc(y_held, aggregate(raw_held, "mean"))
    print(f"auroc dev: weighted {dev_weighted:.4f} mean {dev_mean:.4f}; held-out: weighted {held_weighted:.4f} mean {held_mean:.4f}; weights {w}")
    assert held_weighted >= held_mean, (held_weighted, held_mean, w)
    # the same numbers through the judge's own weighted aggregation, as an operator would run it
    judged = Judge(aspect="quality", llm=scripted_judge(truth), file=str(judge_file), how="weighted",
                   weights=list(w)).scores(held).to_numpy()
    assert M.auroc(y_held, judged) == pytest.approx(held_weighted)


def test_weighted_vote_and_failures():
    vals = np.array([[5.0, 1.0, 1.0], [np.nan, 2.0, 4.0], [np.nan, np.nan, np.nan]])
    w = np.array([0.6, 0.2, 0.2])
    mean = aggregate(vals, "weighted", w)
    assert mean[0] == pytest.approx(0.6 * 5 + 0.4 * 1) and mean[1] == pytest.approx(3.0) and np.isnan(mean[2])
    vote = aggregate(vals, "weighted_majority", w)
    assert vote[0] == 5.0 and vote[1] == 3.0  # a weighted tie goes to the median of the tied values
    assert aggregate(vals, "majority")[0] == 1.0  # unweighted, the two weak prompts win


def test_ensemble_fit_never_worse_than_uniform_on_dev():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    preds = np.stack([np.where(rng.random(60) < p, 1 + 4 * y, rng.integers(1, 6, 60)) for p in (0.3, 0.5, 0.2, 0.4)],
                     axis=1).astype(float)
    for fitness in ([0.1, 0.9, 0.2, 0.3], [0.5, 0.5, 0.5, 0.5], [0.9, 0.1, 0.1, 0.1]):
        w, v, base = ensemble.fit_judge(preds, fitness, lambda s: M.auroc(y, s))
        assert v >= base and np.all(w >= 0) and abs(w.sum() - 1) < 1e-9
