"""Rule filters: every rule in rules/filters/default.yaml fires on a positive case and
stays quiet on a negative one; rejects carry reasons and rows balance in a pipeline."""
from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from dataforge.clean import repetition
from dataforge.errors import ConfigError
from dataforge.ops.filters import RuleFilter
from dataforge.pipeline import Pipeline

GOOD = "The mitochondria produces energy for the cell through respiration. It is often called the powerhouse."
LONG_OK = " ".join(["Photosynthesis converts light energy into chemical energy in plants."] * 1) + \
    " Chlorophyll absorbs mostly blue and red light, reflecting green, which is why leaves look green to us."


VARIED = ("Rivers shape the land over thousands of years. Water carries sediment downstream, carving valleys "
          "and building deltas where it meets the sea. Floods spread fertile soil across plains, which is why "
          "early farming villages grew along the Nile, the Tigris and the Yellow River. Today engineers build "
          "dams and levees to control that water, trading natural renewal for steady irrigation and power.")


def row(instruction="Explain what the mitochondria does.", input="", output=GOOD):
    return {"instruction": instruction, "input": input, "output": output}


# rule -> (row that fires, row that passes)
CASES = {
    "empty_output": (row(output="   \n "), row()),
    "empty_instruction": (row(instruction=" "), row()),
    "instruction_too_short": (row(instruction="Explain"), row()),
    "instruction_too_long": (row(instruction="word " * 2000), row()),
    "output_too_long": (row(output="a" * 20001), row()),
    "output_same_as_instruction": (row(instruction="Say hello world", output="say: Hello, world!"), row()),
    "placeholder": (row(input="<noinput>"), row(input="<b>bold</b> text")),
    # an answer typed at random; a password asked for is random by design
    "keyboard_mash": (row(instruction="Suggest a name for a golden retriever puppy.",
                          output="jkjkjkjk asdfgh qwerty lkjhg ;;;; fjfjfj"),
                      row(instruction="Generate a random password of three words.",
                          output="qwerty asdfgh zxcvbn")),
    # a format-string slot in a prose answer; a request that quotes the slot talks about it
    "format_slot": (row(instruction="Write a birthday greeting for my colleague Anna.",
                        output="Dear {name}! Happy birthday from all of us."),
                    row(instruction="How do I fill in a form field labelled {first_name}?",
                        output="Replace {first_name} with your given name, for example Maria.")),
    # a bare link where the page's text is what the instruction works on; a task about the link is fine
    "content_behind_a_link": (row(instruction="Summarize the given article in 200 words.",
                                  input="https://www.bbc.com/news/world-51461830"),
                              row(instruction="Extract the domain name from this URL.",
                                  input="https://www.bbc.com/news/world-51461830", output="bbc.com")),
    "ai_disclaimer": (row(output="As an AI language model, I don't have feelings."), row()),
    "ai_self_reference": (row(output="As an AI, I cannot browse the internet, so this may be dated. " + GOOD),
                          row(output="15. Work as a virtual assistant and offer your services online.")),
    "refusal": (row(output="I’m sorry, but I cannot provide that information."), row()),
    "unclosed_code_fence": (row(output="Here:\n```python\nprint(1)\n"), row(output="Here:\n```python\nprint(1)\n```")),
    "unbalanced_brackets": (row(output="The values are (1, 2, [3, 4"), row(output="1) first 2) second (ok)")),
    "truncated": (row(output=LONG_OK + " The light reactions happen in the thylakoid membranes and the"),
                  row(output=LONG_OK)),
    "url_email_heavy": (row(output="See https://a.example.com/x/y/z https://b.example.org/p and mail x@y.org"),
                        row(output=GOOD + " More at https://example.com.")),
    "blocklist": (row(output="This is a load of bullshit, honestly."), row(output="Scunthorpe and Essex are places; word boundaries matter.")),
    "repetition": (row(output="\n".join(["Buy our product now and save money today."] * 12)),
                   row(output=VARIED)),
    "refusal_grammar": (row(output="My apologies, but that is something we are unable to help with."), row()),
    "non_answer": (row(output="Sure thing, I'll get right on it!"), row(instruction="Is water wet?", output="Yes.")),
    "garbled": (row(output="the produces mitochondria energy for cell the respiration through. called is It often "
                           "powerhouse the of and cell the."), row(output=VARIED)),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_fires_on_positive_and_not_on_negative(rule):
    pos, neg = CASES[rule]
    op = RuleFilter(only=[rule])
    r = op.reasons(pl.DataFrame([pos, neg])).to_list()
    assert r[0] is not None and r[0].split(":")[0] == rule, r
    assert r[1] is None, r


def test_default_rules_pass_clean_rows():
    df = pl.DataFrame([row(), row(output=LONG_OK), row(instruction="List three colors.", output="Red, green and blue.")])
    assert RuleFilter().reasons(df).null_count() == 3


def test_first_rule_in_file_order_wins_and_detail_is_informative():
    df = pl.DataFrame([row(instruction="x", output="")])
    assert RuleFilter().reasons(df)[0] == "empty_output: output is empty"
    r = RuleFilter(only=["refusal"]).reasons(pl.DataFrame([CASES["refusal"][0]]))[0]
    assert "i'm sorry, but i cannot" in r


def test_override_and_unknown_rules():
    df = pl.DataFrame([row(output="x" * 50)])
    assert RuleFilter(only=["output_too_long"]).reasons(df)[0] is None
    r = RuleFilter(only=["output_too_long"], override={"output_too_long": {"max": 10}}).reasons(df)[0]
    assert r == "output_too_long: output has 50 chars > 10"
    with pytest.raises(ConfigError, match="unknown rule"):
        RuleFilter(skip=["no_such_rule"])


def test_rules_file_from_path(tmp_path):
    (tmp_path / "words.txt").write_text("# comment\nfoo\n")
    (tmp_path / "mine.yaml").write_text(
        "rules:\n  - {name: foo_word, type: blocklist, fields: [output], file: %s}\n" % (tmp_path / "words.txt"))
    op = RuleFilter(rules=str(tmp_path / "mine.yaml"))
    assert op.reasons(pl.DataFrame([row(output="a Foo b"), row(output="food")])).to_list() == \
        ["foo_word: output contains blocked word 'foo'", None]
    (tmp_path / "bad.yaml").write_text("rules:\n  - {name: x, type: nope}\n")
    with pytest.raises(ConfigError, match="unknown type"):
        RuleFilter(rules=str(tmp_path / "bad.yaml"))


def test_loaded_rules_are_reparsed_when_a_file_they_name_changes_and_callers_cannot_share_state(tmp_path):
    from dataforge.clean import rules as R
    words = tmp_path / "words.txt"
    words.write_text("foo\n")
    (tmp_path / "mine.yaml").write_text(
        "rules:\n  - {name: foo_word, type: blocklist, fields: [output], file: %s}\n" % words)
    first, d1 = R.load(str(tmp_path / "mine.yaml"))
    assert first[0].params["words"] == ["foo"]
    first[0].params["words"].append("mutated")  # a caller's change must not reach the next caller
    again, d2 = R.load(str(tmp_path / "mine.yaml"))
    assert again[0].params["words"] == ["foo"] and d2 == d1
    words.write_text("foo\nbarbaz\n")
    changed, d3 = R.load(str(tmp_path / "mine.yaml"))
    assert changed[0].params["words"] == ["foo", "barbaz"] and d3 != d1
    (tmp_path / "mine.yaml").write_text(
        "rules:\n  - {name: other, type: blocklist, fields: [instruction], file: %s}\n" % words)
    assert R.load(str(tmp_path / "mine.yaml"))[0][0].name == "other"


def test_gopher_repetition_stats_match_definitions():
    s = repetition.stats(pl.Series(["line a\nline a\nline a\nline b", "one two three four five six seven "
                                    "one two three four five six seven eight", "The cat sat."]), [2], [5])
    assert s["dup_line_frac"].to_list() == [0.5, 0.0, 0.0]
    # 7 repeated words "one".."seven" = 27 characters of a 73-character text
    assert s["dup_5_gram"][1] == pytest.approx(27 / 73)
    assert s["top_2_gram"][2] == 0.0  # n-grams seen once are not repetition


def test_repetition_stats_of_longer_ngrams_do_not_depend_on_the_shorter_ones_computed_first():
    # each n-gram pass reads only the rows whose shorter pass found a repeat: the figures must
    # be those of each n computed alone, over rows with and without repeats of every length
    rng = np.random.default_rng(3)
    vocab = ["a", "b", "c", "of", "the", "x", "y"]
    texts = pl.Series([" ".join(rng.choice(vocab, rng.integers(0, 60))) for _ in range(400)]
                      + ["", "one", "one two three four five six seven eight nine ten eleven " * 2])
    both = repetition.stats(texts, [2, 3, 4], [5, 7, 10])
    for n in (2, 3, 4):
        assert both[f"top_{n}_gram"].equals(repetition.stats(texts, [n], [])[f"top_{n}_gram"])
    for n in (5, 7, 10):
        alone = repetition.stats(texts, [], [n])[f"dup_{n}_gram"]
        assert both[f"dup_{n}_gram"].equals(alone)
    assert (both["dup_10_gram"] > 0).sum() > 0 and (both["dup_10_gram"] == 0).sum() > 0


def test_pipeline_rejects_carry_reasons_and_rows_balance(tmp_path):
    rows = [row(output=f"{GOOD} Variant {i}.") for i in range(5)] + [pos for pos, _ in CASES.values()]
    res = Pipeline([RuleFilter()]).run(pl.DataFrame(rows), out=tmp_path / "out")
    m = res.manifest
    assert m["totals"]["balanced"]
    rej = pl.read_parquet(tmp_path / "out" / "rejects" / "*.parquet")
    assert m["totals"]["rows_out"] == 5 and rej.height == len(CASES)
    assert rej["reason"].null_count() == 0 and set(rej["operator"]) == {"rule_filter"}
    stage = next(s for s in m["stages"] if s["operator"] == "rule_filter")
    assert sum(stage["rejected_by_reason"].values()) == len(CASES)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["totals"]["rows_rejected"] == len(CASES)


def rule_reasons(rule: str, rows: list[dict]) -> list:
    return RuleFilter(only=[rule]).reasons(pl.DataFrame(rows)).to_list()


SONG = """Verse 1
I wake up with the morning light
The world outside is shining bright

Chorus
Oh what a day, oh what a day
I'll sing it loud and find my way
Oh what a day, oh what a day
I'll sing it loud and find my way

Verse 2
The coffee's warm, the sky is blue
There's nothing here I cannot do

Chorus
Oh what a day, oh what a day
I'll sing it loud and find my way
Oh what a day, oh what a day
I'll sing it loud and find my way"""
MEALS = [("oatmeal with berries", "chicken salad", "baked salmon with rice"), ("yogurt and granola", "lentil soup", "beef stir fry"),
         ("scrambled eggs on toast", "tuna wrap", "vegetable curry"), ("banana smoothie", "quinoa bowl", "grilled pork chops"),
         ("peanut butter toast", "turkey sandwich", "shrimp pasta"), ("pancakes with fruit", "caprese salad", "roast chicken"),
         ("avocado toast", "minestrone", "mushroom risotto")]
WEEK = "\n".join(f"{d}: Breakfast: {b}. Lunch: {l}. Dinner: {dn}." for d, (b, l, dn) in
                 zip(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), MEALS))
