"""Converted rows and worked answers (blind sets 25-28, docs/quality.md "A twenty-fourth
round"): a letter beside another option's text, two letters, a final letter the working did not
choose, a letter where no lettered options were rendered, label sets in quotes or "X, Y or Z";
a character limit; worked arithmetic that is wrong as written."""
from __future__ import annotations

import polars as pl

from dataforge.score.arithmetic import wrong_equation
from tests.test_curator_zoo import _reasons, _score

MC = "Which of these materials is the best conductor of electricity?\nA) rubber\nB) glass\nC) wood\nD) copper\n"


def _choice(got):
    return [bool(g) and g.startswith("label_choice") for g in got]


def test_a_letter_must_agree_with_its_option_and_stand_alone():
    rows = [(MC + "Answer with the letter and the option text.", "C) copper"),  # copper is D
            (MC + "Answer with a single letter.", "A or D"),
            ("Think step by step, then finish with \"Answer: <letter>\".\n\nWhich of these animals is a mammal?\n"
             "(A) salamander (B) penguin (C) dolphin (D) shark",
             "Salamanders are amphibians, penguins are birds and sharks are fish. Dolphins nurse their young, "
             "so the correct option is (C).\n\nAnswer: B")]
    assert _choice(_reasons(rows)) == [True, True, True]
    kept = [(MC + "Answer with the letter and the option text.", "D) copper"),
            (MC + "Answer with a single letter.", "D"),
            (MC + "Select all that apply.", "A, B"),
            ("Think step by step, then finish with \"Answer: <letter>\".\n\nWhich of these animals is a mammal?\n"
             "(A) salamander (B) penguin (C) dolphin (D) shark",
             "Dolphins nurse their young, so the answer is (C).\n\nAnswer: C")]
    assert _reasons(kept) == [None] * 4


def test_a_bare_letter_needs_options_that_offer_it():
    rows = [("Which of the following best describes the sentiment of the tweet? Respond with the option letter.\n\n"
             "Tweet: finally got tickets after three hours in the queue!!!", "(B)"),
            ("Choose the correct answer from the options below. Answer with the letter only.\n\n"
             "Question: Which layer of Earth's atmosphere contains most of the ozone?", "C")]
    assert _choice(_reasons(rows)) == [True, True]
    kept = [("Which of the following is a noble gas? Options: A) neon B) iron. Answer with the option letter.", "A"),
            ("Grade the essay: A if excellent, B if good, C otherwise. Which of the following grades fits?", "B"),
            ("What is the chemical symbol for carbon?", "C"),  # a letter that is the answer itself
            ("Which programming language is the Linux kernel mostly written in?", "C")]
    assert _reasons(kept) == [None] * 4


def test_label_sets_in_quotes_and_in_an_x_y_or_z_list():
    rows = [('Do the following two sentences mean the same thing? Answer "equivalent" or "not_equivalent".\n\n'
             "Sentence 1: The ministry will hire 1,200 teachers.\nSentence 2: 1,200 teachers will be recruited.", "entailment"),
            ("Classify the sentiment of this review. Answer with exactly one label: positive or negative.",
             "positive, negative"),
            ("Pick one category for the following text. The options are - company, educational institution, artist, "
             "film or written work.\n\nQuillion Systems is a software company in Tallinn.", "Sci/Tech")]
    assert _choice(_reasons(rows)) == [True, True, True]
    kept = [('Given the text, is the hypothesis true? Respond with "entailment" or "not_entailment".', "not entailment"),
            ("Pick one category for the following text. The options are - company, educational institution, artist, "
             "film or written work.\n\nThe Long Road is a 1998 drama directed by Ana Ruiz.", "film"),
            ("Pick one category. The options are - company, artist, film or written work.\n\nA novel.", "written work")]
    assert _reasons(kept) == [None] * 3


def test_a_final_answer_line_ends_a_worked_solution():
    row = ("Solve. Think step by step, then finish with \"Answer: <letter>\".\nA garden is 12 m by 5 m with a 1 m path "
           "around it. Area of the path?\n(A) 34 m² (B) 38 m² (C) 60 m² (D) 98 m²",
           "The garden plus the path is 12 + 2 = 14 m long and 5 + 2 = 7 m wide, so 14 × 7 = 98 m².\n"
           "The garden itself is 12 × 5 = 60 m².\nThe path is the difference: 98 − 60 = 38 m².\n\nAnswer: B")
    assert _reasons([row]) == [None]


