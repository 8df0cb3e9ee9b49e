"""Raw columns -> template variables, as Polars expressions (no per-row Python).

Each field of a family reads one column and may walk into nested data (`path`: list
elements and struct fields), pick the first list item matching a key (`find`), join a
list of sentences (`join`), or look a key up in two parallel lists (`lookup`, for
multiple-choice answers). Variables are text (lists stay lists when `list: true`);
a missing value is null here, and the operator rejects rows whose template needs it.
Labels stay raw ids here: each template verbalises them with its own words.
"""
from __future__ import annotations

import polars as pl

from dataforge.errors import InputError
from dataforge.templates.spec import Family, FieldSpec

ROW = "_row"
KEY = "__key"  # suffix of the raw key column kept beside a lookup field


class ListColumn(InputError):
    """A field that holds one value reads a column of lists (multi-label data)."""

    def __init__(self, f: FieldSpec, col: str, dtype):
        self.field, self.column = f.name, col
        label = f.labels is not None
        how = (f"for multi-label data write a family of your own whose field keeps the list "
               f"(`{f.name}: {{column: {col}, list: true}}`, no `labels`) and a template that joins it "
               f"(`{{{{ {f.name} | join(', ') }}}}`), see docs/templates.md, 'Multi-label data'"
               if label else f"give the field `join: \" \"` (or `path: [0]` for the first item) in a "
               "family of your own")
        super().__init__(
            f"field '{f.name}' reads column '{col}', which holds a list ({dtype}) in every row where "
            f"the family expects one {'label' if label else 'value'}: {how}")


def derive(df: pl.DataFrame, fam: Family, columns: dict[str, str] | None = None) -> pl.DataFrame:
    """One column per family field (+ `_row`), same height as `df`."""
    columns = columns or {}
    exprs = [pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW)]
    lookups = []
    for f in fam.fields.values():
        col = columns.get(f.name) or f.resolve(df.columns)
        if f.lookup:
            lookups.append(f)
        try:
            exprs.append(_read(df, f, col).alias(f.name))
        except ListColumn as e:
            raise InputError(f"template family '{fam.name}' ({fam.path.name}): {e}") from None
    # lists shown as choices or looked up in are text whatever the column held
    text_lists = {fam.choices} | {f.lookup[k] for f in lookups for k in ("keys", "values")}
    try:
        out = df.select(exprs)
        out = out.with_columns([pl.col(n).list.eval(pl.element().cast(pl.Utf8)) for n in text_lists
                                if n in out.columns and out.schema[n] != pl.List(pl.Utf8)])
        for f in lookups:
            out = _lookup(out, f)
    except pl.exceptions.PolarsError as e:
        raise InputError(f"template family '{fam.name}' ({fam.path.name}): cannot read the fields "
                         f"from columns {df.columns}: {e}") from None
    fill = [pl.col(f.name).fill_null(pl.lit(f.default)) for f in fam.fields.values()
            if f.optional and not f.list]
    return out.with_columns(fill) if fill else out


