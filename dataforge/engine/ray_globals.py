"""Global operators on Ray: distributed forms, the hook that finds them, and the admission pass.

A global operator runs distributed when the Ray engine finds a form for it, in this order:
1. `op.ray_support` is set: the operator says why it cannot run on Ray -> driver;
2. the operator has a method `run_ray(ds) -> ds`: `ds` is a Ray Dataset of the previous
   stage's rows with a `__row` column (the row's position in the checkpoint); it returns
   a dataset (or Polars frame) of decisions: `__row`, `_reject` and optionally
   `_reject_detail`, one row per rejected input row;
3. a form registered here under the operator's name with `@form("name")`;
otherwise `op.run` runs on the driver over the checkpoint, as in the local engine.

Decisions are applied by workers, in input order, and the kept rows are cut into parts of
`batch_size` rows exactly as the local engine cuts `op.run`'s output, so a form that makes
the operator's decisions produces the operator's bytes. Forms only reject rows: an operator
that adds rows or rewrites columns keeps `run` (driver) or writes its own `run_ray`.

Forms here: `dedup_exact` (group on the hash), `dedup_near` (MinHash LSH band keys grouped
on the cluster), `select_topk` (distributed sort + admission pass). Kernels for forms and
`run_ray` methods: `hash_members`, `gather`, `ranked` / `admit`, `aggregate_metrics`.
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import polars as pl
import pyarrow as pa

from dataforge.engine import batch as B
from dataforge.engine.accounting import AccountingError, StageStats
from dataforge.engine.local import StageDir, scan_parts
from dataforge.engine.plan import Stage
from dataforge.io import atomic
from dataforge.schema import REJECT, REJECT_DETAIL

ROW = "__row"


@dataclass
class Decisions:
    """What a distributed form decided: the rows to reject, and metrics for the report."""

    rejects: pl.DataFrame  # __row (int64), _reject (str), optional _reject_detail (str)
    metrics: dict | None = None  # None: ask op.report_metrics()


FormFn = Callable[["object", "Rows"], Decisions]
FORMS: dict[str, FormFn] = {}


def form(name: str):
    """Register the distributed form of the global operator called `name`."""
    def deco(fn: FormFn) -> FormFn:
        FORMS[name] = fn
        return fn
    return deco


def find_form(op) -> tuple[FormFn | None, str]:
    """The distributed form of `op` and why, or None and why not."""
    if op.ray_support:
        return None, op.ray_support
    if op.adds_rows:
        return None, "it adds rows, which a distributed form cannot do yet"
    if callable(getattr(op, "run_ray", None)):
        return _hook, f"{type(op).__name__}.run_ray"
    if op.name in FORMS:
        return FORMS[op.name], f"form '{op.name}' in dataforge.engine.ray_globals"
    return None, "no distributed form (give the operator a run_ray method or register a form)"


def _hook(op, rows: "Rows") -> Decisions:
    out = to_polars(op.run_ray(rows.dataset()))
    if not out.height:
        out = pl.DataFrame(schema={ROW: pl.Int64, REJECT: pl.Utf8})
    return Decisions(out, None)


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


# -- running a form and applying its decisions -----------------------------------------

def run_distributed(engine, fn: FormFn, stage: Stage, sdir: StageDir, prev: StageDir) -> list[dict]:
    op, name = stage.ops[0], stage.names[0]
    rows = Rows(prev.parts())
    dec = fn(op, rows)
    rej = _check(dec.rejects, rows.n, op.name)
    st = StageStats(name=name, operator=op.name, kind="global", rows_in=rows.n,
                    rows_out=rows.n - rej.height, rows_rejected=rej.height)
    if rej.height:
        st.rejected_by_reason = B.count_reasons(rej)
    items = plan_parts(rows, rej, engine.batch_size)
    items[0]["rejects"] = _ipc(rej) if rej.height else b""
    engine.map_parts(items, ApplyJob(engine.root, stage, rows.parts, dict(rows.schema),
                                         rows.offsets.tolist(), st.to_dict()), [])
    metrics = dec.metrics if dec.metrics is not None else op.report_metrics()
    if metrics:
        atomic.write_json(sdir.path / "metrics.json", {name: metrics})
    return sdir.finish()


def _check(rej: pl.DataFrame, n: int, op_name: str) -> pl.DataFrame:
    if ROW not in rej.columns or REJECT not in rej.columns:
        raise AccountingError(f"distributed form of '{op_name}' must return columns {ROW} and {REJECT}, "
                              f"got {rej.columns}")
    cols = [pl.col(ROW).cast(pl.Int64), pl.col(REJECT).cast(pl.Utf8)]
    cols.append(pl.col(REJECT_DETAIL).cast(pl.Utf8) if REJECT_DETAIL in rej.columns
                else pl.lit(None, dtype=pl.Utf8).alias(REJECT_DETAIL))
    rej = rej.select(cols).filter(pl.col(REJECT).is_not_null()).sort(ROW)
    if rej.height and (rej[ROW].min() < 0 or rej[ROW].max() >= n or rej[ROW].n_unique() != rej.height):
        raise AccountingError(f"distributed form of '{op_name}' returned row positions outside 0..{n - 1} "
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
        rejects, stats = [], [StageStats(name=name, operator=op.name, kind="global")]
        if item["i"] == 0:
            stats = [StageStats.from_dict(self.stats)]
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


def _ipc(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_ipc(buf)
    return buf.getvalue()


# -- exact duplicates: group on the hash --------------------------------------------------

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


def _keep_columns(op, rows: Rows) -> list[str]:
    cols = ["id", "output"] + ([op.keep_score] if getattr(op, "keep_score", None) else [])
    return [c for c in dict.fromkeys(cols) if c in rows.schema]


def _mark(op, members: pl.DataFrame, cluster: pl.Series, rows: Rows, *, reason: str, detail: str) -> pl.DataFrame:
    """The operator's own keep rule and reject messages, applied to the cluster members only.

    `mark_duplicates` ranks by position within the frame it gets; members are in row
    order, so the kept row is the one the local run keeps.
    """
    from dataforge.clean.keep import mark_duplicates

    sub = gather(rows, members[ROW].to_numpy(), _keep_columns(op, rows)).rename({ROW: "__grow"})
    out = mark_duplicates(sub, cluster, reason=reason, keep=op.keep, score=op.keep_score, detail=detail)
    return out.filter(pl.col(REJECT).is_not_null()).select(pl.col("__grow").alias(ROW), REJECT, REJECT_DETAIL)


@form("dedup_exact")
def dedup_exact(op, rows: Rows) -> Decisions:
    from dataforge.clean.keep import cluster_metrics
    from dataforge.clean.text import joined

    key = joined(op.fields, normalise=op.normalise)
    members = hash_members(rows, key, list(op.fields))
    cluster = members["__h"].reinterpret(signed=False).cast(pl.Utf8)  # the local cluster id
    metrics = cluster_metrics(cluster)
    if not members.height:
        return Decisions(pl.DataFrame(schema={ROW: pl.Int64, REJECT: pl.Utf8}), metrics)
    return Decisions(_mark(op, members, cluster, rows, reason="duplicate_exact", detail="same normalised text"),
                     metrics)


# -- near duplicates: MinHash LSH band keys grouped on the cluster, then components ---------

@form("dedup_near")
def dedup_near(op, rows: Rows) -> Decisions:
    """dedup_near with the per-document work on Ray: shingles, MinHash signatures and one
    key per LSH band are computed by the workers and grouped across the cluster. Only the
    documents that share a band key with another one can be in a duplicate pair, so the
    operator's own `near_clusters` (candidate pairs, verification, union-find) then runs
    on the driver over those documents alone and decides exactly what it decides locally."""
    from dataforge.clean.keep import cluster_metrics
    from dataforge.ops.dedup_near import near_clusters
    from ray.data.aggregate import Count

    params = dict(ngram=op.ngram, num_perm=op.num_perm, threshold=op.threshold, bands=op.bands,
                  rows=op.rows, verify=op.verify, fn_weight=op.fn_weight, seed=op.seed)
    _, probe = near_clusters(pl.Series(["banding probe"]), **params)  # the bands x rows it picks
    keys = rows.dataset(list(op.fields)).map_batches(
        _band_keys, fn_kwargs=dict(fields=list(op.fields), ngram=op.ngram, num_perm=op.num_perm,
                                   seed=op.seed, bands=probe["bands"], rows=probe["rows"]),
        batch_format="pyarrow").materialize()
    shared = to_polars(keys.map_batches(_explode_keys, batch_format="pyarrow")
                       .groupby(["band", "key"]).aggregate(Count(alias_name="size"))
                       .filter(expr=_col("size") > 1))
    docs = np.zeros(0, dtype=np.int64)
    if shared.height:
        hit = keys.map_batches(_with_shared_key, fn_kwargs={"shared": shared.select("band", "key")},
                               batch_format="pyarrow")
        docs = np.sort(to_polars(hit)[ROW].to_numpy())
    texts = _texts(gather(rows, docs, list(op.fields)), op.fields) if docs.size else pl.Series([], dtype=pl.Utf8)
    labels, stats = near_clusters(texts, **params) if docs.size else (np.zeros(0, np.int64), probe)
    stats = dict(stats) | {"signature_bytes": rows.n * op.num_perm * 4}  # as if all rows were signed
    if not docs.size:
        stats |= {"candidate_pairs": 0, "verified_pairs": 0}
    inc = labels >= 0
    cluster = pl.Series("c", docs[labels[inc]]).cast(pl.Utf8)  # label = smallest member, as a row
    metrics = cluster_metrics(cluster) | stats | {"threshold": op.threshold}
    if not inc.any():
        return Decisions(pl.DataFrame(schema={ROW: pl.Int64, REJECT: pl.Utf8}), metrics)
    detail = f"{'exact' if op.verify == 'jaccard' else 'MinHash'} Jaccard >= {op.threshold}"
    members = pl.DataFrame({ROW: docs[inc]})
    return Decisions(_mark(op, members, cluster, rows, reason="duplicate_near", detail=detail), metrics)


def _texts(df: pl.DataFrame, fields: list[str]) -> pl.Series:
    from dataforge.clean.text import joined

    return df.select(joined(list(fields)).str.replace_all("\x1f", " ").alias("t"))["t"]


def _band_keys(batch: pa.Table, fields: list[str], ngram: int, num_perm: int, seed: int,
               bands: int, rows: int) -> pa.Table:
    """One int64 key per (document, band): equal band values give equal keys (a collision
    only adds a document to the candidates, whose pairs the operator then recomputes)."""
    from dataforge.clean import minhash as M

    df = pl.from_arrow(batch)
    sig, has = M.signatures(M.shingle_hashes(_texts(df, fields), ngram), num_perm, seed)
    s = sig[has][:, : bands * rows].astype(np.uint64).reshape(-1, bands, rows)
    mult = np.random.default_rng(rows).integers(1, 1 << 62, size=rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    with np.errstate(over="ignore"):
        key = (s * mult).sum(axis=2, dtype=np.uint64)  # wraps mod 2^64
    return pa.table({ROW: df[ROW].to_numpy()[has],
                     "keys": pa.FixedSizeListArray.from_arrays(pa.array(key.reshape(-1).view(np.int64)), bands)})


def _explode_keys(batch: pa.Table) -> pa.Table:
    k = batch.column("keys").combine_chunks()
    return pa.table({"band": np.tile(np.arange(k.type.list_size, dtype=np.int32), batch.num_rows),
                     "key": k.flatten().to_numpy(zero_copy_only=False)})


def _with_shared_key(batch: pa.Table, shared: pl.DataFrame) -> pa.Table:
    """Documents with at least one band key another document shares: __row."""
    if not batch.num_rows:
        return batch.select([ROW])
    flat = pl.from_arrow(_explode_keys(batch)).with_columns(
        pl.Series(ROW, np.repeat(batch.column(ROW).to_numpy(), batch.column("keys").type.list_size)))
    return flat.join(shared, on=["band", "key"], how="semi").select(pl.col(ROW).unique()).to_arrow()


# -- selection: distributed sort, then an admission pass ----------------------------------

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


def admit(rows: Rows, score: str, *, k: int | None = None, descending: bool = True,
          group: str | None = None, cap: int | None = None, batch_rows: int = 65_536) -> pl.DataFrame:
    """Rows NOT admitted, best first: __row. Admission walks the rows by score (ties by
    position, null scores last) and takes at most `cap` per `group` and `k` in all."""
    s = pl.col(score).cast(pl.Float64)
    keys = {"__null": s.is_null().cast(pl.Int8), "__key": (-s if descending else s).fill_null(0.0)}
    out, taken = [], 0
    for df in ranked(rows, [score] + ([group] if group else []), keys, ["__null", "__key"],
                     group if cap is not None else None, batch_rows):
        ok = (df["__rank"] <= cap) if cap is not None else pl.Series([True] * df.height)
        if k is not None:
            ok = ok & ((ok.cast(pl.Int64).cum_sum() + taken) <= k)
        taken += int(ok.sum())
        out.append(df.filter(~ok).select(ROW))
    return pl.concat(out) if out else pl.DataFrame(schema={ROW: pl.Int64})


@form("select_topk")
def select_topk(op, rows: Rows) -> Decisions:
    """select_topk's ranking (score product desc, then id) as a distributed sort; the
    admission pass counts ranks per group and rejects beyond k with the same reason."""
    from dataforge.score.select import check_columns, kept_shares, needs_groups, score_expr

    check_columns(pl.DataFrame(schema=rows.schema), op.score, f"operator '{op.name}'")
    if needs_groups(op.normalize, op.normalize_by):
        # scores normalised within groups need whole groups: the driver reads the few
        # columns the ranking uses and applies the local form's own expression
        cols = list(dict.fromkeys(op.columns_in() + ["id"] + [c for c in ("source", "task") if c in rows.schema]))
        df = to_polars(rows.dataset(cols)).sort(ROW)
        df = df.with_columns(op.reason().alias(REJECT))
        metrics = {"normalize": op.normalize, "normalize_by": op.normalize_by,
                   **kept_shares(df, pl.col(REJECT).is_null())}
        return Decisions(df.filter(pl.col(REJECT).is_not_null()).select(ROW, REJECT), metrics)
    group = pl.col(op.by).cast(pl.Utf8).fill_null("(none)") if op.by else pl.lit("all")
    keys = {"__s": -score_expr(op.score, op.name), "__g": group}
    cols = list(dict.fromkeys(op.score + ([op.by] if op.by else []) + ["id"]))
    where = f"{op.by} " if op.by else ""
    out = []
    for df in ranked(rows, cols, keys, ["__s", "id"], "__g"):
        rej = df.filter(pl.col("__rank") > op.k)
        out.append(rej.select(ROW, pl.format(f"not_selected: rank {{}} > {op.k} in {where}{{}}",
                                             pl.col("__rank"), pl.col("__g")).alias(REJECT)))
    rej = pl.concat(out) if out else pl.DataFrame(schema={ROW: pl.Int64, REJECT: pl.Utf8})
    return Decisions(rej, None)


# -- kernel: dataset metrics by aggregation -------------------------------------------------

def aggregate_metrics(rows: Rows, numeric: list[str], group: str | None = None) -> dict:
    """count / mean / min / max / std of numeric columns, and row counts per `group` value."""
    from ray.data.aggregate import Count, Max, Mean, Min, Std

    ds = rows.dataset(numeric + ([group] if group else []))
    aggs = [Count()]
    for c in numeric:
        aggs += [Mean(c, alias_name=f"{c}.mean"), Min(c, alias_name=f"{c}.min"),
                 Max(c, alias_name=f"{c}.max"), Std(c, ddof=0, alias_name=f"{c}.std")]
    res = ds.aggregate(*aggs)
    out: dict = {"rows": int(res["count()"])}
    for c in numeric:
        out[c] = {s: (None if res[f"{c}.{s}"] is None else float(res[f"{c}.{s}"]))
                  for s in ("mean", "min", "max", "std")}
    if group:
        counts = to_polars(ds.groupby(group).count())
        out[f"by_{group}"] = dict(sorted((str(k), int(v)) for k, v in counts.iter_rows()))
    return out
