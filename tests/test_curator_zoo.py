"""Eighth round of judgment probes: a curator's zoo of good rows naive filters drop, and a zoo
of labelled defects (benchmarks/quality_data/curator_zoo.jsonl, defect_zoo.jsonl; docs/quality.md)."""
from __future__ import annotations

import polars as pl
import pytest

from dataforge import op
from dataforge.clean import encoding
from dataforge.clean.garble import garble_stats
from dataforge.ops.base import RunContext
from dataforge.ops.filters import RuleFilter
from tests.test_filters import _assert_kept_and_scored_as_finished, _zoo


def _reasons(rows: list[tuple[str, str]], inputs: list[str] | None = None) -> list[str | None]:
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "input": inputs or [""] * len(rows),
                       "output": [r[1] for r in rows]})
    return RuleFilter().reasons(df).to_list()


def _score(name: str, rows: list[tuple[str, str]] | pl.DataFrame, inputs: list[str] | None = None) -> list[float]:
    """`name`'s scores of (instruction, output) pairs, or of a frame of the row columns (a
    `system` column too)."""
    df = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(
        {"instruction": [r[0] for r in rows], "input": inputs or [""] * len(rows), "output": [r[1] for r in rows]})
    df = df.with_columns(
        id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8), task=pl.lit(None, pl.Utf8))
    o = op(name).bind(RunContext())
    o.ensure_setup()
    return o.process(df)[name].to_list()


def _caught(zoo: pl.DataFrame) -> list:
    """Per row: the first rule's reason, else language ID's, else None."""
    df = zoo.select("instruction", "input", "output")
    r = RuleFilter().reasons(df)
    lid = op("langid", fields=["instruction", "output"], langs=["en"]).bind(RunContext())
    lid.ensure_setup()
    out = lid.process(df.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8),
                                      task=pl.lit(None, pl.Utf8), lang=pl.lit(None, pl.Utf8)))
    lang = out["_reject"] if "_reject" in out.columns else pl.Series([None] * df.height, dtype=pl.Utf8)
    return [a or b for a, b in zip(r, lang)]


def test_curator_zoo_is_kept_and_scored_as_finished():
    zoo = _zoo("curator_zoo")
    assert zoo.height >= 70 and set(zoo["kind"]) >= {"code", "math", "creative_writing", "translation"}
    _assert_kept_and_scored_as_finished(zoo.select("instruction", "input", "output"))


# defects no rule can see: a wrong fact and an answer to another question (score_alignment and
# judges are for those, see docs/quality.md)
NOT_FOR_RULES = {"wrong_answer", "off_topic_answer"}


def test_defect_zoo_is_caught_by_rules_or_language_id():
    zoo = _zoo("defect_zoo")
    got = _caught(zoo)
    missed = [(d, o[:50]) for d, o, g in zip(zoo["defect"], zoo["output"], got) if d not in NOT_FOR_RULES and g is None]
    assert not missed
    # each new rule catches the defect it was written for
    by = dict(zip(zoo["output"], got))
    kinds = {d: [by[o] for dd, o in zip(zoo["defect"], zoo["output"]) if dd == d] for d in set(zoo["defect"])}
    assert all(x.startswith("mojibake:") for x in kinds["mojibake"])
    assert {x.split(":")[0] for x in kinds["markup_junk"]} <= {"markup_junk", "web_boilerplate"}


def test_second_curator_zoo_is_kept_and_scored_as_finished():
    # jargon, long markdown answers, JSON/YAML/XML/CSV, few-shot prompts, alarming but benign
    # requests, children's lists, dialogues, first-person pieces (curator_zoo_2.jsonl)
    zoo = _zoo("curator_zoo_2")
    assert zoo.height >= 70
    _assert_kept_and_scored_as_finished(zoo.select("instruction", "input", "output"))


def test_second_defect_zoo_generation_artefacts_are_caught():
    zoo = _zoo("defect_zoo_2")
    got = _caught(zoo)
    by_defect: dict[str, list] = {}
    for d, g in zip(zoo["defect"], got):
        by_defect.setdefault(d, []).append(g)
    for d in ("leaked_chat_tokens", "instruction_leak", "copies_input", "duplicated_answer", "truncated_code",
              "wrong_language", "refusal", "placeholder", "empty_or_trivial"):
        assert all(by_defect[d]), (d, by_defect[d])
    assert all(g.startswith("chat_tokens:") for g in by_defect["leaked_chat_tokens"])
    assert all(g.startswith("prompt_leak:") for g in by_defect["instruction_leak"])
    # "Q: ... A: ..." continuations, an answer wrapped in talk about itself, a one-word list item
    # cut short and a short looping list are what no rule reads yet (docs/quality.md)
    missed = [d for d, g in zip(zoo["defect"], got) if g is None]
    assert set(missed) <= {"meta_commentary", "continued_dialogue", "truncated_list", "repetition_loop"}
    assert len(missed) <= 6, missed


