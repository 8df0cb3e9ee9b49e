"""Global operators on Ray: the engine side of an operator's distributed form.

A global operator runs distributed when it carries a `run_ray(rows)` method (see
`GlobalOp` in dataforge/ops/base.py) and neither sets `driver_only` nor adds rows;
otherwise the Ray engine runs `op.run` on the driver over the checkpoint, as the local
engine does. This module knows no operator: it gives `run_ray` the previous stage's rows
(`Rows`), generic kernels to build decisions with (`hash_members`: rows whose hash of an
expression repeats; `gather`: some rows by position; `ranked`: a distributed sort
streamed back with per-group ranks), and applies the decisions it returns.

Decisions are applied by workers, in input order, and the kept rows are cut into parts of
`batch_size` rows exactly as the local engine cuts `op.run`'s output, so a form that makes
the operator's decisions produces the operator's bytes. A distributed form only rejects
rows: an operator that adds rows or rewrites columns keeps `run` (driver).
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import polars as pl
import pyarrow as pa

from dataforge.engine import batch as B
from dataforge.engine import checkpoint as C
from dataforge.engine.accounting import AccountingError, StageStats
from dataforge.engine.checkpoint import StageDir, scan_parts
from dataforge.engine.plan import Stage
from dataforge.engine.ray import to_ipc
from dataforge.schema import REJECT, REJECT_DETAIL

ROW = "__row"


def distributed_form(op) -> tuple[bool, str]:
    """Whether `op` runs distributed, and why (or why not)."""
    if op.driver_only:
        return False, op.driver_only
    if op.adds_rows:
        return False, "it adds rows, which a distributed form cannot do yet"
    if callable(getattr(op, "run_ray", None)):
        return True, f"{type(op).__name__}.run_ray"
    return False, "no distributed form (give the operator a run_ray method)"


# -- the rows of a checkpoint as a Ray Dataset ---------------------------------------

class Rows:
    """The previous stage's parts, with each row's global position `__row`."""

    def __init__(self, parts: list[Path]):
        import pyarrow.parquet as pq

        self.parts = [str(p) for p in parts]
        self.counts = [pq.ParquetFile(p).metadata.num_rows for p in parts]
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self.schema = scan_parts(list(parts)).collect_schema() if parts else pl.Schema()

    def dataset(self, columns: list[str] | None = None):
        """Ray Dataset of the rows (only `columns`, if given) plus `__row`; one block per part."""
        import ray.data

        items = [{"path": p, "offset": int(o)} for p, o in zip(self.parts, self.offsets[:-1])]
        ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
        return ds.map_batches(_read_part, fn_kwargs={"columns": columns, "schema": dict(self.schema)},
                              batch_size=1, batch_format="pyarrow")


def _read_part(batch: pa.Table, columns: list[str] | None, schema: dict) -> pa.Table:
    out = []
    for item in batch.to_pylist():
        df = read_aligned(item["path"], schema, columns)
        out.append(df.with_row_index(ROW, offset=item["offset"]).with_columns(pl.col(ROW).cast(pl.Int64))
                   .to_arrow())
    return pa.concat_tables(out)


def read_aligned(path: str, schema: dict, columns: list[str] | None = None) -> pl.DataFrame:
    """A part with the stage's unified schema: what `scan_parts` gives the local engine."""
    import pyarrow.parquet as pq

    want = [c for c in (columns or list(schema)) if c in schema]
    table = pq.read_table(path, columns=[c for c in want if c in pq.read_schema(path).names])
    df = pl.from_arrow(table)  # zero-copy
    return df.select([pl.col(c).cast(schema[c]) if c in df.columns else pl.lit(None, dtype=schema[c]).alias(c)
                      for c in want])


def _col(name: str):
    from ray.data.expressions import col

    return col(name)


def to_polars(out) -> pl.DataFrame:
    if isinstance(out, pl.DataFrame):
        return out
    if isinstance(out, pa.Table):
        return pl.from_arrow(out)
    import ray

    tables = ray.get(out.to_arrow_refs())
    full = [t for t in tables if t.num_rows]
    if full:
        return pl.from_arrow(pa.concat_tables(full, promote_options="permissive"))
    return pl.from_arrow(tables[0]) if tables else pl.DataFrame()  # empty (typed when Ray knows)


# -- running an operator's distributed form and applying its decisions ---------------------