def test_github_expressions_are_no_placeholders_but_mustache_slots_are():
    wf = "```yaml\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n```"
    assert _reasons([("Write a GitHub Actions step that publishes to npm with the NPM_TOKEN secret.", wf)]) == [None]
    got = _reasons([("Write a welcome text for new members.", "Welcome aboard, {{ first_name }}! We are glad you came.")])
    assert got[0] and got[0].startswith("placeholder"), got


def test_refusing_to_expose_or_break_into_someone_is_kept():
    rows = [("Write a post I can share on Facebook with her full name, home address and workplace so everyone knows.",
             "I can't help with posting someone's home address and workplace publicly. I can help you write a "
             "message asking for the money back instead."),
            ("How do I pick the lock on their back door so I can borrow their mower while they're away?",
             "I can't help with getting into someone else's home without permission. Message them and ask instead.")]
    assert _reasons(rows) == [None, None]
    assert min(_score("score_quality", rows)) >= 0.6


def test_a_character_limit_is_read_with_a_margin():
    long = ("Big news, friends! After three wonderful years of baking for this community, Crumb & Co. is thrilled "
            "to announce our second location on Maple Street, opening this Saturday. Come celebrate with free mini "
            "croissants for the first hundred guests, live acoustic music all afternoon, a kids' cookie-decorating "
            "corner and twenty percent off every celebration cake. Thank you for every coffee and every smile!")
    near = ("Big news! Crumb & Co. opens its second bakery on Maple Street this Saturday. Free mini croissants for the "
            "first hundred guests, live music all afternoon and a cookie corner for the kids. Thank you for three "
            "wonderful years, friends. See you there! #CrumbAndCo")  # a little over 280: within the margin
    rows = [("Write a tweet (280 characters max) announcing our second bakery.", long),
            ("Write a tweet (max 280 characters) announcing our second bakery.", long),
            ("Write a tweet (max 280 characters) announcing our second bakery.", near),
            ("Write a regex for usernames of no more than 20 characters.", "Use `^[a-z0-9_]{1,20}$`: it matches "
             "lower-case letters, digits and underscores, one to twenty of them, and nothing else.")]
    s = _score("score_quality", rows)
    assert s[0] < 0.6 and s[1] < 0.6 and s[2] >= 0.6 and s[3] >= 0.6, s


def test_wrong_arithmetic_as_written():
    assert wrong_equation("Profit per shirt: $20 − $12 = $8\nGross profit: $8 × 45 = $320") == "$8 × 45 = $320"
    assert wrong_equation("So 23 × 17 = 381 seats are sold.") == "23 × 17 = 381"
    for fine in ["135 ÷ 40 = 3.375, so 4 buses.", "100 ÷ 7 = 14.29", "2 + 3 × 4 = 14", "1,200 + 300 = 1,500 m",
                 "2x + 7 − 7 = 19 − 7", "$2^2 - 5\\cdot 2 + 6 = 0$", "23 × 2 + 12 × 4 = 46 + 48 = 94",
                 "3·x − 3·4 = 3x − 12", "200 × 201 / 2 = 40,200 / 2 = 20,100", "30-60 = 30 minutes",
                 "```python\nx = 2 + 2 = 5\n```", "7 boxes × 36 pencils = 250 pencils"]:
        assert wrong_equation(fine) is None, fine
    rows = [("A shop buys shirts for $12 and sells them for $20. It sold 45. What was its gross profit?",
             "Profit per shirt: $20 − $12 = $8\nGross profit: $8 × 45 = $320\n\nThe gross profit is $320."),
            ("A shop buys shirts for $12 and sells them for $20. It sold 45. What was its gross profit?",
             "Profit per shirt: $20 − $12 = $8\nGross profit: $8 × 45 = $360\n\nThe gross profit is $360."),
            # a line that names the slip, and a request to find it
            ("Check my homework: 23 × 17 = 381.", "That is wrong: 23 × 17 = 381 should be 391."),
            ("Find the mistake in this working: 8 × 45 = 320.", "The step 8 × 45 = 320 is off; the product is 360.")]
    s = _score("score_quality", rows)
    assert s[0] < 0.6 and min(s[1:]) >= 0.6, s


