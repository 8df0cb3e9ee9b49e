"""`convert` on labels and inputs as users' files hold them: unknown labels in Jinja templates,
float and bool label columns, multi-label lists, duplicate texts among few-shot exemplars,
questions that refer to their choices, the source of each row."""
from __future__ import annotations

import json
import logging

import polars as pl
import pytest

from dataforge.errors import InputError
from dataforge.ops.convert import Convert
from dataforge.schema import REJECT
from dataforge.templates.spec import family_names, load_family


def convert(df: pl.DataFrame, **params) -> pl.DataFrame:
    return Convert(**params).map(df)


def kept(out: pl.DataFrame) -> pl.DataFrame:
    return out.filter(pl.col(REJECT).is_null()).drop(REJECT)


def rejected(out: pl.DataFrame) -> pl.DataFrame:
    return out.filter(pl.col(REJECT).is_not_null())


def metas(df: pl.DataFrame) -> list[dict]:
    return [json.loads(m) for m in df["meta"]]


def reasons(out: pl.DataFrame, template: str) -> dict[str, str]:
    """parent id -> reject reason of the rows `template` rejected."""
    r = rejected(out)
    t = r["meta"].str.json_path_match("$.template")
    return dict(zip(r.filter(t == template)["parent_id"], r.filter(t == template)[REJECT]))


def sentiment_rows(labels: list) -> pl.DataFrame:
    return pl.DataFrame({"id": [f"r{i}" for i in range(len(labels))],
                         "text": [f"Review number {i} of the film." for i in range(len(labels))],
                         "label": labels})


# -- 1. every template that uses the label rejects an unknown one ----------------------------

def test_every_template_that_reads_the_label_needs_it():
    for name in family_names():
        fam = load_family(name)
        for t in fam.all_templates():
            if fam.label_field and t.uses & {fam.label_field, "label_id"}:
                assert fam.label_field in t.needs, t.key


def test_jinja_template_rejects_an_unknown_label_like_plain_ones():
    df = sentiment_rows(["1", "0", "5", "pos", None, "positive"])
    for tid in ("rating_stars", "review_question"):
        why = reasons(convert(df, family="sentiment", templates=[tid]), f"sentiment/{tid}")
        assert why == {"r2": "unknown_label: label=5", "r3": "unknown_label: label=pos",
                       "r4": "missing_field: label"}, tid
    # with every template at once, a row none can render is rejected once
    out = convert(df, family="sentiment", templates="all")
    assert sorted(rejected(out)["parent_id"]) == ["r2", "r3", "r4"]
    good = kept(out).filter(pl.col("meta").str.json_path_match("$.template") == "sentiment/rating_stars")
    assert dict(zip(good["parent_id"], good["output"])) == {
        "r0": "Five stars: the review is positive.", "r1": "One star: the review is negative.",
        "r5": "Five stars: the review is positive."}


def test_the_stage_counts_the_unknown_labels_of_a_jinja_template(tmp_path):
    from dataforge import Pipeline, Source, op
    path = tmp_path / "sent.jsonl"
    path.write_text("".join(json.dumps({"text": f"Review {i}.", "label": lab}) + "\n"
                            for i, lab in enumerate(["1", "0", "5", "pos"])))
    res = Pipeline([op("convert", family="sentiment", templates=["rating_stars"])], seed=1).run(
        Source(name="sent", path=str(path)), out=tmp_path / "out")
    st = next(s for s in res.manifest["stages"] if s["operator"] == "convert")
    assert st["rows_out"] == 2 and st["rejected_by_reason"] == {"unknown_label": 2}


def test_paraphrase_jinja_templates_reject_unknown_labels_forward_and_inverted():
    df = pl.DataFrame({"id": ["a", "b", "c"], "sentence1": ["One sentence.", "Two sentences.", "Three."],
                       "sentence2": ["A sentence.", "Some sentences.", "Four."], "label": [1, 2, 0]})
    out = convert(df, family="paraphrase", templates=["explain_request"])
    assert reasons(out, "paraphrase/explain_request") == {"b": "unknown_label: label=2"}
    inv = convert(df, family="paraphrase", templates=["write_paraphrase"], prompt_types="inversion")
    assert reasons(inv, "paraphrase/write_paraphrase") == {"b": "unknown_label: label=2"}
    inv = convert(df, family="paraphrase", templates="all", prompt_types="inversion")
    assert kept(inv).height == 2 * len(load_family("paraphrase").inverted)
    assert rejected(inv)["parent_id"].to_list() == ["b"]  # once, not once per template