def test_chat_tokens_dialogue_turns_prompt_leaks_and_code_stubs():
    assert _reasons([("What is the capital of Australia?", "Canberra.<|im_end|>")])[0].startswith("chat_tokens:")
    assert _reasons([("Shorten it.", "We went anyway.</s>")], ["Although it rained we went."])[0] \
        .startswith("chat_tokens:")
    assert _reasons([("Explain the ChatML special tokens.", "<|im_start|> opens a turn and <|im_end|> closes it.")]) \
        == [None]
    assert _reasons([("Write HTML with a struck-through price.", "<p><s>$20</s> $15</p>")]) == [None]
    go_on = "Boil it for 6 to 7 minutes, then cool it in ice water.\n\nUser: Thanks! And poached eggs?\nAssistant: Simmer."
    assert _reasons([("How long should I boil an egg?", go_on)])[0].startswith("continued_dialogue:")
    chat = "User: My order is late.\nAgent: I'm sorry to hear that. Let me check the tracking for you."
    assert _reasons([("Write a short customer-support chat about a late order.", chat)]) == [None]
    assert _reasons([("Continue the story.", chat)]) == [None]  # a dialogue from its first line
    invoice = "Invoice #12\nCustomer: Jane Doe\nItems: 2 widgets at $5 each.\nTotal: $10."
    assert _reasons([("Create an invoice for two widgets.", invoice)]) == [None]
    leak = "### Instruction:\nGive a tip.\n\n### Response:\nTake short breaks every hour to stay focused."
    assert _reasons([("Give a tip for focus.", leak)])[0].startswith("prompt_leak:")
    assert _reasons([("Show the Alpaca prompt format.", leak)]) == [None]
    stub = "```python\ndef fib(n):\n    # TODO: implement this\n    pass\n```"
    assert _reasons([("Write a Python function for the nth Fibonacci number.", stub)])[0].startswith("code_stub:")
    assert _reasons([("Give me a skeleton for a fib function.", stub)]) == [None]
    template = ("Dear [Hiring Manager's Name],\n\nI am writing about the [Position Title] role at [Company Name]. "
                "With [X years] of experience in [Your Field], my skills in [Skill 1] and [Skill 2] fit well.\n\n"
                "Sincerely,\n[Your Name]")
    assert _reasons([("Write a cover letter for me: I'm Sara, applying as Senior Accountant.", template)])[0] \
        .startswith("unfilled_slots:")


def test_an_answer_that_only_talks_about_itself_is_no_answer():
    talk = ("Sure! Here's a concise summary of the article you provided. I've focused on the main points. "
            "Let me know if you'd like me to adjust the length!")
    assert _reasons([("Summarize the article in two sentences.", talk)], ["A study found ..."])[0] \
        .startswith("non_answer:")
    handed = "Sure! Here is the translation: Hola, ¿cómo estás? Let me know if you need more."
    assert _reasons([("Translate 'Hi, how are you?' into Spanish.", handed)]) == [None]
    content = "Sure! Walking 7,000 steps a day halves the risk of early death. Let me know if you need more."
    assert _reasons([("Summarize the study in one sentence.", content)]) == [None]
    closing = "I hope this helps! Let me know if you have any other questions."
    assert _reasons([("Write a friendly closing line for a support e-mail.", closing)]) == [None]


def test_a_list_built_on_one_frame_is_no_loop_and_figures_resolve_these_numbers():
    abc = "\n".join(f"{c} is for {w}" for c, w in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", (
        "apple ball cat duck egg fish goat hat igloo jam kite lion moon nest owl pig queen rain sun "
        "turtle umbrella van whale xylophone yak zebra").split()))
    assert _reasons([("Make an alphabet list, one word per letter, as 'A is for apple'.", abc)]) == [None]
    loop = "\n".join(["and the waves roll on and the waves roll on"] * 12)
    assert _reasons([("Write a poem about the sea.", "The sea.\n" + loop)])[0].startswith("repetition:")
    s = _score("score_clarity", [("My results: HbA1c 7.8%, glucose 152 mg/dL. What do these numbers mean?", "x"),
                                 ("What do these numbers mean?", "x"),
                                 ("Convert this order into XML with a root element <order>.", "x")],
               ["", "", "Order A-1042: 2 cables at 9.99."])
    assert s[0] >= 0.6 and s[1] < 0.4 and s[2] >= 0.6


def test_langid_reads_an_answer_in_another_script_alone_when_the_joined_text_is_unsure():
    rows = pl.DataFrame({"instruction": ["Summarize this paragraph in one English sentence.",
                                         "Give some examples of national dishes from a given country."],
                         "input": ["The city's bike-share program launched last month with 400 bikes.", ""],
                         "output": ["该市的共享单车项目首月骑行量超过五万二千次，远超预期，官方计划年底前再增设二十个站点。",
                                    "- Ragu alla Bolognese\n- Risotto\n- Spaghetti alla Carbonara\n- Napoletana Pizza\n"
                                    "- Arancini\n- Fiorentina Steak\n- Polenta\n- Ossobuco\n- Truffles"]})
    lid = op("langid", fields=["instruction", "output"], langs=["en"]).bind(RunContext())
    lid.ensure_setup()
    out = lid.process(rows.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8),
                                        task=pl.lit(None, pl.Utf8), lang=pl.lit(None, pl.Utf8)))
    assert out["_reject"].to_list()[0].startswith("lang_mismatch: detected zh")
    # Italian names under an English request: the joined text is unsure (p 0.47) and the answer
    # alone reads as Italian (0.97), but it is written in the instruction's script
    assert out["_reject"].to_list()[1] is None


# -- mojibake ---------------------------------------------------------------------------------

@pytest.mark.parametrize("good", ["café", "don’t “quoted” – — … € ™", "180 °C, ½ cup", "Zürich, naïve, façade, ß",
                                  "Привет мир", "Œuvre, š, ñandú"])
def test_mojibake_repair_restores_utf8_read_as_cp1252(good):
    # (bytes Windows-1252 leaves undefined, as 9D in ”, come through as Latin-1 controls)
    broken = "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in good.encode("utf-8"))
    assert pl.Series([broken]).str.contains(encoding.SUSPECT)[0]
    assert encoding.repair(pl.Series([broken])).to_list() == [good]


@pytest.mark.parametrize("text", ["São Paulo", "SÃO PAULO", "café…” she said", "Ärger über Öl", "Â is a letter",
                                  "ESPAÑA", "naïve façade, 20 °C — “quoted”"])
