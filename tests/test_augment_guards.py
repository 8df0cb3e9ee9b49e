"""The guards every augmenter shares, with the real MiniLM model for drift."""
from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import polars as pl
import pytest

from dataforge.ops.base_augment import AugmentOp, Generated
from dataforge.engine.batch import run_chain
from dataforge.ops.base import RunContext
from dataforge.schema import conform


class Scripted(AugmentOp):
    """An augmenter whose outputs the test writes: parent text -> new text (None: a failure)."""

    name = "scripted"
    suffix: ClassVar[str] = "+s"
    script: dict = None  # type: ignore[assignment]

    def generate(self, texts, seeds, slots):
        out = [self.script[t] for t in texts]
        return Generated(out, ["v"] * len(texts), [None if o else "backend: timeout" for o in out])


ORIG = [
    "Write a short story about a brave little dog.",
    "List three benefits of regular exercise.",
    "Explain how photosynthesis works.",
    "Summarise the article in 300 words.",
    "Translate the sentence into French.",
    "Name the capital of Japan.",
]
NEW = {
    ORIG[0]: "Compose a short story about a courageous small dog.",  # paraphrase: kept
    ORIG[1]: "LIST three benefits of regular exercise!",  # same after normalisation: copy
    ORIG[2]: "The stock market closed lower on Friday after weak earnings.",  # unrelated: drift
    ORIG[3]: "Summarise the article in a few words.",  # lost the number
    ORIG[4]: None,  # the backend failed
    ORIG[5]: "Name the capital of Japan?",  # only punctuation: copy
}


@pytest.fixture
def df() -> pl.DataFrame:
    return conform(pl.DataFrame({"instruction": ORIG, "output": [f"answer {i}" for i in range(6)],
                                 "score_quality": [0.5] * 6}), source="t")


def make(tmp_path, **params) -> Scripted:
    op = Scripted(script=NEW, **params).bind(RunContext(out=tmp_path, seed=1))
    op.ensure_setup()
    return op


@pytest.mark.slow
def test_each_guard_gives_its_reason(df, tmp_path):
    out = make(tmp_path, keep_numbers=True).process(df)
    new = out.filter(pl.col("parent_id").is_not_null())
    reasons = dict(zip(new["parent_id"], new["_reject"]))
    by_text = {t: reasons[i] for t, i in zip(df["instruction"], df["id"])}
    assert by_text[ORIG[0]] is None
    assert by_text[ORIG[1]] == "copy: identical after normalisation"
    assert by_text[ORIG[5]] == "copy: identical after normalisation"
    assert by_text[ORIG[3]] == "constraint: lost number 300"
    assert by_text[ORIG[4]] == "augment_failed: scripted: backend: timeout"
    drift = by_text[ORIG[2]]
    assert drift.startswith("drift: cosine ") and drift.endswith(" < 0.80")
    cos = float(drift.split()[2])
    assert cos < 0.5
    detail = json.loads(new.filter(pl.col("_reject") == drift)["_reject_detail"][0])
    assert detail == {"cosine": cos, "min_similarity": 0.8}
    kept = new.filter(pl.col("_reject").is_null())
    assert kept["score_quality"].is_null().all()  # the parent's scores do not describe the new text
    assert kept["instruction"].to_list() == [NEW[ORIG[0]]]


@pytest.mark.slow
def test_threshold_and_switches(df, tmp_path):
    new = make(tmp_path, min_similarity=None, keep_numbers=False).process(df) \
        .filter(pl.col("parent_id").is_not_null())
    assert set(new["_reject"].drop_nulls()) == {"copy: identical after normalisation",
                                                 "augment_failed: scripted: backend: timeout"}
    strict = make(tmp_path, min_similarity=0.99).process(df).filter(pl.col("parent_id").is_not_null())
    assert strict.filter(pl.col("instruction") == NEW[ORIG[0]])["_reject"][0].startswith("drift: cosine 0.")


@pytest.mark.slow
def test_embeddings_are_cached_per_text(df, tmp_path):
    from dataforge.embed import shared

    op = make(tmp_path)
    op.process(df)
    emb = shared(None, tmp_path / "cache" / "embeddings")
    before = emb.encoded
    op.process(df)
    assert emb.encoded == before  # the second pass computed nothing
    assert list((tmp_path / "cache" / "embeddings").glob("emb-*.parquet"))


@pytest.mark.slow
def test_engine_accounting_counts_new_rows(df, tmp_path):
    op = make(tmp_path)
    kept, rejects, stats = run_chain(df, [op], ["aug"])
    st = stats[0]
    assert st.rows_in == 6 and st.rows_added == 6
    assert kept.height == 6 + 1 and st.rows_rejected == 5
    assert st.rows_in + st.rows_added == st.rows_out + st.rows_rejected
    rej = pl.concat(rejects)
    assert set(rej["operator"]) == {"scripted"} and rej["parent_id"].is_not_null().all()


def test_duplicate_new_rows_are_rejected(tmp_path):
    df = conform(pl.DataFrame({"instruction": ["Tell a joke.", "Tell me a joke."],
                               "output": ["x", "x"]}), source="t")
    op = Scripted(script={"Tell a joke.": "Please tell a joke.", "Tell me a joke.": "Please tell a joke."},
                  min_similarity=None).bind(RunContext(seed=0))
    new = op.process(df).filter(pl.col("parent_id").is_not_null())
    assert sorted(new["_reject"].fill_null("kept").to_list()) == ["copy: duplicate of another row", "kept"]


