"""`rewrite` with the tiny causal LM (random weights) through the hf backend."""
from __future__ import annotations

import json

import polars as pl
import pytest

from dataforge.augment import llm_text
from dataforge.errors import ConfigError
from dataforge.ops.base import RunContext, create
from dataforge.schema import conform

TEXTS = ["Write a poem about the sea in 12 lines.", "Explain what a hash table is.",
         "Give three tips for better sleep.", "Describe the water cycle."]


@pytest.fixture
def df() -> pl.DataFrame:
    return conform(pl.DataFrame({"instruction": TEXTS, "output": ["o"] * 4}), source="t")


def make(tmp_path, **params):
    from dataforge.testing.tiny_models import shared_tiny_causal_lm

    p = {"llm": f"hf:{shared_tiny_causal_lm()}", "max_tokens": 6, "min_similarity": None,
         "reject_truncated": False, **params}
    op = create("rewrite", p).bind(RunContext(out=tmp_path, seed=5))
    op.ensure_setup()
    return op


def record(op) -> list:
    seen: list = []
    real = op.model.chat

    def chat(chats, sampling):
        seen.append((chats, sampling))
        return real(chats, sampling)

    op.model.chat = chat
    return seen


@pytest.mark.slow
def test_styles_rotate_and_prompts_carry_the_text(df, tmp_path):
    op = make(tmp_path, per_row=3, styles=["question", "formal", "shorter"], keep_numbers=False)
    seen = record(op)
    out = op.process(df)
    new = out.filter(pl.col("parent_id").is_not_null())
    assert new.height == 12
    variants = new.group_by("parent_id").agg(pl.col("meta").str.json_path_match("$.variant").n_unique())
    assert (variants["meta"] == 3).all()  # each text in three different styles
    assert len(seen) == 1  # one batched call for every row and slot
    chats, sampling = seen[0]
    assert sampling.seed == 5 and sampling.max_tokens == 6 and sampling.temperature == 0.7
    assert chats[0][0]["role"] == "system" and "constraint" in chats[0][0]["content"]
    users = [c[1]["content"] for c in chats]
    assert all(any(t in u for t in TEXTS) for u in users)
    assert any("as a question" in u for u in users) and any("more concisely" in u for u in users)
    m = json.loads(new["meta"][0])
    assert m["augmenter"] == "rewrite" and m["params"]["llm"].startswith("hf:")
    from dataforge.llm.revision import revision_of
    from dataforge.testing.tiny_models import shared_tiny_causal_lm

    # provenance: backend, model, revision of the local folder, sampling with the run seed
    assert m["backend"] == "hf" and m["model"] == f"hf:{shared_tiny_causal_lm()}"
    assert m["revision"] == revision_of(str(shared_tiny_causal_lm())) and m["revision"].startswith("local-sha256:")
    assert m["sampling"]["rewrite"] | {"seed": 5, "max_tokens": 6, "temperature": 0.7} == m["sampling"]["rewrite"]
    assert isinstance(m["seed"], int) and json.dumps(m).count('"seed"') == 2  # row seed + sampling seed
    assert new["source"].str.ends_with("+rewrite").all()
    ok = new.filter(pl.col("_reject").is_null())
    assert ok.height and (ok["instruction"] != "").all()


@pytest.mark.slow
def test_truncated_replies_and_cache(df, tmp_path):
    op = make(tmp_path, reject_truncated=True, keep_numbers=False)
    new = op.process(df).filter(pl.col("parent_id").is_not_null())
    reasons = set(new["_reject"].drop_nulls())
    assert reasons <= {"augment_failed: rewrite: reply cut at max_tokens=6", "augment_failed: rewrite: empty reply"}
    assert reasons  # six tokens of a random model never make a finished reply
    # a rerun is answered from the completion cache under OUT/cache/llm
    again = make(tmp_path, reject_truncated=False, keep_numbers=False)
    seen = record(again)
    first = again.process(df)
    second = again.process(df)
    assert first.equals(second) and len(seen) == 2
    assert (tmp_path / "cache" / "llm").exists()


def test_configuration_errors():
    with pytest.raises(ConfigError, match="unknown style"):
        create("rewrite", {"styles": ["poetic"]})
    op = create("rewrite", {})
    with pytest.raises(ConfigError, match="needs an LLM"):
        op.ensure_setup()


def test_reply_cleaning():
    doc = {"clean": {"strip_prefixes": ["Rewritten:"]}}
    assert llm_text.clean('  Rewritten: "Could you explain hashing?" ', doc) == "Could you explain hashing?"
    assert llm_text.clean("rewritten:  Say hi", doc) == "Say hi"
    assert llm_text.clean("'quoted' and more'", doc) == "quoted' and more"


def test_misspelt_sampling_key_in_a_prompt_file_is_an_error_naming_file_and_line(tmp_path):
    from dataforge import rulefiles

    f = tmp_path / "my_rewrite.yaml"
    f.write_text("user: 'Rewrite: {{ text }}'\nstyles: {concise: shorter}\nsampling:\n  temperature: 0.3\n"
                 "  max_token: 64\n")
    doc = rulefiles.load_yaml(f)
    with pytest.raises(ConfigError, match=r"my_rewrite\.yaml:5: unknown sampling key\(s\) \['max_token'\]"):
        llm_text.check(doc, str(f))
    with pytest.raises(ConfigError, match="max_token"):
        create("rewrite", {"styles": ["concise"], "prompt_file": str(f)})
    ok = tmp_path / "ok_rewrite.yaml"
    ok.write_text("user: 'Rewrite: {{ text }}'\nstyles: {concise: shorter}\nsampling: {temperature: 0.3}\n")
    llm_text.check(rulefiles.load_yaml(ok), str(ok))  # valid keys pass
