"""Short answers judged on their own terms (score_alignment; rules/score/alignment.yaml).

Embedding similarity says little about "positive", "1253" or "Denver Broncos": the answer
has almost no text. A short answer is aligned when it is one of the alternatives the
prompt offers or the task's label set, when it occurs in the input (an extractive span),
when it is a number for a question that asks for a quantity, or a yes/no for a yes/no
question; it is misaligned when the prompt offers alternatives or asks yes/no and the
answer is none of them. Everything here is a Polars expression over the row.
"""
from __future__ import annotations

import polars as pl

from dataforge.score.rules import load_yaml

ALIGNMENT = "score/alignment.yaml"


def _norm(e: pl.Expr) -> pl.Expr:
    """Lower case, no surrounding punctuation or quotes, single spaces."""
    return (e.fill_null("").str.to_lowercase().str.replace_all(r"\s+", " ")
            .str.strip_chars().str.strip_chars(" .,;:!?\"'`()[]{}*"))


def norm_text(t: str) -> str:
    """_norm for a Python string (given label sets)."""
    return " ".join(t.lower().split()).strip(" .,;:!?\"'`()[]{}*")


def final_answer(cfg: dict) -> pl.Expr:
    """The answer part of a response: after "So the answer is:", a JSON value, else the whole."""
    out = pl.col("output").fill_null("").str.strip_chars()
    picks = [out.str.extract(p, 1) for p in cfg["final_answer"]]
    return pl.coalesce(picks + [out])


def _words_of(e: pl.Expr) -> pl.Expr:
    """Lower-case words between single spaces, padded: a phrase is then a literal substring
    (a regex per row made from the answer costs milliseconds a row to compile)."""
    return pl.lit(" ") + e.fill_null("").str.to_lowercase().str.replace_all(r"[^\w]+", " ") \
        .str.strip_chars() + pl.lit(" ")


def list_in_prompt(df: pl.DataFrame, cfg: dict | None = None) -> pl.Series:
    """Per row of `df`: the final answer is a list of 2 to `list_max_items` items ("health,
    politics"), each of at most `short_words` words and each a phrase of the prompt (a
    multi-label answer from the classes the instruction lists). Only rows whose answer splits
    into such a list are exploded."""
    c = cfg or load_yaml(ALIGNMENT)
    prompt = pl.col("instruction").fill_null("") + pl.lit("\n") + pl.col("input").fill_null("")
    items = _norm(final_answer(c)).str.replace_all(c["list_separator"], "\x1f").str.split("\x1f")
    x = df.select(pl.int_range(pl.len()).alias("_i"), items.alias("_it"))
    n = pl.col("_it").list.len()
    cand = x.filter((n >= 2) & (n <= int(c["list_max_items"])))
    if not cand.height:
        return pl.Series("listed", [False] * df.height, dtype=pl.Boolean)
    e = cand.join(df.select(_words_of(prompt).alias("_p")).with_row_index("_i").with_columns(pl.col("_i").cast(pl.Int64)),
                  on="_i", how="left").explode("_it").with_columns(_words_of(pl.col("_it")).alias("_w"))
    fits = (pl.col("_w") != "  ") & (pl.col("_w").str.count_matches(r"\S+") <= int(c["short_words"])) \
        & pl.col("_p").str.contains(pl.col("_w"), literal=True)
    good = e.group_by("_i").agg(fits.all().alias("listed"))
    return x.select("_i").join(good, on="_i", how="left", maintain_order="left")["listed"].fill_null(False)


def checks(cfg: dict | None = None) -> dict[str, pl.Expr]:
    """Boolean expressions about the row's (final) answer and its prompt."""
    c = cfg or load_yaml(ALIGNMENT)
    ins = pl.col("instruction").fill_null("")
    inp = pl.col("input").fill_null("")
    prompt = ins + pl.lit("\n") + inp
    ans = final_answer(c)
    a = _norm(ans)
    words = a.str.count_matches(r"\S+")
    # the answer as a whole phrase of the prompt (word boundaries, case-insensitive)
    phrase = _words_of(a)
    has = (a != "") & (phrase != "  ")
    in_prompt = has & _words_of(prompt).str.contains(phrase, literal=True)
    in_input = has & _words_of(inp).str.contains(phrase, literal=True)
    # a yes/no question in the input counts under an instruction that asks none itself
    # ("Answer the question." over a passage ending "Is the sun a star?")
    input_yes_no = inp.str.contains(r"(?i)\byes\s*(?:or|/)\s*no\b") | \
        (~ins.str.contains("?", literal=True) & inp.str.contains(c["yes_no_last"]))
    return {
        "short": (words >= 1) & (words <= int(c["short_words"])),
        "in_prompt": in_prompt,
        "in_input": in_input,
        "yes_no_question": ins.str.contains(c["yes_no_question"]) | ins.str.contains(c["yes_no_last"]) | input_yes_no,
        "yes_no_answer": ans.str.contains(c["yes_no_answer"]),
        "asks_number": prompt.str.contains(c["asks_number"]),
        "number_answer": ans.str.contains(c["number_answer"]),
        "offers_choice": prompt.str.contains(c["offers_choice"]),
        "no_input": inp.str.strip_chars() == "",
        "asks_name": ins.str.contains(c["asks_name"]) if c.get("asks_name") else pl.lit(False),
        "name_answer": ans.str.contains(c["name_answer"]) if c.get("name_answer") else pl.lit(False),
    }


def short_verdict(cfg: dict | None = None, in_label_set: pl.Expr | None = None,
                  listed: pl.Expr | None = None) -> pl.Expr:
    """1 = aligned, -1 = misaligned, 0 = no evidence either way (for short answers; null otherwise).
    `listed`: the answer is a list whose every item is a phrase of the prompt (list_in_prompt),
    aligned at any length."""
    c = cfg or load_yaml(ALIGNMENT)
    k = checks(c)
    labelled = in_label_set if in_label_set is not None else pl.lit(False)
    listed = listed if listed is not None else pl.lit(False)
    ok = (k["in_prompt"] | labelled | listed | (k["yes_no_question"] & k["yes_no_answer"])
          | (k["asks_number"] & k["number_answer"]) | (k["asks_name"] & k["name_answer"] & k["no_input"]))
    bad = (k["offers_choice"] | k["yes_no_question"]) & ~ok
    v = pl.when(ok).then(1).when(bad).then(-1).otherwise(0)
    return pl.when(k["short"] | listed).then(v).otherwise(None)


def asks_for_text(generation_tasks: list[str]) -> pl.Expr:
    """Rows that ask for text given a label (a review for a sentiment, the question for an
    answer): a `generation_tasks` task, or meta prompt_type "inversion"."""
    inverted = pl.col("meta").cast(pl.Utf8).fill_null("").str.contains(r'"prompt_type"\s*:\s*"inversion"')
    return pl.col("task").fill_null("").is_in(generation_tasks) | inverted


def label_rows(label_tasks: list[str], generation_tasks: list[str]) -> pl.Expr:
    """Rows whose answer is a label: a label task that does not ask for text given a label."""
    return pl.col("task").fill_null("").is_in(label_tasks) & ~asks_for_text(generation_tasks)
