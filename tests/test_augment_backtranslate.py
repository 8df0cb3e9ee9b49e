"""Back-translation plumbing with tiny MarianMT models the test builds (random weights)."""
from __future__ import annotations

import json

import polars as pl
import pytest

from dataforge.errors import ConfigError, MissingResourceError
from dataforge.ops.base import RunContext, create
from dataforge.schema import conform

pytestmark = pytest.mark.slow

TEXTS = ["Write a short story about a brave dog.", "List three benefits of exercise.",
         "Explain how photosynthesis works in plants.", "Name the capital of Japan.", "Hi"]


@pytest.fixture(scope="module")
def marian(tmp_path_factory) -> dict[str, str]:
    from dataforge.testing.tiny_marian import build_tiny_marian

    root = tmp_path_factory.mktemp("marian")
    # two models serve both pivots: the plumbing, not the languages, is under test
    there, back = str(build_tiny_marian(root / "there", seed=0)), str(build_tiny_marian(root / "back", seed=1))
    return {"en-de": there, "de-en": back, "en-fr": there, "fr-en": back}


@pytest.fixture
def df() -> pl.DataFrame:
    return conform(pl.DataFrame({"instruction": TEXTS + ["Schreibe eine Geschichte."],
                                 "output": [f"a{i}" for i in range(6)],
                                 "lang": ["en"] * 5 + ["de"]}), source="t")


def op_with(marian, **params):
    op = create("back_translate", {"models": marian, "max_new_tokens": 8, "min_similarity": None,
                                   "keep_numbers": False, **params}).bind(RunContext(seed=3))
    op.ensure_setup()
    return op


def test_round_trip_through_each_pivot(marian, df):
    from dataforge.augment import translate

    out = op_with(marian, pivots=["de", "fr"], per_row=2).process(df)
    new = out.filter(pl.col("parent_id").is_not_null())
    en_ids = set(df.filter(pl.col("lang") == "en")["id"])
    assert set(new["parent_id"]) == en_ids and new.height == 10  # the German row is not a source
    metas = [json.loads(m) for m in new["meta"]]
    pairs = {(p, m["variant"]) for p, m in zip(new["parent_id"], metas)}
    assert len(pairs) == 10  # each text went through de and through fr
    from dataforge.llm.revision import revision_of

    m = metas[0]  # provenance: which translation models (with revisions) and decoding settings
    assert m["backend"] == "transformers-seq2seq" and m["model"]["en-de"] == marian["en-de"]
    assert m["revision"]["de-en"] == revision_of(marian["de-en"]) and m["revision"]["de-en"].startswith("local-sha256:")
    assert m["sampling"]["translate"]["num_beams"] == 1 and isinstance(m["seed"], int)
    assert new["source"].str.ends_with("+bt").all()
    # the new text is what the models give: en->de then de->en, batched
    de = [m["variant"] == "de" for m in metas]
    src = dict(zip(df["id"], df["instruction"]))
    parents = [src[p] for p, d in zip(new["parent_id"], de) if d]
    there = translate.load(marian["en-de"]).translate(parents, max_new_tokens=8)
    back = translate.load(marian["de-en"]).translate(there, max_new_tokens=8)
    got = [t for t, d, r in zip(new["instruction"], de, new["_reject"]) if d]
    assert got == [b or p for b, p in zip(back, parents)]


def test_batching_does_not_change_translations(marian):
    from dataforge.augment import translate

    t = translate.load(marian["en-de"])
    one = t.translate(TEXTS, batch_size=1, max_new_tokens=10)
    many = t.translate(TEXTS, batch_size=4, max_new_tokens=10)
    assert one == many and len(set(one)) > 1  # outputs follow the inputs, in input order


def test_parameters_and_missing_models(marian, tmp_path):
    with pytest.raises(ConfigError, match="per_row"):
        create("back_translate", {"pivots": ["de"], "per_row": 2})
    with pytest.raises(ConfigError, match="source language"):
        create("back_translate", {"pivots": ["en"]})
    op = create("back_translate", {"pivots": ["xx"], "models": {"en-xx": str(tmp_path / "nope")}})
    with pytest.raises(MissingResourceError, match="en-xx|nope"):
        op.ensure_setup()
    with pytest.raises(MissingResourceError, match="models:"):
        create("back_translate", {"pivots": ["zz"]}).ensure_setup()


def test_llm_engine_uses_the_prompt_file(df, tmp_path):
    from dataforge.llm import for_op
    from dataforge.testing.tiny_models import shared_tiny_causal_lm

    spec = f"hf:{shared_tiny_causal_lm()}?batch_size=8"
    op = create("back_translate", {"engine": "llm", "llm": spec, "pivots": ["de"], "min_similarity": None,
                                   "max_new_tokens": 8}).bind(RunContext(seed=1))
    op.ensure_setup()
    seen = []
    inner = for_op.llm_for(op)
    real_chat = inner.chat

    def recording(chats, sampling):
        seen.extend(chats)
        return real_chat(chats, sampling)

    op.model.chat = recording
    out = op.process(df)
    new = out.filter(pl.col("parent_id").is_not_null())
    assert new.height == 5
    # a random model's replies are cut at max_new_tokens or empty: every row fails on the first
    # leg, with the reason, and the second leg is never asked
    assert len(seen) == 5 and all("from English to German" in c[-1]["content"] for c in seen)
    assert any(TEXTS[0] in c[-1]["content"] for c in seen)
    reasons = new["_reject"].to_list()
    assert all(r.startswith("augment_failed: back_translate: en->de: ") for r in reasons), reasons
    m = json.loads(new["meta"][0])
    assert m["backend"] == "hf" and m["model"] == spec.split("?")[0]
    assert m["revision"].startswith("local-sha256:") and m["sampling"]["translate"]["seed"] == 1
    assert all(r.endswith(("reply cut at max_tokens=8", "empty reply")) for r in reasons), reasons
