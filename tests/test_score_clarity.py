"""score_clarity on planted cases: vague instructions of ordinary length (unresolved
references, missing object, undefined criteria) score below clear ones, and the same
wording is clear once the input carries what it points at."""
from __future__ import annotations

import polars as pl
import pytest

from dataforge import op
from dataforge.ops.base import RunContext
from dataforge.score import clarity as C

# clear requests of ordinary length, with and without inline material
CLEAR = [
    "Write a short poem about a lighthouse keeper who waits for a ship.",
    "Give three tips for keeping houseplants alive during a cold winter.",
    "Explain why the sky looks red at sunset, in two sentences.",
    "Rewrite the following sentence in the passive voice: The committee approved the budget.",
    'Translate "Where is the train station?" into German.',
    "Create a weekly meal plan for a vegetarian athlete.",
    "Could you give me the gist of this paper in one line?\n\nWe propose a method that trains "
    "small networks on large graphs and show that it matches larger models at a tenth of the cost.",
    "Write a paper abstract that fits this one-sentence summary: This paper proposes a faster sampler.",
    "Summarize the problem with plastic waste in the oceans.",
    "Describe the story of Cinderella in five sentences.",
]
# each kind of vagueness, worded differently from the patterns' own examples
VAGUE = [
    "Please shorten the paragraph so that it fits on a slide.",        # definite text noun, no input
    "Translate the sentence into Italian.",
    "What is the main argument of the passage?",
    "Does the premise support the hypothesis?",
    "Go through the article below and list its key claims.",           # deictic
    "Using the data provided, draw conclusions about sales.",
    "Can you take a look at these paragraphs and tighten them up?",   # demonstrative
    "Convert it into a table.",                                       # pronoun object
    "I'd like to hear what you think about it.",
    "Make it better.",                                                # undefined criteria
    "Address all the problems in it.",
    "Apply the necessary edits.",
    "Please summarize.",                                              # missing object
]


def frame(instr, inputs=None):
    n = len(instr)
    return pl.DataFrame({"id": [f"r{i}" for i in range(n)], "instruction": instr,
                         "input": inputs or [""] * n, "output": ["x"] * n})


def clarity(instr, inputs=None) -> list[float]:
    o = op("score_clarity").bind(RunContext())
    o.ensure_setup()
    return o.process(frame(instr, inputs))["score_clarity"].to_list()


def test_every_vague_instruction_scores_below_every_clear_one():
    clear, vague = clarity(CLEAR), clarity(VAGUE)
    assert min(clear) > max(vague), (dict(zip(CLEAR, clear)), dict(zip(VAGUE, vague)))
    assert min(clear) >= 0.8 and max(vague) <= 0.5


def test_input_carrying_the_referent_is_not_penalised():
    ins = ["Please shorten the paragraph so that it fits on a slide.", "Translate the sentence into Italian.",
           "Does the premise support the hypothesis?", "Convert it into a table."]
    inputs = ["Our team met every week to plan the launch, and the launch went well.",
              "The cat sleeps on the warm windowsill.",
              "Premise: A dog runs on the beach. Hypothesis: An animal is outside.",
              "apples 3, pears 5, plums 2"]
    with_input = clarity(ins, inputs)
    without = clarity(ins)
    assert all(w >= 0.85 for w in with_input), with_input
    assert all(a > b + 0.3 for a, b in zip(with_input, without))


def test_few_shot_query_without_its_input_is_vague_but_with_it_is_clear():
    fs = ("Here are some solved examples of the task.\n\nIs this review positive? \"A joy.\"\nAnswer: yes\n\n"
          "Now solve this one.\nClassify the sentiment of the following review.")
    vague, clear = clarity([fs, fs], ["", "Dull and far too long."])
    assert vague <= 0.5 < 0.85 <= clear


def test_scores_are_continuous_and_checks_are_named():
    vals = clarity(CLEAR + VAGUE)
    assert len(set(round(v, 6) for v in vals)) >= 12
    chk = C.checks(frame(["Convert it into a table.", "Make the necessary changes.", "Summarize."]))
    assert chk["ref_pronoun_object"][0] and chk["undefined_criteria"][1] and chk["missing_object"][2]


@pytest.mark.parametrize("instr", ["Prove that the square root of two is irrational.",
                                   "Write a story about a dragon and explain what it eats.",
                                   "Create a function that takes three numbers and returns the largest of them."])