# -- 2. float and bool label columns ------------------------------------------------------------

def test_integral_floats_are_their_class_nan_is_missing_a_fraction_unknown():
    df = sentiment_rows([1.0, 0.0, float("nan"), 0.5, None, 2.0])
    out = convert(df, family="sentiment", templates=["review_question"])
    assert dict(zip(kept(out)["parent_id"], kept(out)["output"])) == {"r0": "positive", "r1": "negative"}
    assert dict(zip(rejected(out)["parent_id"], rejected(out)[REJECT])) == {
        "r2": "missing_field: label", "r3": "unknown_label: label=0.5", "r4": "missing_field: label",
        "r5": "unknown_label: label=2"}
    # the same rows as ints convert to the same records (ids are hashes of the text)
    ints = convert(sentiment_rows([1, 0]), family="sentiment", templates=["review_question"])
    assert kept(out)["id"].to_list() == ints["id"].to_list()


def test_float_answer_position_of_mmlu_layout():
    df = pl.DataFrame({"id": ["a", "b"], "question": ["2 + 2?", "3 + 3?"],
                       "choices": [["3", "4"], ["6", "7"]], "answer": [1.0, 0.0]})
    out = kept(convert(df, family="multiple_choice", templates=["question_options"]))
    assert out["output"].to_list() == ["4", "6"]


def test_bools_are_one_and_zero_for_families_keyed_zero_one():
    df = pl.DataFrame({"id": ["a", "b", "c"], "question1": ["How do I cook rice?", "How old is the Earth?", "Why?"],
                       "question2": ["Best way to cook rice?", "How big is the Earth?", "Why not?"],
                       "is_duplicate": [True, False, None]})
    out = convert(df, family="paraphrase", templates="all")
    got = {(r["parent_id"], m["template"]): r["output"] for r, m in zip(kept(out).iter_rows(named=True), metas(kept(out)))
           if m["template"] in ("paraphrase/is_paraphrase", "paraphrase/explain_request")}
    assert got == {("a", "paraphrase/is_paraphrase"): "yes", ("b", "paraphrase/is_paraphrase"): "no",
                   ("a", "paraphrase/explain_request"): "Yes, they express the same idea.",
                   ("b", "paraphrase/explain_request"): "No, they say different things."}
    assert set(rejected(out)[REJECT]) == {"missing_field: label"}


def test_a_family_keyed_true_false_keeps_reading_bools(tmp_path):
    fam = tmp_path / "boolq.yaml"
    fam.write_text("""family: boolq
task: closed_qa
fields:
  passage: {column: passage}
  question: {column: question}
  label: {column: answer, labels: {false: "no", true: "yes"}}
templates:
  - id: passage_question
    instruction: "Answer yes or no: {{ question }}?"
    input: "{{ passage }}"
    output: "{{ label }}"
""")
    df = pl.DataFrame({"id": ["a", "b"], "passage": ["Water is wet.", "Fire is cold."],
                       "question": ["is water wet", "is fire cold"], "answer": [True, False]})
    out = convert(df, family=str(fam))
    assert kept(out)["output"].to_list() == ["yes", "no"]


# -- 3. a pipeline-level convert keeps each row's source ------------------------------------------

def _mc_file(path, questions):
    path.write_text("".join(json.dumps({"question": q, "choices": ["red", "blue", "green"], "answer": i % 3}) + "\n"
                            for i, q in enumerate(questions)))
    return path


def test_pipeline_level_convert_keeps_each_rows_source(tmp_path):
    from dataforge import Pipeline, Source, op
    a = _mc_file(tmp_path / "sciq.jsonl", [f"What colour is thing {i}?" for i in range(4)])
    b = _mc_file(tmp_path / "mmlu.jsonl", [f"What colour is item {i}?" for i in range(3)])
    Pipeline([op("convert", family="multiple_choice")], seed=1).run(
        [Source(name="sciq", path=str(a)), Source(name="mmlu", path=str(b))], out=tmp_path / "out")
    df = pl.concat([pl.read_parquet(p) for p in sorted((tmp_path / "out" / "data").rglob("*.parquet"))])
    got = df.select("source", pl.col("meta").str.json_path_match("$.dataset").alias("ds"),
                    pl.col("meta").str.json_path_match("$.origin.file").alias("file")).unique().sort("source")
    assert got.rows() == [("mmlu", "mmlu", "mmlu.jsonl"), ("sciq", "sciq", "sciq.jsonl")]
    assert "_source" not in df.columns


