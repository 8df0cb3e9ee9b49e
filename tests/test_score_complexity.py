"""score_complexity measures what the request demands, not how long the prompt is."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from dataforge import op
from dataforge.ops.base import RunContext

PASSAGE = " ".join(["The committee met on Tuesday and discussed the budget for the coming year."] * 12)
FEWSHOT = ("Here are some solved examples of the task.\n\n" + "\n\n".join(
    f"Premise: {PASSAGE[:200]}\nHypothesis: The committee met.\nAnswer: entailment" for _ in range(3))
    + "\n\nNow solve this one.\nDoes the premise entail the hypothesis?")


def spearman(a, b) -> float:
    ra, rb = pl.Series(a).rank().to_numpy(), pl.Series(b).rank().to_numpy()
    return float(np.corrcoef(ra, rb)[0, 1])


def complexity(rows) -> list[float]:
    df = pl.DataFrame({"id": [str(i) for i in range(len(rows))], "instruction": [r[0] for r in rows],
                       "input": [r[1] for r in rows], "task": [r[2] for r in rows], "meta": ["{}"] * len(rows)})
    o = op("score_complexity").bind(RunContext())
    o.ensure_setup()
    return o.process(df)["score_complexity"].to_list()


def test_requested_length_and_constraints_count_prompt_length_does_not():
    story, fewshot, passage_q, long_passage_q = complexity([
        ("Write an 1850-word horror story.", "", "creative_writing"),
        (FEWSHOT, "", "nli"),
        ("What did the committee discuss?", PASSAGE, "extractive_qa"),
        ("What did the committee discuss?", " ".join([PASSAGE] * 3), "extractive_qa"),
    ])
    assert story > fewshot and story > passage_q
    # the passage is context: its share of rare words counts (input_lexical), its length never
    assert passage_q == long_passage_q


def test_a_dense_input_is_harder_to_work_on_than_a_plain_one_of_the_same_length():
    dense, plain = complexity([
        ("Summarize the following in one plain-English sentence.",
         "Notwithstanding any provision herein, the indemnifying party shall hold harmless the indemnitee "
         "against liabilities arising from gross negligence, subject to the limitations in Schedule B.", "summarization"),
        ("Summarize the following in one plain-English sentence.",
         "We need milk, eggs and bread from the shop, and some apples for the kids, and we should get "
         "the big box of tea that we like and some rice for dinner.", "summarization"),
    ])
    assert dense > plain


def test_demands_add_up():
    plain, demanding = complexity([
        ("Write a story about a cat.", "", "creative_writing"),
        ("Write a 500-word story about a cat in the style of Poe; it must rhyme, avoid dialogue, "
         "and end with a twist. Explain your choices step by step.", "", "creative_writing"),
    ])
    assert demanding > plain + 0.3


def test_not_a_proxy_for_prompt_length():
    rows = [(f"Classify the topic of this article.", PASSAGE[: 40 * k], "topic") for k in range(1, 8)] + [
        ("Write a haiku about rain.", "", "creative_writing"),
        ("Prove that the square root of 2 is irrational, step by step.", "", "math"),
        ("Design a database schema for a library, as SQL, with at least 5 tables.", "", "code"),
        ("Summarize the text.", PASSAGE, "summarization"),
        (FEWSHOT, "", "nli"),
    ]
    scores = complexity(rows)
    lengths = [len(r[0]) + len(r[1]) for r in rows]
    assert spearman(scores, lengths) < 0.5


def test_a_short_hard_request_outranks_a_long_easy_one():
    # hard: a proof, a system design, a computability question, a derivation; easy: lists,
    # copying, greetings, however many words they take to ask (tasks as classify_task gives them)
    hard = complexity([("Prove that there are infinitely many prime numbers.", "", "math"),
                       ("Design a distributed rate limiter for an API gateway that handles 1M requests per "
                        "second across regions.", "", "open_qa"),
                       ("Explain why the halting problem is undecidable.", "", "open_qa"),
                       ("Derive the formula for the sum of a geometric series.", "", "math")])
    easy = complexity([("Write a list of 40 common fruits.", "", "brainstorming"),
                       ("Please write out the days of the week and the months of the year, each on its own line, "
                        "so that I can print them for my kitchen calendar that I am making this weekend with my "
                        "children.", "", "open_qa"),
                       ("Copy this sentence three times: I like blue cars and red bikes very much indeed.", "", "open_qa"),
                       ("Say hello in a friendly way to someone you have just met at a party, making sure that it "
                        "sounds warm, welcoming and casual, as if you were a nice person.", "", "open_qa")])
    assert min(hard) > max(easy), (hard, easy)


def test_short_expert_requests_outrank_long_plain_ones_written_blind():
    # benchmarks/quality_data/complexity_pairs.jsonl: 51 pairs written without reading the
    # scorer, 41 with the harder request the shorter. Before the lexical term (the share of the
    # request's words beyond the 2,000 most frequent) 11 of those 41 were ordered rightly; 28 after
    import json
    from pathlib import Path
    pairs = [json.loads(line) for line in
             (Path(__file__).parents[1] / "benchmarks" / "quality_data" / "complexity_pairs.jsonl").read_text().splitlines()]
    rows = [(p[s]["instruction"], p[s]["input"], None) for p in pairs for s in ("hard", "easy")]
    s = complexity(rows)
    right = [s[2 * i] > s[2 * i + 1] for i in range(len(pairs))]
    shorter = [r for r, p in zip(right, pairs) if not p.get("hard_is_longer")]
    assert sum(shorter) >= 26 and sum(right) >= 32, (sum(shorter), sum(right))


def test_a_second_blind_pair_set_with_classify_task_first():
    # benchmarks/quality_data/complexity_pairs_2.jsonl: 60 pairs written blind to the first set
    # and the scorer, 48 with the easy request the longer, 12 with the difficulty in the input,
    # 12 in other languages. Before this round (with `classify_task` first, as the docs say)
    # 25 were ordered rightly (11 ties); after the classifier's math and data-structure cues, the
    # easy-request term and the input's rare-word share, 39 (3 ties)
    import json
    from pathlib import Path

    pairs = [json.loads(line) for line in
             (Path(__file__).parents[1] / "benchmarks" / "quality_data" / "complexity_pairs_2.jsonl").read_text().splitlines()]
    df = pl.DataFrame({"id": [str(i) for i in range(2 * len(pairs))],
                       "instruction": [p[s]["instruction"] for p in pairs for s in ("hard", "easy")],
                       "input": [p[s].get("input") or "" for p in pairs for s in ("hard", "easy")],
                       "output": [""] * (2 * len(pairs)), "task": [None] * (2 * len(pairs)), "meta": ["{}"] * (2 * len(pairs))},
                      schema_overrides={"task": pl.Utf8})
    cls = op("classify_task").bind(RunContext())
    cls.ensure_setup()
    o = op("score_complexity").bind(RunContext())
    o.ensure_setup()
    s = o.process(cls.process(df))["score_complexity"].to_list()
    right = sum(s[2 * i] > s[2 * i + 1] for i in range(len(pairs)))
    assert right >= 37, right


def test_lexical_sophistication_is_a_share_not_a_count():
    expert, plain, long_plain = complexity([
        ("Implement a lock-free queue in C++.", "", None),
        ("Write a short list of the days of the week.", "", None),
        ("Please write out the days of the week and the months of the year, each on its own line, so that I "
         "can print them for the kitchen calendar I am making with my children this weekend.", "", None)])
    assert expert > plain and expert > long_plain


def test_a_request_that_calls_itself_simple_is_not_made_hard_by_its_politeness():
    easy, hard = complexity([
        ("Hi! I have a really simple question for my little son's homework: how many days are in a week? "
         "I just want to double-check before I tell him.", "", "open_qa"),
        ("Why does ice float when most solids sink in their own liquid?", "", "open_qa"),
    ])
    assert hard > easy


def test_requests_in_other_scripts_get_typical_lexical_points_not_none():
    from dataforge.score import complexity as CX
    from dataforge.score.rules import load_yaml

    c = load_yaml(CX.COMPLEXITY)
    df = pl.DataFrame({"instruction": ["为什么量子纠缠不能用来超光速传递信息？", "What is the day after Monday?"],
                       "input": ["", ""], "task": [None, None], "meta": ["{}", "{}"]},
                      schema_overrides={"task": pl.Utf8})
    lex = df.select(CX.points(c)["lexical"]).to_series().to_list()
    assert lex[0] == c["lexical"]["other_language_points"] > lex[1]


def test_quoted_material_in_a_request_is_not_its_demand():
    # a topic template quotes the headline inside the instruction: a rare word there ("seize")
    # said nothing of the task (a new user's selection kept "Seven seize" over longer headlines)
    a, b = complexity([
        ('What is this headline about? "Seven seize"', "", "topic"),
        ('What is this headline about? "Mars Rovers Relay Images Through Mars Express"', "", "topic")])
    assert a == b


# benchmarks/quality_data/complexity_parallel.jsonl: 32 requests, trivial to complex, in English
# with faithful French, Spanish, German and Portuguese translations (12 also in Chinese, 7 in
# Japanese). A new user found French rows scored like expert English ones ("Écris un poème sur
# la mer." 0.59, "Implement a lock-free queue in C++." 0.58, "Write a poem about the sea." 0.36):
# every French word was beyond the 2,000 most frequent ENGLISH words. Before the fix, mean
# |score(lang) - score(en)| was 0.15-0.17 and the Spearman correlation with English 0.05-0.39;
# after, 0.056-0.063 and 0.89-0.91 (zh 0.068 / 0.87, ja 0.098 / 0.72).
# The tolerance: other languages get the lexical term's typical 1.1 points where English
# requests range 0-2.25 on this set (mean absolute deviation 0.42 points), which at the usual
# 2-3 points of a request moves its score by about 0.06 on average and up to 0.21 ("What is the
# capital of France?", no rare word, 0.14; its translations 0.35).
PARALLEL = Path(__file__).parents[1] / "benchmarks" / "quality_data" / "complexity_parallel.jsonl"


def _parallel() -> list[dict]:
    import json
    return [json.loads(line) for line in PARALLEL.read_text(encoding="utf-8").splitlines()]


def test_the_same_request_scores_about_the_same_in_french_spanish_german_portuguese():
    rows = _parallel()
    en = complexity([(r["en"], "", None) for r in rows])
    for lang in ("fr", "es", "de", "pt"):
        s = complexity([(r[lang], "", None) for r in rows])
        d = np.abs(np.array(s) - np.array(en))
        assert d.mean() <= 0.09 and d.max() <= 0.25, (lang, d.mean(), d.max())
        assert spearman(s, en) >= 0.8, (lang, spearman(s, en))


def test_the_same_request_scores_about_the_same_in_chinese_and_japanese():
    rows = _parallel()
    for lang in ("zh", "ja"):
        sub = [r for r in rows if lang in r]
        en = complexity([(r["en"], "", None) for r in sub])
        s = complexity([(r[lang], "", None) for r in sub])
        d = np.abs(np.array(s) - np.array(en))
        assert d.mean() <= 0.12 and d.max() <= 0.25, (lang, d.mean(), d.max())
        assert spearman(s, en) >= 0.6, (lang, spearman(s, en))  # (7 and 12 requests)


def test_a_french_poem_is_not_rated_like_a_lock_free_queue():
    fr_capital, en_capital, fr_poem, en_poem, queue, mixed, en_mixed = complexity([
        ("Quelle est la capitale de la France ?", "", None), ("What is the capital of France?", "", None),
        ("Écris un poème sur la mer.", "", None), ("Write a poem about the sea.", "", None),
        ("Implement a lock-free queue in C++.", "", None),
        ("Explique la fotosíntesis en dos frases.", "", None), ("Explain photosynthesis in two sentences.", "", None)])
    assert abs(fr_poem - en_poem) < 0.05 and queue > fr_poem + 0.15, (fr_poem, en_poem, queue)
    assert fr_capital < 0.4 and fr_capital < fr_poem + 0.01, fr_capital  # was 0.51
    assert mixed < en_mixed  # was 0.59 (lexical 3.0): no longer above its English twin


def test_which_requests_are_read_as_english():
    from dataforge.score import complexity as CX
    from dataforge.score.rules import load_yaml

    c = load_yaml(CX.COMPLEXITY)
    english = ["Name a colour.", "Balance: KMnO4 + HCl -> KCl + MnCl2 + Cl2 + H2O.", "Interpret this ABG.",
               "Name: Sarah Johnson Age: 18 Occupation: Waitress Location: Los Angeles",
               "Convert 3pm EST to CET.", "Solve x + y = 5 and x - y = 1.", "Build a todo app in React.",
               "Summarize Smith et al. on sans-serif fonts.", "Contrast Chevron and Skidmore deference after Loper Bright."]
    other = ["Cite une couleur.", "Quel jour vient après lundi ?", "Nenne eine Farbe.", "Diga uma cor.",
             "Saluda a mi amiga Anna de forma amable.", "Waarom is de lucht blauw?",
             "写一个Python函数，判断一个字符串是否为回文。", "Почему небо голубое?"]
    df = pl.DataFrame({"t": english + other})
    got = df.select(CX.is_english(pl.col("t"), c)).to_series().to_list()
    assert got == [True] * len(english) + [False] * len(other), [t for t, g in zip(english + other, got)
                                                                 if g != (t in english)]


def test_an_input_in_another_language_gets_the_typical_rare_word_points():
    # a Spanish review to classify was all "rare" words: the maximum 1.5 points, more than a
    # dense English contract
    from dataforge.score import complexity as CX
    from dataforge.score.rules import load_yaml

    c = load_yaml(CX.COMPLEXITY)
    df = pl.DataFrame({"instruction": ["Is the sentiment of the following movie review positive or negative?"] * 2,
                       "input": ["compleja e intelectualmente retadora, el ladrón de orquídeas es uno de esos filmes "
                                 "que vale la pena ver", "a complex and intellectually challenging film that is "
                                 "well worth seeing"], "task": [None, None], "meta": ["{}", "{}"]},
                      schema_overrides={"task": pl.Utf8})
    es, en = df.select(CX.points(c)["input_lexical"]).to_series().to_list()
    assert es == c["input_lexical"]["other_language_points"] < c["input_lexical"]["max_points"]
    assert abs(es - en) < 0.5


def test_score_works_the_request_out_once_and_gives_the_same_as_the_expression():
    from dataforge.score import complexity as CX
    from dataforge.score.rules import load_yaml

    c = load_yaml(CX.COMPLEXITY)
    rows = _parallel()
    texts = [r[k] for r in rows for k in r] + [FEWSHOT, "Summarize the text."]
    df = pl.DataFrame({"instruction": texts, "input": [""] * (len(texts) - 1) + [PASSAGE],
                       "task": [None] * len(texts), "meta": ["{}"] * len(texts)}, schema_overrides={"task": pl.Utf8})
    assert CX.score(df, c).to_list() == df.select(CX.expr(c)).to_series().to_list()
