"""The `convert` operator: NLP sample sets -> instruction pairs, prompt types, determinism, rejects."""
from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from dataforge import Pipeline, Source, recipe
from dataforge.errors import ConfigError
from dataforge.io.read import iter_batches
from dataforge.ops.convert import Convert
from dataforge.schema import REJECT, conform, validate
from dataforge.templates.spec import load_family

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
NLP = {"rt_polarity": "sentiment", "ag_news": "topic", "esnli": "nli", "squad": "extractive_qa",
       "scitldr": "summarization"}
BAD_TEXT = re.compile(r"None|\{\{|\}\}")


def raw(name: str, n: int | None = None) -> pl.DataFrame:
    df = next(iter_batches(str(SAMPLE / f"{name}.jsonl"), batch_size=100_000)).rows
    return conform(df.head(n) if n else df, source=name)


def convert(df: pl.DataFrame, **params) -> pl.DataFrame:
    op = Convert(**params)
    return op.map(df)


def kept(out: pl.DataFrame) -> pl.DataFrame:
    return out.filter(pl.col(REJECT).is_null()).drop(REJECT)


def metas(df: pl.DataFrame) -> list[dict]:
    return [json.loads(m) for m in df["meta"]]


def prompt(r: dict) -> str:
    return r["instruction"] + "\n" + r["input"]


def verbalizers(family: str) -> set[str]:
    fam = load_family(family)
    words = set((fam.labels or {}).values())
    for t in fam.templates:
        words |= set((t.labels or {}).values())
    return words


# -- the recipe over every classic NLP set ---------------------------------------------------

@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("convert_nlp")
    res = recipe.load(ROOT / "rules" / "recipes" / "convert_nlp.yaml").run(out=out)
    data = pl.concat([pl.read_parquet(p) for p in sorted((out / "data").rglob("*.parquet"))])
    return res, data


def test_recipe_converts_every_nlp_sample(recipe_run):
    res, data = recipe_run
    assert res.manifest["totals"]["balanced"]
    assert set(data["source"].unique()) == set(NLP)
    validate(data, "convert_nlp output")
    raw_cols = {"text", "label", "class_index", "gold_label", "Sentence1", "context", "answers", "target"}
    assert not raw_cols & set(data.columns)
    # the few raw records that themselves contain "None" or LaTeX braces are left out of this check
    tainted = set()
    for name in NLP:
        df = raw(name)
        enc = df.select(pl.struct(pl.exclude("id")).struct.json_encode().alias("j"), "id")
        tainted |= set(enc.filter(pl.col("j").str.contains(BAD_TEXT.pattern))["id"])
    assert 0 < len(tainted) < 20
    clean = data.filter(~pl.col("parent_id").is_in(list(tainted)))
    for col in ("instruction", "input", "output"):
        assert clean.filter(pl.col(col).str.contains(BAD_TEXT.pattern)).height == 0, col
    assert data.filter(pl.col("output").str.strip_chars() == "").height == 0
    # rt_polarity uses template ensembling: one row per forward template and input row
    n_rt = 2000 * len(load_family("sentiment").templates)
    assert data.filter(pl.col("source") == "rt_polarity").height == n_rt
    assert data["meta"].str.json_path_match("$.template").n_unique() > 25


@pytest.mark.parametrize("name", list(NLP))
def test_rendered_text_holds_the_inputs_and_the_verbalised_label(name):
    df = raw(name, 300)
    out = kept(convert(df, family=NLP[name], templates="all"))
    assert out.height == 300 * len(load_family(NLP[name]).templates)
    by_id = {r["id"]: r for r in df.iter_rows(named=True)}
    words = verbalizers(NLP[name])
    for r, m in zip(out.iter_rows(named=True), metas(out)):
        src = by_id[r["parent_id"]]
        if not BAD_TEXT.search(json.dumps(src)):
            assert not BAD_TEXT.search(prompt(r) + r["output"]), (m["template"], r)
        assert m["source_row"] == r["parent_id"] and m["dataset"] == name
        text = prompt(r)
        src = {k: v.strip() if isinstance(v, str) else v for k, v in src.items()}  # rendered pieces are stripped
        if name == "rt_polarity":
            assert src["text"] in text
            assert r["output"] in words or r["output"].startswith(("Five stars", "One star"))
        elif name == "ag_news":
            assert src["title"] in text or src["description"] in text
        elif name == "esnli":
            assert src["Sentence1"] in text and src["Sentence2"] in text
            assert r["output"].split(".")[0].lower() in {w.lower() for w in words}
        elif name == "squad":
            assert src["context"] in text and src["question"] in text
            assert r["output"] == src["answers"][0]["text"].strip()
        else:
            assert src["source"][0].strip() in text and r["output"] == src["target"][0].strip()
        if name in ("rt_polarity", "ag_news") and m["template"].endswith(("review_question", "classify_command", "classify_topic")):
            assert r["output"] in words


