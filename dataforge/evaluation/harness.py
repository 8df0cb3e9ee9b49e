"""Runs dataforge's real operators on the labelled quality set and measures their judgments.

- scores (every registered `score_*` operator that needs no LLM): AUROC of "clean above
  defect" per defect kind, overall, per dev/held-out half and per task kind;
- filters (each rule of rules/filters/default.yaml on its own, the whole default
  `rule_filter`, and `langid`): share of clean rows dropped per kind and per source, share
  of each defect caught; and the whole `rule_filter`'s catch of truncations and garbled
  answers planted afresh ten times (one planting is a noisy figure);
- dedup (`dedup_exact`, `dedup_near` with defaults): precision / recall of removed rows
  against planted near-duplicates, and clean rows removed that share a passage / premise
  with another row (distinct questions on one passage);
- Spearman correlation of score_complexity with instruction+input length on clean rows;
- the task classifier (`classify_task`, when registered): accuracy on hand-labelled kinds.

`evaluate(df)` returns a JSON-able dict; `render(result)` the text tables.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import polars as pl

from dataforge.schema import REJECT

SHORT_WORDS = 4  # "short answer": at most this many words (labels, numbers, spans)
MIN_N = 5  # breakdown cells with fewer rows on either side are not reported
# score ops that need an LLM, a trained model file, or are not row judgments
SKIP_SCORES = {"score_judge"}
LEARNS_FROM_ROWS = {"score_label"}  # scored without the clean twins of planted rows (score_columns)
KEY_PAIRS = [("score_clarity", "vague"), ("score_alignment", "shuffled"), ("score_alignment", "shuffled_short"),
             ("score_quality", "truncated"), ("score_quality", "garbled"), ("score_quality", "refusal"),
             ("score_quality", "disclaimer"), ("score_alignment", "wrong_label"), ("score_label", "wrong_label"),
             ("score_quality", "non_answer")]


# -- statistics ----------------------------------------------------------------------------

def auroc(pos: np.ndarray, neg: np.ndarray) -> float | None:
    """P(pos > neg) + P(tie)/2 (Mann-Whitney U / n1 n2); None when a side is empty."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    pos, neg = pos[~np.isnan(pos)], neg[~np.isnan(neg)]
    if not len(pos) or not len(neg):
        return None
    ranks = pl.Series(np.r_[pos, neg]).rank("average").to_numpy()
    u = ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def spearman(a: Iterable[float], b: Iterable[float]) -> float:
    ra = pl.Series(list(a), dtype=pl.Float64).rank("average").to_numpy()
    rb = pl.Series(list(b), dtype=pl.Float64).rank("average").to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


# -- running operators ---------------------------------------------------------------------

def _ops():
    from dataforge.ops.base import load_all
    return load_all()


def _run(op, df: pl.DataFrame) -> pl.DataFrame:
    op.ensure_setup()
    return op.process(df)


def score_columns(df: pl.DataFrame, only: list[str] | None = None, *, embedding: str | None = None,
                  cache: Path | None = None) -> tuple[pl.DataFrame, dict]:
    """Every score_* operator's column on df (joined by id) and its seconds. `embedding` is the
    run-wide model of embedding scores (None: each operator's default, MiniLM); `cache` a folder
    whose embedding cache a second run reuses (MiniLM over the set takes minutes on 2 cores)."""
    from dataforge.ops.base import RunContext
    ctx = RunContext(out=cache, embedding=embedding)
    reg, timing = _ops(), {}
    names = sorted(n for n in reg if n.startswith("score_") and n not in SKIP_SCORES)
    if only:
        names = [n for n in names if n in only]
    out = df
    base = df.drop([c for c in df.columns if c.startswith("score_")])
    for n in names:
        t0 = time.perf_counter()
        frame = base
        if n in LEARNS_FROM_ROWS:
            # a planted defect keeps the prompt of its clean original: a score learnt from the
            # other rows would see the original's right answer beside it, which real data
            # never offers. These scores run without those clean twins (they get no score).
            key = pl.concat_str([pl.col("instruction"), pl.col("input").fill_null("")], separator="\x1f")
            planted = base.filter(pl.col("label") != "clean").select(key.alias("k"))["k"]
            frame = base.filter((pl.col("label") != "clean") | ~key.is_in(planted.implode()))
        try:
            res = _run(reg[n]().bind(ctx), frame)
        except Exception as e:  # a score that cannot run here (missing model) is reported, not fatal
            timing[n] = f"skipped: {type(e).__name__}: {e}"
            continue
        timing[n] = round(time.perf_counter() - t0, 2)
        cols = [c for c in res.columns if c.startswith("score_") and c not in out.columns]
        out = out.join(res.select("id", *cols).unique("id"), on="id", how="left")
    return out, timing


