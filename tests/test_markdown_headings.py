"""A markdown heading ("## Welcome") is prose structure, not a code comment: an answer under one
is judged as prose (a cut under a heading was invisible to `truncated`, `garbled` and
score_quality), while "#include", "#!/bin/bash" and "//" still mark code."""
from __future__ import annotations

import polars as pl

from dataforge.clean import rules as R


def _reasons(outputs: list[str]) -> list[str | None]:
    rules, _ = R.load("default")
    df = pl.DataFrame({"instruction": ["Write the welcome screen copy for our budgeting app."] * len(outputs),
                       "input": [""] * len(outputs), "output": outputs})
    return R.reasons(rules, df).to_list()


def test_a_cut_under_a_heading_is_caught():
    got = _reasons([
        "## Welcome to Tally\n\nConnect your bank account and we'll sort every purchase into categories "
        "automatically, so you can see where your money goes. We use bank-level encryption and never store your",
        "# Lost between the shelves\n\nWe couldn't find the page you were looking for. It may have been moved, "
        "or the link might",
    ])
    assert all(g and g.startswith("truncated") for g in got), got


def test_finished_answers_under_headings_and_code_are_kept():
    got = _reasons([
        "## Welcome to Tally\n\nConnect your bank account and we'll sort every purchase into categories "
        "automatically, so you can see where your money goes.",
        # a row of buttons under the copy: labels, not a stub of a sentence
        "Step 2 of 4\n\n### What are you into?\nPick at least three topics and we'll tailor your feed. You can "
        "change these anytime in Settings.\n\nDesign  ·  Photography  ·  Cooking  ·  Travel\n\nBack · Next",
        # code without fences still reads as code: its last line is no sentence
        "#include <stdio.h>\nint main(void)\n{\n  printf(\"hello\\n\");\n  return 0\n}",
        "#!/bin/bash\nset -e\nfor f in *.txt\ndo\n  wc -l \"$f\"\ndone",
    ])
    assert got == [None] * 4, got


def test_code_regex_reads_headings_and_directives_apart():
    s = pl.Series(["## Heading\ntext", "# Title\ntext", "#include <x.h>", "#!/usr/bin/env python", "// note"])
    assert s.str.contains(R.CODE_RE).to_list() == [False, False, True, True, True]