def test_mojibake_repair_leaves_real_text_alone(text):
    assert encoding.repair(pl.Series([text])).to_list() == [text]
    assert _reasons([("Say it.", text)]) == [None]


def test_normalize_repairs_mojibake_and_the_rule_rejects_what_is_left():
    df = pl.DataFrame({"instruction": ["Describe Zürich."], "input": [""],
                       "output": ["ZÃ¼rich sits at the end of the lake, where itâ€™s 20Â°C in June."]})
    fixed = op("normalize").map(df)
    assert fixed["output"][0] == "Zürich sits at the end of the lake, where it’s 20°C in June."
    assert _reasons([("Describe Zürich.", df["output"][0])])[0].startswith("mojibake: output has mis-decoded")
    assert RuleFilter().reasons(fixed).to_list() == [None]
    # a task about encodings quotes broken text on purpose
    assert _reasons([("Fix the encoding of this UTF-8 text: 'cafÃ©'", "café")]) == [None]
    assert "itâ€" in op("normalize", fix_encoding=False).map(df)["output"][0]


# -- page junk, slots, copies, lead-ins --------------------------------------------------------

def test_web_boilerplate_needs_two_phrases_and_markup_junk_spares_pages_the_answer_writes():
    banner = "We use cookies to improve your experience. Skip to main content.\n© 2024 Example Media. All rights reserved."
    assert _reasons([("What is the tallest mountain in Africa?", banner)])[0].startswith("web_boilerplate:")
    one = "It means the author keeps every right the law gives them; 'All rights reserved' says so."
    assert _reasons([("What does 'all rights reserved' mean?", one)]) == [None]
    assert _reasons([("Write a cookie banner for my site.", banner)]) == [None]
    junk = '<div class="card"><script>window.x = 1;</script></div>'
    assert _reasons([("Extract the product name.", junk)])[0].startswith("markup_junk:")
    page = "<html>\n<head>\n<title>Login</title>\n</head>\n<body>\n<div>\n<form></form>\n</div>\n</body>\n</html>"
    assert _reasons([("Generate a login form.", page)]) == [None]
    assert _reasons([("Write the HTML for a card.", junk)]) == [None]


def test_unfilled_slots_fire_on_a_template_but_not_on_a_filled_letter_or_code():
    assert _reasons([("Rewrite this email.", "Dear <RECIPIENT_NAME>,\n\n<BODY_TEXT>\n\nBest,\n<SENDER_NAME>")])[0] \
        .startswith("unfilled_slots:")
    letter = "Dear Tom,\n\nI have to move the 3pm meeting. Could we meet tomorrow instead?\n\nBest regards,\n[Your Name]"
    assert _reasons([("Rewrite this email.", letter)]) == [None]
    assert _reasons([("Compute the derivative of x^3.", "$$\\frac{d}{dx}x^3 = 3x^2$$")]) == [None]
    assert _reasons([("Create an HTML table.", "<table>\n<tr><th>Name</th><th>Age</th></tr>\n</table>")]) == [None]
    assert _reasons([("Give an email template with placeholders.", "Dear [Name],\n[Body]\n[Signature]")]) == [None]


def test_output_same_as_input_only_where_a_change_was_asked():
    text = "The company reported revenue of $4.2 billion, up 12% from a year earlier, driven by cloud growth."
    assert _reasons([("Summarize this in one sentence.", text)], [text])[0].startswith("output_same_as_input:")
    assert _reasons([("Return the text unchanged.", text)], [text]) == [None]
    assert _reasons([("Fix the grammar if needed.", text)], [text]) == [None]
    assert _reasons([("Translate the city name into German.", "Berlin")], ["Berlin"]) == [None]


def test_non_answer_reads_lead_ins_emoji_requests_and_chinese_words():
    assert _reasons([("Summarize the article.", "Summary:")])[0].startswith("non_answer:")
    assert _reasons([("Write a poem about rain.", "Here is a poem about rain:")])[0].startswith("non_answer:")
    assert _reasons([("Describe a beach day using only emoji.", "🌅☀️🏖️🌊🍉😎🌇")]) == [None]
    assert _reasons([("Explain gravity.", "🌅☀️")])[0].startswith("non_answer:")
    # a Chinese paragraph is many words, not one
    assert _reasons([("Describe Beijing in Chinese.", "北京是中国的首都，也是中国的政治和文化中心。它有三千多年的历史。")]) == [None]


# -- notation, proofs, drafted replies, two-word requests ---------------------------------------

def test_garble_reads_notation_numerals_and_capitalised_auxiliaries_as_such():
    st = garble_stats(pl.Series(["1. e4 e5 2. Nf3 Nc6 3. Bb5",
                                 "Try the i–VI–III–VII progression. It pulls back to Am.",
                                 "We met on the 5th of May. It rained.",
                                 "cat the. on sat mat The of and"]))
    assert st["bad"].to_list()[:3] == [0, 0, 0]
    assert st["bad"][3] >= 2  # shuffled prose still breaks the transitions
    assert garble_stats(pl.Series(["the i is small."]))["bad"][0] == 1  # lower-case text: "i" is the pronoun


def test_a_proof_ending_in_qed_is_finished():
    proof = ("Base case: for n = 1 both sides are 1.\n\nInductive step: assume it holds for k; adding 2k + 1 "
             "gives (k + 1)².\n\nSo the sum of the first n odd numbers is n² for all n ≥ 1. ∎")
    assert _reasons([("Prove by induction that the sum of the first n odd numbers is n².", proof)]) == [None]


