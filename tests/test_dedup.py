"""Dedup on planted duplicates: exact (case/punctuation variants), near (edited copies of
real Alpaca rows), semantic (paraphrases); union-find and MinHash against references."""
from __future__ import annotations

import json
import random

import numpy as np
import polars as pl
import pytest

from dataforge.clean import minhash as M
from dataforge.clean.unionfind import components
from dataforge.errors import ConfigError
from dataforge.ops.dedup_exact import DedupExact
from dataforge.ops.dedup_near import DedupNear
from dataforge.ops.dedup_semantic import DedupSemantic
from dataforge.pipeline import Pipeline


def frame(rows):
    return pl.DataFrame([{"id": r[0], "instruction": r[1], "input": "", "output": r[2]} for r in rows])


def rejected(out: pl.DataFrame) -> dict[str, dict]:
    rej = out.filter(pl.col("_reject").is_not_null())
    return {i: json.loads(d) | {"reason": r} for i, r, d in rej.select("id", "_reject", "_reject_detail").iter_rows()}


# -- helpers ---------------------------------------------------------------------------

def test_components_match_naive_union_find():
    rng = np.random.default_rng(0)
    n = 300
    a, b = rng.integers(0, n, 200), rng.integers(0, n, 200)
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for x, y in zip(a, b):
        rx, ry = find(x), find(y)
        parent[max(rx, ry)] = min(rx, ry)
    naive = np.array([find(i) for i in range(n)])
    labels = components(n, a, b)
    assert np.array_equal(labels, naive)  # both label by the smallest member


def test_signatures_equal_datasketch_minhash():
    from datasketch import MinHash

    texts = pl.Series(["the quick brown fox jumps over the lazy dog again", "tiny", "", "a b c d e f g"])
    sh = M.shingle_hashes(texts, 5)
    sig, has = M.signatures(sh, 64, seed=7)
    assert has.tolist() == [True, True, False, True]
    for d in (0, 1, 3):
        m = MinHash(num_perm=64, seed=7, hashfunc=lambda x: x)
        for h in sh.hash[sh.doc == d]:
            m.update(int(h))
        assert np.array_equal(m.hashvalues, sig[d])


def test_threads_and_chunks_do_not_change_signatures_or_clusters():
    # permutations split over threads, and chunks of documents hashed side by side, give the
    # same signatures and clusters as one thread over one chunk
    rng = np.random.default_rng(3)
    words = np.array([f"w{i}" for i in range(3000)])
    base = [" ".join(rng.choice(words, 60)) for _ in range(400)]
    texts = pl.Series(base + [t.replace(t.split()[5], "edited", 1) for t in base[:50]])
    sh = M.shingle_hashes(texts, 5)
    assert sh.hash.size >= 100_000 // 4  # (threads split the work from 100k shingles on)
    one, has1 = M.signatures(sh, 32, seed=3, threads=1)
    big = M.Shingles(np.repeat(sh.doc, 4), np.repeat(sh.hash, 4), sh.n_docs)  # over the threshold
    many, has4 = M.signatures(big, 32, seed=3, threads=4)
    assert np.array_equal(one, many) and np.array_equal(has1, has4)
    from dataforge.ops.dedup_near import near_clusters

    whole, _ = near_clusters(texts, chunk_docs=50_000)
    small, _ = near_clusters(texts, chunk_docs=7)
    assert np.array_equal(whole, small) and (whole >= 0).sum() == 100


def test_band_choice_matches_datasketch():
    from datasketch.lsh import _optimal_param

    for t in (0.5, 0.8, 0.9):
        assert M.optimal_bands(t, 128) == _optimal_param(t, 128, 0.5, 0.5)


# -- exact -----------------------------------------------------------------------------

def test_exact_dedup_normalises_and_names_kept_row():
    df = frame([("a", "Say hi", "Hello, World!"), ("b", "say  HI", "hello world"),
                ("c", "Other", "text"), ("d", "ＳＡＹ hi!", "HELLO   world.")])
    op = DedupExact()
    out = op.run(df.lazy())
    assert out["id"].to_list() == ["a", "b", "c", "d"]
    rej = rejected(out)
    assert set(rej) == {"b", "d"}
    assert {r["kept_id"] for r in rej.values()} == {"a"}
    assert rej["b"]["cluster_id"] == rej["d"]["cluster_id"]
    assert rej["b"]["reason"].startswith("duplicate_exact: duplicate of a")
    assert op.report_metrics()["cluster_size_histogram"] == {"3": 1}
    assert rejected(DedupExact(normalise=False).run(df.lazy())) == {}


