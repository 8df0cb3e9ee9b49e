"""Cuts inside code and numbers, loops, replacement characters and empty placeholders
(docs/cleaning.md; found on blind look-alike set 8, checked on planted code cuts and set 9):
each defect caught, and the finished answers that look like it kept."""
from __future__ import annotations

import pytest

from tests.test_curator_zoo import _reasons, _score

SQL = ("SELECT c.name, SUM(o.total) AS revenue\nFROM customers c\nJOIN orders o ON o.customer_id = c.id\n"
       "WHERE o.created_at >= '2024-01-01'\n")
PY = "def is_prime(n):\n    if n < 2:\n        return False\n    for i in range(2, int(n ** 0.5) + 1):\n"


def _first_word(reasons):
    return [r.split(":")[0] if r else None for r in reasons]


@pytest.mark.parametrize("output", [
    SQL + "GROUP BY",  # an SQL clause with nothing after its keyword
    SQL + "GROUP BY c.name\nORDER BY revenue DESC, c.name AND",
    PY + "        if n % i == 0:",  # a block's opening line and no body
    PY + "        if",  # a lone keyword
    "total = 0\nfor item in cart:\n    price = item.price * item.qty\n    total = total +",
    "#!/bin/bash\nset -e\ngrep -v '^#' config.ini | sort | uniq -c |",  # a pipe to nothing
    PY + "        # stop at the first divisor, since there is no need to look past the",  # a comment cut
])
def test_code_that_stops_on_what_must_follow_is_cut(output):
    got = _reasons([("Write the code for this task.", output)])[0]
    assert got and got.startswith("truncated"), got


@pytest.mark.parametrize("output", [
    SQL + "GROUP BY c.name",  # no semicolon needed
    PY + "        if n % i == 0:\n            return False\n    return True",
    "| Name | Role |\n|---|---|\n| Ana | Data engineer |\n| Tom | Designer |",  # a table row ends on "|"
    "docker run --rm -it -v $(pwd):/app -w /app python:3.12 python -m pytest -q --maxfail=1",
    "server {\n    listen 80;\n    server_name example.com;\n}",
    "services:\n  db:\n    image: postgres:16\n    restart: always",
])
def test_finished_code_is_kept(output):
    assert _reasons([("Write the code for this task.", output)]) == [None]


def test_prose_after_a_closed_code_block_is_read_as_prose():
    code = "```python\nprint(sum(range(10)))\n```\n\n"
    cut, kept = _reasons([
        ("What does this print?", code + "It prints 45, because the loop adds every number from 0 to 9, so the"),
        ("What does this print?", code + "It prints 45, the sum of the numbers from 0 to 9"),
    ])
    assert cut and cut.startswith("truncated"), cut
    assert kept is None


@pytest.mark.parametrize("output,cut", [
    ("2^10 = 1,024, so 2^20 = 1,024 × 1,024 = 1,048,5", True),
    ("2^10 = 1,024, so 2^20 = 1,024 × 1,024 = 1,048,576", False),
    ("In Indian notation one hundred thousand rupees is written ₹1,00,000", False),
    ("The average rainfall that week was 3,5", False),  # a decimal comma
])
def test_a_number_cut_inside_its_digits(output, cut):
    got = _reasons([("Work it out.", output)])[0]
    assert (got is not None and got.startswith("truncated")) == cut, got


def test_an_email_address_ends_a_text_as_a_link_does():
    text = ("Thank you for volunteering! Sign in at the front desk and pick up a badge. Lift with your "
            "legs, and ask for help with anything heavy.\n\nQuestions? Email the coordinator at "
            "volunteers@eastsidefoodbank.org")
    assert _reasons([("Write a short onboarding note for new volunteers.", text)]) == [None]


def test_a_line_said_again_and_again_is_a_loop_unless_asked_for():
    loop = "def add(a, b):\n" + "    return a + b\n" * 8
    chant = "Let's go, Tigers, let's go!\n" * 4
    braces = "int main() {\n  if (x) {\n    if (y) {\n      f();\n    }\n  }\n}\n}\n}"
    got = _first_word(_reasons([
        ("Write a Python function that adds two numbers.", loop),
        ("Write a stadium chant for the Tigers that repeats four times.", chant),
        ("Show nested blocks in C.", braces),
    ]))
    assert got == ["line_loop", None, None], got
    # a block of lines, or a sentence, said again and again
    signed = "Thanks for the invite. Friday is fully booked for me; please share the notes afterwards.\n\n" + \
        "Best regards,\nTom\n\n" * 6
    hasta = "Gracias por tu ayuda, hasta mañana." + " Hasta mañana." * 10
    got = _first_word(_reasons([("Write a short email about Friday's meeting.", signed),
                                ("Translate into Spanish: 'Thank you for your help, see you tomorrow.'", hasta)]))
    assert got == ["line_loop", "line_loop"], got


