"""The checkpoint layout both engines write, and the commits they share.

Layout of a stage's checkpoint, `OUT/.checkpoints/NN-label-KEY/`:
    part-00000.parquet     kept rows of input batch 0
    rejects-00000.parquet  rejected rows of batch 0 (fixed reject schema)
    stats-00000.json       per-operator counts of batch 0, written last: the batch's commit
    metrics.json           operators' dataset-level numbers, by stage name (optional)
    DONE.json              the stage's totals: the stage's commit
A killed run resumes at the first batch without a stats file; a finished stage is skipped.

A read stage whose sources are cheap to read again (Parquet, Arrow, in-memory tables, no
per-source operators) may be *virtual* when the local engine runs it fused with the first
segment (`LocalEngine.run_read_segment`): stats, rejects and DONE.json (`"virtual": true`)
but no part files, because reading the source again costs what reading a part back would.
A stage that needs its rows later re-reads the source (fused again) or, where it cannot,
the read stage is run again for real (`Pipeline.run`).

Engines differ in where work runs, never in what is committed: a read batch is committed
by `commit_read_batch`, a global stage's bookkeeping by `commit_global`, whichever engine
(and whichever process) does the work.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Callable, Iterator

import polars as pl

from dataforge.engine import batch as B
from dataforge.engine.accounting import AccountingError, StageStats
from dataforge.engine.plan import Stage
from dataforge.io import atomic
from dataforge.io.read import Batch
from dataforge.io.source import Source
from dataforge.ops.base import Operator
from dataforge.errors import InputError
from dataforge.schema import ORIGIN, SOURCE_NAME, add_origin, conform, has_record_columns, is_score


class StageDir:
    def __init__(self, root: Path, stage: Stage):
        self.path = root / stage.dirname
        self.stage = stage

    @property
    def done(self) -> bool:
        return (self.path / "DONE.json").exists()

    def part(self, i: int) -> Path:
        return self.path / f"part-{i:05d}.parquet"

    def rejects(self, i: int) -> Path:
        return self.path / f"rejects-{i:05d}.parquet"

    def stats_file(self, i: int) -> Path:
        return self.path / f"stats-{i:05d}.json"

    def committed(self, i: int) -> bool:
        return self.stats_file(i).exists()

    def parts(self) -> list[Path]:
        return sorted(self.path.glob("part-*.parquet"))

    def reject_parts(self) -> list[Path]:
        return sorted(self.path.glob("rejects-*.parquet"))

    @property
    def virtual(self) -> bool:
        """A finished read stage that wrote no parts (see the module's doc)."""
        return self.done and bool(json.loads((self.path / "DONE.json").read_text()).get("virtual"))

    def commit_batch(self, i: int, kept: pl.DataFrame | None, rejects: list[pl.DataFrame],
                     stats: list[StageStats]) -> None:
        """Commit batch i; `kept` None writes no part (a virtual read stage)."""
        # checkpoints are read back by us only (atomic.write_checkpoint)
        if kept is not None:
            atomic.write_checkpoint(self.part(i), kept)
        if rejects:
            atomic.write_checkpoint(self.rejects(i), pl.concat(rejects, how="vertical_relaxed"))
        atomic.write_json(self.stats_file(i), [s.to_dict() for s in stats])

    def write_metrics(self, metrics: dict) -> None:
        """Operators' dataset-level numbers, keyed by stage name; nothing when there are none."""
        if metrics:
            atomic.write_json(self.path / "metrics.json", metrics)

    def finish(self, virtual: bool = False) -> list[dict]:
        merged: dict[str, StageStats] = {}
        for f in sorted(self.path.glob("stats-*.json")):
            for d in json.loads(f.read_text()):
                s = StageStats.from_dict(d)
                if s.name in merged:
                    merged[s.name].add(s)
                else:
                    merged[s.name] = s
        out = [s.to_dict() for s in merged.values()]
        for s in merged.values():
            s.check()
        done = {"stages": out, "parts": len(self.parts())}
        atomic.write_json(self.path / "DONE.json", done | {"virtual": True} if virtual else done)
        return out

    def totals(self) -> list[dict]:
        return json.loads((self.path / "DONE.json").read_text())["stages"]

    def prepare(self, fresh: bool) -> None:
        if fresh and self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        atomic.clean_tmp(self.path)


def iter_parts(parts: list[Path]) -> Iterator[pl.DataFrame]:
    """Re-read a checkpoint as batches of one part each (parts are batch-sized already)."""
    for p in parts:
        yield pl.read_parquet(p)


def scan_parts(parts: list[Path]) -> pl.LazyFrame:
    if not parts:
        return pl.LazyFrame()
    frames = [pl.scan_parquet(p) for p in parts]
    return pl.concat(frames, how="diagonal_relaxed")


# -- read stage ---------------------------------------------------------------------

def source_op_names(src: Source) -> list[str]:
    """Stage names of a source's own operators, as the accounting shows them."""
    return [f"{src.name}/{op.name}" for op in src.ops]


def rereadable(sources: list[Source]) -> bool:
    """Sources that read again as fast as a checkpoint part reads back: columnar files or
    tables, and no per-source operators (which may be costly: an LLM, a model)."""
    return all(s.resolved_format() in ("parquet", "hf", "table") and not s.ops for s in sources)


def commit_read_batch(sdir: StageDir, i: int, src: Source, b: Batch) -> None:
    """Conform raw batch `i` of `src`, run the source's operators on it, commit part i."""
    sdir.commit_batch(i, *read_batch(src, b))


def read_batch(src: Source, b: Batch) -> tuple[pl.DataFrame, list[pl.DataFrame], list[StageStats]]:
    """A raw batch of `src`, conformed and through the source's operators: the read stage's
    kept rows, rejects and stats for that batch."""
    b = check_numbers(b, src)
    st = StageStats(name=f"read:{src.name}", operator="read", kind="read",
                    rows_in=b.read, rows_out=b.rows.height, rows_rejected=len(b.bad))
    rejects = []
    if b.bad:
        rejects.append(B.bad_lines_frame(b.bad, stage=st.name, source=src.name))
        st.rejected_by_reason = B.count_reasons(rejects[0].rename({"reason": B.REJECT}))
    df = conform(b.rows, source=src.name, defaults={"source": src.name}, keep=src.keep) \
        if b.rows.width else b.rows
    if ORIGIN in b.rows.columns and has_record_columns(df.columns):
        # a record: its input position goes into meta now; raw rows keep the column for the
        # operator that makes records of them
        df = add_origin(df, b.rows[ORIGIN])
    elif df.height and not has_record_columns(df.columns):
        # raw rows carry their source's name to the operator that makes records of them (a
        # pipeline-level one reads rows of several sources)
        df = df.with_columns(pl.lit(src.name, dtype=pl.Utf8).alias(SOURCE_NAME))
    df = _storable(df)
    kept, rej, op_stats = B.run_chain(df, src.ops, source_op_names(src))
    if src.ops:
        kept = conform(kept, source=src.name, defaults={"source": src.name}, keep=src.keep)
    return kept, rejects + rej, [st] + op_stats


_WIDE_INTS = (pl.Int128, pl.UInt128) if hasattr(pl, "UInt128") else (pl.Int128,)
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _storable(df: pl.DataFrame) -> pl.DataFrame:
    """Integers wider than 64 bits (a JSON field holding 12345678901234567890) as Int64 where
    every value fits, else as text, written as the file held it: Arrow and Parquet readers
    have no 128-bit integers."""
    wide = [c for c, t in df.schema.items() if t in _WIDE_INTS]
    if not wide:
        return df
    exprs = []
    for c in wide:
        lo, hi = df.select(pl.col(c).min().alias("lo"), pl.col(c).max().alias("hi")).row(0)
        fits = lo is None or (_INT64[0] <= lo and hi <= _INT64[1])
        exprs.append(pl.col(c).cast(pl.Int64 if fits else pl.Utf8))
    return df.with_columns(exprs)


def check_numbers(b: Batch, src: Source) -> Batch:
    """Score columns (`score_*`) of record rows must hold numbers: text that reads as a number
    (CSV cells) is that number; other text ("high"), lists or objects are row errors naming
    file, line and field (quarantined with `on_error: quarantine`).

    (This belongs with the other read-time checks in io/check.py; it runs here, once per
    batch, until it moves there.)"""
    df = b.rows
    cols = [c for c, t in df.schema.items() if is_score(c) and not (t.is_numeric() or t in (pl.Null, pl.Boolean))]
    if not cols or not has_record_columns(df.columns):
        return b
    reasons: dict[int, str] = {}
    for c in cols:
        t = df.schema[c]
        if t == pl.Utf8:
            bad = df.select(pl.arg_where(pl.col(c).is_not_null()
                                         & pl.col(c).str.strip_chars().cast(pl.Float64, strict=False).is_null()))
        else:
            bad = df.select(pl.arg_where(pl.col(c).is_not_null()))
        for i in bad.to_series().to_list():
            if i not in reasons:
                v = json.dumps(df[c][i] if t == pl.Utf8 else df[c][i:i + 1].to_list()[0], default=str)
                kind = "text" if t == pl.Utf8 else ("list" if t.is_nested() and not isinstance(t, pl.Struct)
                                                    else "object")
                reasons[i] = f"wrong type: score field '{c}' must be a number, got {kind} {v[:60]}"
    if not reasons:
        fix = [pl.col(c).str.strip_chars().cast(pl.Float64) for c in cols if df.schema[c] == pl.Utf8]
        return dataclasses.replace(b, rows=df.with_columns(fix)) if fix else b
    idx = sorted(reasons)
    if src.on_error != "quarantine":
        raise InputError(f"{b.where(idx[0])}: {reasons[idx[0]]} (source '{src.name}'; set `on_error: quarantine` "
                         "to keep going)")
    keep = pl.Series([i not in reasons for i in range(df.height)])
    plain = df.drop(ORIGIN, strict=False)
    bad = []
    for i in idx:
        where = json.loads(df[ORIGIN][i]) if ORIGIN in df.columns and df[ORIGIN][i] else {}
        bad.append({"file": where.get("file", b.file or src.name),
                    "line": where.get("line", where.get("row", b.lines[i] if b.lines else i + 1)),
                    "error": reasons[i],
                    "raw": json.dumps(plain.row(i, named=True), default=str, ensure_ascii=False)[:10_000]})
    lines = [n for n, k in zip(b.lines, keep) if k] if b.lines is not None else None
    rows = df.filter(keep)
    rows = rows.with_columns(pl.col(c).str.strip_chars().cast(pl.Float64) if rows.schema[c] == pl.Utf8
                             else pl.lit(None, dtype=pl.Float64).alias(c) for c in cols)
    return dataclasses.replace(b, rows=rows, bad=b.bad + bad, lines=lines)


# -- global stages ---------------------------------------------------------------------

def commit_global(sdir: StageDir, op: Operator, name: str, *, rows_in: int, rows_kept: int,
                  rejects: pl.DataFrame, write_parts: Callable[[StageStats], None],
                  metrics: dict) -> list[dict]:
    """The bookkeeping of a global stage, whichever engine decided it.

    `rejects` holds the rejected rows' `_reject` column (at least); `write_parts(stats)`
    writes the kept rows as parts, giving part 0 `stats` (see `part_stats`) and the
    rejected rows. Checks the accounting first, writes metrics, then commits the stage.
    """
    st = StageStats(name=name, operator=op.name, kind="global", rows_in=rows_in,
                    rows_out=rows_kept, rows_rejected=rejects.height,
                    rows_added=rows_kept + rejects.height - rows_in)
    if rejects.height:
        st.rejected_by_reason = B.count_reasons(rejects)
    if st.rows_added < 0 or (st.rows_added > 0 and not op.adds_rows):
        raise AccountingError(f"global operator '{op.name}' returned {rows_kept}+{rejects.height} "
                              f"rows for {rows_in} in")
    write_parts(st)
    sdir.write_metrics({name: metrics} if metrics else {})
    return sdir.finish()


def part_stats(i: int, st: StageStats) -> list[StageStats]:
    """A global stage's counts go with part 0; the other parts carry zeros."""
    return [st] if i == 0 else [StageStats(name=st.name, operator=st.operator, kind=st.kind)]


def n_parts(rows: int, batch_size: int) -> int:
    """Kept rows of a global stage are cut every `batch_size` rows; at least one part."""
    return max(1, -(-rows // batch_size))