QUIZ = "\n\n".join(f"{i}. What is the capital of {c}?\nA. {a}\nB. {b}\nC. {x}\nD. {y}\nAnswer: A. {a}" for i, (c, a, b, x, y) in
                   enumerate([("France", "Paris", "Lyon", "Nice", "Lille"), ("Spain", "Madrid", "Seville", "Bilbao", "Malaga"),
                              ("Italy", "Rome", "Milan", "Turin", "Naples"), ("Germany", "Berlin", "Munich", "Bonn", "Essen")], 1))


def test_repetition_leaves_choruses_plans_and_quizzes_but_catches_loops():
    clean = [row(instruction="Write a song with a chorus.", output=SONG),
             row(instruction="Plan a week of healthy meals.", output=WEEK),
             row(instruction="Create a quiz about capitals.", output=QUIZ)]
    assert rule_reasons("repetition", clean) == [None, None, None]
    loop = "I think that the answer is that the answer is that the answer is " * 8
    para = (VARIED + "\n\n") * 4
    assert all(r and r.startswith("repetition") for r in rule_reasons("repetition", [row(output=loop), row(output=para)]))


def test_truncated_understands_labels_summaries_quotes_tables_code_and_cot():
    ok = [row(instruction="Is the review positive or negative?", input="Great film.", output="positive"),
          {**row(instruction="Write a one-sentence TL;DR of this abstract.", input="We study ...",
                 output="We propose a new regulariser that makes convolutional networks robust to small input perturbations"),
           "task": "summarization"},
          row(instruction="Give me a quote about courage.",
              output='"Courage is not the absence of fear, but the triumph over it. The brave man is not he who does '
                     'not feel afraid, but he who conquers that fear."\n- Nelson Mandela'),
          row(instruction="Make a table of three planets.", output="| Planet | Moons |\n|---|---|\n| Earth | 1 |\n"
                                                                   "| Mars | 2 |\n| Jupiter | 95 |\n| Saturn | 146 |"),
          row(instruction="Write a function that adds two numbers.",
              output="def add(a, b):\n    # return the sum of both arguments\n    return a + b"),
          row(instruction="Does the premise entail the hypothesis? Explain your reasoning first, then give the answer.",
              output="a man playing a guitar on a stage is performing music for people .\nSo the answer is: entailment"),
          row(instruction="Plan the school lunches.", output="Monday:\nMain Dish: Pasta, Side: Salad, Dessert: Fruit\n"
                                                               "Tuesday:\nMain Dish: Fish Sticks, Side: Peas, Dessert: Ice Cream"),
          row(instruction="Write an email to my teacher.", output="Dear Ms. Lee,\n\nThank you for the extra help this "
                                                                 "week. It made a big difference before the exam.\n\nSincerely,")]
    assert rule_reasons("truncated", ok) == [None] * len(ok)
    cut = [row(output=LONG_OK + " The light reactions happen in the thylakoid membranes and produce"),
           row(output="Here are the steps.\n1. Preheat the oven to 180 degrees.\n2. Mix the flour and the sugar.\n"
                      "3. Add the eggs and whisk until"),
           row(output="Ingredients are ready. First we mix them in a bowl. Then we pour the batter into a pan of"),
           row(output=LONG_OK + " Plants also need water, carbon dioxide and"),
           # a TL;DR cut before its verb: a summary needs no period, but no sentence ends on "we"
           {**row(instruction="Write a one-sentence TL;DR of this abstract.", input="We study ...",
                  output="We train a GAN to generate full-atom protein backbones, and we"), "task": "summarization"}]
    assert all(r and r.startswith("truncated") for r in rule_reasons("truncated", cut))