def score_report(df: pl.DataFrame) -> dict:
    """AUROC (clean above defect) per score and defect: overall, dev / held-out, per kind."""
    scores = [c for c in df.columns if c.startswith("score_")]
    clean = df.filter(pl.col("label") == "clean")
    short_clean = clean.filter(pl.col("output").str.count_matches(r"\S+") <= SHORT_WORDS)
    defects = sorted(set(df["label"]) - {"clean"})
    res: dict[str, Any] = {}
    for s in scores:
        res[s] = {}
        for d in defects:
            bad = df.filter(pl.col("label") == d)
            ref = short_clean if d == "shuffled_short" else clean
            cell = {"n": bad.height, "auroc": _r(auroc(ref[s].to_numpy(), bad[s].to_numpy()))}
            for half in ("dev", "heldout"):
                cell[half] = _r(auroc(ref.filter(pl.col("split") == half)[s].to_numpy(),
                                      bad.filter(pl.col("split") == half)[s].to_numpy()))
            per = {}
            for k in sorted(set(bad["kind"])):
                a, b = ref.filter(pl.col("kind") == k), bad.filter(pl.col("kind") == k)
                if a.height >= MIN_N and b.height >= MIN_N:
                    per[k] = {"auroc": _r(auroc(a[s].to_numpy(), b[s].to_numpy())), "n": b.height}
            cell["per_kind"] = per
            res[s][d] = cell
        res[s]["_distinct_values"] = int(clean[s].n_unique())
    return res


def _catch(df: pl.DataFrame, fired: pl.Series) -> dict:
    d = df.with_columns(fired.is_not_null().alias("_hit"))
    clean = d.filter(pl.col("label") == "clean")
    out = {"clean_dropped": _r(clean["_hit"].mean() or 0.0, 4),
           "clean_by_kind": {k: {"dropped": _r(v, 4), "n": n} for k, v, n in
                             clean.group_by("kind").agg(pl.col("_hit").mean(), pl.len())
                             .sort("kind").iter_rows()},
           "clean_by_source": {k: {"dropped": _r(v, 4), "n": n} for k, v, n in
                               clean.group_by("source").agg(pl.col("_hit").mean(), pl.len())
                               .sort("source").iter_rows()},
           "caught": {}}
    for lab in sorted(set(d["label"]) - {"clean"}):
        b = d.filter(pl.col("label") == lab)
        out["caught"][lab] = {"all": _r(b["_hit"].mean(), 4), "n": b.height,
                              **{h: _r(b.filter(pl.col("split") == h)["_hit"].mean(), 4)
                                 for h in ("dev", "heldout")}}
    worst = max(out["clean_by_kind"].items(), key=lambda kv: kv[1]["dropped"] or 0, default=(None, {}))
    out["worst_kind"] = {"kind": worst[0], **worst[1]}
    return out


def filter_report(df: pl.DataFrame, with_langid: bool = True) -> dict:
    from dataforge.clean import rules as R
    reg = _ops()
    res: dict[str, Any] = {"rules": {}}
    rf = reg["rule_filter"](rules="default")
    rules = rf.active()
    for rule in rules:
        fired = R.reasons([rule], df)
        res["rules"][rule.name] = _catch(df, fired)
    res["rule_filter"] = _catch(df, R.reasons(rules, df))
    if with_langid:
        try:
            out = _run(reg["langid"](), df)
            fired = out.sort(pl.col("id").replace_strict(
                {i: n for n, i in enumerate(df["id"])}, default=None))[REJECT]
            res["langid"] = _catch(df, fired)
        except Exception as e:
            res["langid"] = {"skipped": f"{type(e).__name__}: {e}"}
    return res


RESAMPLED = ("truncated", "garbled")  # defects planted by a random cut / shuffle, not from a text list
RESAMPLE_DRAWS = 10


def resampled_report(df: pl.DataFrame, draws: int = RESAMPLE_DRAWS) -> dict:
    """The default rule_filter's catch of cut and shuffled answers planted afresh `draws` times
    into the clean rows: one planting of 160 rows is a noisy figure (seed 0 read 0.900 for
    truncations where ten plantings of the same rules read 0.841)."""
    from dataforge.clean import rules as R
    from dataforge.evaluation import quality_set as Q
    rules = _ops()["rule_filter"](rules="default").active()
    clean = df.filter(pl.col("label") == "clean")
    rows = clean.to_dicts()
    res: dict[str, Any] = {"draws": draws}
    for lab in RESAMPLED:
        plant = getattr(Q, f"plant_{lab}")
        planted = []
        for k in range(draws):
            planted += plant(np.random.default_rng(1000 + k), rows, Q.SIZES[lab])
        d = pl.DataFrame(planted, schema=clean.schema)
        d = d.with_columns(R.reasons(rules, d).is_not_null().alias("_hit"))
        res[lab] = {"caught": _r(d["_hit"].mean(), 4), "n": d.height,
                    **{h: _r(d.filter(pl.col("split") == h)["_hit"].mean(), 4) for h in ("dev", "heldout")},
                    "by_kind": {k: {"caught": _r(v, 3), "n": n} for k, v, n in
                                d.group_by("kind").agg(pl.col("_hit").mean(), pl.len()).sort("kind").iter_rows()}}
    return res


