"""normalize changes only what is noise: NFC by default (NFKC's folding changes meaning), and
runs of blanks collapse in prose but not in fenced code, table rows or indented blocks."""
from __future__ import annotations

import polars as pl

from dataforge import op


def _norm(texts: list[str], **kw) -> list[str]:
    df = pl.DataFrame({"id": [str(i) for i in range(len(texts))], "instruction": ["Do it."] * len(texts),
                       "input": [""] * len(texts), "output": texts})
    return op("normalize", **kw).process(df)["output"].to_list()


def test_nfc_keeps_superscripts_and_full_width_punctuation_nfkc_folds_them():
    text = "x² − y² = 2024，E = mc²；ﬁne"
    assert _norm([text]) == [text]
    assert _norm(["cafe\u0301"]) == ["café"]  # NFC composes
    assert _norm([text], form="NFKC") == ["x2 − y2 = 2024,E = mc2;fine"]


def test_blanks_collapse_in_prose_but_not_in_code_tables_or_indented_blocks():
    code = "```python\ndef f(x):\n    y  =  x  *  2   # aligned\n    return  y\n```"
    table = "| name   | age |\n|--------|-----|\n| Ana    | 31  |"
    art = "    /\\_/\\\n   ( o.o )"
    text = f"Here  is   the code:  \n\n{code}\n\nA    table:\n\n{table}\n\nArt:\n{art}"
    got = _norm([text, "Plain   prose   only.  "])
    assert got[0] == f"Here is the code:\n\n{code}\n\nA table:\n\n{table}\n\nArt:\n{art}"
    assert got[1] == "Plain prose only."
    # rows without layout take the one-regex path and rows with it the line-by-line one: the
    # frame keeps its order
    many = _norm(["a   b", text, "c   d"] * 50)
    assert many[0::3] == ["a b"] * 50 and many[2::3] == ["c d"] * 50 and many[1] == got[0]