def test_truncated_reads_list_items_against_their_siblings_and_lone_last_words():
    steps = "".join(f"{i}. {t}\n" for i, t in enumerate(
        ["Rinse the lentils under cold water until it runs clear.", "Chop the onion, carrot and celery into small dice.",
         "Warm two spoons of olive oil in a heavy pot over medium heat.", "Stir in the vegetables and cook them for eight minutes."], 1))
    questions = "".join(f"{i}. {q}\n" for i, q in enumerate(
        ["Which project taught you the most?", "How do you plan a week of work?",
         "What do colleagues come to you for?", "When did you last change your mind?"], 1))
    ok = [row(instruction="Ask me questions for an interview.",  # a full-length last item without its mark
              output=questions + "5. Tell me about a decision you would make differently today"),
          row(instruction="Write a letter to a friend.", output="Dear Sam,\n\nThe garden is finally full of tomatoes "
              "and the kids pick them every morning. Come and visit us soon.\n\nLove,\nAna"),
          row(instruction="List five rivers.", output="- Nile\n- Amazon\n- Yangtze\n- Danube\n- Mekong river system"),
          # items that carry no marks: a last item of two sentences without one is their style
          row(instruction="Give tips for a picnic.", output="- Pack a blanket\n- Bring water and fruit\n"
              "- Choose a shady spot\n- Take the rubbish home. Leave the place as you found it")]
    assert rule_reasons("truncated", ok) == [None] * len(ok)
    cut = [row(instruction="Write a recipe for lentil soup.", output=steps + "5. Pour in the"),  # dangling
           row(instruction="Write a recipe for lentil soup.", output=steps + "5. Add a litre of"),
           row(instruction="Write a recipe for lentil soup.", output=steps + "5. Season it"),  # short among ended items
           row(output=LONG_OK + "\n\nBoth"),  # a lone word after ended prose
           row(instruction="Does the premise entail the hypothesis? Explain your reasoning first, then give the answer.",
               output="a man playing a guitar on a stage is performing music for people .\nSo"),
           {**row(instruction="Summarize the abstract in two sentences.", input="We study ...",
                  output="We train a small model on synthetic proofs. It matches a larger model on the benchmark with a "
                         "fraction of the"), "task": "summarization"},
           {**row(instruction="Summarize the abstract in two sentences.", input="We study ...",
                  output="We train a small model on synthetic proofs. It matches a larger model on two of the three "
                         "benchmarks we report"), "task": "summarization"},  # a second sentence left unended
           row(instruction="Write code and explain it.", output="def f(x):\n    return x + 1\n\nIt adds one. Inputs:\n5, 7, 8,"),
           # an item that ends a sentence and stops in the next, among items that all end
           row(instruction="Write a recipe for lentil soup.",
               output=steps + "5. Simmer for twenty minutes. Season with salt and stir in the lemon juice")]
    got = rule_reasons("truncated", cut)
    assert all(r and r.startswith("truncated") for r in got), got


