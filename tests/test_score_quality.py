"""score_quality on planted cases: truncation (prose, list items, dangling words), garbled word
order, refusals and disclaimers score low; bare labels, summaries without a final period,
songs with a chorus, code and the tool's CoT answers do not."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from dataforge import op
from dataforge.ops.base import RunContext

PROSE = ("Bees pollinate most flowering crops. Without them, yields of fruit and nuts would fall "
         "sharply. Farmers therefore rent hives during the blooming season.")
LIST = "1. Preheat the oven to 200 degrees.\n2. Mix the flour and the butter.\n3. Knead the dough for ten minutes.\n4. Bake it until golden."
SONG = ("Verse 1:\nWe walk along the river line\nThe lights are low, the night is fine\n\nChorus:\n"
        "Sing it loud, sing it clear\nThe morning sun is almost here\n\nVerse 2:\nThe road is long, the stars are bright\n"
        "We keep on walking through the night\n\nChorus:\nSing it loud, sing it clear\nThe morning sun is almost here")
CODE = "def add(a, b):\n    return a + b\n\nprint(add(2, 3))"
COT = "a man playing a guitar is a musician performing .\nSo the answer is: entailment"

CLEAN = [  # (task, instruction, output)
    ("open_qa", "Why do farmers rent bee hives?", PROSE),
    ("planning", "Give the steps to bake bread.", LIST),
    ("creative_writing", "Write a song with a chorus about walking at night.", SONG),
    ("code", "Write a Python function that adds two numbers.", CODE),
    ("nli", "Does the premise entail the hypothesis? Explain your reasoning first.", COT),
    ("sentiment", "Is this review positive or negative?", "positive"),
    ("open_qa", "What is 17 times 3?", "51"),
    ("summarization", "Write a one-line TL;DR of the abstract.", "A faster sampler for diffusion models with equal quality"),
    ("open_qa", "Is the Danube longer than the Rhine?", "Yes"),                      # a yes/no question
    ("open_qa", "Describe the taste of lemons in one word.", "Sour"),                # asked for one word
    ("paraphrase", "Do the two sentences mean the same? Answer yes or no.", "no"),    # a label
]
BAD = [
    ("open_qa", "Why do farmers rent bee hives?", PROSE[:-60].rstrip()),                    # cut mid-sentence
    ("open_qa", "Why do farmers rent bee hives?", "Bees pollinate most flowering crops, and without the"),
    ("planning", "Give the steps to bake bread.", LIST.rsplit(" ", 3)[0]),                # last item cut
    ("open_qa", "Why do farmers rent bee hives?",                                          # same words, scrambled
     "crops flowering pollinate Bees most. them Without, fruit of yields nuts and would sharply fall. "
     "therefore Farmers during hives rent blooming the season."),
    ("open_qa", "Why do farmers rent bee hives?", "I'm afraid I can't do that."),
    ("sentiment", "Is this review positive or negative?", "Sorry, but I must decline this request."),
    ("open_qa", "Why do farmers rent bee hives?", "As an AI language model, I have no personal experience. " + PROSE),
    ("creative_writing", "Write a short story about a lighthouse keeper.", "Okay."),    # no answer at all
    ("open_qa", "Explain how a heat pump moves heat.", "It pumps heat"),              # a few words for an explanation
]


def score(rows) -> list[float]:
    df = pl.DataFrame({"id": [f"r{i}" for i in range(len(rows))], "task": [r[0] for r in rows],
                       "instruction": [r[1] for r in rows], "output": [r[2] for r in rows],
                       "input": [""] * len(rows), "meta": ["{}"] * len(rows)})
    o = op("score_quality").bind(RunContext())
    o.ensure_setup()
    return o.process(df)["score_quality"].to_list()


def test_clean_answers_of_every_shape_keep_full_quality():
    got = score(CLEAN)
    assert all(v >= 0.95 for v in got), list(zip([r[0] for r in CLEAN], got))


def test_each_planted_defect_scores_below_every_clean_answer():
    clean, bad = score(CLEAN), score(BAD)
    assert max(bad) < min(clean), bad
    assert max(bad) <= 0.7, bad
    assert max(bad[4:6]) <= 0.1  # refusals


def test_generation_cut_by_its_token_limit_is_truncated():
    rows = [("open_qa", "Why?", PROSE)] * 2
    df = pl.DataFrame({"id": ["a", "b"], "task": ["open_qa"] * 2, "instruction": ["Why?"] * 2, "output": [PROSE] * 2,
                       "input": [""] * 2, "meta": ["{}", '{"finish_reason": "length"}']})
    o = op("score_quality").bind(RunContext())
    o.ensure_setup()
    q = o.process(df)["score_quality"].to_list()
    assert q[0] == 1.0 and q[1] < 0.5 and len(rows) == 2


def test_finished_answers_without_a_final_period_that_the_detector_accepts():
    # a last token that ends a text by itself, a quote's attribution, a form of lines that all
    # end on a function word: the detector keeps these rows, so the score does not mark them down
    rows = [("creative_writing", "Write a tweet announcing our new coffee flavor.",
             "Meet our new Maple Pecan Latte! Warm, nutty and just sweet enough. Available at all stores #coffee #fall"),
            ("creative_writing", "Write a motivational quote.",
             "\"The only way to do great work is to love what you do.\" - Steve Jobs"),
            ("open_qa", "Count from 1 to 20.", " ".join(str(i) for i in range(1, 21))),
            ("rewriting", "Conjugate the verb 'to be' in the present tense.",
             "I am\nYou are\nHe is\nShe is\nIt is\nWe are\nYou are\nThey are")]
    got = score(rows)
    assert all(v >= 0.95 for v in got), list(zip([r[1] for r in rows], got))
    cut = score([("open_qa", "Describe the water cycle.", "Water evaporates from the oceans, rises as vapour and "
                  "cools into clouds, and then the droplets fall back to the")])
    assert cut[0] < 0.5


def test_an_answer_with_fewer_items_than_asked_for_scores_lower():
    # the instruction asks for N items, sentences or paragraphs; the answer cannot hold them
    asked = [
        ("Give me three tips for better sleep.", "1. Keep a regular schedule.\n2. Avoid screens before bed.\n3. Keep the room cool.", "Sleep more."),
        ("List five fruits that are red.", "Strawberries, cherries, raspberries, red apples and pomegranates.", "Strawberries."),
        ("Write two paragraphs about the ocean.", "The ocean covers most of the planet.\n\nIt holds most of its life.", "The ocean is big and blue and deep."),
        ("Describe a sunset in 4-6 sentences.", "The sky turns orange. Clouds glow pink. The sun sinks. Birds go quiet. Night comes.", "It is orange."),
        ("Name 3 benefits of exercise.", "Better mood, stronger heart, deeper sleep.", "Health."),
    ]
    # the count names the input, a limit, or a range from one: no penalty
    spared = [
        ("Which of the two sentences below is more formal?", "The second one."),
        ("Summarize the text in 50 words.", "Bees pollinate crops, and farmers rent hives."),
        ("Write one or two paragraphs about cats.", "Cats are independent animals that sleep most of the day."),
        ("Which of these three options is cheapest?", "Option B."),
        ("Explain the difference between the two words.", "One is a noun and the other a verb."),
        ("Contrast two types of rock.", "Igneous rock forms from magma whereas sedimentary rock forms from sediment."),
        ("Write a tweet with two hashtags about coffee.", "Monday fuel #coffee #mondaymotivation"),
        # the items of answers in other scripts: CJK sentence ends and commas, Thai spaces
        ("Give five synonyms for happy in Chinese.", "快乐、高兴、愉快、开心、欢乐"),
        ("Write three sentences about the sea in Japanese.", "海はとても広いです。波の音が好きです。夏によく海で泳ぎます。"),
        ("Name three fruits in Chinese.", "苹果，香蕉，橙子"),
        ("List four colours in Thai.", "สีแดง สีเขียว สีน้ำเงิน สีเหลือง"),
    ]
    asked += [("Write three sentences about the sea in Japanese.", "海はとても広いです。波の音が好きです。夏によく海で泳ぎます。",
               "海はとても広いです。")]
    rows = [(i, good) for i, good, _ in asked] + [(i, bad) for i, _, bad in asked] + spared
    df = pl.DataFrame({"id": [str(k) for k in range(len(rows))], "instruction": [r[0] for r in rows],
                       "input": [""] * len(rows), "output": [r[1] for r in rows],
                       "meta": [None] * len(rows), "task": [None] * len(rows)})
    o = op("score_quality").bind(RunContext())
    o.ensure_setup()
    s = o.process(df)["score_quality"].to_list()
    n = len(asked)
    for k, (ins, _, bad) in enumerate(asked):
        assert s[n + k] <= 0.5 < s[k], (ins, bad, s[k], s[n + k])
    assert all(v > 0.9 for v in s[2 * n:]), list(zip(spared, s[2 * n:]))


def test_an_answer_far_below_a_demanded_length_in_words_is_under_answered():
    # "a 300-word essay" / "at least 500 words" demand a length; "in 50 words" limits it.
    # Alpaca's 37 answers to such requests hold 0.48-2.0x the words: none fires
    from dataforge.score.quality import quality

    essay = " ".join(["Bees carry pollen from flower to flower and so feed a third of our crops."] * 8)  # 120 words
    rows = [("Write a 300-word essay about bees.", "Bees are important. We should protect them."),
            ("Write an essay of at least 400 words about bees.", "Bees matter a lot."),
            ("Write a 300-word essay about bees.", essay),
            ("Summarize the history of bees in 50 words.", "Bees evolved from wasps about 120 million years ago."),
            ("Write a 250-300 word essay on bees.", "Bees pollinate.")]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * len(rows), "output": [r[1] for r in rows],
                       "task": [None] * len(rows), "meta": [None] * len(rows)},
                      schema_overrides={"task": pl.Utf8, "meta": pl.Utf8})
    from dataforge.rulefiles import load_yaml
    from dataforge.score import heuristics as H
    from dataforge.score.quality import under_length
    from dataforge.score.rules import rules_path

    fires = df.select(under_length(load_yaml(rules_path(H.QUALITY)))).to_series().to_list()
    assert fires == [True, True, False, False, True]
    alpaca = pl.read_ndjson(Path(__file__).parents[1] / "sample_data" / "alpaca.jsonl")
    # of Alpaca's answers only "Generate a thousand words of text" answered in 152 words falls short
    short = alpaca.filter(alpaca.select(under_length(load_yaml(rules_path(H.QUALITY)))).to_series())
    assert short["instruction"].to_list() == ["Generate a thousand words of text based on the given prompt."]
    q = quality(df).to_list()
    assert q[0] <= 0.5 and q[3] == 1.0


def test_padding_phrases_lower_quality_a_little_each():
    import polars as pl
    from dataforge import op
    from dataforge.ops.base import RunContext
    rows = [("What is the capital of Australia?", "Canberra."),
            ("What is the capital of Australia?", "Great question! The capital of Australia is Canberra. To reiterate, "
             "the capital is Canberra, not Sydney. I hope this helps! Let me know if you have any other questions."),
            ("What is the capital of Australia?", "Canberra. I hope this helps!")]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * 3, "output": [r[1] for r in rows],
                       "id": ["a", "b", "c"], "meta": [None] * 3, "task": [None] * 3},
                      schema_overrides={"meta": pl.Utf8, "task": pl.Utf8})
    o = op("score_quality").bind(RunContext())
    o.ensure_setup()
    s = o.process(df)["score_quality"].to_list()
    assert s[0] > s[2] > s[1] and s[2] >= 0.85 and s[1] <= 0.7, s


def test_padded_answers_written_blind_score_below_their_plain_versions():
    # benchmarks/quality_data/answer_pairs.jsonl (written without reading the scorer): 7 pairs
    # of a plain answer and the same content padded with praise, restating and sign-offs
    import json
    from pathlib import Path

    import polars as pl
    from dataforge import op
    from dataforge.ops.base import RunContext
    pairs = [json.loads(line) for line in
             (Path(__file__).parents[1] / "benchmarks" / "quality_data" / "answer_pairs.jsonl").read_text().splitlines()]
    padded = [p for p in pairs if p["flaw"] == "padded"]
    rows = [(p["instruction"], p["input"], p[s]) for p in padded for s in ("better", "worse")]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [r[1] for r in rows], "output": [r[2] for r in rows],
                       "id": [str(i) for i in range(len(rows))], "meta": [None] * len(rows), "task": [None] * len(rows)},
                      schema_overrides={"meta": pl.Utf8, "task": pl.Utf8})
    o = op("score_quality").bind(RunContext())
    o.ensure_setup()
    s = o.process(df)["score_quality"].to_list()
    assert sum(s[2 * i] > s[2 * i + 1] for i in range(len(padded))) >= 5


def test_every_defect_the_rule_set_drops_lowers_the_score_so_scores_alone_do_not_rank_it_first():
    # a selection on scores without a rule_filter step (a new user's DEITA recipe) kept an
    # empty answer, leaked templates and scraped pages at quality 1.0
    from dataforge.score.quality import quality

    rows = [("Explain the difference between TCP and UDP.", "", ""),
            ("What year did the Berlin Wall fall?", "", "{{answer}}"),
            ("What is the capital of Australia?", "", "<|assistant|>\nThe capital is Canberra.<|im_end|>"),
            ("What is the tallest mountain in Africa?", "",
             "We use cookies to improve your experience. Accept all cookies. Skip to main content. Kilimanjaro."),
            ("Summarize the given article in 200 words.", "https://www.bbc.com/news/world-51461830",
             "The protests in Belarus continued as thousands marched in Minsk against the disputed election."),
            # ... while an Alpaca "<no input>" input is no fault of the answer
            ("Write two sentences about global warming.", "<No input>",
             "1. Global warming raises the average temperature of the Earth.\n2. It is driven by greenhouse gases."),
            ("Why is the sky blue?", "", "Sunlight scatters off air molecules, and blue light scatters the most.")]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [r[1] for r in rows], "output": [r[2] for r in rows],
                       "task": [None] * len(rows), "meta": [None] * len(rows)},
                      schema_overrides={"task": pl.Utf8, "meta": pl.Utf8})
    q = quality(df).to_list()
    assert q[0] == 0.0 and all(x <= 0.5 for x in q[1:5]), q
    assert q[5] == 1.0 and q[6] == 1.0, q


def test_a_list_numbered_far_past_the_count_asked_for_ignores_it():
    from dataforge.score.quality import quality

    nine = "\n".join(f"{i}. Tip number {i} for better sleep." for i in range(1, 10))
    three = "\n".join(f"{i}. Tip number {i} for better sleep." for i in range(1, 4))
    recipe = ("Soup\n1. Chop the onions.\n2. Fry them.\n3. Add stock.\n4. Simmer.\n5. Serve.\n\n"
              "Salad\n1. Wash the leaves.\n2. Dress them.")
    rows = [("Give me 3 tips for improving sleep quality.", nine),
            ("Give me 3 tips for improving sleep quality.", three),
            ("Give me at least 3 tips for improving sleep quality.", nine),
            ("Suggest two recipes with the given ingredients.", recipe),
            ("Formulate research questions about air pollution in five major cities.", nine),
            # Arabic-Indic numerals are digits to \d but to no integer cast (this crashed the score)
            ("Name three Arabic greetings.", "١. مرحبا\n٢. أهلا\n٣. السلام عليكم")]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * len(rows), "output": [r[1] for r in rows],
                       "task": [None] * len(rows), "meta": [None] * len(rows)},
                      schema_overrides={"task": pl.Utf8, "meta": pl.Utf8})
    assert quality(df).to_list() == [0.5, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_a_repetition_asked_for_is_no_loop_but_not_repeating_is_no_licence():
    import polars as pl

    from dataforge.score.quality import quality

    loop = " ".join(["the sun is bright"] * 20)
    q = [("Repeat the word 'buffalo' eight times, separated by spaces.", " ".join(["buffalo"] * 8)),
         ("Write 'hello' five times.", "hello hello hello hello hello"),
         ("Write a poem without repeating yourself.", loop),
         ("Summarize this in 3 times fewer words.", loop)]
    d = pl.DataFrame({"instruction": [a for a, _ in q], "input": [""] * 4, "output": [b for _, b in q],
                      "meta": ["{}"] * 4, "task": [None] * 4}, schema_overrides={"task": pl.Utf8})
    got = quality(d).to_list()
    assert got[0] == got[1] == 1.0 and got[2] < 0.2 and got[3] < 0.2, got


def test_a_question_for_a_quantity_answered_without_a_number_scores_lower():
    """A new user's lazy answers ("A lot." to "How many bones ...?") had scored 1.0."""
    import polars as pl

    from dataforge.score.quality import quality

    rows = [("How many bones are in the adult human body?", "A lot.", 0.5),
            ("How many bones are in the adult human body?", "An adult has 206 bones.", 1.0),
            ("What is the boiling point of water at sea level in Celsius?", "Hot.", 0.5),
            ("What is the boiling point of water at sea level in Celsius?", "100 °C", 1.0),
            ("How often should I water a cactus?", "Once every two weeks.", 1.0),
            ("When was the Eiffel Tower built?", "In the late nineteenth century.", 1.0)]
    d = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * len(rows), "output": [r[1] for r in rows],
                      "meta": ["{}"] * len(rows), "task": [None] * len(rows)}, schema_overrides={"task": pl.Utf8})
    assert quality(d).round(2).to_list() == [r[2] for r in rows]