def test_convert_outside_a_pipeline_names_the_family_dataset():
    df = sentiment_rows(["1", "0"])
    out = convert(df, family="sentiment")
    assert set(out["source"]) == {"rt_polarity"} and {m["dataset"] for m in metas(out)} == {"rt_polarity"}
    out = convert(df.with_columns(pl.lit("mine").alias("_source")), family="sentiment")
    assert set(out["source"]) == {"mine"} and {m["dataset"] for m in metas(out)} == {"mine"}
    out = convert(df.with_columns(pl.lit("mine").alias("_source")), family="sentiment", source="s", dataset="d")
    assert set(out["source"]) == {"s"} and {m["dataset"] for m in metas(out)} == {"d"}


# -- 4. a list column where the family expects one label -------------------------------------------

def test_multi_label_column_is_a_clear_error_naming_source_file_and_field(tmp_path):
    from dataforge import Pipeline, Source, op
    path = tmp_path / "topics.jsonl"
    path.write_text("".join(json.dumps({"text": f"News story {i}.", "labels": ["sports", "economy"][: i % 2 + 1]}) + "\n"
                            for i in range(4)))
    p = Pipeline([op("convert", family="classification", labels=["sports", "economy"])], seed=1)
    with pytest.raises(InputError) as e:
        p.run(Source(name="topics_ml", path=str(path)), out=tmp_path / "out")
    msg = str(e.value)
    assert "source 'topics_ml' (file topics.jsonl)" in msg and "field 'label'" in msg
    assert "column 'labels', which holds a list" in msg and "list: true" in msg
    assert "strict_cast" not in msg and "cannot cast" not in msg


def test_multi_label_family_with_a_list_field_works(tmp_path):
    """The error's advice: a family of one's own that keeps the list and joins it."""
    df = pl.DataFrame({"id": ["a", "b"], "text": ["Tax on drinks funds sport.", "Rates rise."],
                       "labels": [["politics", "sports"], ["economy"]]})
    f = tmp_path / "ml.yaml"
    f.write_text("""family: news_multilabel
fields:
  text: {column: text}
  tags: {column: labels, list: true}
templates:
  - id: all_topics
    instruction: "List every topic of this headline."
    input: "{{ text }}"
    output: "{{ tags | join(', ') }}"
    options: none
""")
    assert kept(convert(df, family=str(f)))["output"].to_list() == ["politics, sports", "economy"]


# -- 5. few-shot exemplars are never the query's own text -------------------------------------------

def test_few_shot_exemplars_never_repeat_the_querys_text_under_another_id():
    texts = ["I loved every minute of this film.", "A tedious, joyless slog.", "Sharp writing and a terrific cast.",
             "The plot makes no sense at all.", "Beautifully shot and deeply moving.", "I want those two hours back."]
    # each text twice, the copy in other case and spacing
    rows = [(t, i % 2) for i, t in enumerate(texts)] + [("  " + t.upper().replace(" ", "   "), i % 2)
                                                      for i, t in enumerate(texts)]
    df = pl.DataFrame({"id": [f"r{i}" for i in range(len(rows))], "sentence": [r[0] for r in rows],
                       "label": [r[1] for r in rows]})
    for seed in range(4):
        out = kept(convert(df, family="sentiment", templates=["classify_command"], prompt_types="few_shot", k=3, seed=seed))
        assert out.height == 12
        for r, m in zip(out.iter_rows(named=True), metas(out)):
            assert m["prompt_type"] == "few_shot" and len(m["exemplars"]) == 3
            shots = r["instruction"].split("Now solve this one.")[0].lower()
            assert " ".join(r["input"].lower().split()) not in " ".join(shots.split()), (seed, r)


# -- 6. questions that refer to their choices; classes never named ---------------------------------