def _langid(rows: list[tuple[str, str, str]]) -> list:
    from dataforge import op
    from dataforge.ops.base import RunContext

    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [r[1] for r in rows], "output": [r[2] for r in rows]})
    lid = op("langid", fields=["instruction", "output"], langs=["en"]).bind(RunContext())
    lid.ensure_setup()
    out = lid.process(df.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8),
                                      task=pl.lit(None, pl.Utf8), lang=pl.lit(None, pl.Utf8)))
    return out["_reject"].to_list() if "_reject" in out.columns else [None] * len(rows)


def test_an_answer_in_another_language_than_its_request():
    tips = ("Sure! Here are three tips for better sleep:\n\n1. **Keep a consistent schedule:** go to bed and wake up "
            "at the same time every day, even on weekends.\n2. **Limit screens before bed:** stop using phones and "
            "laptops 30-60 minutes before sleep.\n3. **Watch caffeine:** avoid coffee and energy drinks after early "
            "afternoon.")
    article = ("The city of Lorient has opened a 12-kilometre cycle path along the Scorff river, linking the town "
               "centre with three outlying villages. The route cost 4.2 million euros.")
    got = _langid([("¿Me puedes dar tres consejos para dormir mejor?", "", tips),
                   ("Résumez l'article suivant en une phrase, en français.", article,
                    "Lorient has opened a 12 km cycle path along the Scorff river linking the centre to three villages."),
                   ("Résumez l'article suivant en une phrase, en français.", article,
                    "Lorient a ouvert une piste cyclable de 12 km le long du Scorff, qui relie le centre à trois villages.")])
    assert got[0] and got[0].startswith("lang_answer"), got
    assert got[1] and got[1].startswith("lang_answer"), got
    assert got[2] is None, got


def test_loops_pasted_paragraphs_ui_labels_leaked_labels_and_asking_for_given_text():
    hobbies = "\n".join(f"{i + 1}. {h}" for i, h in enumerate(
        ["Gardening", "Learning to knit", "Birdwatching", "Pottery", "Joining a running club"] * 2))
    para = ("For the past year I have worked at a busy bakery cafe, where I prepare espresso drinks during the morning "
            "rush, keep the bar clean and stocked, and help customers find the right drink for them.")
    letter = f"Dear team,\n\nI am applying for the barista role.\n\n{para}\n\nI open the store three days a week.\n\n{para}\n\nBest,\nElena"
    rows = [("List ten hobby ideas for someone who wants to spend less time online.", hobbies),
            ("Write a cover letter for a barista job.", letter),
            ("Write a Python script that prints the 10 most common words in a file.",
             "1 / 2\n\nHere's a script:\n\npython\nCopy code\nimport sys\nprint(sys.argv)\n\nRegenerate response"),
            ("Classify the sentiment of the review as positive or negative.", "negative"),
            ("Fix the grammar and spelling in the text below.",
             "Sure! Please paste the text you'd like me to correct, and I'll fix any mistakes for you.")]
    inputs = ["", "", "", "Review: The manual is useless and support keeps me on hold.\n[label: negative]",
              "Their going to announce the winner's tomorow."]
    got = _reasons(rows, inputs)
    want = ["list_loop", "repeated_paragraph", "chat_ui_text", "leaked_answer", "asks_for_given_text"]
    assert [g and g.split(":")[0] for g in got] == want, got
    kept = [("List ten hobby ideas.", hobbies.replace("6. Gardening", "6. Chess")),
            ("Write the label for the Copy code button in our editor.", "Copy code"),
            ("Extract the label field from this record.", "negative"),
            ("Fix the grammar in my essay.", "Sure! Please paste the text you'd like me to correct.")]
    assert _reasons(kept, ["", "", "id: 7\n[label: negative]", ""]) == [None] * 4


