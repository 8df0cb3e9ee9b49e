"""The ROUGE-L novelty index answers exactly like the naive quadratic loop."""
import json
import random

import pytest

from dataforge.generate.rouge import NoveltyIndex, lcs_len, rouge_l, tokenize


def test_rouge_l_matches_definition():
    a, b = tokenize("The cat sat on the mat!"), tokenize("the cat is on a mat")
    assert a == ["the", "cat", "sat", "on", "the", "mat"]
    assert lcs_len(a, b) == 4  # the cat on mat
    assert abs(rouge_l(a, b) - 2 * 4 / (6 + 6)) < 1e-12
    assert rouge_l([], b) == 0.0


def _naive(texts, thr):
    kept, out = [], []
    for t in texts:
        tok = tokenize(t)
        ok = all(rouge_l(tok, k) <= thr for k in kept)
        if ok:
            kept.append(tok)
        out.append(ok)
    return out


def test_index_equals_naive_loop(sample_dir):
    rows = [json.loads(line)["instruction"] for line in open(sample_dir / "alpaca.jsonl")][:250]
    rng = random.Random(0)
    near = []
    for t in rows[:100]:  # near-duplicates: one word replaced, one dropped, or order changed
        w = t.split()
        if len(w) > 4:
            w[rng.randrange(len(w))] = "zebra"
            if rng.random() < 0.5:
                del w[rng.randrange(len(w))]
        near.append(" ".join(w))
    texts = rows + near
    rng.shuffle(texts)
    for thr in (0.7, 0.5):
        idx = NoveltyIndex(thr)
        got = [idx.add_if_novel(t)[0] for t in texts]
        assert got == _naive(texts, thr)
        assert sum(not g for g in got) >= 50  # the near-duplicates were caught
        assert idx.lcs_computed < len(texts) * 5  # pruning: far fewer than n² exact checks


def test_scores_above_threshold_are_exact():
    idx = NoveltyIndex(0.7)
    idx.add("Write a short poem about the sea at night")
    score, i = idx.max_similarity("Write a short poem about the sea at dawn")
    assert i == 0 and abs(score - rouge_l(tokenize("Write a short poem about the sea at night"),
                                          tokenize("Write a short poem about the sea at dawn"))) < 1e-12
    assert idx.is_novel("Explain how vaccines train the immune system")


def test_index_equals_naive_loop_with_repeated_words():
    # few distinct words, many repeats: the vectorised multiset-overlap bound must stay exact
    rng = random.Random(1)
    vocab = [f"w{i}" for i in range(12)] + [f"rare{i}" for i in range(1500)]
    texts = [" ".join(rng.choice(vocab[:12]) if rng.random() < 0.8 else rng.choice(vocab)
                      for _ in range(rng.randint(1, 14))) for _ in range(500)]
    for thr in (0.7, 0.4):
        idx = NoveltyIndex(thr)
        got = [idx.add_if_novel(t)[0] for t in texts]
        assert got == _naive(texts, thr)
        assert 0 < sum(got) < len(texts)


def _pairs_corpus(sample_dir):
    texts = [json.loads(line)["instruction"] for line in open(sample_dir / "alpaca.jsonl")]
    texts += [json.loads(line)["instruction"] for line in open(sample_dir / "seed_tasks.jsonl")]
    return [t for t in texts if t.strip()]


def test_rouge_l_equals_rouge_score_package(sample_dir):
    """Our ROUGE-L F1 equals `rouge_score`'s rougeL (no stemming, as Self-Instruct uses it)
    on 1,200 random pairs, including near-duplicates, punctuation and digits."""
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    texts = _pairs_corpus(sample_dir)
    rng = random.Random(7)
    pairs = []
    for _ in range(1200):
        a = rng.choice(texts)
        if rng.random() < 0.3:  # a near-duplicate: one word replaced
            w = a.split()
            w[rng.randrange(len(w))] = rng.choice(["zebra", "Zebra!", "42", "the"])
            b = " ".join(w)
        else:
            b = rng.choice(texts)
        pairs.append((a, b))
    high = 0
    for a, b in pairs:
        want = scorer.score(a, b)["rougeL"].fmeasure
        got = rouge_l(tokenize(a), tokenize(b))
        assert abs(got - want) <= 1e-9, (a, b, got, want)
        assert tokenize(a) == rouge_tokenize(a)
        high += want > 0.5
    assert high > 200  # the pairs exercise scores near the threshold, not only zeros


def rouge_tokenize(text):
    from rouge_score import tokenize as rt

    return rt.tokenize(text, None)


def test_add_if_novel_reports_the_true_maximum(sample_dir):
    """A kept instruction's score is the exact max ROUGE-L against the pool (pruned pairs
    used to come back as 0.0; e.g. a pair at 0.625 under a 0.7 threshold)."""
    idx = NoveltyIndex(0.7)
    idx.add("Write a short story about a brave little dog")
    ok, score = idx.add_if_novel("Write a story about a dog who is brave")
    want = rouge_l(tokenize("Write a short story about a brave little dog"),
                   tokenize("Write a story about a dog who is brave"))
    assert ok and 0 < want <= 0.7 and abs(score - want) < 1e-12

    texts = _pairs_corpus(sample_dir)[:400]
    rng = random.Random(3)
    rng.shuffle(texts)
    idx, pool = NoveltyIndex(0.7), []
    nonzero = 0
    for t in texts:
        ok, score = idx.add_if_novel(t)
        true_max = max((rouge_l(tokenize(t), p) for p in pool), default=0.0)
        if ok:
            assert abs(score - true_max) < 1e-12, t
            nonzero += score > 0
            pool.append(tokenize(t))
        else:
            assert score > 0.7 and score <= true_max + 1e-12
    assert nonzero > len(pool) // 2


def test_bit_parallel_lcs_equals_the_table():
    from dataforge.generate.rouge import _lcs_table

    rng = random.Random(5)
    for _ in range(2000):
        a = [rng.choice("abcdef") for _ in range(rng.randrange(0, 40))]
        b = [rng.choice("abcdefg") for _ in range(rng.randrange(0, 70))]
        assert lcs_len(a, b) == _lcs_table(a, b) == lcs_len(b, a)