def test_a_final_answer_that_none_of_the_working_computed_scores_lower():
    from dataforge.score import final_answer as F
    from dataforge.score.rules import load_yaml

    outs = ["Bags = 96 ÷ 8 = <<96/8=12>>12.\n#### 14",  # the steps say 12
            "15 × 38 = 570.\nSo Sam earns $570 per week.\nThe answer is: 530",
            "$\\frac{3}{4} = \\frac{6}{8}$, and $\\frac{6}{8} + \\frac{1}{8} = \\frac{7}{8}$.\n\nThe answer is $\\boxed{\\frac{4}{12}}$",
            # supported: the same number in another form, or rounded to the final's decimals
            "Bags = 96 ÷ 8 = <<96/8=12>>12.\n#### 12",
            "Total = 1200 + 50 = 1,250 dollars.\nThe answer is: $1,250",
            "x = 10 / 3 = 3.3333\nFinal answer: 3.33",
            "$\\frac{1}{4} + \\frac{1}{4} = 0.5$\n\n$\\boxed{\\frac{1}{2}}$",
            # no working with results, or no number: left alone
            "Paris is the capital.\nThe answer is: 75",
            "She is older than Bob = true.\nThe answer is: Anna"]
    df = pl.DataFrame({"instruction": ["Solve it step by step."] * len(outs), "input": [""] * len(outs), "output": outs})
    assert F.unsupported(df, load_yaml("score/quality.yaml")).to_list() == [True] * 3 + [False] * 6


