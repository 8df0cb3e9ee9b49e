"""Selection: thresholds, top-k, random, DEITA's diversity-aware greedy admission."""
from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from dataforge import Pipeline, op
from dataforge.errors import ConfigError
from dataforge.ops.base import RunContext
from dataforge.schema import REJECT
from dataforge.score.index import FlatIndex, admit, greedy_diverse, nearest_other


def unit(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered(n, k=40, d=48, noise=0.35, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(k, d))
    return unit(c[rng.integers(k, size=n)] + noise * rng.normal(size=(n, d)))


def reference_greedy(v, order, tau, budget):
    chosen = []
    for r in order:
        if budget is not None and len(chosen) >= budget:
            break
        if not chosen or (v[chosen] @ v[r]).max() <= tau:
            chosen.append(int(r))
    return chosen


@pytest.mark.parametrize("tau,budget", [(0.9, None), (0.7, None), (0.7, 25), (0.5, 10)])
def test_greedy_equals_one_at_a_time_and_never_admits_pairs_above_tau(tau, budget):
    v = clustered(1500)
    order = np.random.default_rng(1).permutation(len(v))
    adm, sim, near = greedy_diverse(v, order, tau, budget)
    ref = reference_greedy(v, order, tau, budget)
    assert sorted(np.flatnonzero(adm).tolist()) == sorted(ref)
    a = v[adm]
    g = a @ a.T
    np.fill_diagonal(g, -1)
    assert g.max() <= tau + 1e-6
    if budget is not None:
        assert adm.sum() == min(budget, len(ref))
    # every row found too similar names an admitted row that really is that close
    rej = np.flatnonzero(~adm & ~np.isnan(sim))
    assert len(rej) and (sim[rej] > tau).all() and adm[near[rej]].all()
    assert np.allclose((v[rej] * v[near[rej]]).sum(1), sim[rej], atol=1e-5)


def reference_admit(v, order, tau, budget, group, tau_group, key, cap):
    """`admit` one row at a time: too similar (own stratum: its threshold; another: tau; other
    key: never), else passed over at its stratum's cap; then the passed-over rows, uncapped."""
    chosen, count, passed = [], {}, []
    total = len(v) if budget is None else min(budget, len(v))

    def close(r):
        return any(key[c] == key[r] and float(v[c] @ v[r]) > (tau_group[group[r]] if group[c] == group[r] else tau)
                   for c in chosen)

    for r in order:
        if len(chosen) >= total:
            break
        if close(r):
            continue
        if count.get(group[r], 0) >= cap[group[r]]:
            passed.append(r)
            continue
        chosen.append(int(r))
        count[group[r]] = count.get(group[r], 0) + 1
    for r in passed:
        if len(chosen) >= total:
            break
        if not close(r):
            chosen.append(int(r))
    return chosen


@pytest.mark.parametrize("budget", [None, 20, 60])
def test_admit_with_strata_equals_one_at_a_time(budget):
    v = clustered(1500, k=30)
    rng = np.random.default_rng(2)
    order = rng.permutation(len(v))
    group, key = rng.integers(3, size=len(v)), rng.integers(4, size=len(v))
    tau_group = np.array([0.7, 0.8, 0.9], dtype=np.float32)
    cap = np.array([5, 10, 20]) if budget else None
    a = admit(v, order, 0.6, budget, group=group, tau_group=tau_group, key=key, cap=cap)
    ref = reference_admit(v, order, 0.6, budget, group, tau_group, key,
                          cap if cap is not None else np.full(3, len(v)))
    assert sorted(np.flatnonzero(a.admitted).tolist()) == sorted(ref)
    if budget:
        per = np.bincount(group[a.admitted], minlength=3)
        assert a.admitted.sum() == budget
        # within the caps while they allow the budget; past them, the passed-over rows fill it
        assert (per <= cap).all() if budget <= cap.sum() else (per > cap).any() and a.passed_over.any()
    # every pair admitted together is within its limit; every rejection names a row over it
    adm = np.flatnonzero(a.admitted)
    g = v[adm] @ v[adm].T
    lim = np.where(group[adm][:, None] == group[adm][None, :], tau_group[group[adm]][:, None], 0.6)
    same_key = key[adm][:, None] == key[adm][None, :]
    np.fill_diagonal(g, -1)
    assert (g[same_key] <= lim[same_key] + 1e-6).all()
    rej = np.flatnonzero(~a.admitted & ~np.isnan(a.sim))
    assert len(rej) and (a.sim[rej] > a.limit[rej]).all() and a.admitted[a.near[rej]].all()
    assert (key[a.near[rej]] == key[rej]).all()
    assert not (a.passed_over & a.admitted).any()


def test_flat_index_and_nearest_other():
    v = clustered(300, d=16)
    idx = FlatIndex(16, capacity=2)
    idx.add(v[:100])
    idx.add(v[100:200])
    best, arg = idx.nearest(v[200:])
    full = v[200:] @ v[:200].T
    assert np.allclose(best, full.max(1), atol=1e-6) and (arg == full.argmax(1)).all()
    b2, a2 = nearest_other(v)
    g = v @ v.T
    np.fill_diagonal(g, -np.inf)
    assert np.allclose(b2, g.max(1), atol=1e-6) and (a2 != np.arange(300)).all()


def scored(n=12):
    return pl.DataFrame({
        "id": [f"r{i:02d}" for i in range(n)],
        "instruction": [f"Instruction number {i}" for i in range(n)], "input": [""] * n,
        "output": ["ok"] * n, "task": ["a", "b"] * (n // 2), "source": ["s"] * n, "meta": ["{}"] * n,
        "score_quality": [i / n for i in range(n)], "score_complexity": [1.0] * n,
    })


def test_threshold_filter_reasons_and_missing_scores():
    df = scored().with_columns(score_quality=pl.when(pl.col("id") == "r11").then(None).otherwise(pl.col("score_quality")))
    out = op("select_threshold", min={"score_quality": 0.5}).process(df)
    reasons = out[REJECT].to_list()
    assert reasons[:6] == [f"below_threshold: score_quality {round(i / 12, 4)} < 0.5" for i in range(6)]
    assert reasons[6:11] == [None] * 5 and reasons[11] == "missing_score: score_quality is null"
    kept = op("select_threshold", max={"score_quality": 0.2}, keep_missing=True).process(df)
    assert kept.filter(pl.col(REJECT).is_null())["id"].to_list() == ["r00", "r01", "r02", "r11"]
    with pytest.raises(ConfigError):
        op("select_threshold")


def test_topk_per_task_and_random_sample_are_seeded():
    df = scored()
    out = op("select_topk", k=2, score=["score_quality"]).process(df)
    kept = out.filter(pl.col(REJECT).is_null())
    assert sorted(kept["id"]) == ["r08", "r09", "r10", "r11"]
    assert "not_selected: rank 3 > 2 in task a" in out[REJECT].to_list()

    def sample(seed, frame):
        o = op("select_random", n=4, by="task").bind(RunContext(seed=seed))
        res = o.process(frame)
        return sorted(res.filter(pl.col(REJECT).is_null())["id"])

    a, b = sample(1, df), sample(1, df.reverse())
    assert a == b and len(a) == 8  # n per group; same ids whatever the row order
    assert sample(2, df) != a
    frac = op("select_random", fraction=0.25).process(df)
    assert frac[REJECT].null_count() == 3 and set(frac[REJECT].drop_nulls()) == {"not_selected: random sample"}


@pytest.mark.slow
def test_select_deita_op_in_a_pipeline(tmp_path):
    texts = ["How do I bake sourdough bread at home?", "How can I bake sourdough bread at home?",
             "Explain the rules of chess to a beginner.", "Explain chess rules for a beginner.",
             "Write a poem about the ocean at night.", "Give three tips for learning a new language.",
             "What causes the seasons on Earth?", "Describe the water cycle."]
    n = len(texts)
    df = pl.DataFrame({"instruction": texts, "output": ["An answer."] * n, "task": ["open_qa"] * n,
                       "score_quality": [0.85, 0.9, 0.8, 0.75, 0.5, 0.5, 0.5, 0.5], "score_complexity": [1.0] * n})
    res = Pipeline([op("select_deita", tau=0.85, budget=5)]).run(df, tmp_path / "o")
    out = pl.read_parquet(res.shards[0])
    rej = pl.read_parquet(tmp_path / "o" / res.manifest["rejects"][0]["path"])
    assert out.height == 5 and rej.height == 3
    # the better-scored of each near-duplicate pair is kept
    assert {"How can I bake sourdough bread at home?", "Explain the rules of chess to a beginner."} <= set(out["instruction"])
    reasons = rej["reason"].to_list()
    assert sum(r.startswith("too_similar: cos ") for r in reasons) == 2
    below = [r for r in reasons if r.startswith("not_selected: below budget (ranking score ")]
    detail = json.loads(rej.filter(pl.col("reason") == below[0])["detail"][0])
    cut = res.manifest["metrics"]["select_deita"]["last_admitted_score"]
    assert detail["rank_score"] < detail["last_admitted_score"] == cut
    assert below == [f"not_selected: below budget (ranking score {detail['rank_score']:.2f}; "
                     f"the last row admitted had {cut:.2f})"]
    from dataforge import embed
    v = embed.shared(None, tmp_path / "o" / "cache" / "embeddings").encode(out["instruction"].to_list())
    g = v @ v.T
    np.fill_diagonal(g, -1)
    assert g.max() <= 0.85
    assert res.manifest["totals"]["balanced"]