def dedup_report(df: pl.DataFrame) -> dict:
    reg, res = _ops(), {}
    # groups with more than one clean row share a passage / premise (distinct questions)
    shared = df.filter(pl.col("label") == "clean").group_by("group").len().filter(pl.col("len") > 1)["group"]
    for name in ("dedup_exact", "dedup_near"):
        op = reg[name]()
        out = _run(op, df)
        removed = out.filter(pl.col(REJECT).is_not_null())
        nd = df.filter(pl.col("label") == "near_duplicate").height
        tp = removed.filter(pl.col("label") == "near_duplicate").height
        fp_clean = removed.filter(pl.col("label") == "clean")
        res[name] = {
            "fields": list(op.fields), "removed": removed.height,
            "recall": _r(tp / nd if nd else None), "precision": _r(tp / (tp + fp_clean.height) if tp + fp_clean.height else None),
            "clean_removed": fp_clean.height,
            "clean_removed_by_kind": dict(fp_clean.group_by("kind").len().sort("kind").iter_rows()),
            "distinct_questions_removed_sharing_passage": fp_clean.filter(pl.col("group").is_in(shared.implode())).height,
            "other_planted_copies_removed": removed.filter(~pl.col("label").is_in(["clean", "near_duplicate"])).height,
        }
    return res


def complexity_report(df: pl.DataFrame) -> dict:
    if "score_complexity" not in df.columns:
        return {}
    c = df.filter(pl.col("label") == "clean")
    length = c.select((pl.col("instruction").str.len_chars() + pl.col("input").str.len_chars()).alias("n"))["n"]
    per = {}
    for k in sorted(set(c["kind"])):
        ck = c.filter(pl.col("kind") == k)
        if ck.height >= 20:
            per[k] = round(float(ck["score_complexity"].mean()), 3)
    return {"spearman_vs_prompt_length": _r(spearman(c["score_complexity"].to_list(), length.to_list())),
            "mean_by_kind": per}


def classifier_report(df: pl.DataFrame) -> dict:
    reg = _ops()
    if "classify_task" not in reg:
        return {"skipped": "no classify_task operator"}
    from dataforge.evaluation.task_eval import accuracy_report
    return accuracy_report()


def evaluate(df: pl.DataFrame, *, scores: list[str] | None = None, langid: bool = True,
             dedup: bool = True, embedding: str | None = None, cache: Path | None = None) -> dict:
    t0 = time.perf_counter()
    scored, timing = score_columns(df, scores, embedding=embedding, cache=cache)
    result = {
        "rows": df.height, "embedding": embedding or "default (minilm)",
        "labels": dict(df.group_by("label").len().sort("label").iter_rows()),
        "scores": score_report(scored), "score_seconds": timing,
        "complexity": complexity_report(scored),
        "filters": filter_report(df, langid),
        "filters_resampled": resampled_report(df),
        "dedup": dedup_report(df) if dedup else {},
        "task_classifier": classifier_report(df),
    }
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


# -- text tables ---------------------------------------------------------------------------