def test_exact_keep_rules():
    df = frame([("a", "q", "short"), ("b", "Q", "short!"), ("c", "q.", "short")])
    longest = rejected(DedupExact(keep="longest", fields=["instruction"]).run(df.lazy()))
    assert set(longest) == {"a", "c"} and longest["a"]["kept_id"] == "b"
    scored = df.with_columns(pl.Series("score_x", [0.1, 0.2, 0.9]))
    best = rejected(DedupExact(keep="score", keep_score="score_x", fields=["instruction"]).run(scored.lazy()))
    assert set(best) == {"a", "b"}
    with pytest.raises(ConfigError):
        DedupExact(keep="score").run(df.lazy())


# -- near ------------------------------------------------------------------------------

def edit(text: str, rng: random.Random, rate: float) -> str:
    words = text.split()
    for _ in range(max(1, int(len(words) * rate))):
        i = rng.randrange(len(words))
        words[i] = words[i].upper() if rng.random() < 0.5 else words[i] + "s"
    return " ".join(words)


@pytest.fixture(scope="module")
def alpaca():
    from pathlib import Path

    df = pl.read_ndjson(Path(__file__).resolve().parents[1] / "sample_data" / "alpaca.jsonl")
    return df.with_row_index("id").with_columns(pl.col("id").cast(pl.Utf8))


def test_near_dedup_finds_edited_copies_of_real_rows(alpaca):
    rng = random.Random(0)
    long_rows = alpaca.filter(pl.col("output").str.count_matches(r"\S+") > 150).head(25)
    copies = long_rows.with_columns(
        (pl.col("id") + "_copy").alias("id"),
        pl.col("output").map_elements(lambda t: edit(t, rng, 0.01), return_dtype=pl.Utf8))
    df = pl.concat([alpaca, copies])
    op = DedupNear()
    rej = rejected(op.run(df.lazy()))
    assert set(rej) == set(copies["id"])  # every copy found, no original lost
    assert all(r["kept_id"] + "_copy" == i for i, r in rej.items())
    m = op.report_metrics()
    assert m["duplicate_clusters"] == 25 and m["cluster_size_histogram"] == {"2": 25}


def test_near_dedup_threshold_separates_light_and_heavy_edits(alpaca):
    rng = random.Random(1)
    base = alpaca.filter(pl.col("output").str.count_matches(r"\S+") > 150).head(10)
    heavy = base.with_columns((pl.col("id") + "_heavy").alias("id"),
                              pl.col("output").map_elements(lambda t: edit(t, rng, 0.3), return_dtype=pl.Utf8))
    out = DedupNear(fields=["output"], threshold=0.8).run(pl.concat([base, heavy]).lazy())
    assert rejected(out) == {}  # 30% of words edited: Jaccard far below 0.8


def test_near_dedup_keep_longest_and_params():
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho"
    df = frame([("a", "x", a), ("b", "x", a + " sigma"), ("c", "x", "completely different words here for once")])
    rej = rejected(DedupNear(fields=["output"], keep="longest", threshold=0.7).run(df.lazy()))
    assert set(rej) == {"a"} and rej["a"]["kept_id"] == "b"
    with pytest.raises(ConfigError):
        DedupNear(bands=4)
    with pytest.raises(ConfigError):
        DedupNear(bands=20, rows=10)


# -- pipeline: rejects, metrics, accounting ---------------------------------------------

def test_dedup_in_pipeline_balances_and_reports(tmp_path, alpaca):
    base = alpaca.head(200).select("instruction", "input", "output")
    dups = base.head(10).with_columns(pl.col("output").str.to_uppercase())
    res = Pipeline([DedupExact(), DedupNear()]).run(pl.concat([base, dups]), out=tmp_path / "o")
    m = res.manifest
    assert m["totals"]["balanced"] and m["totals"]["rows_out"] == 200
    rej = pl.read_parquet(tmp_path / "o" / "rejects" / "*.parquet")
    assert rej.height == 10 and set(rej["operator"]) == {"dedup_exact"}
    assert all(json.loads(d)["kept_id"] for d in rej["detail"])
    assert m["metrics"]["dedup_exact"]["rows_removed"] == 10
    assert m["metrics"]["dedup_near"]["duplicate_clusters"] == 0


# -- semantic ---------------------------------------------------------------------------