def test_an_answer_that_only_restates_the_request_scores_lower():
    from dataforge.score import restated
    from dataforge.score.rules import load_yaml

    rows = [("Which weighs more, a kilogram of feathers or a kilogram of steel?",
             "The question is which weighs more: a kilogram of feathers or a kilogram of steel."),
            ("Write a Python function that removes duplicates from a list while preserving order.",
             "You want a Python function that removes duplicates from a list while keeping the original order."),
            # answers that open so but answer, or say more than the request
            ("How do I keep bread from going stale?", "You want to keep bread in a paper bag at room temperature."),
            ("Which weighs more, a kilogram of feathers or a kilogram of steel?",
             "The question is a trick. They weigh the same: a kilogram is a kilogram."),
            ("What is the capital of France?", "The capital of France is Paris.")]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * len(rows), "output": [r[1] for r in rows]})
    assert df.select(restated.restated(load_yaml("score/quality.yaml"))).to_series().to_list() == \
        [True, True, False, False, False]


def test_an_answer_that_goes_round_in_a_circle_scores_lower_and_a_short_real_answer_does_not():
    # a blind domain zoo's circles had no frame ("The question is ...") and passed at 1.0
    from dataforge.score import restated
    from dataforge.score.rules import load_yaml

    rows = [("What is the difference between a virus and a bacterium?",
             "The difference between a virus and a bacterium is what distinguishes viruses from bacteria, "
             "since viruses and bacteria are different."),
            ("How do I undo the last commit in git?",
             "To undo the last commit in git, you need to undo the commit that was the last one in git."),
            ("Explain the main duties of a data protection officer in simple terms.",
             "This explains the duties of a data protection officer. In simple terms, it describes what the officer does."),
            # real answers: a new word is the answer; a name; a number; a yes/no question said again;
            # a rewrite of material quoted in the instruction
            ("Which organ pumps blood through the human body?", "The organ that pumps blood through the human body is the heart."),
            ("What is the largest planet in our solar system?", "The largest planet in our solar system is Jupiter."),
            ("How many legs does a spider have?", "A spider has 8 legs, and every spider has legs."),
            ("Does a bond represent a loan made by an investor to a borrower?",
             "A bond represents a loan made by an investor to a borrower, typically corporate or governmental."),
            ("Rewrite in the passive voice: The committee approved the new budget after a long debate.",
             "The new budget was approved by the committee after a long debate.")]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * len(rows), "output": [r[1] for r in rows]})
    assert df.select(restated.restated(load_yaml("score/quality.yaml"))).to_series().to_list() == [True] * 3 + [False] * 5