def _fmt(x) -> str:
    return "  -  " if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def render(res: dict) -> str:
    L = [f"quality evaluation set: {res['rows']} rows (embedding scores: {res.get('embedding')}); " +
         ", ".join(f"{k} {v}" for k, v in res["labels"].items())]
    sc = res["scores"]
    if sc:
        defects = [d for d in res["labels"] if d != "clean"]
        L += ["", "AUROC, clean above defect (all / dev / held-out half of defect texts)",
              f"{'score':18s} " + " ".join(f"{d[:14]:>16s}" for d in defects) + "  distinct"]
        for s, cells in sc.items():
            row = [f"{_fmt(cells[d]['auroc'])}" for d in defects if d in cells]
            L.append(f"{s:18s} " + " ".join(f"{v:>16s}" for v in row) + f"  {cells['_distinct_values']:>8d}")
        L += ["", "key pairs per task kind (AUROC, n defect rows)"]
        for s, d in KEY_PAIRS:
            if s in sc and d in sc[s]:
                c = sc[s][d]
                per = ", ".join(f"{k} {_fmt(v['auroc'])} ({v['n']})" for k, v in c["per_kind"].items())
                L.append(f"  {s} vs {d}: {_fmt(c['auroc'])} (dev {_fmt(c['dev'])}, held-out {_fmt(c['heldout'])}); {per}")
    if res.get("complexity"):
        L += ["", f"score_complexity Spearman vs instruction+input length (clean): "
                  f"{_fmt(res['complexity']['spearman_vs_prompt_length'])}"]
    fl = res["filters"]
    defects = sorted({d for r in fl["rules"].values() for d in r["caught"]})
    L += ["", "filters: clean dropped (all, worst kind) and share of each defect caught",
          f"{'rule':26s} {'clean':>6s} {'worst kind':>26s} " + " ".join(f"{d[:9]:>9s}" for d in defects)]
    items = list(fl["rules"].items()) + [("= rule_filter (all)", fl["rule_filter"])]
    if "langid" in fl and "caught" in fl["langid"]:
        items.append(("langid", fl["langid"]))
    for name, r in items:
        w = r["worst_kind"]
        worst = f"{w.get('kind')} {w.get('dropped', 0):.3f}/{w.get('n', 0)}" if w.get("kind") else ""
        L.append(f"{name:26s} {r['clean_dropped']:6.3f} {worst:>26s} " +
                 " ".join(f"{_fmt(r['caught'][d]['all']):>9s}" for d in defects))
    for name, r in items:
        bad = {k: v for k, v in r["clean_by_kind"].items() if v["dropped"] and v["dropped"] > 0.02}
        bad_src = {k: v for k, v in r["clean_by_source"].items() if v["dropped"] and v["dropped"] > 0.02}
        if bad or bad_src:
            L.append(f"  {name} drops > 2% of clean: " + ", ".join(
                f"{k} {v['dropped']:.3f} (n={v['n']})" for k, v in {**bad, **{f'source {k}': v for k, v in bad_src.items()}}.items()))
    rs = res.get("filters_resampled") or {}
    if rs:
        L += ["", f"rule_filter (all) on cut / shuffled answers planted afresh {rs['draws']} times"]
        for lab in RESAMPLED:
            c = rs[lab]
            per = ", ".join(f"{k} {v['caught']:.2f} ({v['n']})" for k, v in c["by_kind"].items())
            L.append(f"  {lab}: caught {_fmt(c['caught'])} of {c['n']} (dev {_fmt(c['dev'])}, "
                     f"held-out {_fmt(c['heldout'])}); {per}")
    if res.get("dedup"):
        L += ["", "dedup (defaults): precision / recall of removed rows against planted near-copies"]
        for name, r in res["dedup"].items():
            L.append(f"  {name} fields={r['fields']}: removed {r['removed']}, precision {_fmt(r['precision'])}, "
                     f"recall {_fmt(r['recall'])}, clean removed {r['clean_removed']} "
                     f"(distinct questions sharing a passage: {r['distinct_questions_removed_sharing_passage']}), "
                     f"other planted copies removed {r['other_planted_copies_removed']}")
    tc = res.get("task_classifier") or {}
    if "accuracy" in tc:
        L += ["", f"task classifier: accuracy {tc['accuracy']:.3f} on {tc['n']} held-out hand-labelled rows "
                  f"(dev half {tc.get('dev_accuracy', 0):.3f} on {tc.get('dev_n', 0)})"]
        if tc.get("converted"):
            L.append("  on converted rows as if imported without a task: " + ", ".join(
                f"{k} {v['accuracy']:.2f} (mostly {v['most_common']})" for k, v in tc["converted"].items()))
    L.append(f"\n({res['seconds']} s)")
    return "\n".join(L)


def add_args(p) -> None:
    p.add_argument("--json", help="write the full result as JSON to this path")
    p.add_argument("--sample-dir", default="sample_data")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scores", nargs="*", help="only these score_* operators (default: all)")
    p.add_argument("--no-langid", action="store_true", help="skip langid (needs the fastText LID model)")
    p.add_argument("--embedding", help="run-wide embedding model of the embedding scores: static, minilm "
                                       "or a path (default: each operator's own, MiniLM)")
    p.add_argument("--cache", help="folder for the embedding cache; a second run with the same model "
                                   "reuses it (default: none)")


def run_cli(args) -> int:
    from pathlib import Path

    from dataforge.evaluation.quality_set import build_quality_set
    df = build_quality_set(Path(args.sample_dir), seed=args.seed)
    res = evaluate(df, scores=args.scores, langid=not args.no_langid, embedding=args.embedding,
                   cache=Path(args.cache) if args.cache else None)
    print(render(res))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description="Measure dataforge's quality judgments on the labelled set")
    add_args(p)
    return run_cli(p.parse_args(argv))