def test_seeds_do_not_depend_on_position():
    from dataforge.augment.seeds import row_seeds

    ids = pl.Series(["a", "b", "c"])
    s1 = row_seeds(ids, 3, "eda")
    s2 = row_seeds(ids.reverse(), 3, "eda")[::-1]
    assert np.array_equal(s1, s2) and len(set(s1.tolist())) == 3
    assert not np.array_equal(s1, row_seeds(ids, 4, "eda"))


def test_eda_keeps_quoted_text_word_order_and_finished_endings():
    """Random word noise on a request must not change what it quotes or works on, scramble its
    function words, or cut it on a dangling word: the output still answers the original. All
    of these came out of `eda` on Alpaca and a multilingual sample, and were kept before."""
    import polars as pl

    from dataforge.augment import guards

    pairs = [("Translate 'thank you very much' into Japanese.", "Translate 'thank give thanks you very much' into Japanese.", "changed quoted text"),
             ("Traduce al francés: Buenos días, ¿cómo estás?", "Traduce al francés: días, ¿cómo estás?", "changed quoted text"),
             ('Create a recipe titled "Chocolate Chip Cookies".', 'Create a recipe titled "Chocolate Cookies".', "changed quoted text"),
             ("Write a story that has a moral lesson.", "Write a story that has a lesson. moral", "scrambled word order"),
             ("Create a list of 20 vocabulary words related to marine animals.", "Create a of vocabulary words related to marine animals.", "scrambled word order"),
             ("Evaluate this program for its strengths and weaknesses.", "Evaluate this program for its strengths and", "dangling last word"),
             # fine: a synonym, a quote kept, a request that already ended on "for"
             ('Create a recipe titled "Chocolate Chip Cookies".', 'Make a recipe titled "Chocolate Chip Cookies".', None),
             ("Create 10 multiple choice questions on a given topic.", "Create 10 multiple selection questions on a given topic.", None),
             ("What is this tool used for", "What is this instrument used for", None),
             ("Don't use jargon: explain what a compiler does.", "Don't use jargon: explain what a compiler does.", None)]
    df = pl.DataFrame({"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]})
    quotes = guards.changed_material_reason(df, "a", "b")
    order = guards.garbled_reason(df, "a", "b")
    got = [q or o for q, o in zip(quotes, order)]
    for (a, b, want), reason in zip(pairs, got):
        assert (reason is None) if want is None else (reason or "").startswith(f"constraint: {want}"), (a, b, reason)


def test_eda_leaves_rows_in_other_languages_alone():
    import polars as pl

    from dataforge import op
    from dataforge.ops.base import RunContext

    rows = pl.DataFrame({"id": ["1", "2", "3"], "instruction": ["Was ist die Hauptstadt von Österreich?",
                                                                "भारत की राजधानी क्या है?", "What is the capital of Austria?"],
                         "input": [""] * 3, "output": ["Wien.", "नई दिल्ली।", "Vienna."], "lang": ["de", "en", "en"],
                         "source": ["s"] * 3, "meta": ["{}"] * 3, "task": [None] * 3, "system": [None] * 3,
                         "parent_id": [None] * 3})
    eda = op("eda", actions=["swap"], min_similarity=None).bind(RunContext(seed=0))
    eda.ensure_setup()
    out = eda.process(rows)
    parents = set(out["parent_id"].drop_nulls())
    assert parents <= {"3"}  # German by `lang`; Hindi by its script, though `lang` defaulted to en
    everyone = op("eda", actions=["swap"], min_similarity=None, langs=[]).bind(RunContext(seed=0))
    everyone.ensure_setup()
    assert set(everyone.process(rows)["parent_id"].drop_nulls()) > parents


def test_rejected_new_rows_have_ids_of_their_own(df, tmp_path):
    """A new row that fails a guard (a copy of its parent, a failed call that keeps the parent's
    text) is not its parent: it never carries the parent's id nor points to itself, so the same
    id is never both in the shards and in rejects. Kept new rows keep their content id."""
    from dataforge.schema import content_id

    df = df.with_columns(content_id(df).alias("id"))  # converted rows: their ids are content ids
    out = make(tmp_path, min_similarity=None, keep_numbers=False).process(df)
    new = out.filter(pl.col("parent_id").is_not_null())
    rej = new.filter(pl.col("_reject").is_not_null())
    assert rej.height == 3  # two copies, one failure
    assert not set(rej["id"]) & set(df["id"])
    assert (rej["id"] != rej["parent_id"]).all()
    assert out["id"].n_unique() == out.height
    kept = new.filter(pl.col("_reject").is_null())
    assert kept["id"].to_list() == content_id(kept).to_list()
    again = make(tmp_path, min_similarity=None, keep_numbers=False).process(df)
    assert again["id"].to_list() == out["id"].to_list()  # deterministic


def test_a_duplicate_new_row_has_another_id_than_the_row_it_copies(tmp_path):
    df = conform(pl.DataFrame({"instruction": ["Tell a joke.", "Tell me a joke."],
                               "output": ["x", "x"]}), source="t")
    op = Scripted(script={"Tell a joke.": "Please tell a joke.", "Tell me a joke.": "Please tell a joke."},
                  min_similarity=None).bind(RunContext(seed=0))
    out = op.process(df)
    assert out["id"].n_unique() == out.height
