"""The report's breakdowns by source and task, its warnings, token counts, rows in context,
character statistics and the figures' numbers, on a run with planted problems
(tests/support/planted_run.py)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dataforge import recipe
from dataforge.errors import ConfigError
from dataforge.report import build_report
from tests.support.planted_run import EATEN, build_planted_run


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    return build_planted_run(tmp_path_factory.mktemp("planted") / "out")


def _doc(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def _data(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "data" / "*.parquet")


def _rejects(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "rejects" / "*.parquet")


def test_one_rule_eating_one_source_is_a_warning(planted):
    doc = _doc(planted)
    rej, data = _rejects(planted), _data(planted)
    eaten = rej.filter(pl.col("reason").str.starts_with("eats_source"))
    assert set(eaten["source"]) == {EATEN}
    reached = rej.filter(pl.col("source") == EATEN).height + data.filter(pl.col("source") == EATEN).height
    flagged = [w for w in doc["warnings"] if w["rule"] == "eats_source"]
    by_dim = {w["dim"]: w for w in flagged}
    assert set(by_dim) == {"source", "task"} and by_dim["source"]["value"] == EATEN
    assert by_dim["source"]["rejected"] == eaten.height and by_dim["source"]["reached"] == reached
    assert by_dim["source"]["share"] == pytest.approx(eaten.height / reached, abs=1e-4)
    assert by_dim["source"]["share"] > 0.1
    # the other sources are untouched by that rule, and selection never warns
    assert not [w for w in doc["warnings"] if w["rule"] == "not_selected"]
    rows = [b for b in doc["breakdown"]["by"]["source"] if b["rule"] == "eats_source"]
    assert [b["value"] for b in rows] == [EATEN]
    # at the top of the page, in the warnings section, naming the rule and the source
    html = (planted / "report" / "index.html").read_text()
    first = re.search(r'<section id="(\w+)"', html).group(1)
    assert first == "warnings"
    warn = html[html.index('id="warnings"'):html.index('id="summary"')]
    assert "eats_source" in warn and EATEN in warn and f"{by_dim['source']['share']:.1%}" in warn


def test_threshold_comes_from_the_options(planted, tmp_path):
    before = (planted / "report.json").read_bytes()
    out = build_report(planted, html_path=tmp_path / "p.html", warn_share=0.5)
    assert out.is_file()
    # a report built elsewhere keeps its data beside it; the run's own report.json (the one
    # `publish` uploads, matching report/index.html) is left as it was
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["breakdown"]["warn_share"] == 0.5
    assert [w["rule"] for w in doc["warnings"]] == ["duplicate_exact"]  # copies: 100% duplicates
    assert (planted / "report.json").read_bytes() == before
    assert _doc(planted)["breakdown"]["warn_share"] == 0.1
    from dataforge.cli import main

    assert main(["report", str(planted), "-o", str(tmp_path / "q" / "page.html"), "--warn-share", "0.3"]) == 0
    assert json.loads((tmp_path / "q" / "page.json").read_text())["breakdown"]["warn_share"] == 0.3
    assert (planted / "report.json").read_bytes() == before


def test_kept_share_per_source_at_selection(planted):
    doc = _doc(planted)
    rej, data = _rejects(planted), _data(planted)
    sel = {r["value"]: r for r in doc["breakdown"]["selection"]["source"]}
    alpaca_dropped = rej.filter((pl.col("stage") == "select") & (pl.col("source") == "alpaca")).height
    alpaca_kept = data.filter(pl.col("source") == "alpaca").height
    assert sel["alpaca"]["kept"] == alpaca_kept
    assert sel["alpaca"]["kept_share"] == pytest.approx(alpaca_kept / (alpaca_kept + alpaca_dropped), abs=1e-4)
    assert sel[EATEN]["kept_share"] == 1.0
    assert 0.3 < sel["alpaca"]["kept_share"] < 0.7


def test_scores_and_lengths_per_task(planted):
    doc, data = _doc(planted), _data(planted)
    per = doc["scores"]["score_words"]["per_task"]
    assert set(per) == set(data["task"].unique())
    for task, st in per.items():
        vals = data.filter(pl.col("task") == task)["score_words"]
        assert st["n"] == vals.len()
        assert st["p50"] == pytest.approx(float(vals.quantile(0.5, "linear")), abs=1e-4)
        assert st["p25"] <= st["p50"] <= st["p75"]
    words = doc["lengths"]["per_task_words"]["output"]["open_qa"]
    assert words["p50"] == pytest.approx(float(data.filter(pl.col("task") == "open_qa")["output"]
                                               .str.count_matches(r"\S+").median()))


def test_token_counts_match_the_tokenizer(planted):
    from transformers import AutoTokenizer

    from dataforge.report.tokens import default_path

    doc, data = _doc(planted), _data(planted)
    tok = doc["tokens"]
    assert tok["exact"] and "MiniLM" in tok["tokenizer"]
    ref = AutoTokenizer.from_pretrained(str(default_path()))
    own = {f: np.array([len(ref(t, add_special_tokens=False)["input_ids"]) for t in data[f].fill_null("")])
           for f in ("instruction", "input", "output")}
    for f, counts in own.items():
        assert tok["total"][f] == int(counts.sum()), f
        assert tok["fields"][f]["max"] == counts.max()
    assert tok["total"]["all"] == sum(int(c.sum()) for c in own.values())
    assert sum(v["all"] for v in tok["by_split"].values()) == tok["total"]["all"]
    assert sum(v["output"] for v in tok["by_source"].values()) == tok["total"]["output"]
    # the histogram drawn is in report.json
    assert sum(doc["figures"]["tokens"]["output"]["counts"]["planted"]) == data.height


def test_a_named_tokenizer_and_the_sampled_estimate(planted, tmp_path):
    from dataforge.testing.tiny_models import build_tokenizer

    tdir = tmp_path / "tok"
    fast = build_tokenizer(tdir)
    build_report(planted, html_path=tmp_path / "t.html", tokenizer=str(tdir), exact_token_rows=50,
                 analysis_rows=120)
    tok = json.loads((tmp_path / "t.json").read_text())["tokens"]
    assert tok["tokenizer"] == str(tdir) and not tok["exact"] and tok["rows_counted"] <= 120
    data = _data(planted)
    truth = sum(len(fast(t, add_special_tokens=False)["input_ids"]) for t in data["output"])
    assert tok["total"]["output"] == pytest.approx(truth, rel=0.25)
    # words likewise come from the sample on big runs; characters and empty texts from every row
    lengths = json.loads((tmp_path / "t.json").read_text())["lengths"]["output"]
    words = data["output"].fill_null("").str.count_matches(r"\S+")
    assert not lengths["exact"] and lengths["rows_counted"] == tok["rows_counted"] < data.height
    assert lengths["words"]["n"] == lengths["rows_counted"] and lengths["chars"]["n"] == data.height
    assert lengths["chars"]["max"] == data["output"].fill_null("").str.len_chars().max()
    assert lengths["empty"] == int((words == 0).sum())
    assert lengths["words"]["p50"] == pytest.approx(float(words.median()), rel=0.3)
    assert "Words estimated from" in (tmp_path / "t.html").read_text()
    build_report(planted)
    full = _doc(planted)["lengths"]["output"]
    assert full["exact"] and full["words"]["n"] == data.height and full["words"]["max"] == words.max()


def test_rows_in_context(planted):
    doc = _doc(planted)
    ctx = doc["context"]
    rej = _rejects(planted)
    # each dropped duplicate beside the row kept in its place
    assert ctx["duplicates"]
    for p in ctx["duplicates"]:
        detail = rej.filter((pl.col("id") == p["dropped"]["id"]) & (pl.col("stage") == p["stage"]))["detail"][0]
        assert p["kept"]["id"] == json.loads(detail)["kept_id"]
        assert p["dropped"]["instruction"] == p["kept"]["instruction"] and p["dropped"]["status"] == "rejected"
    # derived rows beside their parent
    pairs = ctx["derived"]["pairs"]
    # (rows whose parent is a row of the run, kept or rejected: a converted row's parent_id names
    # its raw source row, no row to show)
    data = _data(planted)
    ids = pl.concat([data["id"], rej["id"]])
    assert ctx["derived"]["rows"] == data["parent_id"].is_in(ids.implode()).sum() > 0 and pairs
    for p in pairs:
        assert p["parent"]["id"] == p["child"]["parent_id"]
        assert p["child"]["output"] == p["parent"]["output"].upper() or p["child"]["output"].endswith("…")
    # identical prompts with different answers: the shouted copies
    conf = ctx["conflicts"]
    assert conf["groups"] > 0 and all(len({a["output"] for a in c["answers"]}) >= 2 for c in conf["examples"])
    # example tables carry input, source, task, scores and reason
    ex = doc["rejects"]["examples"][0]
    assert {"instruction", "input", "output", "source", "task", "scores", "reason"} <= set(ex)


def test_text_stats_and_verb_noun(planted):
    doc = _doc(planted)
    ts = doc["text_stats"]
    assert set(ts["measures"]) == {"special_char_ratio", "stopword_ratio", "flagged_word_ratio"}
    assert 0 < ts["measures"]["stopword_ratio"]["mean"] < 1
    assert set(ts["per_source"]) <= set(_data(planted)["source"].unique())
    from dataforge.report.textstats import measure

    row = pl.DataFrame({"id": ["a"], "instruction": ["Hello, world!"], "input": [""], "output": ["the shit end"]})
    r = measure(row).row(0, named=True)
    assert r["special_char_ratio"] == pytest.approx(round(2 / len("Hello, world!\n\nthe shit end"), 4))
    assert r["stopword_ratio"] == pytest.approx(0.2) and r["flagged_word_ratio"] == pytest.approx(0.2)
    tree = doc["verb_noun"]["tree"]
    assert tree and all(t["count"] >= sum(n["count"] for n in t["nouns"]) for t in tree)


def test_report_json_holds_the_drawn_numbers(planted):
    doc, data = _doc(planted), _data(planted)
    fig = doc["figures"]
    for name in ("score_words", "score_inst"):
        h = fig["scores"][name]
        assert len(h["edges"]) == len(h["counts"]["planted"]) + 1
        assert sum(h["counts"]["planted"]) == data.height
    assert sum(fig["lengths"]["output"]["counts"]["planted"]) == data.height
    assert set(fig["text_stats"]) == {"special_char_ratio", "stopword_ratio", "flagged_word_ratio"}
    assert 0 < doc["sample"]["size"] <= 500
    assert {r["status"] for r in doc["sample"]["rows"]} == {"kept", "rejected"}


def test_recipe_output_section_sets_the_report_options(tmp_path):
    text = """