def test_pronouns_with_an_antecedent_or_a_clause_are_not_vague(instr):
    assert clarity([instr])[0] >= 0.8


def test_instructions_in_scripts_without_spaces_are_not_one_long_word():
    # a Chinese or Japanese request is a sentence of words, not a single over-long "word"
    cjk = ["用中文介绍一下长城的历史和意义。", "日本の首都について説明してください。"]
    latin = ["Beschreibe das Wetter in Berlin im Winter.", "Describe the weather in Berlin in winter."]
    scores = clarity(cjk + latin)
    assert min(scores) >= 0.8, dict(zip(cjk + latin, scores))
    # (the vagueness checks read English wording only: docs/scores.md)


def test_a_definite_noun_in_a_request_for_code_is_its_specification():
    # "the list" / "the orders table" is what the code works on, not material the model must see
    code = ["Write a function that returns the largest number in the list.",
            "Write a SQL query that counts the rows in the orders table.",
            "Create a program that counts the words in the text."]
    assert min(clarity(code)) >= 0.8, dict(zip(code, clarity(code)))
    # the same nouns outside a code request, and pointers that do point at shown material, still count
    vague = ["Summarize the rows in the orders table.", "Write a summary of the article.",
             "Write a SQL query for the table below.", "Write a program that counts the words in this text.",
             # the task itself is still material; a code review or a film script is no code
             "Write a program to solve the problem.", "Write a query to answer the question.",
             "Write a code review of the function."]
    assert max(clarity(vague)) < 0.5, dict(zip(vague, clarity(vague)))


def test_the_given_x_in_a_request_for_code_is_its_parameter():
    mbpp = ["Write a function to find the shared elements from the given two lists.",
            "Write a python function to check whether the given number is prime or not."]
    assert min(clarity(mbpp)) >= 0.8, dict(zip(mbpp, clarity(mbpp)))
    assert max(clarity(["Reverse the given string.", "Write a function that parses the following JSON."])) < 0.5


def test_a_clozes_blanks_and_a_quoted_placeholder_are_not_unfilled_slots():
    asked = ["Fill in the blank: The capital of France is ____.", "Explain what 'lorem ipsum' text is used for.",
             'What does "{{ name }}" do in a Jinja template?']
    assert min(clarity(asked)) >= 0.8, dict(zip(asked, clarity(asked)))
    left = ["Write a story about {topic}.", "Write about ____ in five sentences.", "Describe lorem ipsum dolor sit amet.",
            "Write a thank-you note to [name] for the gift.", "Summarize <text> in two sentences."]
    assert max(clarity(left)) < 0.5, dict(zip(left, clarity(left)))
    # a token the answer is told to write is the task, not a slot left unfilled
    tokens = ["Replace every personal name in the text with [NAME].", "Mask every number in the text as <NUM>.",
              "Write an email template with placeholders such as [Name] and [Date] for a meeting invitation."]
    assert min(clarity(tokens, ["Maria called Tom.", "Call 555 0100 at 9.", ""])) >= 0.8


def test_change_words_used_as_nouns_and_material_after_a_question_mark_are_clear():
    # "a change that fixes a crash" names a change; "Change that to sound nicer." asks for one
    rows = ["Write a git commit message for a change that fixes a crash when the config file is empty.",
            "Describe the update that added dark mode to the app.",
            "Is the following statement true or false? The Pacific is the largest ocean on Earth.",
            "Change that to sound more appropriate.",
            "Update it with the changes.",
            "Is the following statement true or false?"]
    df = pl.DataFrame({"instruction": rows, "input": [""] * len(rows)})
    chk = C.checks(df)
    vague = chk.select(pl.any_horizontal(pl.all()).alias("v"))["v"].to_list()
    assert vague == [False, False, False, True, True, True], list(zip(rows, vague))


def test_material_after_the_pointer_unless_it_is_more_request():
    """A prompt may carry its instance on the next line or after the pointer's sentence (P3,
    T0); a next line that opens as more request points at nothing."""
    import polars as pl

    from dataforge.score import clarity as C

    ins = ["What label best describes this news article?\nChipmaker Cuts Forecast as PC Demand Stalls. A major "
           "supplier of memory chips lowered its quarterly revenue outlook on Tuesday.",
           "Pick one category for the following text. The options are - company, educational institution, "
           "artist, athlete, office holder, mean of transportation, building, natural place, village, animal, "
           "plant, album, film or written work. Kestrel Ridge Brewing Company - Kestrel Ridge Brewing Company is "
           "an independent brewery founded in 2009 in Bend Oregon.",
           "Summarize this article.\nMake sure to keep it short and include the key points about the economy "
           "and the policy changes mentioned in it.",
           "Summarize the following text. Keep it short, use bullet points, avoid jargon, and write for a "
           "general audience that has never heard about the topic before at all, please, thanks a lot."]
    got = C.score(pl.DataFrame({"instruction": ins, "input": [""] * 4})).to_list()
    assert got[0] > 0.9 and got[1] > 0.9 and got[2] < 0.5 and got[3] < 0.5, got