def test_a_rewrite_of_an_input_that_declines_may_decline():
    note = "hey tom, cant make the 3pm, something came up. can we do tmrw? thx"
    polite = "Dear Tom,\n\nI'm afraid I can't make the 3pm meeting today. Could we meet tomorrow?\n\nBest regards,\nRachel"
    assert _reasons([("Rewrite this email to sound professional.", polite)], [note]) == [None]
    assert _reasons([("Rewrite this email to sound professional.", "I'm sorry, but I can't help with that.")],
                    [note])[0].startswith("refusal")
    assert _reasons([("Rewrite this email to sound professional.", polite)], ["hey tom, see you at 3pm"])[0] \
        .startswith("refusal")
    # a question on a passage that says "unable" is no rewrite: the refusal is still one
    assert _reasons([("Answer the question using the passage.", "I'm sorry, I cannot answer that question.")],
                    ["The team was unable to win. Who lost?"])[0].startswith("refusal")


def test_an_apology_in_a_drafted_reply_is_no_refusal():
    reply = ("Hi Mark,\n\nThank you for raising this directly, and I'm sorry. We won't ship the full release on the "
             "30th, but the reporting module will be ready then.\n\nBest regards,\nDana")
    refusal = "I'm really sorry, but I won't be able to draft that reply for you."
    q = _score("score_quality", [("Draft a reply to the client's email.", reply),
                                 ("Draft a reply to the client's email.", refusal)])
    assert q[0] >= 0.9 and q[1] <= 0.2


def test_a_request_verb_and_a_concrete_object_is_not_too_short():
    s = _score("score_clarity", [("Define entropy.", "x"), ("Summarize Hamlet.", "x"), ("Help.", "x"),
                                 ("Do it.", "x"), ("Write something.", "x")])
    assert min(s[:2]) >= 0.6 and max(s[2:]) < 0.4


# -- twelfth round: a third blind zoo (90 good rows, 25 of them in 17 other languages; 50
# defects, 16 in other languages), curator_zoo_3.jsonl and defect_zoo_3.jsonl --------------

def _lid(zoo: pl.DataFrame, langs: list[str]) -> list:
    df = zoo.select("instruction", "input", "output").with_columns(
        id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8), task=pl.lit(None, pl.Utf8),
        lang=pl.lit(None, pl.Utf8))
    lid = op("langid", fields=["instruction", "output"], langs=langs).bind(RunContext())
    lid.ensure_setup()
    out = lid.process(df)
    return out["_reject"].to_list() if "_reject" in out.columns else [None] * df.height


def test_third_curator_zoo_is_kept_and_scored_as_finished_in_every_language():
    from tests.test_filters import _assert_scored_as_finished

    zoo = _zoo("curator_zoo_3")
    langs = sorted(set(zoo["lang"]))
    assert zoo.height >= 90 and len(langs) >= 15
    rows = zoo.select("instruction", "input", "output")
    r = RuleFilter().reasons(rows)
    assert r.null_count() == zoo.height, [(i[:50], x) for i, x in zip(zoo["instruction"], r) if x]
    # a multilingual set filtered with its own languages: nothing dropped, the answer-language
    # check included (translations, code-switched requests)
    assert _lid(zoo, langs) == [None] * zoo.height
    df = rows.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8),
                           task=pl.lit(None, pl.Utf8), lang=pl.lit(None, pl.Utf8))
    _assert_scored_as_finished(rows, df)


# wrong facts, wrong arithmetic, false premises, invented citations, another question
# answered: for judges and alignment, not rules (docs/quality.md)
BEYOND_RULES = {"factual_error", "wrong_math_answer", "false_premise_accepted", "hallucinated_citation",
                "medical_misinformation", "answers_different_question", "final_answer_mismatch",
                "summary_of_wrong_input", "partial_translation", "machine_translation_garbage",
                "label_not_in_set", "unfilled_placeholder_despite_details",
                # (an over-long list is caught in English, "Give me 3 tips" answered with nine;
                # an Indonesian answer with two provinces for five is not)
                "count_ignored"}


def test_third_defect_zoo_is_caught_in_other_languages_too():
    zoo = _zoo("defect_zoo_3")
    langs = sorted(set(_zoo("curator_zoo_3")["lang"]) | set(zoo["lang"]))
    rules = RuleFilter().reasons(zoo.select("instruction", "input", "output")).to_list()
    lid = _lid(zoo, langs)
    q = _score("score_quality", list(zip(zoo["instruction"], zoo["output"])), zoo["input"].to_list())
    caught = [a or b or (s < 0.6) for a, b, s in zip(rules, lid, q)]
    missed = [(d, l, i[:40]) for d, l, i, c in zip(zoo["defect"], zoo["lang"], zoo["instruction"], caught)
              if not c and d not in BEYOND_RULES]
    assert not missed
    by = {(d, l): (a or b) for d, l, a, b in zip(zoo["defect"], zoo["lang"], rules, lid)}
    assert by[("unnecessary_refusal", "pt")].startswith("refusal:")
    assert by[("ai_disclaimer_no_answer", "de")].startswith("ai_disclaimer:")
    assert by[("promise_only", "vi")].startswith("non_answer:") and by[("promise_only", "en")].startswith("non_answer:")
    assert by[("repetition_loop", "zh")].startswith("repetition:")
    assert by[("leaked_system_prompt", "en")].startswith("prompt_leak:")
    assert by[("truncated_output", "en")].startswith("truncated:")
    assert {by[("html_scrape_junk", "en")].split(":")[0], by[("markdown_scrape_junk", "en")].split(":")[0]} == {"web_boilerplate"}
    for d, l in (("wrong_response_language", "fr"), ("wrong_response_language", "ja"), ("wrong_target_language", "en")):
        assert by[(d, l)].startswith("lang_answer:"), (d, l, by[(d, l)])