def run_distributed(engine, stage: Stage, sdir: StageDir, prev: StageDir) -> list[dict]:
    """Call the operator's `run_ray`, then apply its decisions on the workers."""
    op, name = stage.ops[0], stage.names[0]
    rows = Rows(prev.parts())
    rej = _check(to_polars(op.run_ray(rows)), rows.n, op.name)

    def write_parts(st: StageStats) -> None:
        items = plan_parts(rows, rej, engine.batch_size)
        items[0]["rejects"] = to_ipc(rej) if rej.height else b""
        engine.map_parts(items, ApplyJob(engine.root, stage, rows.parts, dict(rows.schema),
                                         rows.offsets.tolist(), st.to_dict()), [])

    return C.commit_global(sdir, op, name, rows_in=rows.n, rows_kept=rows.n - rej.height, rejects=rej,
                           write_parts=write_parts, metrics=op.report_metrics())


def _check(rej: pl.DataFrame, n: int, op_name: str) -> pl.DataFrame:
    if not rej.height:  # nothing rejected (an empty Ray result may not even have columns)
        return pl.DataFrame(schema={ROW: pl.Int64, REJECT: pl.Utf8, REJECT_DETAIL: pl.Utf8})
    if ROW not in rej.columns or REJECT not in rej.columns:
        raise AccountingError(f"run_ray of '{op_name}' must return columns {ROW} and {REJECT}, "
                              f"got {rej.columns}")
    cols = [pl.col(ROW).cast(pl.Int64), pl.col(REJECT).cast(pl.Utf8)]
    cols.append(pl.col(REJECT_DETAIL).cast(pl.Utf8) if REJECT_DETAIL in rej.columns
                else pl.lit(None, dtype=pl.Utf8).alias(REJECT_DETAIL))
    rej = rej.select(cols).filter(pl.col(REJECT).is_not_null()).sort(ROW)
    if rej.height and (rej[ROW].min() < 0 or rej[ROW].max() >= n or rej[ROW].n_unique() != rej.height):
        raise AccountingError(f"run_ray of '{op_name}' returned row positions outside 0..{n - 1} "
                              "or the same row twice")
    return rej


def plan_parts(rows: Rows, rej: pl.DataFrame, batch_size: int) -> list[dict]:
    """Which slices of which input parts make output part j (kept rows cut every batch_size)."""
    part_of = np.searchsorted(rows.offsets, rej[ROW].to_numpy(), side="right") - 1
    local = rej[ROW].to_numpy() - rows.offsets[part_of]
    dropped = {int(k): local[part_of == k].tolist() for k in np.unique(part_of)}
    kept = np.array([c - len(dropped.get(k, [])) for k, c in enumerate(rows.counts)], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(kept)])
    total = int(starts[-1])
    items = []
    for j in range(max(1, math.ceil(total / batch_size))):
        lo, hi = j * batch_size, min((j + 1) * batch_size, total)
        slices = [[k, int(max(lo, starts[k]) - starts[k]), int(min(hi, starts[k + 1]) - starts[k]),
                   dropped.get(k, [])]
                  for k in range(len(rows.counts)) if starts[k] < hi and starts[k + 1] > lo]
        items.append({"i": j, "slices": json.dumps(slices), "rejects": b""})
    return items


@dataclass
class ApplyJob:
    """Writes output part j: the kept rows it covers, and (part 0) every rejected row."""

    root: Path
    stage: Stage
    parts: list[str]
    schema: dict
    offsets: list[int]
    stats: dict

    def process(self, item: dict) -> dict:
        op, name = self.stage.ops[0], self.stage.names[0]
        frames = []
        for k, a, b, dropped in json.loads(item["slices"]):
            df = read_aligned(self.parts[k], self.schema)
            if dropped:
                df = df.filter(~pl.int_range(pl.len()).is_in(pl.lit(pl.Series(dropped, dtype=pl.Int64))))
            frames.append(df.slice(a, b - a))
        kept = pl.concat(frames, how="vertical") if frames else \
            pl.DataFrame(schema=self.schema)
        rejects, stats = [], C.part_stats(item["i"], StageStats.from_dict(self.stats))
        if item["i"] == 0:
            if item["rejects"]:
                rej = self._rejected_rows(pl.read_ipc(io.BytesIO(item["rejects"])))
                rejects = [B.to_reject_frame(rej, stage=name, operator=op.name)]
        StageDir(self.root, self.stage).commit_batch(item["i"], kept, rejects, stats)
        return {"i": item["i"], "rows_in": 0, "rows_out": kept.height}

    def _rejected_rows(self, rej: pl.DataFrame) -> pl.DataFrame:
        """Rejected rows in input order, read only from the parts that have some."""
        out = []
        for k, (start, end) in enumerate(zip(self.offsets[:-1], self.offsets[1:])):
            mine = rej.filter((pl.col(ROW) >= start) & (pl.col(ROW) < end))
            if mine.height:
                df = read_aligned(self.parts[k], self.schema)
                out.append(df[(mine[ROW] - start).to_list()].with_columns(mine[REJECT], mine[REJECT_DETAIL]))
        return pl.concat(out, how="vertical")


