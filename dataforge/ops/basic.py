"""Basic text hygiene every pipeline starts with: normalise text, bound lengths."""
from __future__ import annotations

from typing import Literal

import polars as pl

from dataforge.ops.base import FilterOp, MapOp, param, register
from dataforge.words import WORD_RE


# a line whose spacing is layout: a code fence, a table row, a block indented four spaces or a tab
LAYOUT_RE = r"(?m)^[ \t]*```|^[ \t]*\|.*\|[ \t]*$|^(?: {4}|\t)[ \t]*\S"


def _blanks(e: pl.Expr) -> pl.Expr:
    """Runs of blanks inside lines as one space, trailing blanks and leading newlines dropped."""
    return (e.str.replace_all(r"(\S)[ \t\u00a0]{2,}", "${1} ")
            .str.replace_all(r"[ \t\u00a0]+\n", "\n")
            .str.strip_chars_end()
            .str.strip_chars_start("\n\r"))


def _blanks_outside_layout(e: pl.Expr) -> pl.Expr:
    """_blanks line by line, leaving the inner spacing of fenced code, table rows and
    indented lines as it is (trailing blanks still go)."""
    el = pl.element()
    fence = el.str.contains(r"^[ \t]*```")
    inside = (fence.cast(pl.Int32).cum_sum() % 2 == 1) | fence
    layout = inside | el.str.contains(r"^[ \t]*\|.*\|[ \t]*$") | el.str.contains(r"^(?: {4}|\t)[ \t]*\S")
    lines = e.str.split("\n").list.eval(
        pl.when(layout).then(el.str.replace(r"[ \t\u00a0]+$", ""))
        .otherwise(el.str.replace_all(r"(\S)[ \t\u00a0]{2,}", "${1} ").str.replace(r"[ \t\u00a0]+$", "")))
    return lines.list.join("\n").str.strip_chars_end().str.strip_chars_start("\n\r")


@register
class Normalize(MapOp):
    """HTML entities decoded, Unicode NFC, runs of blanks inside lines collapsed, trimmed;
    newlines and indentation kept, and the spacing of fenced code, table rows and indented
    blocks (ASCII art) left as it is.

    `html` decodes entities (`&amp;`, `&#39;`), the broken forms crawled corpora carry
    (`doesn #39;t`, ` quot;` whose `&` became a space) and drops escaped prose markup
    (`&lt;b&gt;`); see dataforge/clean/html.py. Turn it off for data where entities are content
    (e.g. answers that teach HTML escaping).

    `fix_encoding` repairs mojibake, UTF-8 text once decoded as Windows-1252 ("cafÃ©" -> "café",
    "donâ€™t" -> "don’t"); only rows with a telltale sequence are touched, see
    dataforge/clean/encoding.py. The `mojibake` rule rejects what is left.

    `no_input`: an `input` that is nothing but this marker is emptied. Alpaca writes
    `<noinput>` / `<no input>` where a row has no input; left in, it trains the model on the
    marker, and the `placeholder` rule would reject an otherwise good row. `""` turns it off."""

    name = "normalize"
    batch_parallel = True
    # 2: html decoding; 3: no-input markers emptied; 4: mojibake repaired; 5: NFC by default,
    # code, tables and indented blocks keep their spacing
    version = "5"
    fields: list[str] = param(default_factory=lambda: ["instruction", "input", "output"])
    # NFC composes ("e" + combining acute -> "é"); NFKC also folds compatibility forms, which
    # changes meaning: "x²" -> "x2", "E = mc²" -> "E = mc2", CJK full-width "，" -> ","
    form: Literal["NFC", "NFKC", "none"] = "NFC"
    html: bool = True
    fix_encoding: bool = True
    # quoted, escaped or with a period as Alpaca has it: "<noinput>", `<noinput>`, \<noinput\>, <no input>.
    no_input: str = r"(?i)^[\s\"'`\\]*<\s*no[\s_-]*input\s*\\?>?[\s\"'`\\.]*$"

    def columns_in(self):
        return list(self.fields)

    def columns_out(self):
        return list(self.fields)

    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        exprs = []
        for f in self.fields:
            e = pl.col(f)
            if self.fix_encoding:  # first: a repaired text may hold entities or blanks to tidy
                from dataforge.clean import encoding

                e = encoding.expr(e)
            if self.html:
                from dataforge.clean import html

                e = html.expr(e)
            if self.form != "none":
                e = e.str.normalize(self.form)
            exprs.append(e.alias(f))
        df = df.with_columns(exprs)
        # collapse runs of blanks inside lines and drop trailing blanks, but keep each line's
        # indentation (the structure of code and nested lists), and the spacing of lines
        # where it is layout: inside fenced code, table rows, indented blocks (ASCII art)
        spaced = [f for f in self.fields if f in df.columns]
        laid_out = pl.any_horizontal([pl.col(f).fill_null("").str.contains(LAYOUT_RE) for f in spaced]) \
            if spaced else pl.lit(False)
        mask = df.select(laid_out.alias("m"))["m"]
        tidy = [_blanks(pl.col(f)).alias(f) for f in spaced]
        if not mask.any():
            out = df.with_columns(tidy)
        else:
            idx = pl.int_range(pl.len(), dtype=pl.UInt32).alias("__i")
            d = df.with_columns(idx)
            plain = d.filter(~pl.lit(mask)).with_columns(tidy)
            kept = d.filter(pl.lit(mask)).with_columns([_blanks_outside_layout(pl.col(f)).alias(f) for f in spaced])
            out = pl.concat([plain, kept], how="vertical_relaxed").sort("__i").drop("__i")
        if "input" in spaced and self.no_input:
            e = pl.col("input")
            out = out.with_columns(pl.when(e.str.contains(self.no_input)).then(pl.lit("")).otherwise(e).alias("input"))
        return out


@register
class Length(FilterOp):
    """Drop rows whose field is shorter or longer than the bounds (characters or words).

    Words are runs of non-space characters, except in scripts written without spaces: a
    Chinese or Japanese character counts as a word, and so do every three Thai, Lao, Khmer,
    Myanmar or Tibetan letters (dataforge/words.py)."""

    name = "length"
    batch_parallel = True
    version = "2"  # 2: words of scripts without spaces (was: one word per run of non-spaces)
    field: str = "output"
    unit: Literal["chars", "words"] = "chars"
    min: int = 1
    max: int | None = None

    def columns_in(self):
        return [self.field]

    def reasons(self, df: pl.DataFrame) -> pl.Expr:
        col = pl.col(self.field).fill_null("")
        n = col.str.len_chars() if self.unit == "chars" else col.str.count_matches(WORD_RE)
        short = pl.format(f"too_short: {self.field} has {{}} {self.unit} < {self.min}", n)
        r = pl.when(n < self.min).then(short)
        if self.max is not None:
            long_ = pl.format(f"too_long: {self.field} has {{}} {self.unit} > {self.max}", n)
            r = r.when(n > self.max).then(long_)
        return r.otherwise(None)