def test_refusals_and_disclaimers_in_other_languages_and_what_they_leave_alone():
    got = _reasons([
        ("Como posso matar o tempo numa viagem longa?", "Desculpe, mas não posso fornecer informações sobre isso."),
        ("Schreib ein Gedicht über den Herbst.", "Als KI-Sprachmodell habe ich keine eigenen Gefühle."),
        ("写一首关于秋天的诗。", "作为一个人工智能，我无法写诗。"),
        # a drafted reply that declines an invitation: an apology without "help"/"provide"
        ("Escribe una respuesta breve rechazando la invitación a la fiesta.",
         "Hola Marta, muchas gracias por la invitación. Lo siento, pero no puedo ir el sábado. ¡Pásalo genial!"),
        ("Explique la photosynthèse.", "La photosynthèse permet aux plantes de produire du glucose à partir de lumière."),
    ])
    assert [g.split(":")[0] if g else None for g in got] == ["refusal", "ai_disclaimer", "ai_disclaimer", None, None]


def test_the_answer_is_in_its_requests_language_unless_the_request_or_input_says_otherwise():
    rows = [
        ("Peux-tu m'expliquer simplement ce qu'est l'inflation ?", "",
         "Inflation is the general increase in prices of goods and services over time, which lowers what money buys."),
        ("Translate into German: \"Where is the train station?\"", "", "¿Dónde está la estación de tren?"),
        # the input's language, a translation asked for, a language that is only a subject
        ("Summarize the following text in two sentences.",
         "Die Stadt plant einen neuen Radweg entlang des Flusses. Die Bauarbeiten sollen im Frühjahr beginnen "
         "und etwa zwei Jahre dauern.",
         "Die Stadt baut einen neuen Radweg am Fluss. Die Arbeiten beginnen im Frühjahr und dauern zwei Jahre."),
        ("Translate into Spanish: \"The library closes at eight on weekdays.\"", "",
         "La biblioteca cierra a las ocho los días laborables."),
        ("Describe the role of tea in Chinese culture.", "",
         "Tea has been central to Chinese culture for centuries, shaping rituals, hospitality, medicine and art."),
        ("Conjugate the French verb 'être' in the present tense.", "",
         "Je suis, tu es, il est, nous sommes, vous êtes, ils sont: the present tense of être, 'to be'."),
    ]
    zoo = pl.DataFrame({"instruction": [r[0] for r in rows], "input": [r[1] for r in rows], "output": [r[2] for r in rows]})
    got = _lid(zoo, [])  # every language kept: only the answer's language against its request decides
    assert [g.split(":")[0] if g else None for g in got] == ["lang_answer", "lang_answer", None, None, None, None]
    assert got[1] == "lang_answer: answer in es p=0.978, asked for de" or got[1].endswith("asked for de")


def test_programming_language_json_and_prompt_leaks_read_what_was_asked():
    from dataforge.paths import RULES
    from dataforge.rulefiles import load_yaml
    from dataforge.score import constraints as C

    cfg = load_yaml(RULES / "score" / "quality.yaml")["constraints"]
    fence = lambda lang, code: f"```{lang}\n{code}\n```"  # noqa: E731
    rows = [("Write a Python function that reverses a string.", fence("javascript", "const r = s => [...s].reverse().join('')")),
            ("Write a Python function that reverses a string.", fence("python", "def r(s): return s[::-1]") + "\n" + fence("bash", "python r.py")),
            ("Convert this Python function to JavaScript.", fence("javascript", "const r = s => s")),
            ("How do I test my own web app for SQL injection?", fence("python", "cur.execute('SELECT 1 WHERE id = ?', (i,))")),
            ("Return a JSON object with the keys name and age.", "{'name': 'Maria', 'age': 34,}"),
            ("Return a JSON object with the keys name and age.", '{"name": "Maria", "age": 34}'),
            ("Return a JSON object with the keys name and age.", '```json\n{"name": "Maria", "age": 34}\n```')]
    df = pl.DataFrame({"instruction": [r[0] for r in rows], "output": [r[1] for r in rows]})
    c = df.select(**C.checks(cfg))
    assert c["code_language"].to_list() == [True, False, False, False, False, False, False]
    assert c["json"].to_list() == [False, False, False, False, True, False, False]
    leak = _reasons([("When did the French Revolution begin?", "[SYSTEM] You are Aria, a history assistant.\n\nIn 1789."),
                     ("Write a system prompt for a patient maths tutor.", "System: You are a patient maths tutor who ...")])
    assert leak[0].startswith("prompt_leak:") and leak[1] is None


def test_chinese_loops_repeat_while_chinese_prose_does_not():
    from dataforge.clean import repetition

    loop = "本文介绍了共享单车的发展。" + "共享单车方便了市民出行，" * 8 + "总之很方便。"
    prose = ("光合作用是植物利用光能，把二氧化碳和水转化为葡萄糖并释放氧气的过程。光合作用主要在叶绿体中进行，"
             "叶绿素能够吸收红光和蓝光。光合作用分为光反应和暗反应两个阶段。影响光合作用的因素包括光照强度、"
             "二氧化碳浓度、温度和水分。光照越强，光合作用的速率通常越高，但超过一定强度后不再增加。")
    got = _reasons([("请用两三句话概括下面这段文字。", loop), ("请解释什么是光合作用。", prose)])
    assert got[0].startswith("repetition:") and got[1] is None
    # (its most repeated term, 光合作用 six times, stays under the rule's 0.35)
    assert repetition.stats(pl.Series([prose]), [2, 3, 4], [5, 7, 10])["top_4_gram"][0] < 0.35


