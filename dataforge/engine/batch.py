"""Apply a chain of map/filter operators to one batch and split kept rows from rejects.

Shared by the local and the Ray engine so both account for rows the same way.
"""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import polars as pl

from dataforge.engine.accounting import AccountingError, StageStats, reason_key
from dataforge.schema import COLUMNS, REJECT, REJECT_DETAIL  # noqa: F401 (REJECT re-exported)

REJECT_COLUMNS = ("reason", "stage", "operator", "detail", "raw")
# Seconds spent in each operator of this process (setup + process), by stage name; the
# pipeline reads it for the manifest's timings and `--profile` (local engine only).
OP_SECONDS: dict[str, float] = defaultdict(float)
_SECONDS_LOCK = threading.Lock()  # batches of parallel-safe operators run on two threads


def run_chain(df: pl.DataFrame, ops: list, names: list[str]) -> tuple[pl.DataFrame, list[pl.DataFrame], list[StageStats]]:
    """Run `ops` in order; return kept rows, reject frames and per-operator stats."""
    rejects: list[pl.DataFrame] = []
    stats: list[StageStats] = []
    for op, name in zip(ops, names):
        t0 = time.perf_counter()
        op.ensure_setup()
        n_in = df.height
        out = op.process(df) if n_in or op.adds_rows else df
        with _SECONDS_LOCK:
            OP_SECONDS[name] += time.perf_counter() - t0
        kept, rej = split_rejects(out)
        st = StageStats(name=name, operator=op.name, kind=op.kind, rows_in=n_in,
                        rows_out=kept.height, rows_rejected=rej.height)
        st.rows_added = kept.height + rej.height - n_in
        if st.rows_added < 0 or (st.rows_added > 0 and not op.adds_rows):
            raise AccountingError(
                f"operator '{op.name}' (stage '{name}') turned {n_in} rows into "
                f"{kept.height} kept + {rej.height} rejected; operators must not "
                f"{'drop' if st.rows_added < 0 else 'add'} rows without saying so"
            )
        if rej.height:
            st.rejected_by_reason = count_reasons(rej)
            rejects.append(to_reject_frame(rej, stage=name, operator=op.name))
        stats.append(st)
        df = kept
    return df, rejects, stats


def split_rejects(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    if REJECT not in df.columns:
        return df.drop(REJECT_DETAIL, strict=False), df.clear()
    mask = pl.col(REJECT).is_not_null()
    kept = df.filter(~mask).drop(REJECT, REJECT_DETAIL, strict=False)
    return kept, df.filter(mask)


def count_reasons(rej: pl.DataFrame) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reason, n in rej.group_by(REJECT).len().iter_rows():
        k = reason_key(reason)
        counts[k] = counts.get(k, 0) + n
    return counts


def to_reject_frame(rej: pl.DataFrame, *, stage: str, operator: str) -> pl.DataFrame:
    """Fixed schema: canonical columns (nullable) + reason/stage/operator/detail/raw.

    `raw` keeps every other column as JSON, so raw input rows are never lost.
    """
    canon = [pl.col(c).cast(pl.Utf8) if c in rej.columns else pl.lit(None, dtype=pl.Utf8).alias(c)
             for c in COLUMNS]
    others = [c for c in rej.columns if c not in COLUMNS and c not in (REJECT, REJECT_DETAIL)]
    raw = (pl.struct(others).struct.json_encode() if others else pl.lit(None, dtype=pl.Utf8)).alias("raw")
    detail = (pl.col(REJECT_DETAIL).cast(pl.Utf8) if REJECT_DETAIL in rej.columns
              else pl.lit(None, dtype=pl.Utf8)).alias("detail")
    return rej.select(
        canon + [pl.col(REJECT).alias("reason"), pl.lit(stage).alias("stage"),
                 pl.lit(operator).alias("operator"), detail, raw]
    )


def bad_lines_frame(bad: list[dict], *, stage: str, source: str) -> pl.DataFrame:
    """Quarantined input lines as rejects: reason names the parse error, detail file:line."""
    rows = [{c: None for c in COLUMNS} | {
        "source": source,
        "reason": b["error"] if b["error"].startswith(("missing field", "wrong type")) else f"parse_error: {b['error']}",
        "stage": stage,
        "operator": "read",
        "detail": json.dumps(b.get("where") or {"file": b["file"], "line": b["line"]}),
        "raw": b["raw"],
    } for b in bad]
    schema = {c: pl.Utf8 for c in COLUMNS} | {c: pl.Utf8 for c in REJECT_COLUMNS}
    return pl.DataFrame(rows, schema=schema)