def _read(df: pl.DataFrame, f: FieldSpec, col: str) -> pl.Expr:
    if col not in df.columns or df.schema[col] == pl.Null:
        return pl.lit(None, dtype=pl.List(pl.Utf8) if f.list else pl.Utf8)
    e, dtype = pl.col(col), df.schema[col]
    if f.find:
        where, take = f.find["where"], f.find["take"]
        equals = f.find["equals"]
        equals = equals if isinstance(equals, list) else [equals]
        el = pl.element()
        e = e.list.eval(el.filter(el.struct.field(where).is_in(equals)).struct.field(take)).list.first()
        dtype = None
    e, dtype, flat = _walk(e, dtype, f.path)
    if flat and f.letters:  # a plain list of choices has no labels: A, B, C, ... by position
        e = e.list.eval(pl.int_range(pl.len()).replace_strict(LETTERS, default=None, return_dtype=pl.Utf8))
    if f.join is not None and not _is(dtype, pl.String):  # (one string is already joined)
        e = e.list.eval(pl.element().cast(pl.Utf8).str.strip_chars()).list.join(f.join)
    if f.list:
        # a list of numbers (NER tag ids) stays numbers for Jinja (`names[t]`); other lists are
        # text (`derive` makes choices and lookup lists text too)
        if not (_is(dtype, pl.List) and (dtype.inner.is_numeric() or dtype.inner == pl.Boolean)):
            e = e.list.eval(pl.element().cast(pl.Utf8))
        return pl.when(e.list.len() > 0).then(e).otherwise(None)
    if f.join is None and _is(dtype, pl.List):
        raise ListColumn(f, col, dtype)
    if f.labels is not None or f.lookup:
        e = _label_text(e, dtype, f)
    e = e.cast(pl.Utf8)
    if f.labels:
        e = _label_ids(e, f)
    # blank text is as missing as null: it would render as an empty instruction or answer
    return pl.when(e.str.strip_chars().str.len_chars() > 0).then(e).otherwise(None)


def _is(dtype, kind) -> bool:
    return dtype is not None and isinstance(dtype, kind) or dtype == kind


LETTERS = {i: chr(65 + i) for i in range(26)}


def _walk(e: pl.Expr, dtype, path) -> tuple[pl.Expr, object, bool]:
    """Follow `path` (int: list element, str: struct field) through the column's own layout.
    A record list has two layouts, a list of structs (`[{text, answer_start}]`, SQuAD's JSON)
    and a struct of lists (`{text: [...], answer_start: [...]}`, the Hugging Face datasets
    layout): `[0, text]` reads the first text of either. An index into a plain string (XSum's
    one summary where SciTLDR has a list) is that string, and a field of a plain list (MMLU's
    choices where ARC has {text, label}) is the list itself (`flat`, the third value)."""
    pending: list[int] = []  # indexes waiting for the struct field that holds the list
    flat = False
    for step in path:
        if isinstance(step, int):
            if _is(dtype, pl.Struct):
                pending.append(step)
            elif _is(dtype, pl.String):
                pass
            else:
                e = e.list.get(step, null_on_oob=True)
                dtype = dtype.inner if _is(dtype, pl.List) else None
            continue
        if _is(dtype, pl.List) and not _is(dtype.inner, pl.Struct):
            flat = True  # the list holds the values themselves
            continue
        e = e.struct.field(step)
        dtype = next((fl.dtype for fl in dtype.fields if fl.name == step), None) if _is(dtype, pl.Struct) else None
        for k in pending:
            if _is(dtype, pl.String):
                continue
            e = e.list.get(k, null_on_oob=True)
            dtype = dtype.inner if _is(dtype, pl.List) else None
        pending = []
    return e, dtype, flat


def _label_text(e: pl.Expr, dtype, f: FieldSpec) -> pl.Expr:
    """A label or answer key as the text of its id. An integral float is its integer class
    (pandas writes an int column with a NaN as floats: 1.0 is class "1"); NaN is missing; a
    bool is 1/0 where the labels are keyed 0/1 and have no true/false keys (QQP's
    `is_duplicate: true`), else "true"/"false" (a family keyed `{false: no, true: yes}`)."""
    if _is(dtype, pl.Float32) or _is(dtype, pl.Float64):
        whole = e.is_finite() & (e == e.floor()) & (e.abs() < 2.0 ** 53)
        return pl.when(e.is_nan()).then(None).when(whole).then(e.cast(pl.Int64).cast(pl.Utf8)) \
            .otherwise(e.cast(pl.Utf8))
    keys = {k.strip().lower() for k in (*(f.labels or {}), *(f.label_aliases or {}))}
    zero_one = {"0", "1"} <= keys and not keys & {"true", "false"}
    if _is(dtype, pl.Boolean) and zero_one:
        return pl.when(e.is_null()).then(None).when(e).then(pl.lit("1")).otherwise(pl.lit("0"))
    if _is(dtype, pl.String) and zero_one:  # the same written as text ("True", "false": a CSV's bools)
        low = e.str.strip_chars().str.to_lowercase()
        return pl.when(low == "true").then(pl.lit("1")).when(low == "false").then(pl.lit("0")).otherwise(e)
    return e