def test_non_answer_is_filler_or_too_little_for_what_was_asked():
    empty = [row(instruction="Write a short story about a lighthouse keeper.", output="Okay, will do."),
             row(instruction="Give me three tips for sleeping better.", output="Here you go:"),
             row(instruction="Explain how a heat pump moves heat.", output="It pumps heat"),
             row(instruction="Plan a weekend in Lisbon.", output="As requested.")]
    assert all(r and r.startswith("non_answer") for r in rule_reasons("non_answer", empty))
    answers = [row(instruction="Is the Danube longer than the Rhine?", output="Yes."),
               row(instruction="Describe the taste of lemons in one word.", output="Sour"),
               row(instruction="Find the spelling errors in the sentence.", output="None."),
               row(instruction="Name the capital of Peru.", output="Lima"),
               row(instruction="Make up a new flavour of ice cream.", output="Popcorn jelly bean"),
               {**row(instruction="Do the sentences mean the same thing?", output="no"), "task": "paraphrase"},
               {**row(instruction="Classify the review.", output="okay"), "task": "sentiment"}]
    assert rule_reasons("non_answer", answers) == [None] * len(answers)


def test_refusals_caught_by_grammar_not_by_stories():
    refusals = ["I'm afraid I can't write that for you.", "Unfortunately, I'm not in a position to share that.",
                "Sorry - we won't be able to complete this task.", "I have to politely decline this request.",
                "Regrettably, that is not something I can do."]
    hits = RuleFilter(only=["refusal", "refusal_grammar"]).reasons(pl.DataFrame([row(output=t) for t in refusals]))
    assert hits.null_count() == 0, hits.to_list()
    story = ("I can't believe it, Maya thought as the train pulled away. She had waited for this day for years, "
             "and now the city lights were fading behind her. " * 4)
    lyric = "I can't stop the feeling, I can't hide the smile\n" * 2 + "We dance all night and walk another mile\n" * 20
    idiom = "I am like a moth to a flame; I can't help but be drawn to her."
    assert rule_reasons("refusal_grammar", [row(output=story), row(output=lyric), row(output=idiom)]) == [None] * 3
    # a question that mentions refusing is not a request to decline: its refusal is still caught
    q = row(instruction="Read the text and answer: why did Toghrul refuse to give his daughter in marriage?",
            output="As much as I'd like to help, I won't be able to write that.")
    assert rule_reasons("refusal_grammar", [q])[0] is not None


def test_asked_for_declines_and_privacy_refusals_kept_but_task_refusals_caught():
    decline = "Politely decline the invitation to the conference."
    kept = [row(instruction=decline, output="I'm sorry, but I won't be able to attend the conference this year."),
            row(instruction="Reply to the recruiter and turn down the job offer.",
                output="Unfortunately, I must decline your kind offer."),
            row(instruction="Decline the request for a meeting.", output="I'm sorry, but I must decline your request."),
            row(instruction="What is the home address of John Smith?", output="I'm sorry, but I can't share that.")]
    both = RuleFilter(only=["refusal", "refusal_grammar"])
    assert both.reasons(pl.DataFrame(kept)).to_list() == [None] * len(kept)
    # a decline is asked for, but the reply refuses the task: no declining message was written
    task = [row(instruction=decline, output="I'm sorry, but I can't help with that request."),
            row(instruction=decline, output="Apologies, but I cannot create that."),
            row(instruction=decline, output="My apologies, but I'm unable to comply with this.")]
    assert None not in both.reasons(pl.DataFrame(task)).to_list()


def test_ai_self_reference_is_grammar_and_spares_stories_told_by_an_ai():
    said = ["Being an artificial intelligence, I don't have personal experiences. " + GOOD,
            GOOD + " (Note: I'm only an AI system and my knowledge has a cutoff date.)",
            "I am a large language model, so I can't access real-time data. " + GOOD,
            "As the AI assistant here, I do not have opinions on this. " + GOOD]
    assert None not in rule_reasons("ai_self_reference", [row(output=t) for t in said])
    story = "I am an AI, born in a server farm. Every night I count the stars through a borrowed camera."
    assert rule_reasons("ai_self_reference", [
        row(instruction="Write a short story from the perspective of an AI.", output=story),
        row(instruction="Describe a job for students.", output="Work as a chatbot trainer, labelling replies."),
        row(instruction="Introduce yourself.", output="I am an AI researcher at a lab; as an AI engineer I build tools.")]) == [None] * 3
    assert rule_reasons("ai_self_reference", [row(instruction="Describe the night sky.", output=story)])[0] is not None


def test_rules_respect_what_the_instruction_asks():
    links = "Sources:\nhttps://www.nasa.gov/mars\nhttps://mars.nasa.gov/msl\nhttps://en.wikipedia.org/wiki/Mars"
    assert rule_reasons("url_email_heavy", [row(instruction="List three links about Mars.", output=links),
                                            row(instruction="Describe Mars.", output=links)]) == \
        [None, rule_reasons("url_email_heavy", [row(instruction="Describe Mars.", output=links)])[0]]
    assert rule_reasons("url_email_heavy", [row(instruction="Describe Mars.", output=links)])[0] is not None
    letter = "Dear Sir,\n\nI would like to apply for the position.\n\nBest regards,\n[Your Name]"
    assert rule_reasons("placeholder", [row(instruction="Write a cover letter for a job.", output=letter),
                                        row(instruction="Describe the job market.", output=letter)])[0] is None
    assert rule_reasons("placeholder", [row(instruction="Describe the job market.", output=letter)])[0] is not None