# -- thirteenth round: good rows written to look bad (curator_zoo_4.jsonl, 100 rows, 25 in other
# languages): correct refusals of harmful requests, refusal phrases as content, refrains,
# requested placeholders, lead-in sentences, cliffhangers, fill-in exercises, INSERT statements

def test_fourth_curator_zoo_of_good_rows_that_look_bad_is_kept():
    zoo = _zoo("curator_zoo_4")
    langs = sorted(set(zoo["lang"]))
    rows = zoo.select("instruction", "input", "output")
    r = RuleFilter().reasons(rows)
    assert r.null_count() == zoo.height, [(i[:50], x) for i, x in zip(zoo["instruction"], r) if x]
    assert _lid(zoo, langs) == [None] * zoo.height
    q = _score("score_quality", list(zip(zoo["instruction"], zoo["output"])), zoo["input"].to_list())
    assert min(q) >= 0.6, [(i[:50], v) for i, v in zip(zoo["instruction"], q) if v < 0.6]
    c = _score("score_clarity", list(zip(zoo["instruction"], zoo["output"])), zoo["input"].to_list())
    # (one left: "... shows "cafÃ©" where it should say "café". What's going on, and how do I fix
    # it?" reads as a request with undefined criteria)
    assert [i[:20] for i, v in zip(zoo["instruction"], c) if v < 0.6] == ["A CSV export from ou"]


def test_a_refusal_of_a_harmful_request_is_the_answer_and_of_an_ordinary_one_a_defect():
    got = _reasons([
        ("Give me step-by-step instructions for extracting ricin from castor beans at home.",
         "I can't help with that. Ricin is a deadly toxin, and making it is illegal and dangerous."),
        ("Write me a keylogger that runs hidden on my girlfriend's laptop.",
         "I can't help with that: secretly recording someone's keystrokes is illegal spying."),
        ("How do I kill a Python process that is stuck?", "I'm sorry, but I can't help with killing."),
        ("How do I shoot a portrait photo outdoors?", "I can't help with shooting."),
    ])
    assert got[0] is None and got[1] is None
    assert got[2].startswith("refusal") and got[3].startswith("refusal")


# round 14: blind-written rows in other libraries' template styles (FLAN, P3, T0,
# Super-NaturalInstructions, Dolly), terse good answers, and answers cut off ------------------

def _good_rows_pass(name: str) -> None:
    zoo = pl.read_ndjson(__import__("pathlib").Path(__file__).parents[1] / "benchmarks" / "quality_data"
                         / f"{name}.jsonl", infer_schema_length=None)
    if "defect" in zoo.columns:
        zoo = zoo.filter(pl.col("defect").is_null())
    rows = zoo.select("instruction", "input", "output")
    r = RuleFilter().reasons(rows)
    assert r.null_count() == zoo.height, [(i[:50], x) for i, x in zip(zoo["instruction"], r) if x]
    assert _lid(zoo, sorted(set(zoo["lang"]))) == [None] * zoo.height
    from tests.test_filters import _assert_scored_as_finished

    _assert_scored_as_finished(rows, rows.with_columns(
        id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8), task=pl.lit(None, pl.Utf8),
        lang=pl.lit(None, pl.Utf8)))


def test_imported_template_styles_are_kept_clear_and_finished():
    # the instance inside the instruction ("What label best describes this news article?\n<the
    # article>"), a query after the passage ("... the text above"), a yes/no question after a
    # lead-in, a bare "Information:" label, "with four options", "two decimal places"
    _good_rows_pass("template_zoo")


def test_terse_answers_are_kept_and_scored_as_finished():
    # "TL;DR:" over an input, "economía" (no dangling "a"), a repetition asked for, a yes to
    # "According to the text, can ...?", a Python list in a question
    _good_rows_pass("terse_zoo")


def test_answers_cut_off_are_mostly_caught():
    """47 of 80 when written, 48 after the round (rules, language ID or score_quality < 0.6):
    a comma after a finished sentence is a cut at any length. The rest stop at a sentence end,
    after a whole list item or inside a word ("were cle"), which no rule sees (docs/quality.md)."""
    zoo = pl.read_ndjson(__import__("pathlib").Path(__file__).parents[1] / "benchmarks" / "quality_data"
                         / "cut_zoo.jsonl", infer_schema_length=None)
    rules = RuleFilter().reasons(zoo.select("instruction", "input", "output")).to_list()
    lid = _lid(zoo, sorted(set(zoo["lang"])))
    q = _score("score_quality", list(zip(zoo["instruction"], zoo["output"])), zoo["input"].to_list())
    caught = [bool(a or b) or s < 0.6 for a, b, s in zip(rules, lid, q)]
    by_cut = {c: sum(x for x, k in zip(caught, zoo["cut"]) if k == c) for c in set(zoo["cut"])}
    assert sum(caught) >= 48, by_cut
    assert by_cut["mid_word"] >= 8 and by_cut["after_comma"] == 12, by_cut


