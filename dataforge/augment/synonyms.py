"""The synonym table (rules/synonyms/en.tsv.gz, built from WordNet 3.0 by
scripts/build_synonyms.py) and the nlpaug augmenters that read it.

nlpaug's SynonymAug asks its model two things: `pos_tag(tokens)` and `predict(word, pos)`.
`TableSynonyms` answers both from the table (no POS tagger: every sense of the word is a
candidate, the table already keeps only frequent senses), so nlpaug's own substitution
logic runs unchanged without nltk or WordNet. nlpaug has no synonym *insertion* (EDA's
"random insertion"), so `SynonymInsertAug` adds it as an nlpaug WordAugmenter.
"""
from __future__ import annotations

import gzip
import re
from functools import lru_cache
from pathlib import Path

from dataforge.augment.rules import find

DEFAULT_TABLE = "rules/synonyms/en.tsv.gz"
HINT = ("build it with `python scripts/build_synonyms.py` (needs WordNet 3.0: `apt-get install wordnet-base`), "
        "or set `synonyms:` to a file of lines `word<TAB>syn1|syn2|...` (.tsv or .tsv.gz)")
_EDGE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
_TOKEN = re.compile(r"\n+|[^\s]+")


def table_path(path: str = DEFAULT_TABLE) -> Path:
    return find(path, "synonym table", HINT)


@lru_cache(maxsize=4)
def load_table(path: str = DEFAULT_TABLE) -> dict[str, tuple[str, ...]]:
    p = table_path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    table: dict[str, tuple[str, ...]] = {}
    with opener(p, "rt", encoding="utf-8") as f:
        for line in f:
            word, _, syns = line.rstrip("\n").partition("\t")
            if syns and not word.startswith("#"):
                table[word] = tuple(syns.split("|"))
    return table


# -- tokens: whitespace words (punctuation stays attached), newlines kept as tokens ------------

def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def detokenize(tokens: list[str]) -> str:
    return re.sub(r" ?(\n+) ?", r"\1", " ".join(tokens)).strip()


NEWLINE_REGEX = r"^\s+$"  # as nlpaug `stopwords_regex`: newline tokens are never picked


def split_edges(token: str) -> tuple[str, str, str]:
    """'"Cats,' -> ('"', 'Cats', ',') so the table sees the bare word."""
    m = _EDGE.match(token)
    return m.group(1), m.group(2), m.group(3)


def _nlpaug():
    from nlpaug.augmenter.word import SynonymAug, WordAugmenter
    from nlpaug.model.word_dict import WordDictionary
    from nlpaug.util import Action

    return SynonymAug, WordAugmenter, WordDictionary, Action


def make_table_model(table: dict[str, tuple[str, ...]]):
    _, _, WordDictionary, _ = _nlpaug()

    class TableSynonyms(WordDictionary):
        """nlpaug word-dictionary model over the synonym table (punctuation kept around words)."""

        def __init__(self):
            super().__init__(cache=True)
            self.table = table

        def predict(self, word, pos=None):
            pre, core, post = split_edges(word)
            return [f"{pre}{s}{post}" for s in self.table.get(core.lower(), ())]

        def pos_tag(self, tokens):
            # '' maps to no WordNet POS, so nlpaug takes every candidate the table has
            return [(t, "") for t in tokens]

    return TableSynonyms()


def synonym_replace_aug(table: dict, aug_p: float, aug_max: int | None):
    """nlpaug SynonymAug (EDA synonym replacement) fed from the table."""
    SynonymAug, _, _, _ = _nlpaug()
    model = make_table_model(table)

    class TableSynonymAug(SynonymAug):
        @classmethod
        def get_model(cls, *args, **kwargs):
            return model

    return TableSynonymAug(aug_p=aug_p, aug_max=aug_max, tokenizer=tokenize, reverse_tokenizer=detokenize,
                           stopwords_regex=NEWLINE_REGEX, name="Table_Synonym_Aug")


def synonym_insert_aug(table: dict, aug_p: float, aug_max: int | None):
    """EDA random insertion: a synonym of a random word, inserted at a random position."""
    _, WordAugmenter, _, Action = _nlpaug()

    class SynonymInsertAug(WordAugmenter):
        def __init__(self):
            super().__init__(action=Action.INSERT, name="Table_Synonym_Insert_Aug", aug_p=aug_p, aug_min=1,
                             aug_max=aug_max, tokenizer=tokenize, reverse_tokenizer=detokenize,
                             stopwords_regex=NEWLINE_REGEX)

        def insert(self, data):
            if not data or not data.strip():
                return data
            tokens = self.tokenizer(data)
            words = [split_edges(tokens[i])[1].lower() for i in self.pre_skip_aug(tokens)]
            words = [w for w in words if w in table]  # words that have synonyms
            if not words:
                return data
            for _ in range(min(self.generate_aug_cnt(len(tokens)), len(words))):
                syn = self.sample(list(table[self.sample(words, 1)[0]]), 1)[0]
                tokens.insert(self.sample(list(range(len(tokens) + 1)), 1)[0], syn)
            return self.reverse_tokenizer(tokens)

    return SynonymInsertAug()