name: r
sources: [{path: %s, limit: 5}]
pipeline: []
output: {tokenizer: /some/dir, report: {warn_share: 0.2, sample_rows: 50}}
""" % (Path(__file__).resolve().parents[1] / "sample_data" / "alpaca.jsonl")
    p = tmp_path / "r.yaml"
    p.write_text(text)
    pipe = recipe.load(str(p))
    assert pipe.output.report and pipe.output.report_options == {"warn_share": 0.2, "sample_rows": 50,
                                                                 "tokenizer": "/some/dir"}
    p.write_text(text.replace("warn_share: 0.2", "warn_shar: 0.2"))
    with pytest.raises(ConfigError, match="warn_shar"):
        recipe.load(str(p))
    p.write_text(text.replace("warn_share: 0.2", "warn_share: 2"))
    with pytest.raises(ConfigError, match="warn_share"):
        recipe.load(str(p))


def test_warnings_carry_the_rule_hint():
    from dataforge.report import breakdown as bd

    rej = pl.DataFrame({"stage": ["clean"] * 30, "operator": ["rule_filter"] * 30,
                        "reason": ["truncated: output ends mid-sentence: '…hiking'"] * 30,
                        "source": ["forum"] * 30, "task": ["open_qa"] * 30})
    doc = bd.rejects_by(rej, {"source": {"forum": 70}, "task": {"open_qa": 70}},
                        {"stages": [{"name": "clean"}]}, 0.1)
    msgs = [w["message"] for w in doc["warnings"] if w["rule"] == "truncated"]
    assert msgs and all("unended_prose: false" in m for m in msgs)
    assert set(bd.hints()) >= {"truncated", "refusal", "refusal_grammar", "non_answer", "placeholder", "lang_mismatch"}


def test_converted_rows_are_not_listed_as_derived(tmp_path):
    """A converted row's parent_id names its raw source row: provenance, no row of the run to
    show beside it (the report had said every converted row "has a parent")."""
    from dataforge import Pipeline, Source
    from dataforge.ops.convert import Convert

    sample = Path(__file__).resolve().parents[1] / "sample_data"
    src = Source(name="rt", path=str(sample / "rt_polarity.jsonl"), limit=40, ops=[Convert(family="sentiment")])
    out = tmp_path / "out"
    Pipeline([]).run(src, out=out)
    data = _data(out)
    assert data["parent_id"].is_not_null().all() and data.height == 40
    assert _doc(out)["context"]["derived"] == {"rows": 0, "pairs": []}
    assert "0 rows augmented or generated" in (out / "report" / "index.html").read_text()


def test_a_kept_duplicate_removed_later_is_shown_as_itself(tmp_path):
    """An exact copy shares the kept row's id; when a later step rejects the kept row, the pair
    shows that rejection beside the dropped copy, not the copy itself twice."""
    from dataforge import Pipeline, op

    rows = pl.DataFrame({"instruction": ["Name a colour.", "Name a colour.", "Name a fruit please now."],
                         "output": ["Red", "Red", "An apple is a fruit that grows on trees."]})
    out = tmp_path / "out"
    Pipeline([op("dedup_exact"), op("length", field="output", min=3, unit="words")],
             names=["dedup", "short"]).run(rows, out=out)
    (pair,) = _doc(out)["context"]["duplicates"]
    assert pair["dropped"]["reason"].startswith("duplicate") and pair["dropped"]["stage"] == "dedup"
    assert pair["kept"]["stage"] == "short" and not pair["kept"]["reason"].startswith("duplicate")


def test_unparsed_lines_raise_no_warning_about_task_none(tmp_path):
    """A quarantined line has no task yet: the breakdown's "(none)" group of the read stage is
    only those lines (1 of 1 = 100%), which had warned as if a rule ate a task."""
    from dataforge import Pipeline, Source, op

    f = tmp_path / "a.jsonl"
    f.write_text("".join(f'{{"instruction": "Name a prime number above {i}.", "output": "{i + 1}"}}\n'
                         for i in (1, 3)) + '{"instruction": "broken\n', encoding="utf-8")
    out = tmp_path / "out"
    Pipeline([op("normalize")]).run(Source(name="a", path=str(f), on_error="quarantine", set={"task": "math"}), out=out)
    doc = _doc(out)
    assert doc["run"]["totals"]["rows_rejected"] == 1
    assert not [w for w in doc["warnings"] if w.get("value") == "(none)"], doc["warnings"]


def test_rejected_rows_show_the_scores_they_had(planted):
    """Rows a selection rejected keep their scores in `raw`; the report's examples and sample
    table showed them with no scores."""
    doc = _doc(planted)
    selected_out = [e for e in doc["rejects"]["examples"] if e["stage"] == "select"]
    assert selected_out and all(e["scores"] and set(e["scores"]) <= {"score_words", "score_inst"} for e in selected_out)
    eaten = [e for e in doc["rejects"]["examples"] if e["stage"] == "eat"]
    assert eaten and all(e["scores"] == {} for e in eaten)  # rejected before any score