@pytest.mark.slow
def test_semantic_dedup_finds_paraphrases(tmp_path):
    bread = "Mix flour, water, yeast and salt, knead for ten minutes, let it rise for an hour and bake it at 230 C."
    tips = "Sleep seven to nine hours, walk or exercise most days, and eat plenty of vegetables, fruit and whole grains."
    df = frame([
        ("a", "How do I bake bread at home?", bread),
        ("b", "What is the way to bake bread at home?", bread.replace("an hour", "about an hour")),
        ("c", "Give three tips for staying healthy.", tips),
        ("d", "Provide three tips to stay healthy.", "Get enough sleep every night, stay active during the week, "
                                                    "and keep a balanced diet with vegetables."),
        ("e", "Name the capital of France.", "Paris."),
        ("f", "Name the capital of Germany.", "Berlin."),
        ("g", "Write a poem about the sea.", "The sea rolls in and rolls away, grey at dawn and blue by day."),
    ])
    op = DedupSemantic(threshold=0.95, partition_size=3)
    op.ctx.out = tmp_path
    rej = rejected(op.run(df.lazy()))
    assert set(rej) == {"b", "d"}
    assert rej["b"]["kept_id"] == "a" and rej["d"]["kept_id"] == "c"
    assert rej["b"]["reason"].startswith("duplicate_semantic: duplicate of a")
    assert op.report_metrics()["partitions"] == 3
    assert list((tmp_path / "cache" / "embeddings").glob("emb-*.parquet"))  # embeddings cached


def test_lsh_pairs_equal_pairs_from_key_matrix():
    rng = np.random.default_rng(3)
    sig = rng.integers(0, 4, (300, 12), dtype=np.uint32)  # tiny alphabet: many shared bands
    docs = np.flatnonzero(rng.random(300) < 0.8)
    a1, b1 = M.lsh_pairs(sig, docs, 4, 3, max_group=5)
    a2, b2 = M.candidate_pairs(M.band_keys(sig[docs], 4, 3), docs, max_group=5)
    assert a1.size and np.array_equal(a1, a2) and np.array_equal(b1, b2)
    assert (a1 < b1).all() and np.isin(a1, docs).all() and np.isin(b1, docs).all()


def test_dedup_near_keys_converted_rows_on_answer_not_shared_passage():
    from dataforge.ops.dedup_near import DedupNear
    passage = ("The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, "
               "a region in France. They were descended from Norse raiders and pirates from Denmark, Iceland "
               "and Norway who, under their leader Rollo, agreed to swear fealty to King Charles III of West Francia. "
               "Through generations of assimilation and mixing with the native Frankish and Roman-Gaulish "
               "populations, their descendants would gradually merge with the Carolingian-based cultures of "
               "West Francia. The distinct cultural and ethnic identity of the Normans emerged initially in the "
               "first half of the 10th century, and it continued to evolve over the succeeding centuries.")
    qa = [("In what country is Normandy located?", "France"), ("When were the Normans in Normandy?", "10th and 11th centuries"),
          ("From which countries did the Norse originate?", "Denmark, Iceland and Norway"), ("Who was the Norse leader?", "Rollo")]
    rows = [{"id": f"q{i}", "instruction": f"Answer the question using the passage. {q}", "input": passage, "output": a,
             "task": "extractive_qa"} for i, (q, a) in enumerate(qa)]
    # a near copy of the first row (one word dropped from the passage) is still a duplicate
    rows.append({**rows[0], "id": "copy", "input": passage.replace(" a region", " region")})
    out = DedupNear().run(pl.DataFrame(rows).lazy())
    rejected = out.filter(pl.col("_reject").is_not_null())["id"].to_list()
    assert rejected == ["copy"]
    # switched off, the shared passage makes every question a "duplicate"
    off = DedupNear(distinct_by_task={}).run(pl.DataFrame(rows).lazy())
    assert off["_reject"].is_not_null().sum() >= 3