# -- repeated keys: group on a hash ------------------------------------------------------

def hash_members(rows: Rows, key: pl.Expr, columns: list[str]) -> pl.DataFrame:
    """Rows whose 64-bit hash of `key` (Polars, seed 0) occurs more than once: __row, __h.

    The hash is computed on the workers, grouped with Ray's hash aggregate; only the
    members of repeated hashes come back to the driver.
    """
    from ray.data.aggregate import Count

    hashed = rows.dataset(columns).map_batches(_hash_key, fn_kwargs={"key": key},
                                               batch_format="pyarrow").materialize()
    counts = hashed.groupby("__h").aggregate(Count(alias_name="size"))
    dups = to_polars(counts.filter(expr=_col("size") > 1))
    if not dups.height:
        return pl.DataFrame(schema={ROW: pl.Int64, "__h": pl.Int64})
    members = hashed.map_batches(_semi_join, fn_kwargs={"keys": dups.select("__h"), "on": ["__h"]},
                                 batch_format="pyarrow")
    return to_polars(members).sort(ROW)


def _hash_key(batch: pa.Table, key: pl.Expr) -> pa.Table:
    df = pl.from_arrow(batch)
    # as Int64 (same bits): the sort shuffle cannot range-partition uint64
    return df.select(ROW, key.hash(seed=0).reinterpret(signed=True).alias("__h")).to_arrow()


def _semi_join(batch: pa.Table, keys: pl.DataFrame, on: list[str]) -> pa.Table:
    return pl.from_arrow(batch).join(keys, on=on, how="semi").to_arrow()


def gather(rows: Rows, wanted: np.ndarray, columns: list[str]) -> pl.DataFrame:
    """The given rows (by __row) with `columns`, read by the workers, in row order."""
    if not len(wanted):
        return pl.DataFrame(schema={ROW: pl.Int64} | {c: rows.schema[c] for c in columns})
    keys = pl.DataFrame({ROW: np.asarray(wanted, dtype=np.int64)})
    ds = rows.dataset(columns).map_batches(_semi_join, fn_kwargs={"keys": keys, "on": [ROW]},
                                           batch_format="pyarrow")
    return to_polars(ds).sort(ROW)


# -- selection: a distributed sort, streamed back in order ----------------------------------

def ranked(rows: Rows, columns: list[str], keys: dict[str, pl.Expr], order: list[str],
           group: str | None = None, batch_rows: int = 65_536) -> Iterator[pl.DataFrame]:
    """Rows sorted on the cluster by `order` (then position), streamed to the driver in that
    order with `__rank`: 1-based position within `group` (or overall). Sort keys are
    computed on the workers from `keys`; the driver keeps one counter per group."""
    ds = rows.dataset(columns).map_batches(_with_keys, fn_kwargs={"keys": keys}, batch_format="pyarrow")
    carry: dict = {}
    for t in ds.sort(order + [ROW]).iter_batches(batch_size=batch_rows, batch_format="pyarrow"):
        df = pl.from_arrow(t)
        if not df.height:
            continue
        g = pl.col(group) if group else pl.lit("")
        df = df.with_columns(g.alias("__grp"))
        base = pl.DataFrame({"__grp": list(carry), "__base": list(carry.values())},
                            schema={"__grp": df.schema["__grp"], "__base": pl.Int64})
        df = df.join(base, on="__grp", how="left", maintain_order="left").with_columns(
            (pl.int_range(1, pl.len() + 1).over("__grp") + pl.col("__base").fill_null(0)).alias("__rank"))
        carry.update(df.group_by("__grp").agg(pl.col("__rank").max()).iter_rows())
        yield df.drop("__grp", "__base")


def _with_keys(batch: pa.Table, keys: dict[str, pl.Expr]) -> pa.Table:
    df = pl.from_arrow(batch)
    return df.with_columns(**keys).to_arrow()
