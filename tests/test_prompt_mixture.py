"""Generator operators read a searched prompt file's weighted mixture (`ensemble: {how:
weighted_mixture}`): each row draws one member from (seed, row id) with probability = weight,
the row's meta names the member, and a file without a mixture behaves as before.
A scripted LLM (dataforge.testing.scripted) echoes the marker of the prompt it was sent, so
every output says which member made it."""
from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from dataforge.errors import ConfigError
from dataforge.llm import for_op
from dataforge.ops.base import RunContext, create
from dataforge.testing.scripted import ScriptedLLM

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = {"p_s1": 0.6, "p_s2": 0.3, "p_s3": 0.1}


def _echo(chat, s):
    text = chat if isinstance(chat, str) else "\n".join(m["content"] for m in chat)
    marks = re.findall(r"\[(p_s\d)\]", text)
    return f"Made by {marks[0] if marks else 'none'} for: {text[-40:]}"


for_op.use("scripted:echo", ScriptedLLM(_echo))


def _mixture_file(tmp: Path, base: str, entry: str = "", key: str = "user") -> Path:
    doc = yaml.safe_load((ROOT / "rules" / "prompts" / base).read_text())
    node = doc
    for part in [p for p in entry.split(".") if p]:
        node = node[part]
    members = [{"name": n, "weight": w, "fitness": 0.5, "id": n, "system": None, key: f"[{n}] " + node[key]}
               for n, w in WEIGHTS.items()]
    node[key] = members[0][key]  # the best member in place, as prompt-search writes it
    doc["ensemble"] = {"how": "weighted_mixture", "entry": entry, "members": members,
                       "search": {"search_id": "abc123"}}
    p = tmp / base.replace(".yaml", ".searched.yaml")
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


def _rows(n: int) -> pl.DataFrame:
    from dataforge.schema import content_id

    df = pl.DataFrame({"instruction": [f"Describe item number {i}." for i in range(n)], "input": [""] * n,
                       "output": [""] * n, "task": ["open_qa"] * n, "source": ["t"] * n, "lang": ["en"] * n,
                       "meta": ["{}"] * n})
    return df.with_columns(content_id(df).alias("id"))


def _respond(prompt_file, df, seed=3):
    op = create("respond", {"prompt_file": str(prompt_file), "llm": "scripted:echo"})
    op.bind(RunContext(seed=seed))
    op.setup()
    return op.map(df)


def test_respond_draws_members_by_weight_and_records_them(tmp_path):
    f = _mixture_file(tmp_path, "respond.yaml")
    df = _rows(600)
    out = _respond(f, df)
    made = out["output"].str.extract(r"Made by (p_s\d)").to_list()
    names = [json.loads(m)["prompt_variant"]["name"] for m in out["meta"]]
    assert made == names  # the meta names the member whose prompt was sent
    assert {json.loads(m)["prompt_variant"]["search"] for m in out["meta"]} == {"abc123"}
    share = {n: names.count(n) / len(names) for n in WEIGHTS}
    for n, w in WEIGHTS.items():  # binomial sd at n=600 is <= 0.02
        assert abs(share[n] - w) < 0.06, share
    again = _respond(f, df)
    assert again.equals(out)  # deterministic from (seed, row id)
    # a row's draw does not depend on its batch: the first 50 rows alone draw the same members
    assert _respond(f, df.head(50))["output"].to_list() == out["output"].head(50).to_list()
    other = _respond(f, df, seed=4)
    assert other["output"].to_list() != out["output"].to_list()


def test_file_without_mixture_is_unchanged(tmp_path):
    df = _rows(20)
    plain = _respond("respond.yaml", df)
    assert all("prompt_variant" not in json.loads(m) for m in plain["meta"])
    assert set(plain["output"].str.extract(r"Made by (\w+)").to_list()) == {"none"}
    # an ensemble written for judges (how: weighted) is not a mixture
    doc = yaml.safe_load((ROOT / "rules" / "prompts" / "respond.yaml").read_text())
    doc["ensemble"] = {"how": "weighted", "weights": {"a": 1.0}}
    p = tmp_path / "r.yaml"
    p.write_text(yaml.safe_dump(doc))
    assert _respond(p, df)["output"].to_list() == plain["output"].to_list()


def test_bad_mixture_is_a_clear_error(tmp_path):
    f = _mixture_file(tmp_path, "respond.yaml")
    doc = yaml.safe_load(f.read_text())
    doc["ensemble"]["members"][1].pop("user")
    f.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="member 2 needs `user`"):
        _respond(f, _rows(3))


def test_rewrite_uses_the_mixture(tmp_path):
    f = _mixture_file(tmp_path, "rewrite.yaml")
    df = _rows(300)
    op = create("rewrite", {"prompt_file": str(f), "llm": "scripted:echo", "styles": ["formal"],
                            "min_similarity": None})
    op.bind(RunContext(seed=5))
    op.setup()
    new = op.map(df).filter(pl.col("source").str.ends_with("+rewrite"))
    names = [json.loads(m)["prompt_variant"]["name"] for m in new["meta"]]
    assert new["instruction"].str.extract(r"Made by (p_s\d)").to_list() == names
    assert abs(names.count("p_s1") / len(names) - 0.6) < 0.08


def test_self_instruct_and_evol_use_the_mixture(tmp_path):
    si = _mixture_file(tmp_path, "self_instruct.yaml", "instructions", "prompt")
    op = create("self_instruct", {"prompt_file": str(si), "llm": "scripted:echo", "target": 5,
                                  "requests_per_round": 40, "max_rounds": 1})
    op.bind(RunContext(seed=1))
    op.setup()
    seeds = pl.DataFrame({"id": [str(i) for i in range(10)], "instruction": [f"Seed task {i}." for i in range(10)],
                          "input": [""] * 10, "output": ["x"] * 10, "meta": ["{}"] * 10})
    out = op.run(seeds.lazy())
    metas = [json.loads(m) for m in out["meta"] if m and "round" in json.loads(m)]
    names = [m["prompt_variant"]["name"] for m in metas]
    assert names and set(names) <= set(WEIGHTS)
    ev = _mixture_file(tmp_path, "evol_instruct.yaml", "in_depth", "prompt")
    op = create("evol_instruct", {"prompt_file": str(ev), "llm": "scripted:echo", "rounds": 1,
                                  "methods": ["deepening", "breadth"], "judge_equality": False})
    op.bind(RunContext(seed=1))
    op.setup()
    df = _rows(60)
    out = op.map(df).filter(pl.col("parent_id").is_not_null())
    for inst, m in zip(out["instruction"], out["meta"]):
        m = json.loads(m)
        if m["evolution"] == "breadth":  # the mixture is for in_depth: breadth rows have no variant
            assert "prompt_variant" not in m and "Made by none" in inst
        else:
            assert f"Made by {m['prompt_variant']['name']}" in inst