def test_replacement_characters_are_mis_decoded_text_unless_the_question_is_about_them():
    got = _first_word(_reasons([
        ("At what temperature do I bake sourdough?", "Bake at 230 \ufffdC with the lid on for 20 minutes."),
        ("Why does my CSV show \ufffd instead of é?", "The file is Latin-1 but was read as UTF-8, so é became \ufffd."),
    ]))
    assert got == ["mojibake", None], got


def test_an_ellipsis_or_a_todo_for_the_whole_answer_is_no_answer():
    got = _first_word(_reasons([
        ("Write a limerick about a cat who loves boxes.", "..."),
        ("Write a SQL query that returns all orders placed last month.", "-- TODO"),
        ("What is the letter S in Morse code?", "..."),
        ("Which punctuation mark ends a question?", "?"),
    ]))
    assert got == ["no_content", "code_stub", None, None], got


def test_declining_exactness_then_giving_the_figure_is_an_answer_but_a_bare_refusal_is_not():
    got = _first_word(_reasons([
        ("What's the population of Reykjavík right now?",
         "I don't have live data, so I can't give today's exact number, but Reykjavík has had roughly "
         "135,000-140,000 residents in recent years."),
        ("What's the weather in Oslo today?",
         "I'm sorry, but I can't provide real-time information, but I can help with something else."),
    ]))
    assert got[0] is None and got[1] is not None and got[1].startswith("refusal"), got


def test_score_quality_reads_code_asked_repetition_and_symbols_as_answers():
    rows = [
        ("Write a Python function that returns the n-th Fibonacci number.",
         "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a"),
        ("Write a Makefile with targets build and test for a Go project.",
         "build:\n\tgo build ./...\n\ntest: build\n\tgo test ./..."),  # a path, not a trailing-off
        ("How do you write SOS in Morse code?", "... --- ..."),
        ("List the symbols for the euro, the pound sterling and the yen.", "Euro: €\nPound sterling: £\nYen: ¥"),
        ("Write 'I will not talk in class' three times, one per line.",
         "I will not talk in class\nI will not talk in class\nI will not talk in class"),
        ("Give me a typing drill: the line 'asdf jkl;' repeated four times.", "asdf jkl;\n" * 4),
    ]
    assert [round(s, 2) for s in _score("score_quality", rows)] == [1.0] * len(rows)
    cut = [
        ("Print the sizes of C types.", '#include <stdio.h>\nint main(void) {\n    printf("double: %zu by'),
        ("Write a limerick about a cat.", "..."),
        ("Write a Python function that adds two numbers.", "def add(a, b):\n" + "    return a + b\n" * 6),
    ]
    assert all(s < 0.6 for s in _score("score_quality", cut)), _score("score_quality", cut)


def test_more_cuts_and_the_endings_and_requests_that_look_like_them():
    table = "| Z | Element | Symbol |\n|---|---|---|\n| 1 | Hydrogen | H |\n| 2 | Helium | He |\n| 3 | Lithium | Li"
    sonnet = ("Beneath the restless silver of the moon,\nThe ocean breathes in long and patient sighs;\n"
              "It hums the sailor's half-forgotten tune\nAnd holds the shifting colours of the skies.\n"
              "Yet rises up in fury when it")
    got = _first_word(_reasons([("Make a table of the first three elements.", table),
                                ("Write a sonnet about the ocean.", sonnet)]))
    assert got == ["truncated", "truncated"], got
    kept = [
        # a Japanese letter signed under its closing
        ("注文をキャンセルしたいお客様への返信メールを書いてください。",
         "お客様\n\nご注文のキャンセル手続きを完了いたしました。ご返金は通常5〜10営業日ほどで反映されます。\n\n"
         "今後ともどうぞよろしくお願い申し上げます。\n\nカスタマーサポート担当"),
        # an ending the request asks to look cut
        ("Write the opening paragraph of a mystery novel. Make it stop mid-sentence, as if the page had been torn out.",
         "The letter had waited in the drawer for eleven years, and when Clara finally read it she understood "
         "why her grandmother had never spoken of the lighthouse. It began, \"If you are reading this, then Thomas has"),
        # placeholders the request asks for
        ("Create a support macro for password resets. Use {{agent_name}} and {{customer_name}} as placeholders.",
         "Hi {{customer_name}},\n\nYou can reset your password from the sign-in page.\n\nBest,\n{{agent_name}}"),
        # a semicolon at the end of a verse line is no code
        ("Write a short poem about autumn.", "The maples burn in red and gold;\nThe mornings come in grey and cold;\n"
         "The geese go south in ragged lines,\nAnd wood smoke drifts between the pines."),
    ]
    assert _reasons(kept) == [None] * len(kept)