def _label_ids(e: pl.Expr, f: FieldSpec) -> pl.Expr:
    """Raw label -> the family's label id: the id itself, the label's own words ("positive"
    where ids are 0/1) or a listed alias (MNLI's 0/1/2 where e-SNLI writes the names), in any
    case and without surrounding blanks. Anything else stays as it is (an unknown label)."""
    ids: dict[str, str] = {}
    for k, v in (f.labels or {}).items():
        ids.setdefault(v.strip().lower(), k)
    for k, v in (f.label_aliases or {}).items():
        ids[k.strip().lower()] = v
    for k in f.labels or {}:
        ids[k.strip().lower()] = k  # an id always means itself
    key = e.str.strip_chars().str.to_lowercase()
    return key.replace_strict(ids, default=e, return_dtype=pl.Utf8)


def _lookup(out: pl.DataFrame, f: FieldSpec) -> pl.DataFrame:
    """values[keys.index(key)] per row, vectorised through explode + filter + join."""
    keys, values = f.lookup["keys"], f.lookup["values"]
    pairs = (out.select(ROW, pl.col(f.name).alias("_key"), pl.col(keys).alias("_k"), pl.col(values).alias("_v"))
             .filter(pl.col("_k").list.len() == pl.col("_v").list.len())
             .explode("_k", "_v")
             .filter(pl.col("_k") == pl.col("_key"))
             .group_by(ROW).agg(pl.col("_v").first().alias("_found")))
    out = out.join(pairs, on=ROW, how="left", maintain_order="left")
    # a whole number that is none of the labels is a 0-based position (MMLU's `answer: 1`,
    # HellaSwag's `label: "3"`); a label that is a number ("1" in ARC) is matched above first
    pos = pl.col(f.name).str.strip_chars().cast(pl.Int64, strict=False)
    at = pl.col(values).list.get(pos, null_on_oob=True)
    out = out.with_columns(pl.when(pl.col("_found").is_null() & pos.is_not_null() & (pos >= 0)
                                   & (pl.col(keys).list.len() == pl.col(values).list.len()))
                           .then(at).otherwise(pl.col("_found")).alias("_found"))
    # keep the key: a key not among the choices is an unknown label, not a missing field
    return out.with_columns(pl.col(f.name).alias(f"{f.name}{KEY}"), pl.col("_found").alias(f.name)).drop("_found")


def verbalize(labels: dict[str, str], col: str) -> pl.Expr:
    """Label id -> words; an unknown id becomes null (the operator rejects it)."""
    return pl.col(col).replace_strict(labels, default=None, return_dtype=pl.Utf8)


def choices_text(labels: dict[str, str] | None, list_col: str | None) -> pl.Expr:
    """'a, b or c' from a verbalizer (constant) or from a per-row list of choices."""
    if list_col is not None:
        lst = pl.col(list_col)
        head = lst.list.slice(0, lst.list.len() - 1).list.join(", ")
        return pl.when(lst.list.len() > 1).then(
            pl.concat_str([head, pl.lit(" or "), lst.list.last()])).otherwise(lst.list.first())
    words = list(dict.fromkeys((labels or {}).values()))
    text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1] if words else ""
    return pl.lit(text, dtype=pl.Utf8)


def options_list(labels: dict[str, str] | None, list_col: str | None, bullet: str) -> pl.Expr:
    """The options block lines: one `bullet + choice` per line."""
    if list_col is not None:
        return pl.col(list_col).list.eval(pl.lit(bullet) + pl.element()).list.join("\n")
    words = list(dict.fromkeys((labels or {}).values()))
    return pl.lit("\n".join(bullet + w for w in words), dtype=pl.Utf8)