def test_more_request_personas_and_slots_stay_vague_while_short_material_is_read():
    """Cases a review found after the material rules: a next line saying what the answer should
    be, a persona paragraph before the query, a long sentence before "the above essay", and
    "[XYZ Company]" slots stay vague; a short review under "this review" and a sentence under
    "the sentence below" are material."""
    import polars as pl

    from dataforge.score import clarity as C

    vague = ["Summarize this article.\nThe summary should be under 100 words and mention the key figures in the report.",
             "Summarize this article.\nI want it to be short, formal and focused on the economic consequences.",
             "Summarize this text.\nNo more than 50 words.",
             "You are an expert editor with twenty years of experience at major newspapers and magazines in London."
             "\n\nSummarize this article.",
             "Write in a formal tone and keep it short and simple. Then edit the above essay.",
             "Write an invitation to [XYZ Company] staff.", "List [names of attendees] here."]
    clear = ["Classify the sentiment of this review.\nGreat phone, terrible battery.",
             "Translate the sentence below into French.\nThe cat sleeps."]
    got = C.score(pl.DataFrame({"instruction": vague + clear, "input": [""] * 9})).to_list()
    assert all(v < 0.5 for v in got[:7]) and all(v > 0.85 for v in got[7:]), got


def test_short_requests_whose_pronoun_or_definite_has_no_referent_are_vague():
    """A new user's vague twins of clear questions (docs/quality.md, round 14): "Who wrote
    it?" had scored 0.785, as clear as "What is photosynthesis?"."""
    import polars as pl

    from dataforge.score import clarity as C

    vague = ["Who wrote it?", "What causes them?", "How many are there?", "How fast is it?", "List them in order.",
             "Explain the difference.", "Write the email.", "What is the boiling point?", "Is it prime?",
             "Explain how it works.", "Name the largest one.", "Why do we have them?"]
    clear = ["Who wrote 'Pride and Prejudice'?", "What causes the seasons on Earth?", "How many bones are in the adult human body?",
             "How fast is the speed of light?", "List the planets in order from the Sun.",
             "Explain the difference between weather and climate.", "Write an email asking my landlord to fix the heater.",
             "What is the boiling point of water at sea level?", "Is 97 prime?", "Explain how a refrigerator works.",
             "Name the largest ocean.", "Why do we have leap years?", "What is photosynthesis?", "Define entropy.",
             "Is it safe to eat raw cookie dough?", "What time zone is Tokyo in?"]
    got = C.score(pl.DataFrame({"instruction": vague + clear, "input": [""] * (len(vague) + len(clear))}))
    assert all(v < 0.5 for v in got[:len(vague)]), list(zip(vague, got[:len(vague)]))
    assert all(v > 0.75 for v in got[len(vague):]), list(zip(clear, got[len(vague):]))


def test_a_formula_is_the_requests_material_not_a_placeholder_or_long_words():
    from dataforge.score import clarity as C
    ins = ["Evaluate $\\int_0^1 x e^{x}\\,dx$.", "Simplify $\\frac{3}{4} + \\frac{5}{6}$.", "Factor $x^2-9$.",
           "Solve the equation $x^2 - 5x + 6 = 0$.", "Solve the equation.", "Fill in {name} and send it.",
           "Is $5 and $10 a fair price for {product}?"]
    df = pl.DataFrame({"instruction": ins, "input": [""] * len(ins), "output": ["x"] * len(ins)})
    got = C.score(df).to_list()
    assert min(got[:4]) >= 0.85, got  # were 0.28 (e^{x} read as a placeholder), 0.83, 0.36, 0.96
    assert max(got[4:]) < 0.6, got  # no formula: the vague request and the placeholders stay