def mc_rows() -> pl.DataFrame:
    return pl.DataFrame({"id": ["a", "b", "c", "d"],
                         "question": ["Which of the following is a prime number?", "Which of these is a renewable energy source?",
                                      "What is 15% of 240?", "Choose the mammal."],
                         "choices": [["21", "27", "29", "33"], ["coal", "gas", "wind", "oil"], ["24", "36", "30", "40"],
                                     ["shark", "whale", "trout", "eel"]],
                         "answer": [2, 2, 1, 1]})


def test_a_question_that_refers_to_its_choices_is_never_rendered_with_them_hidden():
    for params in ({"templates": ["open_ended"]}, {"templates": ["question_options", "pick_best"], "options": "hidden"},
                   {"templates": "all", "options": 0.3}):
        out = kept(convert(mc_rows(), family="multiple_choice", **params))
        for r, m in zip(out.iter_rows(named=True), metas(out)):
            text = r["instruction"] + "\n" + r["input"]
            if r["parent_id"] in ("a", "b", "d") and m["options"] is not None and \
                    not m["template"].endswith("which_is_right"):  # (that one names the choices inline)
                assert m["options"] == "shown" and "Options:" in text, (params, r)
            if r["parent_id"] == "c" and params.get("options") == "hidden":
                assert m["options"] == "hidden" and "Options:" not in text
    # the choices the question refers to are the row's own
    out = kept(convert(mc_rows(), family="multiple_choice", templates=["open_ended"]))
    assert "- 29" in out.filter(pl.col("parent_id") == "a")["input"][0]


def test_hidden_options_over_unnamed_classes_warn_once(caplog):
    df = pl.DataFrame({"id": ["a", "b"], "text": ["Block my card.", "What is my balance?"], "label": [1, 0]})
    with caplog.at_level(logging.WARNING, logger="dataforge.convert"):
        for _ in range(2):
            convert(df, family="classification", labels=["balance", "block_card"], templates=["which_category"],
                    options="hidden")
        convert(df, family="classification", labels=["balance", "block_card"], templates=["classify_into"],
                options="hidden")  # names the classes in its instruction: nothing to say
        convert(df, family="sentiment", options="hidden")  # fixed classes, named in the wording
    warned = [r.getMessage() for r in caplog.records if "without naming them" in r.getMessage()]
    assert len(warned) == 1 and "classification/which_category" in warned[0]


# -- 7. few-shot exemplars in the query's form ------------------------------------------------------


def test_few_shot_exemplars_show_their_options_when_the_query_does():
    mc = mc_rows()
    out = kept(convert(mc, family="multiple_choice", templates=["question_options"], prompt_types="few_shot", k=2))
    choices = dict(zip(mc["id"], mc["choices"].to_list()))
    for r, m in zip(out.iter_rows(named=True), metas(out)):
        assert m["options"] == "shown" and len(m["exemplars"]) == 2
        shots = r["instruction"].split("Now solve this one.")[0]
        assert shots.count("Options:") == 2
        for e in m["exemplars"]:  # each exemplar with its own choices
            assert "\n".join("- " + c for c in choices[e]) in shots
    df = pl.DataFrame({"id": [f"r{i}" for i in range(6)], "text": [f"Message number {i}." for i in range(6)],
                       "label": [i % 3 for i in range(6)]})
    out = kept(convert(df, family="classification", labels=["billing", "technical", "account"],
                       templates=["which_category"], prompt_types="few_shot", k=3))
    for r in out.iter_rows(named=True):
        shots = r["instruction"].split("Now solve this one.")[0]
        assert shots.count("Options:\n- billing\n- technical\n- account\nAnswer: ") == 3
    # a query with its options hidden keeps exemplars without them
    out = kept(convert(df, family="classification", labels=["billing", "technical", "account"],
                       templates=["classify_into"], prompt_types="few_shot", k=3))
    assert not out["instruction"].str.contains("Options:").any()


# -- 8. smaller things ------------------------------------------------------------------------------

def test_a_language_set_on_the_source_is_the_rows_language():
    df = pl.DataFrame({"id": ["a", "b"], "text": ["Quiero ver mi saldo.", "Bloquea mi tarjeta."], "label": [0, 1],
                       "lang": ["es", "es"]})
    out = convert(df, family="classification", labels=["consultar_saldo", "bloquear_tarjeta"])
    assert set(out["lang"]) == {"es"}
    assert set(convert(df.drop("lang"), family="classification", labels=["a", "b"])["lang"]) == {"en"}