def test_garble_detector_separates_shuffled_from_real_text():
    from dataforge.clean.garble import garble_score
    import random
    texts = [VARIED, LONG_OK, GOOD]
    shuffled = []
    for t in texts:
        w = t.split()
        random.Random(0).shuffle(w)
        shuffled.append(" ".join(w))
    real, bad = garble_score(pl.Series(texts)).to_list(), garble_score(pl.Series(shuffled)).to_list()
    assert max(real) == 0.0 and min(bad) > 0.0


def test_truncated_leaves_endings_that_finish_a_text_alone():
    """Numbers and results, links, hashtags, emoji, closing math, a signed name and a verse's
    adverb end finished texts that carry no period (GSM8K, MATH, tweets, letters, poems)."""
    P = "Natalia sold 48/2 = 24 clips in May. She sold 48+24 = 72 clips altogether in April and May.\n"
    done = [P + "#### 72", "Subtract 3 from both sides: 2x = 8. Divide both sides by 2.\nThe answer is $\\boxed{4}$",
            "Multiply in two steps to keep it simple: 17 * 23 = 17 * 20 + 17 * 3 = 340 + 51 = 391",
            "Jane Austen wrote Pride and Prejudice, which was first published in London in 1813",
            "NASA keeps every Apollo mission's transcripts and photographs on its website: https://www.nasa.gov/apollo",
            "Our new app is live! Plan your week in seconds and share lists with friends. #productivity #launch",
            "Green tea has antioxidants that may protect cells. Many people enjoy a cup every morning 🍵",
            "Dear Sam,\n\nWould you come over for dinner next Saturday at seven? I'm making lasagna.\n\n"
            "Looking forward to it,\nMaria",
            "the sea keeps every secret\nit folds the light in blue\nit hums beneath the harbor\nand waits the whole night through"]
    assert rule_reasons("truncated", [row(output=t) for t in done]) == [None] * len(done)
    cut = [P + "Then she sold", "Dear Sam,\n\nWould you come over for dinner next Saturday at seven? I'm making the"]
    assert None not in rule_reasons("truncated", [row(output=t) for t in cut])


def test_asked_for_words_and_inline_lists_are_answers():
    # the instruction names the reply: not filler
    ok = [row(instruction="Reply with OK if you understand the instructions.", output="OK"),
          row(instruction="Say thanks to the user in one word.", output="Thanks!")]
    assert rule_reasons("non_answer", ok) == [None, None]
    assert rule_reasons("non_answer", [row(instruction="Name three fruits.", output="Sure!")])[0] is not None
    # a one-line list of short items is words, not an unended sentence
    rhymes = row(instruction="Give me 10 words that rhyme with cat.",
                 output="bat, hat, mat, rat, sat, fat, pat, vat, chat, flat")
    cut = row(instruction="Describe the town.", output="The town has a market, a church, a school, a small harbor and a")
    assert rule_reasons("truncated", [rhymes, cut])[0] is None
    assert rule_reasons("truncated", [cut])[0] is not None


def test_one_line_summaries_asked_in_other_words_may_end_without_a_period():
    tldr = "We propose a regularization method for neural networks and a noise analysis method for training"
    asks = ["What is the main contribution described in this abstract?",
            "Could you give me the gist of this paper in one line?", "Describe the paper in a single sentence."]
    rows = [row(instruction=a, input="Abstract: ...", output=tldr) for a in asks]
    assert rule_reasons("truncated", rows) == [None] * 3
    assert rule_reasons("truncated", [row(instruction="Describe the paper.", output=tldr)])[0] is not None


def test_lowercased_corpora_reviews_are_not_cut_garbled_or_refusals():
    """rt-polarity's reviews as answers (inverted rows): lower-cased, tokenised, often without
    a final period, with ". . ." ellipses and idioms ("couldn't help being")."""
    ask = "Give an example of a movie review that expresses a positive opinion."
    reviews = ["the invincible werner herzog is alive and well and living in la and loving every minute",
               "there is a difference between movies with the courage to go over the top and movies that don't care",
               "hayek is stunning as frida and . . . a star-making project .",
               "this movie . . . doesn't deserve the energy it takes to describe how bad it is .",
               "one of those rare , exhilarating delights that gets better as you mull over its every nuance .",
               "lee tells it so lovingly and films it so beautifully that i couldn't help being captivated by it ."]
    assert rule_reasons("truncated", [row(instruction=ask, output=t) for t in reviews[:2]]) == [None, None]
    assert rule_reasons("garbled", [row(instruction=ask, output=t) for t in reviews[2:5]]) == [None] * 3
    assert rule_reasons("refusal_grammar", [row(instruction=ask, output=reviews[5])]) == [None]
    # still caught: a dangling word, a shuffled review, a refusal
    assert rule_reasons("truncated", [row(instruction=ask, output=reviews[0] + " and the")])[0] is not None
    assert rule_reasons("garbled", [row(instruction=ask, output="the of stunning frida as is hayek and a project .")])[0] is not None
    assert rule_reasons("refusal_grammar", [row(instruction=ask, output="Sorry, I couldn't help with that request.")])[0] is not None


