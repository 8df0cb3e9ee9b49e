"""What a request sets and an answer can be checked against without a judge (docs/scores.md
constraints, `ends_on_heading`, `final_unsupported`; docs/cleaning.md `annotation_note`,
`prompt_leak`; docs/language.md `answer_language`; blind sets 19 and 20): the keys of a JSON
object, a closing question, an acrostic's word, a table's columns, no bullets, a title's length,
a language asked for up front - and the valid answers beside them."""
from __future__ import annotations

import polars as pl

from dataforge import op
from dataforge.ops.base import RunContext
from tests.test_curator_zoo import _reasons, _score


def _quality(rows, inputs=None):
    return _score("score_quality", rows, inputs)


def test_json_keys_asked_for_must_be_the_keys_written():
    ask = 'Invent a cafe and respond only with a JSON object with the keys "name", "city" and "price_range".'
    bad = [(ask, '{"title": "Moss", "town": "Leeds", "price": "££"}'),
           (ask, '```json\n{"name": "Moss", "price_range": "££"}\n```')]
    good = [(ask, '{"name": "Moss", "city": "Leeds", "price_range": "££"}'),
            (ask, '```json\n{\n  "city": "Leeds",\n  "name": "Moss",\n  "price_range": "££"\n}\n```'),
            # one key quoted in a question is no list of keys
            ('What does the "name" key hold in package.json?', 'The package\'s name: {"name": "left-pad"}.')]
    assert [s < 0.6 for s in _quality(bad)] == [True, True]
    assert [s < 0.6 for s in _quality(good)] == [False, False, False]


def test_a_closing_question_asked_for_and_none_given():
    ask = "Write a one-paragraph Instagram caption for our new oat latte. End with a question to engage followers."
    assert _quality([(ask, "Meet the oat latte: silky, nutty and never too sweet. On the menu from today at both shops.")])[0] < 0.6
    kept = [(ask, "Meet the oat latte: silky, nutty and never too sweet. Which shop will you try it at first? #oatlatte"),
            ("Close each paragraph with a question for the reader.", "Rain fell. Who was watching? The door opened. Why now?")]
    assert min(_quality(kept)) >= 0.6


def test_an_acrostic_must_spell_its_word_down_the_lines():
    ask = "Write an acrostic poem for the word SNOW."
    wrong = "Soft white flakes drift down,\nQuiet covers every street,\nOnly footprints show,\nWinter's hush is sweet."
    right = "Soft white flakes drift down,\nNight is hushed and deep,\nOnly footprints show,\nWinter sings to sleep."
    titled = "**Snow**\n\n- Soft white flakes drift down,\n- Night is hushed and deep,\n- Only footprints show,\n- Winter sings to sleep."
    quoted = 'Write an acrostic on "Hope".'
    got = _quality([(ask, wrong), (ask, right), (ask, titled), (quoted, "Holding on\nOpen hands\nPatient hearts\nEvery day")])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_a_table_with_fewer_columns_than_asked():
    ask = "Make a markdown table with 3 columns (Planet, Distance from Sun, Moons) for Mercury and Venus."
    two = "| Planet | Distance from Sun |\n|---|---|\n| Mercury | 58 million km |\n| Venus | 108 million km |"
    three = "| Planet | Distance from Sun | Moons |\n|---|---|---|\n| Mercury | 58 million km | 0 |\n| Venus | 108 million km | 0 |"
    got = _quality([(ask, two), (ask, three), ("Create a four-column table of fruit prices.",
                                                "| Fruit | Shop A | Shop B | Shop C |\n|---|---|---|---|\n| Apple | 1 | 2 | 3 |")])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_bullets_where_the_request_rules_them_out():
    ask = "Give me tips for better sleep in one paragraph, with no bullet points or numbered lists."
    bullets = "Here are some tips:\n\n- Keep a fixed bedtime.\n- Avoid caffeine after 2 p.m.\n- Keep the room dark."
    prose = "Keep a fixed bedtime, avoid caffeine after 2 p.m. and keep the room cool and dark."
    both = ("Summarise the plan in one paragraph, then list the three steps as bullets.",
            "We move the servers in May and test in June.\n\n- Freeze changes\n- Move the servers\n- Test")
    got = _quality([(ask, bullets), (ask, prose), both])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_a_title_that_is_a_paragraph():
    ask = "Write a title for this article."
    long = ("The Riverside school board has voted to push back the start of the school day by 45 minutes "
            "beginning next fall, a change that supporters say is backed by research showing teenagers "
            "perform better when they get more sleep, and which will require new bus routes.")
    got = _quality([(ask, long), (ask, "Riverside Schools Will Start 45 Minutes Later Next Fall"),
                    ("Write a title and a two-sentence summary for this article.", long)],
                   inputs=["The board voted to start classes later."] * 3)
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_yaml_asked_for_and_json_handed_back_even_when_the_request_names_json():
    src = '{"server": {"port": 8080}, "debug": false}'
    got = _quality([("Convert this JSON to YAML.", '```json\n{\n  "server": {"port": 8080},\n  "debug": false\n}\n```'),
                    ("Convert this JSON to YAML.", "```yaml\nserver:\n  port: 8080\ndebug: false\n```"),
                    ("Convert this YAML to JSON.", '{"server": {"port": 8080}, "debug": false}')],
                   inputs=[src, src, "server:\n  port: 8080\ndebug: false"])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_json_asked_for_by_validity_and_a_json_string_is_json():
    got = _quality([("Give me a valid JSON config with debug enabled and ports 8080 and 8443.",
                     "{'debug': True, 'ports': [8080, 8443],}"),
                    ("Give me a valid JSON config with debug enabled.", '{"debug": true}'),
                    ("Escape this text as a JSON string literal.", '"He said \\"hi\\" from C:\\\\temp"')])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_an_answer_that_stops_on_a_section_heading():
    guide = ("Painting a room is easy.\n\n**Step 1 of 3: Prepare**\nMove the furniture and cover the floor.\n\n"
             "**Step 2 of 3: Tape**\nTape the trim and the ceiling line.\n\n**Step 3 of 3: Paint**")
    done = guide + "\nRoll the walls in a W pattern and let them dry.\n\n**Enjoy your new room!**"
    md = "## Setup\nInstall the package.\n\n## Usage\nRun it.\n\n## Troubleshooting"
    code = "def f(n):\n    # step one\n    return n\n\n# Output: 1 2 3"
    got = _quality([("Write a 3-step guide to painting a room.", guide), ("Write a 3-step guide to painting a room.", done),
                    ("Write a README for the tool.", md), ("Write a Python function.", code)])
    assert got[0] < 0.6 and got[2] < 0.6 and got[1] >= 0.6 and got[3] >= 0.6, got