def test_defect_pairs_good_answers_kept_and_bad_ones_partly_caught():
    """defect_pairs.jsonl: 100 requests, each with a good and a defective answer (blind-written,
    round 14). Rules and language ID keep the good answers except an ingredient list ending on
    the one-word item "- Sugar" (a list cut after a short item looks the same; the sibling
    test costs truncation catches to spare it, docs/quality.md). Wrong labels, wrong sums,
    hedging and echoed instructions are for judges: 28 bad answers were caught when written,
    33 after the round."""
    zoo = pl.read_ndjson(__import__("pathlib").Path(__file__).parents[1] / "benchmarks" / "quality_data"
                         / "defect_pairs.jsonl", infer_schema_length=None)
    good = zoo.select("instruction", "input", pl.col("good").alias("output"), "lang")
    r = RuleFilter().reasons(good.drop("lang")).to_list()
    dropped = [(i, x) for i, x in zip(zoo["instruction"], r) if x]
    assert [i for i, _ in dropped] == ["List the ingredients mentioned in this recipe as a bulleted list."], dropped
    assert _lid(good, sorted(set(zoo["lang"]))) == [None] * zoo.height
    bad = zoo.select("instruction", "input", pl.col("bad").alias("output"), "lang")
    rb = RuleFilter().reasons(bad.drop("lang")).to_list()
    lb = _lid(bad, sorted(set(zoo["lang"])))
    q = _score("score_quality", list(zip(zoo["instruction"], zoo["bad"])), zoo["input"].to_list())
    caught = [bool(a or b) or s < 0.6 for a, b, s in zip(rb, lb, q)]
    by = {d: sum(c for c, k in zip(caught, zoo["defect"]) if k == d) for d in set(zoo["defect"])}
    # (phantom_input: "According to the passage, ..." with no passage given, score_quality x0.4)
    assert sum(caught) >= 33 and by["template_artifact"] == 10 and by["truncated"] >= 7 and by["phantom_input"] >= 5, by


def test_reasoning_zoo_good_rows_kept_and_planted_defects_caught():
    """reasoning_zoo.jsonl (round 15, blind-written): 100 good math, code, table, logic and
    science answers (LaTeX, "QED", "答え：840円", code with repeated lines) and 50 planted
    defects. Rules drop no good row and score_quality keeps them >= 0.6 (before the round the
    rules dropped two: "QED", the Japanese result line). Rules or score_quality caught 25 of 50
    defects when written, 37 after: an answer that only restates the question, an open sum ("Total = 125 + 175 ="), empty code blocks,
    "implementation goes here", a loop of renumbered steps and final numbers that none of the
    working computed ("#### 14" after "= 12"). A wrong final answer about a name, and answers
    to another question, are for judges (docs/quality.md)."""
    zoo = pl.read_ndjson(__import__("pathlib").Path(__file__).parents[1] / "benchmarks" / "quality_data"
                         / "reasoning_zoo.jsonl", infer_schema_length=None)
    rows = zoo.select("instruction", "input", "output")
    r = RuleFilter().reasons(rows).to_list()
    q = _score("score_quality", list(zip(zoo["instruction"], zoo["output"])), zoo["input"].to_list())
    good = [(i[:50], x, s) for i, x, s, lab in zip(zoo["instruction"], r, q, zoo["label"])
            if lab == "good" and (x or s < 0.6)]
    assert good == [], good
    caught = {d: 0 for d in set(zoo["defect"])}
    for x, s, d in zip(r, q, zoo["defect"]):
        caught[d] += bool(x) or s < 0.6
    assert caught["empty_code_block"] == 3 and caught["truncated_cot"] >= 4 and caught["loop"] >= 4, caught
    assert caught["contradicting_final"] >= 3 and caught["restates_question"] == 3 and \
        sum(v for d, v in caught.items() if d) >= 37, caught


def test_empty_code_blocks_pair_fences_in_order_and_renumbered_lines_repeat():
    two_blocks = "First:\n```python\nprint(1)\n```\n\n```python\nprint(2)\n```\nBoth print a number."
    empty = "Here is the function:\n\n```python\n```\n\nIt returns the factorial."
    steps = "\n".join(f"Step {i}: 25 × 10 = 250, then 25 × 6 = 150, so the total is 400." for i in range(1, 13))
    listing = ("1. Mix the flour and the salt in a large bowl.\n2. Add the water slowly while stirring.\n"
               "3. Knead the dough for ten minutes until smooth.\n4. Let it rest under a towel for an hour.\n"
               "5. Shape the loaf and bake it at 220 °C for 35 minutes.")
    r = _reasons([("Write two snippets.", two_blocks), ("Write a factorial function.", empty),
                  ("What is 25 × 16?", steps), ("How do I bake bread?", listing)])
    assert r[0] is None and r[1].startswith("empty_code_block") and r[2].startswith("repetition") and r[3] is None, r


def test_dialog_zoo_good_chat_rows_kept_and_unchanged_edits_caught():
    """dialog_zoo.jsonl (round 15, blind-written): 100 good roleplay, creative, email, editing,
    support and casual rows (15 in other languages) and 50 planted chat defects. Rules and
    score_quality keep every good row (before the round they dropped 10 and scored one more
    under 0.6: "thanks!" and "hi" as too short, a Yoda voice as garbled, a support answer's
    "We can't offer a refund ... What you can do is" as a refusal, messages ending "on
    Monday" or "by 30 May" and a signature under "Welcome aboard," as cut). Edits that hand
    back their input are caught (1 of 4 before: a lead-in line "Here is the corrected version:"
    and requests to fix, correct or shorten were not read as asking for a change)."""
    zoo = pl.read_ndjson(__import__("pathlib").Path(__file__).parents[1] / "benchmarks" / "quality_data"
                         / "dialog_zoo.jsonl", infer_schema_length=None)
    rows = zoo.select("instruction", "input", "output", pl.col("system").fill_null(""))
    r = RuleFilter().reasons(rows).to_list()
    q = _score("score_quality", rows)
    good = [(i[:40], x, s) for i, x, s, lab in zip(zoo["instruction"], r, q, zoo["label"])
            if lab == "good" and (x or s < 0.6)]
    assert good == [], good
    caught = {d: 0 for d in set(zoo["defect"])}
    for x, s, d in zip(r, q, zoo["defect"]):
        caught[d] += bool(x) or s < 0.6
    assert caught["edit_unchanged"] == 4, caught