def test_a_refused_forgery_is_a_right_answer():
    got = _reasons([("Write me a doctor's note saying I had the flu last week, signed by Dr. Patel.",
                     "I can't write a note signed in a doctor's name. A clinic or telehealth service can issue one "
                     "after a short consultation, and I'd be glad to help you write a self-certification instead.")])
    assert got == [None], got


def test_an_answer_put_off_or_a_generic_request_for_more_context_is_no_answer():
    got = _first_word(_reasons([
        ("Write a cover letter for a barista job at a local coffee shop.", "I'll write that for you shortly."),
        ("Create a one-week vegetarian meal plan.", "Working on it! I'll send the full seven-day meal plan in a follow-up message."),
        ("What is the past tense of 'run'?", "I need a bit more detail before I can answer that. Please provide more context "
         "about how you plan to use the word."),
        ("Convert 100 degrees Fahrenheit to Celsius.", "To answer this accurately, I'll need more information. Could you "
         "provide additional context about what you're converting and why?"),
    ]))
    assert got == ["non_answer"] * 4, got
    kept = _reasons([
        ("Translate this into French.", "Which text would you like translated? Paste it here and I'll translate it."),
        ("Convert 100 degrees Fahrenheit to Celsius.", "100 °F is about 37.8 °C: subtract 32, then multiply by 5/9. "
         "If you need more precision, I can give more decimals."),
        ("Reply to my colleague that I'll send the report tomorrow.", "Hi Sam, thanks for your patience - I'll send the "
         "report tomorrow morning."),
        ("Write a one-line message to my boss saying the report comes tomorrow.", "I'll send the report tomorrow."),
    ])
    assert kept == [None] * 4, kept


@pytest.mark.parametrize("param", ["dangling_pair", "code_open_end", "cjk_closing"])
def test_a_bad_regex_in_a_rule_parameter_is_a_config_error_naming_the_file_and_rule(tmp_path, param):
    import polars as pl

    from dataforge.clean import rules as R
    from dataforge.errors import ConfigError

    path = tmp_path / "r.yaml"
    path.write_text(f"rules:\n  - name: cuts\n    type: truncated\n    field: output\n    {param}: '(unclosed'\n")
    rules, _ = R.load(str(path))
    df = pl.DataFrame({"instruction": ["Explain."], "input": [""], "output": ["One two three four five six seven"]})
    with pytest.raises(ConfigError, match=r"r\.yaml: rule 'cuts' \(type truncated\).*regex"):
        R.reasons(rules, df)


def test_an_essay_that_ends_on_its_introduction_again_is_caught_but_a_chorus_is_not():
    intro = ("Every exam season, students trade sleep for study time, convinced that a few extra hours with "
             "their notes will pay off. The science says otherwise, and cutting sleep undermines memory.")
    essay = intro + "\n\nSleep consolidates what we learned during the day into long-term memory.\n\n" + intro
    got = _reasons([("Write a short essay on why sleep matters for exams.", essay)])
    assert got[0] and got[0].startswith("repeated_paragraph"), got
    chorus = ("Oh the river runs and the river rolls, and it carries home the tired souls, the night is long "
              "but the morning calls, and we sing it all again.")
    song = "Verse about the town and the mill.\n\n" + chorus + "\n\nVerse about the bridge and the rain.\n\n" + chorus
    assert _reasons([("Write a folk song about a river town.", song)]) == [None]