def test_questions_about_one_context_are_not_duplicates_but_a_repeated_question_is():
    # Dolly-style closed QA and extraction: several questions about one context (imported, with
    # the task from the dataset or classify_task); the shared context must not make them copies
    context = ("The Golden Gate Bridge is a suspension bridge spanning the Golden Gate, the one-mile-wide strait "
               "connecting San Francisco Bay and the Pacific Ocean. The structure links the city of San Francisco "
               "to Marin County, carrying both U.S. Route 101 and California State Route 1 across the strait. It "
               "was initially designed by engineer Joseph Strauss in 1917 and opened in 1937 after four years of "
               "construction. It is one of the most recognized symbols of San Francisco and California.")
    qa = [("When did the Golden Gate Bridge open?", "1937."), ("Who initially designed the bridge?", "Joseph Strauss."),
          ("Which two highways does the bridge carry?", "U.S. Route 101 and California State Route 1."),
          ("When did the Golden Gate Bridge open?", "In 1937.")]  # the first question again
    for task in ("closed_qa", "extraction"):
        rows = [{"id": f"q{i}", "instruction": q, "input": context, "output": a, "task": task}
                for i, (q, a) in enumerate(qa)]
        out = DedupNear().run(pl.DataFrame(rows).lazy())
        assert out.filter(pl.col("_reject").is_not_null())["id"].to_list() == ["q3"], task
    # semantic dedup splits its clusters the same way (the static model: every pair is alike)
    op = DedupSemantic(model="static", threshold=0.9)
    out = op.run(pl.DataFrame(rows).lazy())
    assert out.filter(pl.col("_reject").is_not_null())["id"].to_list() == ["q3"]
    assert DedupSemantic(model="static", threshold=0.9, distinct_by_task={}).run(
        pl.DataFrame(rows).lazy())["_reject"].is_not_null().sum() >= 2


def test_dedup_semantic_keeps_requests_that_differ_in_their_numbers():
    # "Convert 10 miles" was a duplicate of "Convert 5 miles" for the static model (a bag of
    # words without the digits); a paraphrase with the same numbers still is one
    rows = pl.DataFrame({"id": list("abcd"), "input": [""] * 4, "task": [None] * 4,
                         "instruction": ["Convert 5 miles to kilometers.", "Convert 10 miles to kilometers.",
                                         "Convert 5 miles into kilometers.", "Name the largest planet."],
                         "output": ["About 8.05 km.", "About 16.09 km.", "About 8.05 km.", "Jupiter."]})
    r = DedupSemantic(model="static", threshold=0.9).run(rows.lazy())["_reject"].to_list()
    assert r[0] is None and r[1] is None and r[3] is None and r[2].startswith("duplicate_semantic")
    off = DedupSemantic(model="static", threshold=0.9, distinct_numbers=False, distinct_by_task={})
    assert off.run(rows.lazy())["_reject"][1] is not None


def test_dedup_keeps_alike_prompts_whose_short_answers_differ_without_a_task():
    # no `task` column: a review whose reordered words flip its label, an NLI row with another
    # hypothesis, a list in another order (the same answer)
    rows = pl.DataFrame({"id": list("abcdef"), "input": [""] * 6,
                         "instruction": ["Classify the sentiment: The food was good but the service was bad.",
                                         "Classify the sentiment: The service was bad but the food was good.",
                                         "Premise: Two kids build a sandcastle. Hypothesis: Children are outdoors.",
                                         "Premise: Two kids build a sandcastle. Hypothesis: Children are siblings.",
                                         "Name three fruits that are red when ripe.",
                                         "Name three fruits that are red when they are ripe."],
                         "output": ["Negative", "Positive", "entailment", "neutral",
                                    "Strawberries, cherries and raspberries.", "Cherries, raspberries and strawberries."]})
    for op in (DedupSemantic(model="minilm", threshold=0.9), DedupNear(threshold=0.5)):
        r = op.run(rows.lazy())["_reject"].to_list()
        assert r[:5] == [None] * 5, (op.name, r)
    assert DedupSemantic(model="minilm", threshold=0.9).run(rows.lazy())["_reject"][5] is not None
    # rows of no listed task are split by their short answers; `distinct_by_task: {}` turns it off
    off = DedupSemantic(model="minilm", threshold=0.9, distinct_by_task={}).run(rows.lazy())["_reject"].to_list()
    assert off[1] is not None


def test_exact_jaccard_matches_python_sets_in_any_block_size():
    # the vectorised exact Jaccard against sets, with pairs of a document with itself, empty
    # documents and blocks down to one pair
    import numpy as np

    from dataforge.clean import minhash as M

    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(6)]
    texts = pl.Series([" ".join(rng.choice(words, rng.integers(0, 25))) for _ in range(400)])
    sh = M.shingle_hashes(texts, 2)
    a, b = rng.integers(0, 400, 3000), rng.integers(0, 400, 3000)
    a[:10] = b[:10]
    sets: dict[int, set] = {}
    for d, h in zip(sh.doc.tolist(), sh.hash.tolist()):
        sets.setdefault(d, set()).add(h)
    want = np.array([len(sets.get(i, set()) & sets.get(j, set())) / max(1, len(sets.get(i, set()) | sets.get(j, set())))
                     for i, j in zip(a.tolist(), b.tolist())], dtype=np.float32)
    assert (want > 0.1).mean() > 0.2 and (want == 1).sum() >= 10
    for block in (1 << 23, 64, 1):
        assert np.allclose(M.exact_jaccard(sh, a, b, block=block), want)