def test_multiple_choice_rows_without_two_choices_are_rejected_as_such():
    df = pl.DataFrame({"id": ["a", "b", "c"], "question": ["Which is a mammal?", "Which is a bird?", "Which is a fish?"],
                       "choices": [{"text": [], "label": []}, {"text": ["owl"], "label": ["A"]},
                                   {"text": ["trout", "cat"], "label": ["A", "B"]}],
                       "answerKey": ["A", "A", "A"]})
    for tid in ("question_options", "lettered", "which_is_right"):
        out = convert(df, family="multiple_choice", templates=[tid])
        assert reasons(out, f"multiple_choice/{tid}") == {"a": "missing_field: choices",
                                                          "b": "too_few_choices: choices=1"}, tid
    out = convert(df, family="multiple_choice", templates="all")
    assert set(kept(out)["parent_id"]) == {"c"} and sorted(rejected(out)["parent_id"]) == ["a", "b"]


def test_lettered_says_number_where_choices_are_numbered():
    df = pl.DataFrame({"id": ["a", "b"], "question": ["Which is a mammal?", "Which is a bird?"],
                       "choices": [{"text": ["cat", "trout"], "label": ["1", "2"]},
                                   {"text": ["cat", "owl"], "label": ["A", "B"]}],
                       "answerKey": ["1", "B"]})
    out = kept(convert(df, family="multiple_choice", templates=["lettered"]))
    got = dict(zip(out["parent_id"], zip(out["instruction"], out["output"])))
    assert got["a"] == ("Answer the multiple-choice question with the number of the right choice.", "1. cat")
    assert got["b"] == ("Answer the multiple-choice question with the letter of the right choice.", "B. owl")


def test_jinja_may_index_with_a_list_of_numbers(tmp_path):
    fam = tmp_path / "ner.yaml"
    fam.write_text("""family: ner
fields:
  tokens: {column: tokens, list: true}
  tags: {column: ner_tags, list: true}
templates:
  - id: tagged
    instruction: "Tag the tokens."
    input: "{{ tokens | join(' ') }}"
    output: "{% set names = ['O', 'PER', 'LOC'] %}{% for t in tags %}{{ tokens[loop.index0] }}/{{ names[t] }} {% endfor %}"
    options: none
""")
    df = pl.DataFrame({"id": ["a"], "tokens": [["Ana", "visits", "Paris"]], "ner_tags": [[1, 0, 2]]})
    assert kept(convert(df, family=str(fam)))["output"].to_list() == ["Ana/PER visits/O Paris/LOC"]


def test_templates_all_skips_a_template_a_row_cannot_fill_and_rejects_a_bad_row_once():
    from dataforge.ops.convert import Convert
    rows = pl.DataFrame({"premise": ["A man plays a guitar.", "A dog runs.", "Kids swim."],
                         "hypothesis": ["A man plays music.", "A cat sleeps.", "Children are in water."],
                         "label": [0, 2, 7]})
    out = Convert(family="nli", templates="all").map(rows)
    rej = out.filter(pl.col("_reject").is_not_null())
    # no rationale in the rows: explain-style templates skip them instead of rejecting each one
    assert not rej["_reject"].str.contains("missing_field").any(), rej["_reject"].to_list()
    assert rej["_reject"].to_list() == ["unknown_label: label=7"]  # one reject for the bad row
    kept = out.filter(pl.col("_reject").is_null())
    assert kept["parent_id"].n_unique() == 2 and kept.height >= 4


def test_bools_written_as_text_are_one_and_zero_too():
    df = pl.DataFrame({"id": ["a", "b", "c"], "question1": ["How do I cook rice?", "How old is the Earth?", "Why?"],
                       "question2": ["Best way to cook rice?", "How big is the Earth?", "Why not?"],
                       "is_duplicate": ["True", "false", "maybe"]})
    out = convert(df, family="paraphrase", templates=["is_paraphrase"])
    assert dict(zip(kept(out)["parent_id"], kept(out)["output"])) == {"a": "yes", "b": "no"}
    assert rejected(out)[REJECT].to_list() == ["unknown_label: label=maybe"]