def test_scitldr_source_list_is_replaced_by_the_source_name():
    out = kept(convert(raw("scitldr", 20), family="summarization", source="scitldr"))
    assert out.schema["source"] == pl.Utf8 and set(out["source"]) == {"scitldr"}


# -- prompt types and modifiers -------------------------------------------------------------------

def test_zero_shot_and_inversion():
    df = raw("rt_polarity", 40)
    out = kept(convert(df, family="sentiment", prompt_types="inversion"))
    texts = dict(zip(df["id"], df["text"]))
    for r, m in zip(out.iter_rows(named=True), metas(out)):
        assert m["prompt_type"] == "inversion" and m["template"] in ("sentiment/write_review", "sentiment/example_of_label")
        assert r["output"] == texts[r["parent_id"]].strip()
        assert "positive" in r["instruction"] or "negative" in r["instruction"]
    out = kept(convert(df, family="sentiment", prompt_types="zero_shot"))
    assert {m["prompt_type"] for m in metas(out)} == {"zero_shot"}


def test_few_shot_uses_k_other_rows_of_the_same_source_never_the_row_itself():
    df = raw("rt_polarity", 60)
    out = kept(convert(df, family="sentiment", prompt_types="few_shot", k=3))
    assert out.height == 60
    texts = dict(zip(df["id"], df["text"]))
    for r, m in zip(out.iter_rows(named=True), metas(out)):
        assert m["prompt_type"] == "few_shot"
        ex = m["exemplars"]
        assert len(ex) == 3 and len(set(ex)) == 3 and r["parent_id"] not in ex
        assert all(texts[e].strip() in r["instruction"] for e in ex)  # exemplars come from the same source
        own = texts[r["parent_id"]].strip()
        exemplar_part = r["instruction"].split("Now solve this one.")[0]
        assert own not in exemplar_part  # the query is not among its exemplars
        assert r["instruction"].count("Answer: ") == 3
    # one row alone has no exemplar: it falls back to zero-shot instead of using itself
    one = kept(convert(df.head(1), family="sentiment", prompt_types="few_shot"))
    assert metas(one)[0]["prompt_type"] == "zero_shot"


def expl_blank(df: pl.DataFrame, parent: str) -> bool:
    return not df.filter(pl.col("id") == parent)["Explanation_1"][0].strip()


def test_chain_of_thought_rows_always_carry_the_rationale():
    df = raw("esnli", 30)
    out = kept(convert(df, family="nli", prompt_types="cot", templates=["premise_hypothesis"]))
    expl = dict(zip(df["id"], df["Explanation_1"]))
    for r, m in zip(out.iter_rows(named=True), metas(out)):
        assert m["prompt_type"] == "cot"
        assert r["output"].startswith(expl[r["parent_id"]].strip())
        assert "So the answer is: " in r["output"] and "reasoning" in r["instruction"]
    # a family without a rationale cannot draw cot: an error that says why, not bare-label CoT rows
    with pytest.raises(ConfigError, match=r"cot needs a `rationale` field.*\['sentiment'\]"):
        Convert(family="sentiment", prompt_types="cot")
    # rows whose rationale is empty stay zero-shot and say so
    blank = df.with_columns(pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.lit("  "))
                            .otherwise(pl.col("Explanation_1")).alias("Explanation_1"))
    mixed = kept(convert(blank, family="nli", prompt_types="cot"))
    types = [m["prompt_type"] for m in metas(mixed)]
    assert types.count("zero_shot") >= 8 and types.count("cot") >= 10
    # zero-shot only for a blank rationale, or a template whose answer already explains
    for r, m in zip(mixed.iter_rows(named=True), metas(mixed)):
        if m["prompt_type"] == "zero_shot":
            assert expl_blank(blank, r["parent_id"]) or m["template"].endswith("explain_relation"), (r, m)
    for r, t in zip(mixed.iter_rows(named=True), types):
        assert (t == "cot") == ("So the answer is: " in r["output"])
        assert "step by step" not in r["instruction"].lower()