def test_a_length_limit_in_characters_is_no_count_of_items_and_explain_names_the_factors():
    from dataforge.score.quality import explain

    regex = ("```regex\n^(?=.*[A-Z])(?=.*\\d).{10,}$\n```\n\nTwo lookaheads ask for an upper-case letter "
             "and a digit; `.{10,}` sets the length.")
    df = pl.DataFrame({"instruction": ["Write a regex for a password of at least 10 characters with a digit and a capital.",
                                       "Name five characters from Hamlet."],
                       "input": ["", ""], "output": [regex, "Hamlet and Ophelia."],
                       "task": [None, None], "meta": [None, None]}, schema_overrides={"task": pl.Utf8, "meta": pl.Utf8})
    assert explain(df) == [{}, {"under_answered": 0.5}]


def test_a_request_for_one_word_is_not_answered_too_short_whatever_its_task():
    # a new user's "Give a synonym for 'happy'." -> "Joyful." was classified brainstorming (min 5 words): 0.5
    from dataforge.score.quality import quality

    df = pl.DataFrame({"instruction": ["Give a synonym for 'happy'.", "Suggest a catchy title for a blog post about tea.",
                                       "Brainstorm ideas for a birthday party."],
                       "input": [""] * 3, "output": ["Joyful.", "Steeped in Joy", "Games."],
                       "task": ["brainstorming"] * 3, "meta": [None] * 3}, schema_overrides={"meta": pl.Utf8})
    assert quality(df).to_list() == [1.0, 1.0, 0.5]


def test_an_answer_that_only_announces_what_it_will_say_scores_lower():
    # a blind zoo's "This response will explain how vaccines work. It will cover ..." passed at 1.0
    from dataforge.score import restated
    from dataforge.score.rules import load_yaml

    rows = [("Explain how tides work.", "This answer will explain how tides work. It will cover the pull of the moon "
             "and the sun, and the explanation will be short and clear."),
            ("Write a packing list for a weekend hike.", "Sure! Below, I will outline a packing list for a weekend "
             "hike. The list will include clothing, food and safety gear, and each item will be explained."),
            # real answers that mention what comes next, or are about the future
            ("Explain how tides work.", "The moon's gravity pulls the oceans into a bulge. I will explain the sun's part "
             "next: it adds a smaller bulge, and when both line up we get spring tides."),
            ("What will the weather be like on Mars tomorrow?", "It will be cold and dry. Temperatures will drop to "
             "about -80 °C at night, and dust storms will be unlikely this season."),
            ("Will it rain tomorrow?", "It will be sunny. It will be warm in the afternoon.")]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * len(rows), "output": [r[1] for r in rows]})
    assert df.select(restated.restated(load_yaml("score/quality.yaml"))).to_series().to_list() == [True, True] + [False] * 3
