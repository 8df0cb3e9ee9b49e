"""Chat layouts read by the `imports` family: OpenAI `messages` ([{role, content}]) and
ShareGPT `conversations` ([{from, value}]), under the names and roles chat files use
(rules/templates/_chats.yaml).

A record is one exchange, and the family's fields take the first user turn and the first
assistant turn. What reading alone gets wrong is settled here, before it:
- other names: a `conversation` / `dialogue` column is read as one of the two layouts, and
  roles such as ShareGPT's `human`/`gpt` or Gemini's `model` as user / assistant;
- a whole chat written as one text ("\\n\\nHuman: ...\\n\\nAssistant: ...", "### Human: ...") is
  split into turns;
- content given as a list of parts ([{"type": "text", "text": ...}]) is its text parts joined;
  a first exchange holding an image or audio part, or using tools, is rejected with that
  reason (the text record would lose what its answer depends on);
- an assistant turn before the first user turn (a greeting: "Hi! How can I help?") is not
  the answer to it, so it is dropped; a system turn is kept wherever it stands;
- a chat of several exchanges keeps its first one, and says so: `turns`, the number of user
  turns of the chat, goes into meta (`chat_turns`), and `multi_turn: reject` rejects such
  chats instead (their later turns answer in the context of the earlier ones, so they cannot
  stand as records of their own).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from dataforge.paths import RULES

# column -> (role key, content key); after `prepare` their roles are user / assistant / system
LAYOUTS = {"messages": ("role", "content"), "conversations": ("from", "value")}
USER = ["user"]
SYSTEM = ["system"]
FILE = RULES / "templates" / "_chats.yaml"


@dataclass(frozen=True)
class Prepared:
    df: pl.DataFrame
    turns: pl.Series | None  # user turns per row (None: no chat column)
    problem: pl.Series | None  # why a row's chat cannot be a record (null: it can)


@lru_cache(maxsize=1)
def _rules() -> dict:
    from dataforge.rulefiles import load_yaml
    return load_yaml(FILE)


def alias_columns() -> list[str]:
    """Other names of a chat column (`conversation`, `dialogue`, ...)."""
    return [str(c) for c in _rules()["columns"]]


def transcript_columns() -> list[str]:
    """Columns that may hold a whole chat or an Alpaca-format record as one text."""
    return [str(c) for c in _rules()["transcript_columns"]]


def _role_map() -> dict[str, str]:
    return {str(alias).lower(): role for role, names in _rules()["roles"].items() for alias in names}


def prepare(df: pl.DataFrame) -> Prepared:
    """Rows with their chats in the two layouts (roles named user / assistant / system,
    content as text, leading assistant turns dropped), the user turns per row, and per row
    the reason its first exchange cannot be a record."""
    df = _from_transcripts(_renamed(df))
    turns = problem = None
    for col, (role_key, content_key) in LAYOUTS.items():
        dt = df.schema.get(col)
        if not (isinstance(dt, pl.List) and isinstance(dt.inner, pl.Struct)
                and role_key in [f.name for f in dt.inner.fields]):
            continue
        df = df.with_columns(_roles(col, role_key))
        why = df.select(_first_exchange_problem(col, role_key, content_key, dt.inner)).to_series()
        df = df.with_columns(_text_content(col, content_key, dt.inner))
        role = pl.element().struct.field(role_key)
        is_user = role.is_in(USER).fill_null(False)
        first_user = is_user.arg_max()  # (0 when there is none: nothing dropped)
        kept = pl.element().filter((pl.int_range(pl.len()) >= first_user) | role.is_in(SYSTEM).fill_null(False))
        n = pl.col(col).list.eval(is_user.cast(pl.Int64)).list.sum()
        df = df.with_columns(pl.col(col).list.eval(kept))
        counted = df.select(n).to_series()
        turns = counted if turns is None else pl.select(pl.coalesce(
            pl.lit(turns).replace(0, None), pl.lit(counted))).to_series()
        problem = why if problem is None else pl.select(pl.coalesce(pl.lit(problem), pl.lit(why))).to_series()
    return Prepared(df, turns.fill_null(0).alias("turns") if turns is not None else None,
                    problem.alias("problem") if problem is not None else None)


def _renamed(df: pl.DataFrame) -> pl.DataFrame:
    """A chat column under another name, read as the layout its turn keys say."""
    for alias in alias_columns():
        dt = df.schema.get(alias)
        if not (isinstance(dt, pl.List) and isinstance(dt.inner, pl.Struct)):
            continue
        names = {f.name for f in dt.inner.fields}
        for col, (role_key, content_key) in LAYOUTS.items():
            if {role_key, content_key} <= names and col not in df.columns:
                df = df.rename({alias: col})
                break
    return df


def _from_transcripts(df: pl.DataFrame) -> pl.DataFrame:
    """`messages` from a chat written as one text, where the rows hold no chat column; and
    instruction / input / output from a record written in the Alpaca prompt format."""
    if any(c in df.columns for c in LAYOUTS):
        return df
    col = next((c for c in transcript_columns() if df.schema.get(c) == pl.Utf8), None)
    if col is None:
        return df
    df = _from_prompt_format(df, col)
    marker = "(?i)" + _rules()["transcript_marker"]
    t = pl.col(col).fill_null("")
    marked = t.str.replace_all(marker, "\x1e${1}${2}${3}\x1f")
    opens = marked.str.strip_chars_start().str.starts_with("\x1e")
    turn = pl.element().str.splitn("\x1f", 2)
    parts = marked.str.strip_chars_start().str.split("\x1e").list.slice(1).list.eval(pl.struct(
        turn.struct.field("field_0").str.to_lowercase().alias("role"),
        turn.struct.field("field_1").str.strip_chars().alias("content")))
    if not df.select(opens.any()).item():
        return df
    return df.with_columns(pl.when(opens).then(parts).otherwise(None).alias("messages"))


def _from_prompt_format(df: pl.DataFrame, col: str) -> pl.DataFrame:
    """instruction / input / output columns from "### Instruction: ... ### Response: ..." text,
    where the rows have none of those columns."""
    if any(c in df.columns for c in ("instruction", "output")):
        return df
    pf = _rules()["prompt_format"]
    t = pl.col(col).fill_null("")
    ins, out = t.str.extract(pf["instruction"], 1), t.str.extract(pf["output"], 1)
    if not df.select((ins.is_not_null() & out.is_not_null()).any()).item():
        return df
    both = ins.is_not_null() & out.is_not_null()
    return df.with_columns(pl.when(both).then(ins).alias("instruction"),
                           pl.when(both).then(t.str.extract(pf["input"], 1).fill_null("")).alias("input")
                           if "input" not in df.columns else pl.col("input"),
                           pl.when(both).then(out).alias("output"))


def _roles(col: str, role_key: str) -> pl.Expr:
    """Roles by their canonical names (user, assistant, system; others lower-cased)."""
    role = pl.element().struct.field(role_key).cast(pl.Utf8).str.strip_chars().str.to_lowercase()
    return pl.col(col).list.eval(pl.element().struct.with_fields(role.replace(_role_map()).alias(role_key)))


def _text_content(col: str, content_key: str, inner: pl.Struct) -> pl.Expr:
    """Content given as a list of parts -> its text parts joined by a blank line."""
    if "text" not in _part_fields(_field_type(inner, content_key)):
        return pl.col(col)
    text = pl.element().struct.field(content_key).list.eval(pl.element().struct.field("text")) \
        .list.drop_nulls().list.join("\n\n")
    return pl.col(col).list.eval(pl.element().struct.with_fields(
        pl.when(text.str.len_chars() > 0).then(text).otherwise(None).alias(content_key)))


def _first_exchange_problem(col: str, role_key: str, content_key: str, inner: pl.Struct) -> pl.Expr:
    """Why the first exchange (first user turn .. first assistant turn with text) cannot be a
    text record: it uses tools, or holds an image or audio part. Null where it can."""
    r = _rules()
    el = pl.element()
    role = el.struct.field(role_key)
    idx = pl.int_range(pl.len())
    first_user = role.is_in(USER).fill_null(False).arg_max()
    content = _field_type(inner, content_key)
    said = el.struct.field(content_key).list.len().fill_null(0) > 0 \
        if isinstance(content, pl.List) else \
        el.struct.field(content_key).cast(pl.Utf8).fill_null("").str.strip_chars().str.len_chars() > 0
    answer = (role == "assistant") & said & (idx > first_user)
    last = pl.when(answer.any()).then(answer.arg_max()).otherwise(pl.len())
    within = (idx >= first_user) & (idx <= last)
    tool = role.is_in([str(x).lower() for x in r["tool_roles"]]).fill_null(False)
    for k in r["tool_keys"]:
        if _field_type(inner, k) is not None:
            v = el.struct.field(k)
            tool = tool | (v.list.len() > 0 if isinstance(_field_type(inner, k), pl.List) else v.is_not_null()).fill_null(False)
    reasons = [pl.when(pl.col(col).list.eval((tool & within).any()).list.first().fill_null(False))
               .then(pl.lit("tool_use: the chat's first exchange calls tools; its answer depends on their "
                             "results, which a record cannot hold"))]
    if "type" in _part_fields(content):
        other = el.struct.field(content_key).list.eval(
            ~pl.element().struct.field("type").cast(pl.Utf8).is_in([str(x) for x in r["text_parts"]])).list.any()
        reasons.append(pl.when(pl.col(col).list.eval((other.fill_null(False) & within).any()).list.first()
                               .fill_null(False))
                       .then(pl.lit("multimodal: the chat's first exchange holds a part that is not text "
                                    "(an image or audio), which a text record would lose")))
    return pl.coalesce(reasons).alias("problem")


def _field_type(inner: pl.Struct, name: str):
    """The dtype of a turn's field, None when turns have no such field."""
    return next((f.dtype for f in inner.fields if f.name == name), None)


def _part_fields(dtype) -> set[str]:
    """The keys of content given as a list of parts ([{"type": ..., "text": ...}]), else none."""
    if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
        return {f.name for f in dtype.inner.fields}
    return set()