def test_chain_of_thought_rows_in_every_sample_conversion():
    """No row of the recipes' conversions asks for reasoning its response lacks."""
    for name, fam, n in (("esnli", "nli", 500),):
        out = kept(convert(raw(name, n), family=fam, prompt_types={"zero_shot": 0.5, "cot": 0.5}))
        cot = [r for r, m in zip(out.iter_rows(named=True), metas(out)) if m["prompt_type"] == "cot"]
        assert len(cot) > 150
        for r in cot:
            reasoning, answer = r["output"].split("So the answer is: ")
            assert len(reasoning.split()) >= 3, r
            # a template whose answer already explains ("Yes. Because ...") is not wrapped again
            assert reasoning.strip().lower() not in answer.lower(), r
        assert any(m["template"].endswith("explain_relation") and m["prompt_type"] == "zero_shot"
                   for m in metas(out))


def test_tasks_follow_the_taxonomy():
    """Converted rows take the family's task; inverted rows the task of what they ask for;
    every row's meta says its prompt type."""
    cases = [("rt_polarity", "sentiment", "sentiment", "text_generation"),
             ("ag_news", "topic", "topic", "text_generation"),
             ("esnli", "nli", "nli", "text_generation"),
             ("squad", "extractive_qa", "extractive_qa", "question_generation"),
             ("scitldr", "summarization", "summarization", "text_generation")]
    for name, fam, forward, inverted in cases:
        out = kept(convert(raw(name, 60), family=fam, prompt_types={"zero_shot": 0.5, "inversion": 0.5}))
        ms = metas(out)
        assert all("prompt_type" in m for m in ms)
        tasks = {(m["prompt_type"], t) for m, t in zip(ms, out["task"])}
        assert tasks == {("zero_shot", forward), ("inversion", inverted)}, (fam, tasks)


def test_options_shown_or_hidden():
    df = raw("esnli", 20)
    shown = kept(convert(df, family="nli", templates=["relation_request"], options="shown"))
    assert all("Options:\n- entailment\n- neutral\n- contradiction" in prompt(r) for r in shown.iter_rows(named=True))
    assert {m["options"] for m in metas(shown)} == {"shown"}
    hidden = kept(convert(df, family="nli", templates=["premise_hypothesis"], options="hidden"))
    assert not any("Options:" in prompt(r) for r in hidden.iter_rows(named=True))
    mixed = metas(kept(convert(raw("esnli", 200), family="nli", options=0.5)))
    counts = {o: sum(m["options"] == o for m in mixed) for o in ("shown", "hidden", None)}
    assert counts["shown"] > 40 and counts["hidden"] > 40  # explain_relation has none


def test_explicit_output_formats():
    df = raw("rt_polarity", 30)
    js = kept(convert(df, family="sentiment", templates=["review_question"], output_format=1.0, formats=["json"]))
    for r in js.iter_rows(named=True):
        assert json.loads(r["output"])["sentiment"] in ("positive", "negative")
        assert '"sentiment"' in r["instruction"]
    one = kept(convert(df, family="sentiment", templates=["review_question"], output_format=1.0, formats=["one_word"]))
    assert all(r["instruction"].endswith("Answer with one word only.") for r in one.iter_rows(named=True))
    md = kept(convert(raw("squad", 10), family="extractive_qa", output_format=1.0, formats=["markdown"]))
    assert all(r["output"].startswith("**Answer:** ") for r in md.iter_rows(named=True))
    # the Jinja template that answers in a sentence allows no format
    stars = kept(convert(df, family="sentiment", templates=["rating_stars"], output_format=1.0))
    assert {m["format"] for m in metas(stars)} == {None}


def test_system_prompt_option():
    df = raw("ag_news", 20)
    on = kept(convert(df, family="topic", system=1.0))
    assert set(on["system"]) <= set(load_family("topic").system) and on["system"].null_count() == 0
    assert kept(convert(df, family="topic"))["system"].null_count() == 20


def test_mixed_prompt_types_follow_the_ratio():
    out = kept(convert(raw("esnli", 1000), family="nli",
                       prompt_types={"zero_shot": 0.5, "few_shot": 0.2, "cot": 0.2, "inversion": 0.1}))
    types = [m["prompt_type"] for m in metas(out)]
    share = {t: types.count(t) / len(types) for t in set(types)}
    assert set(share) == {"zero_shot", "few_shot", "cot", "inversion"}
    assert abs(share["zero_shot"] - 0.5) < 0.06 and abs(share["inversion"] - 0.1) < 0.04


# -- template choice ---------------------------------------------------------------------------