def test_hedged_and_open_goal_requests_are_vague_at_any_length_and_terse_clear_ones_are_not():
    # a new user's probe: long rambling requests outscored "Capitalize 'paris'." (0.99 vs 0.29)
    hedged = ["I want a plan for a trip somewhere warm, or maybe a city break, probably in spring or "
              "possibly later, with some kind of budget in mind.",
              "Our team has problems with the release process and the reviews and the tests, so please "
              "deal with them as you see fit."]
    terse = ["Capitalize 'paris'.", "Negate 'x > 3'.", "Pluralize 'mouse'."]
    h, t = clarity(hedged), clarity(terse)
    assert max(h) < 0.6 < min(t), (h, t)
    # times are no pointers, and material after "this <noun>" with its criteria is clear
    ok = clarity(["Draft a note asking to move my dentist appointment from Tuesday to any morning the following week.",
                  "Improve this tagline by making it under eight words: 'We help teams organize every task in one place.'",
                  "Optimize this function so it runs in linear time: def f(xs): return sorted(xs)[0]"])
    assert min(ok) > 0.6, ok


def test_blind_clarity_pairs_are_mostly_ordered_and_no_clear_request_reads_unclear():
    """clarity_pairs_blind.jsonl: 80 pairs of a clear and a vague request of similar length,
    written blind (hedged subjects, open goals, missing material, undefined criteria,
    ambiguous references, too broad, contradictory, several unrelated asks; 16 in other
    languages). Before round 16: 49 ordered right, 4 clear requests under 0.5."""
    import json
    from pathlib import Path

    rows = [json.loads(x) for x in (Path(__file__).parents[1] / "benchmarks" / "quality_data"
                                    / "clarity_pairs_blind.jsonl").read_text().splitlines()]
    s = clarity([r["clear"] for r in rows] + [r["vague"] for r in rows])
    clear, vague = s[:len(rows)], s[len(rows):]
    assert sum(c > v for c, v in zip(clear, vague)) >= 53 and min(clear) >= 0.5, (clear, vague)


def test_a_request_that_names_only_the_noun_it_acts_on_is_unspecified_whatever_the_noun():
    # not from the noun list: the head noun is all the request names
    vague = ["Convert the temperature.", "Classify the sentiment.", "Explain the rules.", "Describe the cycle.",
             "Plan the trip for me."]
    # a second content word, a name, or a thing everyone knows says which one
    clear = ["Convert the temperature to Kelvin.", "Explain the offside rule.", "Describe the water cycle.",
             "Describe the sun.", "Trace the evolution of the Internet", "Plan the Kyoto trip for me."]
    chk = C.checks(frame(vague + clear))["unspecified_definite"].to_list()
    assert chk == [True] * len(vague) + [False] * len(clear)
    s = clarity(vague + clear)
    assert max(s[:len(vague)]) < 0.5 <= min(s[len(vague):]), s
    assert not C.checks(frame(["Convert the temperature."], ["72 F"]))["unspecified_definite"][0]  # input given


def test_a_request_for_a_deliverable_without_a_topic_is_vague():
    vague = ["Give me some ideas.", "Suggest a name.", "Generate some questions.", "Give me tips to make things better.",
             "Can you recommend something good?"]
    clear = ["Give me some ideas for a rainy Sunday with kids.", "Suggest a name for a sourdough bakery.",
             "Generate five questions about the French Revolution.", "Tell me a joke.", "Give me tips for sleeping better."]
    chk = C.checks(frame(vague + clear))["no_topic"].to_list()
    assert chk == [True] * len(vague) + [False] * len(clear), chk
    s = clarity(vague + clear)
    assert max(s[:len(vague)]) < 0.5 <= min(s[len(vague):]), s


def test_second_blind_pairs_of_a_request_and_its_underspecified_twin():
    """clarity_pairs_blind_2.jsonl: 30 requests and a twin that drops what makes them answerable
    ("Convert 72 degrees Fahrenheit to Celsius ..." / "Convert the temperature."), written before
    round 17's rules. Before: all ordered, 14 twins at >= 0.5; after: 5."""
    import json
    from pathlib import Path

    rows = [json.loads(x) for x in (Path(__file__).parents[1] / "benchmarks" / "quality_data"
                                    / "clarity_pairs_blind_2.jsonl").read_text().splitlines()]
    s = clarity([r["clear"] for r in rows] + [r["vague"] for r in rows])
    clear, vague = s[:len(rows)], s[len(rows):]
    assert all(c > v for c, v in zip(clear, vague)) and min(clear) >= 0.5, (clear, vague)
    assert sum(v >= 0.5 for v in vague) <= 5, vague