def test_a_final_answer_that_names_its_variable_is_read_for_its_value():
    working = "Subtract 7 from both sides: 3x = 12\nDivide by 3: x = 4\n\nCheck: 3(4) + 7 = 19\n\n"
    got = _quality([("Solve 3x + 7 = 19", working + "**Final answer: x = 5**"),
                    ("Solve 3x + 7 = 19", working + "**Final answer: x = 4**")])
    assert got[0] < 0.6 and got[1] >= 0.6, got


def test_code_asked_for_with_no_essay_and_prose_given():
    prose = ("A debounce function delays calling another function until some time has passed since it was "
             "last invoked. Each call clears the pending timer and starts a new one.")
    got = _quality([("Write a JavaScript debounce function. Code please, no essay.", prose),
                    ("Write a short essay on why a JavaScript debounce function helps search boxes.", prose)])
    assert got[0] < 0.6 and got[1] >= 0.6, got


def test_a_repeated_answer_cue_and_an_annotators_note_are_leaks():
    got = _reasons([("Which gas do plants absorb?\nA. Oxygen\nB. Carbon dioxide\nAnswer:", "Answer: Answer: Answer: B"),
                    ("Python one-liner to flatten a list of lists",
                     "`[x for sub in nested for x in sub]`\n\n[Annotator note: rated 4/5, revise before submission.]"),
                    ("Which gas do plants absorb?\nA. Oxygen\nB. Carbon dioxide\nAnswer:", "Answer: B"),
                    ("Write an example annotator note for our labelling guidelines.",
                     "[Annotator note: the span is ambiguous; both readings are defensible.]"),
                    ("Add an editor's note to this article.", "[Editor's note: this story was updated on 3 May.]")])
    assert got[0].startswith("prompt_leak") and got[1].startswith("annotation_note"), got
    assert got[2:] == [None, None, None], got


def test_a_language_asked_for_up_front_binds_a_question_that_follows():
    lid = op("langid", fields=["instruction", "output"], langs=["en"]).bind(RunContext())
    lid.ensure_setup()
    en = ("The most effective approach is spaced repetition: review new words at increasing intervals "
          "with flashcards, and use each new word in a sentence of your own as soon as you can.")
    es = ("La forma más eficaz es la repetición espaciada: repase las palabras nuevas a intervalos cada vez "
          "más largos con tarjetas y use cada palabra nueva en una frase propia lo antes posible.")
    df = pl.DataFrame({"instruction": ["Answer in Spanish: what's the best way to learn vocabulary?"] * 2 +
                       ["How do you say 'spaced repetition' in Spanish?"],
                       "input": [""] * 3, "output": [en, es, "It is 'repetición espaciada', as in: " + en]})
    out = lid.process(df.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8),
                                      task=pl.lit(None, pl.Utf8), lang=pl.lit(None, pl.Utf8)))
    got = out["_reject"].to_list() if "_reject" in out.columns else [None] * 3
    assert got[0] and got[0].startswith("lang_answer") and "asked for es" in got[0], got
    assert got[1:] == [None, None], got
