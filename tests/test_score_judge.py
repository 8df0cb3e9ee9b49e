"""LLM judges: parsing, DEITA expected score, ensembles, blending, caching; the judge recipe
end to end on a tiny random model (gibberish replies exercise the fallbacks)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dataforge import op, recipe
from dataforge.llm import for_op
from dataforge.llm.base import LLM, Completion, Result
from dataforge.ops.base import RunContext
from dataforge.score import judge as J

ROOT = Path(__file__).resolve().parents[1]


def test_parse_score_json_text_and_out_of_range():
    assert J.parse_score('{"score": 4, "reason": "ok"}', 1, 5) == 4
    assert J.parse_score('Sure! {"score": 2}', 1, 5) == 2
    assert J.parse_score("I would rate it 3 out of 5", 1, 5) == 3
    assert J.parse_score('{"score": 9}', 1, 5) is None
    assert J.parse_score("no number here", 1, 5) is None


def test_expected_score_from_logprobs():
    lp = {"3": math.log(0.5), " 4": math.log(0.25), "5": math.log(0.25), "foo": math.log(0.9)}
    assert J.expected_from_logprobs(lp, 1, 6) == pytest.approx(3.75)
    assert J.expected_from_logprobs({"x": 0.0}, 1, 6) is None


def test_aggregate_mean_and_majority():
    v = np.array([[5, 3, 5], [2, np.nan, 4], [np.nan, np.nan, np.nan], [1, 2, 3]], dtype=float)
    assert np.allclose(J.aggregate(v, "mean")[[0, 1, 3]], [13 / 3, 3, 2]) and np.isnan(J.aggregate(v, "mean")[2])
    assert J.aggregate(v, "majority")[[0, 1, 3]].tolist() == [5, 3, 2]


class ScriptedJudge(LLM):
    """A backend that answers judge prompts by rule: structured JSON for the rubric prompt,
    free text for the others, log-probabilities for complexity, an error for 'BROKEN' rows."""

    backend = "scripted"

    def __init__(self):
        super().__init__("judge-v1")
        self.calls = 0

    def _chat(self, chats, sampling):
        self.calls += len(chats)
        out = []
        for chat in chats:
            user = chat[-1]["content"]
            if "BROKEN" in user:
                out.append(Result(error="backend down"))
            elif sampling.logprobs:
                lp = {"2": math.log(0.5), "4": math.log(0.5)}
                out.append(Result([Completion(text="2", logprobs=[lp])]))
            elif "MUDDLED" in user:
                out.append(Result([Completion(text='{"score": 1}')]))
            elif sampling.json_schema and "Rate" in user:
                out.append(Result([Completion(text='{"score": 5, "reason": "clear"}')]))
            else:
                out.append(Result([Completion(text="Overall: 4")]))
        return out


@pytest.fixture
def scripted():
    llm = ScriptedJudge()
    for_op.use("scripted:judge", llm)
    return llm


def frame(instr):
    n = len(instr)
    return pl.DataFrame({"id": [f"r{i}" for i in range(n)], "instruction": instr, "input": [""] * n,
                         "output": ["A fine answer."] * n, "task": ["open_qa"] * n, "meta": ["{}"] * n})


def bound(name, out, **params):
    o = op(name, **params).bind(RunContext(out=out, llm="scripted:judge"))
    o.ensure_setup()
    return o


def test_judge_ensemble_blend_and_cache(tmp_path, scripted):
    df = frame(["Write a haiku about the sea.", "Do the MUDDLED thing.", "BROKEN row please."])
    o = bound("score_clarity", tmp_path, judge=True, judge_weight=0.5)
    res = o.process(df)
    j = res["score_judge_clarity"].to_list()
    # rubric says 5, checklist says 4 -> mean 4.5 on 1..5 -> 0.875; vague -> 1 -> 0.0; errors -> null
    assert j[0] == pytest.approx(0.875) and j[1] == 0.0 and j[2] is None
    h = bound("score_clarity", tmp_path).process(df)["score_clarity"].to_list()
    blended = res["score_clarity"].to_list()
    assert blended[0] == pytest.approx(0.5 * h[0] + 0.5 * 0.875)
    assert blended[2] == h[2]  # the judge failed: the heuristic alone
    calls = scripted.calls
    again = bound("score_clarity", tmp_path, judge=True).process(df)
    assert again["score_judge_clarity"].to_list()[:2] == j[:2]
    assert scripted.calls == calls + 2  # only the failed row's two prompts are asked again
    maj = bound("judge", tmp_path, aspect="clarity", aggregate="majority", prompts=["rubric"]).process(df)
    assert maj["score_judge_clarity"].to_list()[:2] == [1.0, 0.0]


def test_complexity_uses_logprobs_expected_value(tmp_path, scripted):
    res = bound("score_complexity", tmp_path, method="llm").process(frame(["Name a color.", "BROKEN"]))
    got = res["score_complexity"].to_list()
    assert got[0] == pytest.approx((3.0 - 1) / 5)  # E = 0.5*2 + 0.5*4 = 3 on 1..6
    heur = bound("score_complexity", tmp_path).process(frame(["Name a color.", "BROKEN"]))["score_complexity"]
    assert got[1] == heur[1]


def test_judge_without_llm_is_a_clear_error():
    from dataforge.errors import DataforgeError

    o = op("score_quality", judge=True).bind(RunContext())
    with pytest.raises(DataforgeError, match="needs an LLM"):
        o.ensure_setup()


def test_prompts_are_sandboxed_jinja_and_unknown_prompts_fail(scripted):
    from dataforge.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown prompt"):
        J.Judge(aspect="quality", llm=scripted, prompts=["nope"])
    jg = J.Judge(aspect="quality", llm=scripted)
    assert [t[0] for t in jg._templates] == ["rubric", "teacher"]
    from jinja2.sandbox import SandboxedEnvironment

    assert all(isinstance(t[2].environment, SandboxedEnvironment) for t in jg._templates)


@pytest.mark.slow
def test_judge_recipe_runs_on_a_tiny_model(tmp_path):
    from dataforge.testing.tiny_models import build_tiny_causal_lm

    model = build_tiny_causal_lm(tmp_path / "tiny")
    rows = pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl").with_columns(
        pl.col("output").str.len_chars().alias("_n")).sort("_n").head(4).drop("_n")
    pipe = recipe.load(ROOT / "rules" / "recipes" / "judge.yaml")
    res = pipe.run(rows.with_columns(task=pl.lit("open_qa")), tmp_path / "o", llm=f"hf:{model}")
    data = pl.concat([pl.read_parquet(p) for p in res.shards])
    for c in ("score_clarity", "score_quality", "score_alignment", "score_complexity", "score_novelty"):
        assert c in data.columns and data[c].is_between(0.0, 1.0).all(), c
    assert res.manifest["totals"]["balanced"]
    assert "dataset_metrics" in res.manifest["metrics"]
    assert (tmp_path / "o" / "cache" / "llm").exists()
    json.dumps(res.manifest["metrics"])  # plain JSON