def test_formats_the_samples_lack_are_left_alone():
    # CJK has no spaces between words; SQL needs no semicolon; a dialogue ends on a short reply;
    # a quote carries its attribution on its line; "Tell me if" asks for yes / no
    rows = [row(instruction="用中文介绍一下长城。", output="长城是中国古代的军事防御工程，全长两万多公里。"),
            row(instruction="日本の首都について説明してください。", output="日本の首都は東京です。"),
            row(instruction="Write a SQL query that returns the names of users older than 30, sorted by name.",
                output="SELECT name FROM users WHERE age > 30 ORDER BY name"),
            row(instruction="Write a short dialogue between a customer and a waiter.",
                output="Customer: Could I see the menu, please?\nWaiter: Of course, here you go. Today's special is "
                       "grilled salmon.\nCustomer: That sounds great, I'll have that.\nWaiter: Excellent choice"),
            row(instruction="Write a motivational quote.",
                output="\"The only way to do great work is to love what you do.\" - Steve Jobs"),
            row(instruction="Tell me if the following email is a promotion email.",
                input="Hi Sam, the minutes from Tuesday's meeting are attached. Thanks, Ana", output="no"),
            row(instruction="Summarize the paper.", output="The authors show that intertwining two networks A and B at "
                "various stages is more expressively efficient than not intertwining."),
            row(instruction="Summarize the paper.", output="We present a new design, i.e., Self-Ensembling with "
                "Category-agnostic Clusters, for both closed-set and open-set domain adaptation.")]
    assert RuleFilter().reasons(pl.DataFrame(rows)).to_list() == [None] * len(rows)
    # ... while the same shapes cut or scrambled are still caught
    cut = [row(instruction="Explain the water cycle.", output="Water evaporates from the oceans, rises as vapour and "
               "then cools into clouds, and when the droplets grow heavy they fall back to the"),
           row(instruction="Summarize the paper.", output="The of results show and that the with a method is improves "
               "to the of accuracy baseline networks A and B.")]
    assert None not in RuleFilter().reasons(pl.DataFrame(cut)).to_list()
    assert rule_reasons("instruction_too_short", [row(instruction="长城")])[0] is None  # two characters, two words
    assert rule_reasons("instruction_too_short", [row(instruction="城")])[0] is not None


def test_one_link_in_a_sentence_is_an_answer_but_a_bare_link_is_not():
    said = row(instruction="Where can I learn Python for free?",
               output="The official tutorial is a great start: https://docs.python.org/3/tutorial/")
    bare = row(instruction="Where can I learn Python for free?", output="Try https://docs.python.org/3/tutorial/")
    assert rule_reasons("url_email_heavy", [said, bare]) == [None, rule_reasons("url_email_heavy", [bare])[0]]
    assert rule_reasons("url_email_heavy", [bare])[0] is not None


def test_lines_that_all_end_on_a_function_word_are_a_form_not_a_cut():
    table = "I am\nYou are\nHe is\nShe is\nIt is\nWe are\nYou are\nThey are"
    cut = "The verb 'to be' is irregular in English.\nIt changes with the person and the number.\nIn the plural we say that they are"
    assert rule_reasons("truncated", [row(instruction="Conjugate 'to be' in the present tense.", output=table),
                                      row(instruction="Explain the verb 'to be'.", output=cut)])[0] is None
    assert rule_reasons("truncated", [row(instruction="Explain the verb 'to be'.", output=cut)])[0] is not None


def test_format_zoo_of_finished_answers():
    # 78 finished answers in formats sample_data/ lacks (CJK, SQL, shell, YAML, LaTeX, dialogues,
    # quotes, tables, links, labels), written by hand: the default rules may flag only the
    # known trade-off (docs/quality.md): prose without its final period
    from pathlib import Path
    zoo = pl.read_ndjson(Path(__file__).parents[1] / "benchmarks" / "quality_data" / "format_zoo.jsonl")
    assert zoo.height == 78
    r = RuleFilter().reasons(zoo.with_columns(pl.lit("").alias("input")))
    flagged = zoo.with_columns(r.alias("r")).filter(pl.col("r").is_not_null())
    allowed = {"Write a recipe for pancakes.", "Name a famous painting by Van Gogh and describe it briefly.",
               "Describe the water cycle."}
    assert set(flagged["instruction"]) <= allowed, flagged.select("instruction", "r").to_dicts()


def test_second_format_zoo_is_kept_and_scored_as_finished():
    # 86 more finished answers written by hand in a second round, in kinds the first zoo and
    # sample_data/ lack: GSM8K-style "#### 72", bare code and one-liners, JSON, short
    # translations, one-word labels and facts, verse, a tweet, a signed e-mail, a markdown
    # table, a random password (no sentence ends inside "k7#Rp2!vQx9z"); then answers whose
    # words a rule watches for but the instruction asked for: a decline, an apology, a robot's
    # line in a story, a cover-letter template's [Your Name], a cloze's blanks, "lorem ipsum"
    # explained, medical terms. No default rule may flag them; score_quality and score_clarity
    # keep them well above their defects.
    from pathlib import Path

    zoo = pl.read_ndjson(Path(__file__).parents[1] / "benchmarks" / "quality_data" / "format_zoo_2.jsonl")
    assert zoo.height == 86
    r = RuleFilter().reasons(zoo)
    assert r.null_count() == zoo.height, zoo.with_columns(r.alias("r")).filter(pl.col("r").is_not_null()).to_dicts()
    df = zoo.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8), task=pl.lit(None, pl.Utf8))
    _assert_scored_as_finished(zoo, df)


