"""Chat layouts read by the `imports` family: OpenAI `messages` ([{role, content}]) and
ShareGPT `conversations` ([{from, value}]).

A record is one exchange, and the family's fields take the first user turn and the first
assistant turn. Two things that reading alone gets wrong are settled here, before it:
- an assistant turn before the first user turn (a greeting: "Hi! How can I help?") is not
  the answer to it, so it is dropped; a system turn is kept wherever it stands;
- a chat of several exchanges keeps its first one, and says so: `turns`, the number of user
  turns of the chat, goes into meta (`chat_turns`), and `multi_turn: reject` rejects such
  chats instead (their later turns answer in the context of the earlier ones, so they cannot
  stand as records of their own).
"""
from __future__ import annotations

import polars as pl

# column -> (role key, content key); the user and system role names of both layouts
LAYOUTS = {"messages": ("role", "content"), "conversations": ("from", "value")}
USER = ["user", "human"]
SYSTEM = ["system"]


def prepare(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series | None]:
    """(rows with leading assistant turns dropped from their chat, user turns per row), or
    (df, None) when no column holds a chat."""
    turns = None
    for col, (role_key, _) in LAYOUTS.items():
        dt = df.schema.get(col)
        if not (isinstance(dt, pl.List) and isinstance(dt.inner, pl.Struct)
                and role_key in [f.name for f in dt.inner.fields]):
            continue
        role = pl.element().struct.field(role_key).cast(pl.Utf8).str.to_lowercase()
        is_user = role.is_in(USER).fill_null(False)
        first_user = is_user.arg_max()  # (0 when there is none: nothing dropped)
        kept = pl.element().filter((pl.int_range(pl.len()) >= first_user) | role.is_in(SYSTEM).fill_null(False))
        n = pl.col(col).list.eval(is_user.cast(pl.Int64)).list.sum()
        df = df.with_columns(pl.col(col).list.eval(kept))
        counted = df.select(n).to_series()
        turns = counted if turns is None else pl.select(pl.coalesce(
            pl.lit(turns).replace(0, None), pl.lit(counted))).to_series()
    return df, (turns.fill_null(0).alias("turns") if turns is not None else None)