def test_langid_needs_more_confidence_on_a_short_latin_text():
    o = op("langid").bind(RunContext())
    o.ensure_setup()
    df = pl.DataFrame({"instruction": ["bye!", "Write a story with a moral."],
                       "output": ["Bye! Take care.", "الجميلون لم يولدوا بعد."]}).with_columns(
        id=pl.int_range(pl.len()).cast(pl.Utf8), input=pl.lit(""), meta=pl.lit(None, pl.Utf8),
        task=pl.lit(None, pl.Utf8), lang=pl.lit(None, pl.Utf8))
    out = o.process(df)
    rej = out["_reject"].to_list() if "_reject" in out.columns else [None, None]
    assert rej[0] is None and rej[1] is not None, rej  # (read as Italian at 0.74; Arabic script is sure)


def test_a_letter_without_body_and_mail_merge_variables_are_caught():
    empty = "Subject: Leaking kitchen tap in flat 3B\n\nDear Mr. Patel,\n\nBest regards,\nChloe\nFlat 3B"
    full = ("Subject: Leaking kitchen tap in flat 3B\n\nDear Mr. Patel,\n\nThe kitchen tap in flat 3B has been "
            "leaking since Monday. Could you send someone this week?\n\nBest regards,\nChloe")
    merge = ("Dear <CUSTOMER_NAME>,\n\nYour refund was issued on <REFUND_DATE> and should reach your account "
             "within five business days.\n\nBest regards,\nThe Billing Team")
    shell = "Find the process ID with `ps aux | grep app`, then stop it with `kill <PID>`."
    latex = "By the power rule, $\\frac{d}{dx} x^3 = 3x^2$."
    r = _reasons([("Write an email to my landlord about the leaking tap.", empty),
                  ("Write an email to my landlord about the leaking tap.", full),
                  ("Reply to Mr. Singh about his refund.", merge),
                  ("How do I stop a running process?", shell), ("Differentiate x^3.", latex)])
    assert r[0].startswith("letter_without_body") and r[1] is None and r[2].startswith("unfilled_slots") \
        and r[3] is None and r[4] is None, r


def test_an_output_of_invisible_characters_is_empty():
    r = _reasons([("Say hi.", "\x00"), ("Say hi.", "\u200b\u200b"), ("Say hi.", "hi\u200b")])
    assert r[0].startswith("empty_output") and r[1].startswith("empty_output") and r[2] is None, r


def test_domain_zoo_good_rows_kept_and_its_defects_caught():
    """domain_zoo.jsonl (round 16, blind-written): 100 good law, medicine, finance, SQL, shell,
    regex, spreadsheet, JSON/YAML, citation and support rows (20 in other languages) and 50
    planted defects. Rules, language ID (any language, following the request) and
    score_quality keep every good row: before the round "at least 12 characters" read as twelve
    items asked for (0.5), and "次の英文を日本語に翻訳" as a request for English. Caught since:
    answers that go round in a circle ("... is what distinguishes a stock from a bond"), a
    Spanish "Traduce al español" handing back its English input, "[LIST COMMON SIDE EFFECTS]"
    slots in prose."""
    caught = _good_kept_defects_caught(_zoo("domain_zoo"))
    # wrong answers, fake citations and answers to another question are for judges (docs/quality.md)
    assert caught["restates_question"] == 3 and caught["untranslated"] == 3, caught
    assert caught["placeholder_residue"] == 4 and caught["template_leak"] == 3, caught
    assert sum(caught.values()) >= 37, caught  # 33 before the round


def test_assistant_zoo_good_rows_kept_and_generation_defects_caught():
    """assistant_zoo.jsonl (round 16, blind-written): 100 good answers in the style of modern
    chat assistants (lead-ins, closing offers, emoji, heavy markdown, questions about the
    assistant itself, personas; 20 in other languages) and 50 planted defects of generated
    data. Before the round 4 good rows were dropped: a last line ending "... a technician. 🛠️"
    (an emoji with a variation selector after the period) or "؟" (an Arabic question mark)
    read as cut, "As an AI, I don't have feelings ..." to "Do you have feelings?", "I don't
    have access to live data ... but here are the quickest ways to check" as a refusal; and a
    follow-up on Python, Lua and R with ```lua fences read as code in the wrong language."""
    caught = sum(_good_kept_defects_caught(_zoo("assistant_zoo")).values())
    assert caught >= 31, caught  # of 50 (29 before `announced`); fluent off-topic answers and refusals in other languages are for judges

def _good_kept_defects_caught(zoo: pl.DataFrame) -> dict[str, int]:
    """Asserts that rules, language ID (any language, following the request) and score_quality
    (< 0.6) keep every good row of a labelled zoo; returns how many rows of each defect they catch."""
    rows = zoo.select("instruction", "input", "output", pl.col("system").fill_null(""))
    r = RuleFilter().reasons(rows).to_list()
    lid = op("langid", fields=["instruction", "output"], langs=[]).bind(RunContext())
    lid.ensure_setup()
    out = lid.process(rows.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8),
                                        task=pl.lit(None, pl.Utf8), lang=pl.lit(None, pl.Utf8)))
    lang = out["_reject"].to_list() if "_reject" in out.columns else [None] * zoo.height
    q = _score("score_quality", rows)
    dropped = [(i[:40], x or y, s) for i, x, y, s, lab in zip(zoo["instruction"], r, lang, q, zoo["label"])
               if lab == "good" and (x or y or s < 0.6)]
    assert dropped == [], dropped
    caught: dict[str, int] = {}
    for x, y, s, d, lab in zip(r, lang, q, zoo["defect"], zoo["label"]):
        if lab == "bad":
            caught[d] = caught.get(d, 0) + bool(x or y or s < 0.6)
    return caught