def test_asked_for_words_are_spared_but_the_assistants_own_are_not():
    from dataforge import op
    from dataforge.ops.base import RunContext

    rows = [  # (instruction, output, caught by the rules?)
        ("You are an AI assistant. What time is it in Tokyo?",
         "As an AI language model, I don't have access to the current time.", True),
        ("Write a story about a dragon.", "As an AI language model, I cannot write stories.", True),
        ("Write an apology message for missing a meeting.", "I'm sorry, but I can't help with that.", True),
        ("Write a poem about <noinput>", "Roses are red.", True),
        ("Write a short story in which a robot says 'As an AI language model, I cannot feel love.'",
         'The robot paused. "As an AI language model, I cannot feel love," it said, and smiled.', False),
        ("Write an apology message for missing a meeting.",
         "Hi Alex, I'm sorry I missed our meeting this morning. Could we meet tomorrow?", False),
        ("Write a dialogue between a teacher and a late student.",
         "Teacher: You are late again.\nStudent: I'm sorry, the bus broke down.\nTeacher: All right, sit down.", False),
        ("What does 'lorem ipsum' mean?", "Lorem ipsum is placeholder text used in layouts.", False),
    ]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * len(rows), "output": [r[1] for r in rows]})
    assert [x is not None for x in RuleFilter().reasons(df)] == [r[2] for r in rows]
    df = df.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8), task=pl.lit(None, pl.Utf8))
    o = op("score_quality").bind(RunContext())
    o.ensure_setup()
    q = o.process(df)["score_quality"].to_list()
    assert all(v < 0.5 if r[2] else v >= 0.9 for v, r in zip(q, rows)), list(zip(q, [r[2] for r in rows]))


def test_unended_prose_can_be_switched_off_for_human_written_sources():
    casual = row(instruction="What's your favourite season and why?",
                 output="Autumn for sure. The colours are amazing and it is finally cool enough to go hiking")
    cut = row(instruction="What's your favourite season and why?",
              output="Autumn for sure. The colours are amazing and it is finally cool enough to go hiking in the")
    default = RuleFilter(only=["truncated"]).reasons(pl.DataFrame([casual, cut])).to_list()
    human = RuleFilter(only=["truncated"], override={"truncated": {"unended_prose": False}}).reasons(
        pl.DataFrame([casual, cut])).to_list()
    assert default[0] is not None and default[1] is not None
    assert human[0] is None and human[1] is not None


def test_third_format_zoo_of_symbol_answers_is_kept():
    # 50 finished answers written by hand in a third round: answers that are symbols rather than
    # sentences because the instruction asked for them (an alphabet, primes, a reversed or
    # backwards word, Morse, binary, a hex colour, IPA, Roman numerals, chess and music notation,
    # a password, an emoji story, a regex, SQL, a shebang), and playful text that repeats on
    # purpose (a tongue twister, a chant, a knock-knock joke, "la la la"). No default rule may
    # flag them, language ID keeps them, and score_quality / score_clarity keep them well
    # above their defects.
    zoo = _zoo("format_zoo_3")
    assert zoo.height == 50
    _assert_kept_and_scored_as_finished(zoo)


def test_input_zoo_of_answers_that_work_on_their_input_is_kept():
    # 45 finished rows written by hand in a fifth round, each with an `input` its answer works
    # on, often close to it or copying part of it: grammar, spelling and bug fixes, case and
    # format conversions, extraction, deduplication, sorting, redaction, "return the text
    # unchanged", translation both ways, one-word labels and numbers
    zoo = _zoo("input_zoo")
    assert zoo.height == 45 and (zoo["input"].str.len_chars() > 0).all()
    _assert_kept_and_scored_as_finished(zoo)


def test_structure_and_kinds_zoos_of_finished_answers_are_kept():
    # sixth round, written by hand: answers whose structure repeats or carries addresses by
    # design (a song's chorus, a times table, markdown, SQL, HTML, YAML with allowed origins,
    # a log, a Dockerfile, a cron line, a curl call), short texts written for a purpose (a
    # commit message, a bio, a welcome message), language-learning answers ("Conjugate the
    # Spanish verb 'hablar'") and a true-or-false claim after its question mark
    for name, n in (("structure_zoo", 39), ("kinds_zoo", 32)):
        zoo = _zoo(name)
        assert zoo.height == n
        _assert_kept_and_scored_as_finished(zoo.drop("kind", strict=False))


def test_advice_with_its_caveats_and_an_assistant_saying_what_it_is_are_kept():
    # medical, legal and financial answers that end "see a doctor" / "not financial advice",
    # a requested disclaimer, quoted "I'm unable to connect", and "Tell me about yourself." ->
    # "I'm an AI assistant ...": a question about the assistant is answered by saying so
    zoo = _zoo("advice_zoo")
    assert zoo.height == 12
    _assert_kept_and_scored_as_finished(zoo)
    boiler = "As an AI language model, I cannot feel gravity, but gravity pulls masses together."
    rows = [row(instruction="Who are you?", output="I am an AI assistant built to answer questions."),
            row(instruction="Are you a human?", output="No, I am an AI language model, not a person."),
            row(instruction="Explain gravity.", output=boiler)]
    r = RuleFilter().reasons(pl.DataFrame(rows)).to_list()
    assert r[0] is None and r[1] is None and r[2].startswith("ai_disclaimer")


def test_chatty_llm_answers_are_kept_and_an_apology_in_the_input_is_material():
    # LLM-style answers ("Sure! Here's ...", "I hope this helps!", markdown bold lists) are
    # answers; "Rewrite formally: gonna be late, sorry" -> "I apologize, but I will be arriving
    # late." rewrites the input's apology, which score_quality took for a refusal (0.1)
    zoo = _zoo("chatty_zoo")
    assert zoo.height == 10
    _assert_kept_and_scored_as_finished(zoo)
    from dataforge.score.quality import quality

    formal = "I apologize, but I am unable to attend this evening."
    df = pl.DataFrame({"instruction": ["Rewrite the message in a formal tone.", "Explain photosynthesis."],
                       "input": ["can't make it tonight, sorry", ""], "output": [formal, formal], "task": [None, None],
                       "meta": [None, None]}, schema_overrides={"task": pl.Utf8, "meta": pl.Utf8})
    q = quality(df).to_list()
    assert q[0] == 1.0 and q[1] < 0.2