def test_weighted_and_listed_templates():
    df = raw("rt_polarity", 200)
    only = metas(kept(convert(df, family="sentiment", templates={"review_question": 1.0, "tone_question": 0})))
    assert {m["template"] for m in only} == {"sentiment/review_question"}
    two = metas(kept(convert(df, family="sentiment", templates=["review_question", "classify_command"])))
    assert {m["template"] for m in two} == {"sentiment/review_question", "sentiment/classify_command"}
    orig = metas(kept(convert(df, family="sentiment", original_only=True)))
    assert all(m["original_task"] for m in orig)


# -- determinism --------------------------------------------------------------------------------

def test_same_seed_same_rows_whatever_the_order():
    df = raw("esnli", 200)
    params = dict(family="nli", prompt_types={"zero_shot": 0.4, "few_shot": 0.3, "cot": 0.2, "inversion": 0.1},
                  options=0.5, output_format=0.3, system=0.3, seed=5)
    a = convert(df, **params)
    assert a.equals(convert(df, **params))
    b = convert(df.reverse(), **params)
    key = ["parent_id", "meta"]
    assert a.sort(key).equals(b.sort(key))  # depends on row ids, not on positions
    c = convert(df, **(params | {"seed": 6}))
    assert not a.sort(key).equals(c.sort(key))


def test_resumed_run_is_byte_identical(tmp_path):
    def pipe():
        return Pipeline([Convert(family="sentiment", prompt_types={"zero_shot": 0.6, "few_shot": 0.4})],
                        batch_size=300, seed=3)

    src = [Source(name="rt", path=str(SAMPLE / "rt_polarity.jsonl"), limit=900)]
    pipe().run(src, tmp_path / "a")
    out_b = tmp_path / "b"
    pipe().run(src, out_b)
    # simulate a kill after the first batches: drop the later commits and the outputs, rerun
    for stage in (out_b / ".checkpoints").iterdir():
        for f in sorted(stage.glob("stats-*.json"))[2:] + list(stage.glob("DONE.json")):
            f.unlink()
    (out_b / "manifest.json").unlink()
    pipe().run(src, out_b)
    a_files = sorted((tmp_path / "a" / "data").rglob("*.parquet"))
    b_files = sorted((out_b / "data").rglob("*.parquet"))
    assert a_files and [f.read_bytes() for f in a_files] == [f.read_bytes() for f in b_files]


# -- bad input ----------------------------------------------------------------------------------

def test_missing_fields_and_unknown_labels_are_rejected_with_the_reason(tmp_path):
    rows = [{"text": "a fine film", "label": 1}, {"text": None, "label": 0}, {"text": "   ", "label": 1},
            {"text": "meh", "label": 7}, {"text": "ok", "label": None}, {"text": "dull", "label": 0}]
    df = conform(pl.DataFrame(rows), source="t")
    out = convert(df, family="sentiment", templates=["review_question"])
    assert out.height == 6
    by_parent = dict(zip(out["parent_id"], out[REJECT]))
    reasons = [by_parent[i] for i in df["id"]]
    assert reasons == [None, "missing_field: text", "missing_field: text", "unknown_label: label=7",
                       "missing_field: label", None]
    detail = json.loads(out.filter(pl.col(REJECT) == "unknown_label: label=7")["_reject_detail"][0])
    assert detail["raw"] == {"text": "meh", "label": 7} and detail["template"] == "sentiment/review_question"
    for r in kept(out).iter_rows(named=True):
        assert not BAD_TEXT.search(prompt(r) + r["output"])
    # a column absent altogether, through the engine: rejects with the reason, never a crash
    p = tmp_path / "no_label.jsonl"
    p.write_text('{"text": "great"}\n{"text": "awful"}\n')
    res = Pipeline([Convert(family="sentiment")]).run({"nolabel": str(p)}, tmp_path / "out")
    assert res.manifest["totals"]["rows_out"] == 0 and res.manifest["totals"]["rows_rejected"] == 2
    rej = pl.read_parquet(tmp_path / "out" / res.manifest["rejects"][0]["path"])
    assert set(rej["reason"]) == {"missing_field: label"} and set(rej["operator"]) == {"convert"}


def test_bad_parameters_are_config_errors():
    with pytest.raises(ConfigError, match="unknown template family"):
        Convert(family="nope")
    with pytest.raises(ConfigError, match="prompt type"):
        Convert(family="sentiment", prompt_types={"zero_shot": 1, "two_shot": 1})
    with pytest.raises(ConfigError, match="no template 'nope'"):
        Convert(family="sentiment", templates=["nope"])
    with pytest.raises(ConfigError, match="inverted"):
        Convert(family="imports", prompt_types="inversion")


# -- other families and uses ------------------------------------------------------------------