def _pair_counts(op) -> tuple[int, int]:
    """(different pairs merged, duplicate pairs merged) on benchmarks/quality_data/dedup_pairs.jsonl."""
    from pathlib import Path
    path = Path(__file__).parents[1] / "benchmarks" / "quality_data" / "dedup_pairs.jsonl"
    pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [{"id": f"{i}{s}", "instruction": p[s]["instruction"], "input": p[s]["input"],
             "output": p[s]["output"], "task": None} for i, p in enumerate(pairs) for s in "ab"]
    out = op.run(pl.DataFrame(rows).lazy())
    gone = {i for i, r in zip(out["id"], out["_reject"]) if r is not None}
    merged = [f"{i}a" in gone or f"{i}b" in gone for i in range(len(pairs))]
    return (sum(m for m, p in zip(merged, pairs) if not p["same"]), sum(m for m, p in zip(merged, pairs) if p["same"]))


@pytest.mark.parametrize("make, wrong, right", [(lambda: DedupNear(), 1, 23),
                                                (lambda: DedupSemantic(model="static"), 3, 25)])
def test_look_alike_pairs_written_blind(make, wrong, right):
    # 49 pairs of different good rows, 31 pairs of duplicates (docs/quality.md, tenth round)
    w, r = _pair_counts(make())
    assert w <= wrong and r >= right, (w, r)


@pytest.mark.slow
def test_look_alike_pairs_with_minilm():
    w, r = _pair_counts(DedupSemantic(model="minilm"))
    assert w <= 1 and r >= 30, (w, r)


def test_semantic_dedup_leaves_other_scripts_to_exact_and_near_with_an_english_model(tmp_path):
    # unrelated Chinese questions are a few unknown tokens to MiniLM and the static model: they
    # all looked alike; they are not compared, and the metrics count them
    qs = ["泰国的首都是哪里？", "天空为什么是蓝色的？", "如何学习弹钢琴？", "水的沸点是多少度？",
          "What is the capital of France?", "What's the capital city of France?"]
    df = pl.DataFrame({"id": [f"q{i}" for i in range(len(qs))], "instruction": qs, "input": [""] * len(qs),
                       "output": [f"Answer {i}." for i in range(len(qs))]})
    from dataforge import op
    from dataforge.ops.base import RunContext

    o = op("dedup_semantic", model="static", threshold=0.9).bind(RunContext(out=tmp_path))
    out = o.process(df)
    assert out.filter(pl.col("_reject").is_not_null())["id"].to_list() in ([], ["q5"])
    assert set(out.filter(pl.col("_reject").is_null())["id"]) >= {"q0", "q1", "q2", "q3"}
    assert o.report_metrics()["rows_not_compared_script"] == 4
    # ... compared anyway on request
    o2 = op("dedup_semantic", model="static", threshold=0.9, scripts="all").bind(RunContext(out=tmp_path))
    assert o2.process(df).height == len(qs) and o2.report_metrics()["rows_not_compared_script"] == 0


def test_raw_copies_are_dropped_before_convert_in_the_pipeline_and_a_global_op_in_a_source_is_an_error(tmp_path):
    # a new user put dedup_exact in a source's ops (before its convert): it ran per batch and
    # found nothing at batch_size 100; in the pipeline before convert it crashed where copies
    # shared a content id in two clusters
    import json

    from dataforge import Pipeline, Source, op
    from dataforge.errors import ConfigError

    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    rows = [json.loads(x) for x in (root / "sample_data" / "rt_polarity.jsonl").read_text().splitlines()[:30]]
    (tmp_path / "rt.jsonl").write_text("\n".join(json.dumps(r) for r in rows + [rows[3], rows[5]]) + "\n")
    with pytest.raises(ConfigError, match="global operator"):
        Source(name="rt", path=str(tmp_path / "rt.jsonl"), ops=[op("dedup_exact", fields=["text"])])
    res = Pipeline([op("dedup_exact", fields=["text"]), op("convert", family="sentiment")], batch_size=10).run(
        Source(name="rt", path=str(tmp_path / "rt.jsonl")), tmp_path / "out")
    t = res.manifest["totals"]
    assert (t["rows_out"], t["rows_rejected"]) == (30, 2) and t["balanced"]