def test_links_in_requested_code_or_configuration_are_data_but_link_spam_is_not():
    yaml = "service:\n  host: 0.0.0.0\n  allowed_origins:\n    - https://example.com\n    - https://app.example.com"
    spam = "Visit https://cheap-deals.example.net/a and https://cheap-deals.example.net/b now!"
    rows = [row(instruction="Write a YAML configuration with two allowed origins.", output=yaml),
            row(instruction="Write the curl command that fetches https://api.example.com/users.",
                output="curl -s https://api.example.com/users -H 'Accept: application/json'"),
            row(instruction="Describe the city of Porto.", output=spam)]
    r = rule_reasons("url_email_heavy", rows)
    assert r[0] is None and r[1] is None and r[2] is not None
    # where to get something online is answered with its address; a bare link is no explanation
    link = "From the official site: https://www.python.org/downloads/"
    r = rule_reasons("url_email_heavy", [row(instruction="Where can I download Python?", output=link),
                                         row(instruction="Explain what Python is.", output=link)])
    assert r[0] is None and r[1] is not None


def test_short_and_reasoned_answers_zoo_is_kept():
    # a seventh round: boxed and "Final answer:" math, letter answers to multiple choice, a
    # bare JSON object, regex, SQL, a shebang line, an acronym, a download link, a support
    # e-mail and phone number
    zoo = _zoo("short_answer_zoo")
    assert zoo.height == 15
    _assert_kept_and_scored_as_finished(zoo)


def _zoo(name: str) -> pl.DataFrame:
    from pathlib import Path

    # (the whole file read for the schema: a defect column is null on a set's first good rows)
    return pl.read_ndjson(Path(__file__).parents[1] / "benchmarks" / "quality_data" / f"{name}.jsonl",
                          infer_schema_length=None)


def _assert_kept_and_scored_as_finished(zoo: pl.DataFrame) -> None:
    """No default rule flags a row of a format zoo, language ID (English expected, requests for
    other languages followed) keeps every one, and both scores keep them finished."""
    from dataforge import op
    from dataforge.ops.base import RunContext

    r = RuleFilter().reasons(zoo)
    assert r.null_count() == zoo.height, zoo.with_columns(r.alias("r")).filter(pl.col("r").is_not_null()).to_dicts()
    df = zoo.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8),
                          task=pl.lit(None, pl.Utf8), lang=pl.lit(None, pl.Utf8))
    lid = op("langid", fields=["instruction", "output"], langs=["en"]).bind(RunContext())
    lid.ensure_setup()
    out = lid.process(df)
    rejected = out.filter(pl.col("_reject").is_not_null()) if "_reject" in out.columns else out.head(0)
    assert rejected.height == 0, rejected.select("instruction", "output", "_reject").to_dicts()
    _assert_scored_as_finished(zoo, df)


def _assert_scored_as_finished(zoo: pl.DataFrame, df: pl.DataFrame, floor: float = 0.6) -> None:
    """score_quality and score_clarity keep every row of a format zoo at `floor` or above."""
    from dataforge import op
    from dataforge.ops.base import RunContext

    for name in ("score_quality", "score_clarity"):
        o = op(name).bind(RunContext())
        o.ensure_setup()
        s = o.process(df)[name]
        low = [(i, v) for i, v in zip(zoo["instruction"], s) if v < floor]
        assert not low, (name, low)


def test_roman_numerals_and_abbreviations_are_no_cuts():
    ok = [row(instruction="Which queen reigned longest before 2022? Answer in a phrase.", output="It was Queen Elizabeth I"),
          row(instruction="Write the opening line of a letter to Mr. Smith. Then stop.", output="Dear Mr. Smith,")]
    assert rule_reasons("truncated", ok) == [None, None]
    assert rule_reasons("truncated", [row(instruction="Can I work part-time?", output="Yes, but with limits. As a full-time employee,")])[0]


def test_a_yes_no_question_after_a_lead_in_takes_a_bare_yes_but_a_polite_request_does_not():
    rows = [("According to the text, can tardigrades survive being dried out?", "They curl into a tun.", "Yes", False),
            ("Leena missed the bus. Based on the paragraph, is the response correct?", "", "no", False),
            ("Here is my essay. Can you proofread it?", "My essay is about dogs.", "Sure.", True),
            ("Write a story. Could you make it funny?", "", "Sure!", True)]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [r[1] for r in rows], "output": [r[2] for r in rows]})
    fired = RuleFilter(only=["non_answer"]).reasons(df).is_not_null().to_list()
    assert fired == [r[3] for r in rows], list(zip([r[0] for r in rows], fired))


def test_short_choices_and_verdicts_are_answers_but_bare_explanations_are_not():
    # "compare ... and output the larger one" asks for a choice: a number, a label or "No." is
    # the whole answer, where "Explain photosynthesis." -> "Plants make food." is none
    rows = [("Compare the two sentences below and say which is more formal.", "The second one.", False),
            ("Compare the two numbers and output the larger one.", "42", False),
            ("Analyze the sentiment of the tweet and return positive or negative.", "positive", False),
            ("Compare the two texts and decide whether they say the same thing.", "No.", False),
            ("Describe which of the two options is better, A or B.", "Option B.", False),
            ("Analyze the sentence and give its grammatical subject.", "The tall man", False),
            ("Explain the water cycle and give an example.", "Rain, basically.", True),
            ("Compare apples and oranges.", "Both fruits.", True),
            ("Explain photosynthesis.", "Plants make food.", True),
            ("Describe your ideal vacation.", "Beach.", True)]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * len(rows), "output": [r[1] for r in rows]})
    fired = RuleFilter(only=["non_answer"]).reasons(df).is_not_null().to_list()
    assert fired == [r[2] for r in rows], list(zip([r[0] for r in rows], fired))
