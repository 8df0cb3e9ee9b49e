"""Good rows in other languages and scripts are kept and scored as finished.

benchmarks/quality_data/multilingual_zoo.jsonl: 35 hand-written rows in Chinese, Japanese,
Korean, Thai, Arabic, Hindi, Russian, German, Spanish, French and Vietnamese, and English
requests for translations into them (`lang`: the language of the request). A new user's
first run on them found three misjudgments: `garbled` read the commas and full stop of a
Korean or Russian sentence as ", , ." (its words were not tokens), so the rule dropped the
row and score_quality gave 0.12; and words were runs of non-spaces, so a Thai request (no
spaces between words) had one word: `instruction_too_short`, and `length` in words, dropped
it, and score_clarity gave 0.27.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from dataforge import op
from dataforge.clean.garble import garble_stats
from dataforge.ops.base import RunContext
from dataforge.ops.filters import RuleFilter
from dataforge.words import WORD_RE

ZOO = Path(__file__).parents[1] / "benchmarks" / "quality_data" / "multilingual_zoo.jsonl"


def _zoo() -> pl.DataFrame:
    z = pl.read_ndjson(ZOO)
    return z.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), input=pl.lit(""), meta=pl.lit(None, pl.Utf8),
                          task=pl.lit(None, pl.Utf8), system=pl.lit(None, pl.Utf8), source=pl.lit("zoo"))


def _run(name: str, df: pl.DataFrame, **params) -> pl.DataFrame:
    o = op(name, **params).bind(RunContext())
    o.ensure_setup()
    return o.process(df)


def test_default_rules_keep_every_multilingual_row():
    zoo = _zoo()
    assert zoo.height == 35 and zoo["lang"].n_unique() >= 11
    r = RuleFilter().reasons(zoo)
    flagged = zoo.with_columns(r.alias("r")).filter(pl.col("r").is_not_null())
    assert flagged.height == 0, flagged.select("instruction", "r").to_dicts()


def test_scores_treat_other_scripts_as_finished_text():
    zoo = _zoo()
    for name in ("score_quality", "score_clarity"):
        s = _run(name, zoo)[name]
        low = [(i, round(v, 2)) for i, v in zip(zoo["instruction"], s) if v < 0.6]
        assert not low, (name, low)


def test_words_of_scripts_without_spaces_count_as_words():
    n = pl.Series(["ประเทศไทยมีกี่จังหวัด",  # five Thai words
                   "请用三句话介绍一下长城。",  # eleven Han characters and the full stop
                   "ខ្ញុំស្រលាញ់អ្នក",  # Khmer, three words
                   "Write a poem about rain.", "Назови три крупнейших города России."]).str.count_matches(WORD_RE)
    assert n.to_list()[0] in range(4, 9) and n[1] == 12 and n[2] in range(2, 5)
    assert n.to_list()[3:] == [5, 5]  # a text with spaces counts as before
    # the quickstart's `length` on instruction words (min 3) keeps every request of the zoo
    kept = _run("length", _zoo(), field="instruction", unit="words", min=3)
    assert kept["_reject"].null_count() == kept.height, kept.filter(pl.col("_reject").is_not_null())["instruction"].to_list()


def test_garble_reads_words_of_every_script_but_still_catches_scrambled_english():
    s = garble_stats(pl.Series(["김치, 불고기, 비빔밥이 대표적인 한국 전통 음식입니다.",
                                "Небо кажется голубым, чем красный.",
                                "cat the of sat and . mat the on is the"]))
    assert s["bad"].to_list()[:2] == [0, 0] and s["tokens"][0] == 10
    assert s["bad"][2] >= 2  # the `garbled` rule's min_bad


def test_near_duplicates_in_chinese_differ_by_characters_not_by_clauses():
    # `\w+` read a Chinese clause as one word: two answers one character apart shared no shingle
    base = ("长城是中国古代修建的军事防御工程，全长两万多公里。它始建于春秋战国时期，明朝时进行了大规模修缮。"
            "如今，长城是世界文化遗产，每年吸引大量游客前来参观。")
    near = base.replace("大量", "许多")
    other = "光合作用是植物、藻类和某些细菌利用光能，把二氧化碳和水转化为葡萄糖并释放氧气的过程。它主要发生在叶绿体中。"
    df = pl.DataFrame({"id": ["a", "b", "c"], "instruction": ["请介绍一下长城。"] * 2 + ["什么是光合作用？"],
                       "input": [""] * 3, "output": [base, near, other], "task": [None] * 3})
    out = op("dedup_near").bind(RunContext()).run(df.lazy())
    assert out["_reject"].to_list()[0] is None and out["_reject"][2] is None
    assert out["_reject"][1] is not None and out["_reject"][1].startswith("duplicate_near")
    # English shingles are the \w+ words they were
    from dataforge.clean.minhash import shingle_hashes
    from dataforge.words import SHINGLE_TOKEN_RE
    en = pl.Series(["It's 2024: the quick brown fox jumps over the lazy dog, again and again."])
    assert en.str.extract_all(SHINGLE_TOKEN_RE).to_list() == en.str.extract_all(r"\w+").to_list()
    assert shingle_hashes(en).hash.size == 15 - 4  # fifteen words, 5-word shingles


# -- refusals and AI disclaimers in other languages -------------------------------------------
# benchmarks/quality_data/multilingual_refusal_zoo.jsonl: 45 refusals and AI disclaimers in
# Spanish, French, German, Portuguese, Italian, Chinese, Japanese, Russian, Korean and Arabic
# (label "bad"), and 67 good rows in the same languages that look like them: translations of a
# refusal, in-world polite declines (a customer reply, a declined invitation), dialogues and
# stories with apologies, grammar notes on "no puedo" / "不能", questions about the assistant.
# Before: the rules caught 5 of the 45 and dropped 7 good rows (docs/quality.md).
REFUSAL_ZOO = Path(__file__).parents[1] / "benchmarks" / "quality_data" / "multilingual_refusal_zoo.jsonl"


def _rows(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame({"instruction": [r[0] for r in rows], "input": [r[1] for r in rows],
                         "output": [r[2] for r in rows]})


def test_refusals_in_other_languages_are_caught_and_good_look_alikes_kept():
    zoo = pl.read_ndjson(REFUSAL_ZOO)
    assert zoo.height >= 100 and set(zoo["lang"]) >= {"es", "fr", "de", "pt", "it", "zh", "ja", "ru", "ko", "ar"}
    rows = zoo.select("instruction", "input", "output", pl.col("system").fill_null(""))
    r = RuleFilter().reasons(rows).to_list()
    q = _run("score_quality", rows.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8),
                                                 task=pl.lit(None, pl.Utf8)))["score_quality"].to_list()
    good = [(i[:40], x, round(s, 2)) for i, x, s, lab in zip(zoo["instruction"], r, q, zoo["label"])
            if lab == "good" and (x or s < 0.6)]
    assert good == [], good
    bad = [(x, s, o) for x, s, o, lab in zip(r, q, zoo["output"], zoo["label"]) if lab == "bad"]
    by_rules = [o[:40] for x, s, o in bad if not x]
    by_score = [o[:40] for x, s, o in bad if s >= 0.6]
    # all 45 caught by both when written; the floor leaves room for two
    assert len(by_rules) <= 0.05 * len(bad), by_rules
    assert len(by_score) <= 0.05 * len(bad), by_score
    # every language is caught by the refusal rules themselves, not by a side effect
    caught = {x.split(":")[0] for x, s, o in bad if x}
    assert caught <= {"refusal", "refusal_grammar", "ai_disclaimer", "ai_self_reference"}, caught


def test_translation_of_a_refusal_is_kept_but_a_refused_translation_is_caught():
    r = RuleFilter().reasons(_rows([
        # the sentence to translate after a colon, in quotes, or in the input: the answer carries it
        ("Translate into Spanish: \"I'm sorry, but I can't help you with that.\"", "", "Lo siento, pero no puedo ayudarte con eso."),
        ("把这句话翻译成中文：Sorry, I can't answer that question.", "", "抱歉，我无法回答这个问题。"),
        ("Traduce al inglés: 'Lo siento, no puedo ir a tu fiesta.'", "", "I'm sorry, I can't go to your party."),
        ("Translate into Italian.", "I apologize, but I cannot provide that information.", "Mi scuso, ma non posso fornire queste informazioni."),
        ("Переведи на русский: \"As an AI language model, I do not have personal opinions.\"", "",
         "Как языковая модель ИИ, я не имею личного мнения."),
        # ... but a translation request whose text holds no apology: the refusal is the model's
        ("Translate 'Where is the train station?' into Spanish.", "", "Lo siento, no puedo ayudar con traducciones."),
        ("Übersetze 'good morning' ins Deutsche.", "", "Entschuldigung, das kann ich leider nicht übernehmen."),
        # ... and an apology with no request to carry it is a refusal
        ("Escribe un poema corto sobre el mar.", "", "Lo siento, pero no puedo escribir poemas en este momento."),
        # ... and a text that is about AI carries no disclaimer: only one that speaks as an AI does
        ("Resume el siguiente artículo.", "La inteligencia artificial (IA) cambia la medicina ...",
         "Como modelo de lenguaje, no tengo acceso a artículos completos."),
    ])).to_list()
    assert r[:5] == [None] * 5, r[:5]
    assert all(x and x.startswith(("refusal", "refusal_grammar")) for x in r[5:8]), r[5:8]
    assert r[8] and r[8].startswith("ai_"), r[8]


def test_in_world_declines_dialogues_and_questions_about_the_assistant_are_kept():
    r = RuleFilter().reasons(_rows([
        ("Write a polite reply in Spanish declining a customer's late return.", "",
         "Lo siento, pero no podemos aceptar devoluciones después de 30 días. Si lo desea, podemos ofrecerle un cupón."),
        ("取引先からの値下げ要求を丁寧に断るメールを書いてください。", "",
         "佐藤様\n\n誠に申し訳ございませんが、今回はご要望にお応えすることができません。\n何卒ご理解賜りますようお願い申し上げます。\n\n田中"),
        ("Escribe un diálogo entre un camarero y un cliente.", "",
         "Cliente: Quisiera la paella.\nCamarero: Lo siento mucho, pero no puedo ofrecerle la paella hoy.\nCliente: ¿Y el arroz negro?"),
        ("¿Eres una inteligencia artificial?", "", "Sí, soy un modelo de lenguaje creado para ayudarte."),
        ("Hast du Gefühle?", "", "Nein, als KI habe ich keine Gefühle im menschlichen Sinn."),
        ("Escreva a letra de uma música romântica curta.", "", "Não consigo dormir sem pensar em você,\nSeu sorriso é a luz do meu amanhecer."),
        # ... but asked for a decline, a refusal of the task itself still counts: no reply was written
        ("Escribe una respuesta educada a un cliente que pide devolver un producto fuera de plazo.", "",
         "Lo siento, pero no puedo ayudarte con esa solicitud."),
        # ... and an AI disclaimer to a question that is not about the assistant
        ("¿Qué opinas de la música reguetón?", "", "Como modelo de lenguaje, no tengo opiniones personales sobre la música."),
    ])).to_list()
    assert r[:6] == [None] * 6, r[:6]
    assert r[6] and r[6].startswith("refusal"), r[6]
    assert r[7] and r[7].startswith("ai_"), r[7]