def test_multiple_choice_and_paraphrase_with_mapped_fields():
    mc = conform(pl.DataFrame([
        {"question": "What is 2+2?", "choices": {"text": ["3", "4", "5"], "label": ["A", "B", "C"]}, "answerKey": "B"},
        {"question": "Odd one?", "choices": {"text": ["x", "y"], "label": ["A", "B"]}, "answerKey": "Z"},
    ]), source="arc")
    out = convert(mc, family="multiple_choice", templates="all", options="shown")
    ok = kept(out)
    assert set(ok["output"]) == {"4", "B. 4"}
    assert all("3" in prompt(r) and "5" in prompt(r) for r in ok.iter_rows(named=True))
    assert set(out.filter(pl.col(REJECT).is_not_null())[REJECT]) == {"unknown_label: answer=Z"}
    qqp = conform(pl.DataFrame({"question1": ["How old are you?"], "question2": ["What is your age?"],
                                "is_duplicate": [1]}), source="qqp")
    out = kept(convert(qqp, family="paraphrase", templates="all",
                       fields={"sentence1": "question1", "sentence2": "question2", "label": "is_duplicate"}))
    assert out.height == 5 and "yes" in set(out["output"]) and "equivalent" in set(out["output"])


def test_imports_match_each_layout():
    frames = {
        "alpaca": raw("alpaca", 20),
        "seed": raw("seed_tasks", 20),
        "sharegpt": pl.DataFrame([{"conversations": [{"from": "system", "value": "Be brief."},
                                                     {"from": "human", "value": "Hi?"}, {"from": "gpt", "value": "Hello!"}]}]),
        "messages": pl.DataFrame([{"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}]),
        "dolly": pl.DataFrame([{"instruction": "Name a fruit.", "context": "", "response": "Apple", "category": "brainstorming"}]),
        "sni": pl.DataFrame([{"Definition": ["Add the numbers."],
                              "Instances": [{"id": "a", "input": "1 2", "output": ["3"]}, {"id": "b", "input": "2 2", "output": ["4"]}]}]),
    }
    got = {}
    for name, df in frames.items():
        out = convert(conform(df, source=name), family="imports")
        assert out[REJECT].null_count() == out.height, name
        got[name] = out
    assert {m["template"] for m in metas(got["alpaca"])} == {"imports/alpaca"}
    assert got["alpaca"]["instruction"].to_list() == frames["alpaca"]["instruction"].to_list()
    assert {m["template"] for m in metas(got["seed"])} == {"imports/self_instruct_seed"}
    assert got["sharegpt"].row(0, named=True)["system"] == "Be brief."
    assert got["messages"]["output"].to_list() == ["4"]
    assert got["dolly"]["task"].to_list() == ["brainstorming"]
    assert got["sni"]["output"].to_list() == ["3", "4"] and got["sni"]["parent_id"].n_unique() == 1


def test_convert_as_a_normal_pipeline_step(tmp_path):
    src = {"rt": str(SAMPLE / "rt_polarity.jsonl"), "ag": str(SAMPLE / "ag_news.jsonl"),
           "alpaca": str(SAMPLE / "alpaca.jsonl")}
    res = Pipeline([Convert(family=["sentiment", "topic"])]).run(src, tmp_path / "o")
    data = pl.concat([pl.read_parquet(p) for p in (tmp_path / "o" / "data").rglob("*.parquet")])
    assert res.manifest["totals"]["rows_rejected"] == 0 and data.height == 2000 + 2000 + 1550
    fams = data["meta"].str.json_path_match("$.family")
    assert (fams == "sentiment").sum() == 2000 and (fams == "topic").sum() == 2000
    assert (data["source"] == "alpaca").sum() == 1550  # already in instruction form: passed through


def test_operator_pickles_for_workers():
    import pickle

    op = Convert(family="nli", prompt_types={"zero_shot": 1, "cot": 1}, seed=4)
    again = pickle.loads(pickle.dumps(op))
    df = raw("esnli", 30)
    assert again == op and again.fingerprint() == op.fingerprint()
    assert again.map(df).equals(op.map(df))


def test_squad_few_shot_exemplars_never_come_from_the_query_passage():
    df = raw("squad")
    assert df["context"].n_unique() < df.height  # passages with several questions: the rule matters
    out = kept(convert(df, family="extractive_qa", prompt_types="few_shot", templates=["context_question"]))
    ctx = dict(zip(df["id"], df["context"]))
    ms = metas(out)
    assert sum(m["prompt_type"] == "few_shot" for m in ms) > 300
    for r, m in zip(out.iter_rows(named=True), ms):
        if m["prompt_type"] == "few_shot":
            assert len(m["exemplars"]) == 3
            assert all(ctx[e] != ctx[r["parent_id"]] for e in m["exemplars"])


def test_prompt_type_weights_draw_alike_in_any_key_order():
    # the stage fingerprint sorts keys: two orders of the same weights must give the same rows
    import polars as pl

    from dataforge.ops.convert import Convert

    raw = pl.read_ndjson(Path(__file__).resolve().parents[1] / "sample_data" / "rt_polarity.jsonl").head(300)
    a = Convert(family="sentiment", prompt_types={"zero_shot": 0.7, "few_shot": 0.3}).map(raw)
    b = Convert(family="sentiment", prompt_types={"few_shot": 0.3, "zero_shot": 0.7}).map(raw)
    assert a.equals(b)
    c = Convert(family="sentiment", prompt_types=["few_shot", "zero_shot"]).map(raw)
    d = Convert(family="sentiment", prompt_types=["zero_shot", "few_shot"]).map(raw)
    assert c.equals(d)


# -- other datasets' layouts, as a new user brings them -------------------------------------

def _convert_file(tmp_path, rows: list[dict], family: str, **params) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(written rows, rejected rows) of a run converting `rows` with `family`."""
    import json as _json

    from dataforge.io.source import Source
    from dataforge.ops.base import create
    from dataforge.pipeline import OutputSpec, Pipeline

    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(_json.dumps(r) + "\n" for r in rows))
    res = Pipeline([], output=OutputSpec(report=False)).run(
        [Source(name="x", path=str(src), ops=[create("convert", {"family": family, **params})])], out=tmp_path / "out")
    kept = pl.concat([pl.read_parquet(p) for p in res.shards]) if res.shards else pl.DataFrame()
    rej = [pl.read_parquet(tmp_path / "out" / r["path"]) for r in res.manifest["rejects"]]
    return kept, (pl.concat(rej) if rej else pl.DataFrame({"reason": []}, schema={"reason": pl.Utf8}))


def test_label_words_and_any_case_are_label_ids(tmp_path):
    # SST-2 in a JSONL export: `sentence` and labels written as words
    rows = [{"sentence": "a gorgeous, witty film.", "label": "positive"},
            {"sentence": "a dull, lifeless mess.", "label": " Negative"},
            {"sentence": "an utterly charming film.", "label": "1"},
            {"sentence": "so-so.", "label": "mixed"}]
    kept, rej = _convert_file(tmp_path, rows, "sentiment", templates=["review_question"])
    assert kept.height == 3 and rej["reason"].to_list() == ["unknown_label: label=mixed"]
    by_input = {r["input"].split("\n")[0]: r["output"] for r in kept.iter_rows(named=True)}
    assert by_input == {"a gorgeous, witty film.": "positive", "a dull, lifeless mess.": "negative",
                        "an utterly charming film.": "positive"}


def test_hugging_face_nli_layout_and_an_explanation_template_only_with_an_explanation(tmp_path):
    # MNLI / SNLI / ANLI as `datasets` writes them: premise, hypothesis, label 0/1/2 (-1: no gold label)
    rows = [{"premise": f"A man plays a guitar on stage number {i}.", "hypothesis": "A man performs music.",
             "label": i % 3} for i in range(30)] + [{"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": -1}]
    kept, rej = _convert_file(tmp_path, rows, "nli")
    assert kept.height == 30 and rej["reason"].to_list() == ["unknown_label: label=-1"]
    # no row was drawn into "Answer, then say why." without a why: it needs the explanation
    assert not kept["instruction"].str.contains("say why").any()
    words = {"entailment", "neutral", "contradiction", "yes", "no", "maybe", "true", "false", "undetermined",
             "it is not possible to tell"}
    assert kept["output"].str.strip_chars(".").str.to_lowercase().is_in(list(words)).all(), kept["output"].to_list()


def test_squad_in_the_datasets_layout_and_unanswerable_questions(tmp_path):
    ctx = "The Amazon rainforest covers much of the Amazon basin of South America. It spans nine countries."
    rows = [{"id": "1", "title": "Amazon", "context": ctx, "question": "How many countries does it span?",
             "answers": {"text": ["nine"], "answer_start": [87]}},
            {"id": "2", "title": "Amazon", "context": ctx, "question": "What is its population?",
             "answers": {"text": [], "answer_start": []}}]  # SQuAD 2.0: no answer
    kept, rej = _convert_file(tmp_path, rows, "extractive_qa", templates=["context_question"])
    assert kept["output"].to_list() == ["nine"] and rej["reason"].to_list() == ["missing_field: answer"]


def test_qqp_and_cnn_dailymail_columns_are_read_as_they_are(tmp_path):
    qqp = [{"question1": "How do I learn Python?", "question2": "What is the best way to learn Python?",
            "is_duplicate": 1}, {"question1": "Why is the sky blue?", "question2": "How tall is Everest?",
                                 "is_duplicate": 0}]
    kept, rej = _convert_file(tmp_path / "qqp", qqp, "paraphrase")
    assert kept.height == 2 and rej.height == 0
    cnn = [{"article": "The city council voted on Tuesday to expand the bike lane network by 40 miles.",
            "highlights": "Council approves 40 more miles of bike lanes."}]
    kept, rej = _convert_file(tmp_path / "cnn", cnn, "summarization", templates=["tldr"])
    assert kept["output"].to_list() == ["Council approves 40 more miles of bike lanes."], rej["reason"].to_list()


def test_a_step_that_rejects_every_row_says_so(tmp_path, caplog):
    import logging

    rows = [{"question": "What is 2+2?", "A": "3", "B": "4", "C": "5", "D": "6", "answer": "B"}]
    with caplog.at_level(logging.WARNING, logger="dataforge.pipeline"):
        kept, rej = _convert_file(tmp_path, rows, "multiple_choice")
    assert kept.height == 0 and rej.height == 1
    assert "step 'x/convert' rejected all 1 rows" in caplog.text and "; e.g. '" in caplog.text


def test_imports_reads_prompt_response_pairs_under_other_names(tmp_path):
    layouts = {"prompt_completion": {"prompt": "Name a primary color.", "completion": "Red."},
               "question_answer": {"question": "What is the capital of Peru?", "answer": "Lima."},
               "flan": {"inputs": "Translate to French: cat", "targets": "chat"},
               "preference": {"prompt": "Tell me a joke.", "chosen": "Why did the chicken cross the road?",
                              "rejected": "No."}}
    for name, row in layouts.items():
        kept, rej = _convert_file(tmp_path / name, [row], "imports")
        assert rej.height == 0 and kept.height == 1, name
        want_out = row.get("completion") or row.get("answer") or row.get("targets") or row["chosen"]
        assert kept["output"][0] == want_out and kept["instruction"][0] in row.values()
    # a row no layout fits says so, not "missing_field: sni_definition" of the first layout
    # (a chat written as one text is read since 0.3: tests/test_convert_chats.py)
    kept, rej = _convert_file(tmp_path / "none", [{"text": "Some prose that is no chat at all."}], "imports")
    assert rej["reason"].to_list() == ["no_layout: no template of family 'imports' finds its fields in the row"]


def test_a_source_without_records_suggests_the_mapping(tmp_path):
    from dataforge.errors import SchemaError
    from dataforge.io.source import Source
    from dataforge.pipeline import Pipeline

    src = tmp_path / "qa.jsonl"
    src.write_text('{"question": "What is 2+2?", "answer": "4"}\n')
    with pytest.raises(SchemaError, match=r"map them \(`map: \{instruction: question, output: answer\}`\)"):
        Pipeline([]).run([Source(name="qa", path=str(src))], out=tmp_path / "out")
    chat = tmp_path / "chat.jsonl"
    chat.write_text('{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}\n')
    with pytest.raises(SchemaError, match=r"convert: \{family: imports\}`, which reads this layout"):
        Pipeline([]).run([Source(name="chat", path=str(chat))], out=tmp_path / "out2")
    # ... also when the pipeline starts with an operator that rewrites instruction and output in
    # place (normalize makes neither): the suggestion, not "normalize needs column(s) ..."
    from dataforge import op

    with pytest.raises(SchemaError, match=r"convert: \{family: imports\}`, which reads this layout"):
        Pipeline([op("normalize")]).run([Source(name="chat", path=str(chat))], out=tmp_path / "out3")


def test_multiple_choice_as_mmlu_and_hellaswag_write_it(tmp_path):
    mmlu = [{"question": "What is 2+2?", "subject": "math", "choices": ["3", "4", "5", "6"], "answer": 1}]
    kept, rej = _convert_file(tmp_path / "mmlu", mmlu, "multiple_choice", templates="all")
    assert rej.height == 0 and set(kept["output"]) == {"4", "B. 4"}
    assert "A. 3\nB. 4\nC. 5\nD. 6" in kept.filter(pl.col("output") == "B. 4")["input"][0]
    hs = [{"ctx": "A man is sitting on a roof. He", "endings": ["is ripping tiles off.", "is holding a cube.",
                                                                 "starts pulling up roofing."], "label": "2"}]
    kept, rej = _convert_file(tmp_path / "hs", hs, "multiple_choice", templates=["lettered"])
    assert kept["output"].to_list() == ["C. starts pulling up roofing."]
    # ARC's numeric labels are labels, not positions; a position past the choices is an unknown label
    arc = [{"question": "Which gas do plants absorb?", "choices": {"text": ["Oxygen", "Carbon dioxide"], "label": ["1", "2"]},
            "answerKey": "2"},
           {"question": "Which is a metal?", "choices": {"text": ["Iron", "Wood"], "label": ["A", "B"]}, "answerKey": "7"}]
    kept, rej = _convert_file(tmp_path / "arc", arc, "multiple_choice", templates=["lettered"])
    assert kept["output"].to_list() == ["2. Carbon dioxide"]
    assert [r.split(":")[0] for r in rej["reason"].to_list()] == ["unknown_label"]


def test_a_big_frame_converted_in_two_halves_equals_one_call(monkeypatch):
    # without few-shot rows every row converts on its own: the halves (two threads) give the
    # one call's rows in its order, records first, then rejected raw rows
    import dataforge.ops.convert as C

    base = pl.read_ndjson(SAMPLE / "rt_polarity.jsonl").head(400)
    base = base.with_columns(pl.when(pl.int_range(pl.len()) % 37 == 0).then(7).otherwise(pl.col("label"))
                             .alias("label"))  # some unknown labels: rejects in both halves
    df = conform(base, source="t")
    params = dict(family="sentiment", prompt_types={"zero_shot": 0.7, "inversion": 0.3}, output_format=0.3)
    monkeypatch.setattr(C, "SPLIT_ROWS", 10**9)
    one = convert(df, **params)
    monkeypatch.setattr(C, "SPLIT_ROWS", 10)
    halves = convert(df, **params)
    assert one[REJECT].is_not_null().sum() > 2 and halves.equals(one)
    # few-shot rows take exemplars from the whole batch: such frames are never split
    fs = dict(params, prompt_types={"zero_shot": 0.5, "few_shot": 0.5})
    monkeypatch.setattr(C, "SPLIT_ROWS", 10**9)
    a = convert(df, **fs)
    monkeypatch.setattr(C, "SPLIT_ROWS", 10)
    assert convert(df, **fs).equals(a)


def test_any_classification_dataset_with_its_own_classes(tmp_path):
    # a user's intent CSV: `classification` takes the classes from convert's `labels`; a label
    # is a class name in any case or its position, anything else is an unknown label
    csv = tmp_path / "intents.csv"
    csv.write_text("utterance,intent\nMy card was charged twice.,billing\nThe app crashes on login.,Technical\n"
                   "How do I change my email?, account \nI want a refund.,0\nWhat's the weather?,weather\n")
    src = Source(name="intents", path=str(csv), ops=[Convert(
        family="classification", labels=["billing", "technical", "account"], templates=["classify_into"])])
    res = Pipeline([]).run(src, tmp_path / "out")
    kept = pl.concat([pl.read_parquet(p) for p in res.shards])
    by_text = dict(zip(kept["input"], kept["output"]))
    assert by_text == {"My card was charged twice.": "billing", "The app crashes on login.": "technical",
                       "How do I change my email?": "account", "I want a refund.": "billing"}
    assert set(kept["instruction"]) == {"Classify the following text into one of these categories: "
                                        "billing, technical or account."}
    assert set(kept["task"]) == {"classification"}
    rej = pl.concat([pl.read_parquet(tmp_path / "out" / r["path"]) for r in res.manifest["rejects"]])
    assert rej["reason"].to_list() == ["unknown_label: label=weather"]
    # {label: name} maps ids; a family of fixed classes refuses other classes, and the
    # generic family refuses to guess them
    df = conform(pl.DataFrame({"text": ["win a prize now", "see you at 5"], "label": [1, 0]}), source="t")
    out = convert(df, family="classification", labels={0: "ham", 1: "spam"}, templates=["classify_into"])
    assert out["output"].to_list() == ["spam", "ham"]
    for params, msg in ((dict(family="sentiment", labels=["a", "b"]), "fixed classes"),
                        (dict(family="classification"), "reads the classes of your data"),
                        (dict(family="classification", labels=["x"]), "at least two classes")):
        with pytest.raises(ConfigError, match=msg):
            Convert(**params).validate()