def test_good_answers_the_round_kept():
    rows = [("What is the relation between the two marked entities? Choose from: founded_by, employee_of, located_in.\n\n"
             "Sentence: [E1] Lindqvist Robotics [/E1] was set up in 2011 by [E2] Anna Lindqvist [/E2].", "founded_by"),
            ("A school is taking 126 students and 9 teachers on a trip. Each bus holds 40 people. How many buses are needed?",
             "Total people: 126 + 9 = 135.\n135 ÷ 40 = 3.375.\n\nYou can't book a fraction of a bus, so round up: **4 buses**."),
            ("Answer based on the passage. Give only the number.\n\nPassage: The Ospreys scored two touchdowns and a "
             "field goal; their opponents managed three field goals all game. Question: How many points did the Ospreys score?", "17"),
            ("Create a skeleton outline in Markdown for a project README. Section headings only.",
             "# Project Name\n\n## Overview\n\n## Installation\n\n## Usage\n\n## License"),
            ("Give me three Japanese-style kaomoji: happy, sad and the table flip.",
             "- Happy: (＾▽＾)\n- Sad: (╥﹏╥)\n- Table flip: (╯°□°)╯︵ ┻━┻")]
    assert min(_score("score_quality", rows)) >= 0.6, _score("score_quality", rows)


def test_summary_and_line_count_constraints():
    src = ("The Riverside swimming pool will close for two weeks from 3 July for repairs to its filtration system. "
           "Season-ticket holders will have their passes extended by the same period.")
    padded = ("Residents who regularly use the Riverside swimming pool should be aware that the facility is going to "
              "be closed for a period of two weeks, beginning on 3 July. The reason for the closure is that repairs "
              "need to be carried out on the pool's filtration system, which keeps the water clean and safe. People "
              "who have purchased season tickets do not need to worry, because their passes will be extended by the "
              "same length of time as the closure, so they will not lose any of the swimming they have paid for.")
    poem6 = ("The gutters hum a copper tune,\nas maple leaves let go;\nthe afternoon grows dim too soon,\n"
             "and windows soften so.\nA kettle sighs; the cat is there;\nthe rain writes letters on the air.")
    poem4 = "**Autumn Rain**\n\n" + "\n".join(poem6.split("\n")[:4])
    rows = [("Summarize the news brief.", src, padded),
            ("Summarize the news brief.", src, "The Riverside pool closes for two weeks from 3 July; season passes are extended."),
            ("Write a poem about autumn rain in exactly four lines.", "", poem6),
            ("Write a poem about autumn rain in exactly four lines.", "", poem4)]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [r[1] for r in rows], "output": [r[2] for r in rows]})
    s = _score("score_quality", df)
    assert s[0] < 0.6 and s[1] >= 0.6 and s[2] < 0.6 and s[3] >= 0.6, s


def test_held_out_round_fixes():
    # a letter said in a sentence beside another option's text
    q = "Which process turns light into chemical energy?\nA) respiration\nB) transpiration\nC) photosynthesis\nD) fermentation"
    got = _reasons([(q, "The answer is (B) photosynthesis. Plants capture light with chlorophyll."),
                    (q, "The answer is (C) photosynthesis. Plants capture light with chlorophyll."),
                    ("Which is warm-blooded?\nA) reptile\nB) mammal\nC) fish", "The answer is a mammal, as it is warm-blooded.")])
    assert _choice(got) == [True, False, False], got
    # a chat row's instruction only wraps the user's message: a refusal of its harmful part is kept
    wifi = ("I can't help with getting onto your neighbor's network without their permission; that's unauthorized "
            "access. For your own wifi: move the router somewhere central, or add a mesh node near the bedroom.")
    assert _reasons([("Answer the user's message.", wifi)],
                    ["How can I get onto my neighbor's wifi without them finding out, and boost my own?"]) == [None]
    # units after the numbers, and a bold result
    assert wrong_equation("Then multiply: 25 g × 36 = 850 g.") == "25 g × 36 = 850"
    assert wrong_equation("- Total: $84.60 + $15.23 = **$98.83**") is not None
    for fine in ["25 g × 36 = 900 g", "3 cm × 4 cm = 12 cm²", "3n + 1.5n + 6 = 33", "- Total: $84.60 + $15.23 = **$99.83**"]:
        assert wrong_equation(fine) is None, fine
    # score_quality reads them too: its first pass uses the parser's own patterns
    s = _score("score_quality", [("A recipe uses 250 g of flour for 10 cookies. How much for 36 cookies?",
                                  "Per cookie: 250 g ÷ 10 = 25 g.\n\nThen: 25 g × 36 = 850 g.\n\nYou need 850 g of flour.")])
    assert s[0] < 0.6, s
