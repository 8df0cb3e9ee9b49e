"""The local engine: Polars over batches, a checkpoint per stage, resume after a kill.

Layout of a stage's checkpoint, `OUT/.checkpoints/NN-label-KEY/`:
    part-00000.parquet     kept rows of input batch 0
    rejects-00000.parquet  rejected rows of batch 0 (fixed reject schema)
    stats-00000.json       per-operator counts of batch 0, written last: the batch's commit
    DONE.json              the stage's totals: the stage's commit
A killed run resumes at the first batch without a stats file; a finished stage is skipped.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Iterator

import polars as pl

from dataforge.engine import batch as B
from dataforge.engine.accounting import StageStats
from dataforge.engine.plan import Stage
from dataforge.io import atomic
from dataforge.io.source import Source
from dataforge.ops.base import RunContext
from dataforge.schema import conform


def progress(total: int | None, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=" rows", disable=not sys.stderr.isatty(),
                dynamic_ncols=True, leave=False)


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

    def commit_batch(self, i: int, kept: pl.DataFrame, rejects: list[pl.DataFrame], stats: list[StageStats]) -> None:
        atomic.write_parquet(self.part(i), kept)
        if rejects:
            atomic.write_parquet(self.rejects(i), pl.concat(rejects, how="vertical_relaxed"))
        atomic.write_json(self.stats_file(i), [s.to_dict() for s in stats])

    def finish(self) -> list[dict]:
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
        atomic.write_json(self.path / "DONE.json", {"stages": out, "parts": len(self.parts())})
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


class LocalEngine:
    name = "local"

    def __init__(self, root: Path, ctx: RunContext, batch_size: int):
        self.root = root
        self.ctx = ctx
        self.batch_size = batch_size

    # -- read -------------------------------------------------------------------
    def run_read(self, stage: Stage, sdir: StageDir, sources: list[Source]) -> list[dict]:
        bar = progress(None, "read")
        i = 0
        for src in sources:
            for op in src.ops:
                op.bind(self._ctx(f"{src.name}/{op.name}"))
            names = [f"{src.name}/{op.name}" for op in src.ops]
            for b in src.batches(self.batch_size):
                if not sdir.committed(i):
                    self._commit_read_batch(sdir, i, src, b, names)
                bar.update(b.read)
                i += 1
        bar.close()
        return sdir.finish()

    def _commit_read_batch(self, sdir: StageDir, i: int, src: Source, b, names: list[str]) -> None:
        st = StageStats(name=f"read:{src.name}", operator="read", kind="read",
                        rows_in=b.read, rows_out=b.rows.height, rows_rejected=len(b.bad))
        rejects = []
        if b.bad:
            rejects.append(B.bad_lines_frame(b.bad, stage=st.name, source=src.name))
            st.rejected_by_reason = B.count_reasons(rejects[0].rename({"reason": B.REJECT}))
        df = conform(b.rows, source=src.name, defaults={"source": src.name}, keep=src.keep) \
            if b.rows.width else b.rows
        kept, rej, op_stats = B.run_chain(df, src.ops, names)
        if src.ops:
            kept = conform(kept, source=src.name, defaults={"source": src.name}, keep=src.keep)
        sdir.commit_batch(i, kept, rejects + rej, [st] + op_stats)

    # -- segments ---------------------------------------------------------------
    def run_segment(self, stage: Stage, sdir: StageDir, prev: StageDir) -> list[dict]:
        for op, name in zip(stage.ops, stage.names):
            op.bind(self._ctx(name))
        bar = progress(None, stage.label)
        for i, df in enumerate(iter_parts(prev.parts())):
            if not sdir.committed(i):
                kept, rej, stats = B.run_chain(df, stage.ops, stage.names)
                sdir.commit_batch(i, kept, rej, stats)
            bar.update(df.height)
        bar.close()
        metrics = {n: m for op, n in zip(stage.ops, stage.names) if (m := op.report_metrics())}
        if metrics:
            atomic.write_json(sdir.path / "metrics.json", metrics)
        return sdir.finish()

    def run_global(self, stage: Stage, sdir: StageDir, prev: StageDir) -> list[dict]:
        op, name = stage.ops[0], stage.names[0]
        op.bind(self._ctx(name))
        op.ensure_setup()
        lf = scan_parts(prev.parts())
        n_in = lf.select(pl.len()).collect().item() if prev.parts() else 0
        out = op.run(lf) if n_in or op.adds_rows else lf.collect()
        kept, rej = B.split_rejects(out)
        st = StageStats(name=name, operator=op.name, kind="global", rows_in=n_in,
                        rows_out=kept.height, rows_rejected=rej.height,
                        rows_added=kept.height + rej.height - n_in)
        if rej.height:
            st.rejected_by_reason = B.count_reasons(rej)
        if st.rows_added < 0 or (st.rows_added > 0 and not op.adds_rows):
            from dataforge.engine.accounting import AccountingError

            raise AccountingError(f"global operator '{op.name}' returned {kept.height}+{rej.height} "
                                  f"rows for {n_in} in")
        rej_frame = B.to_reject_frame(rej, stage=name, operator=op.name) if rej.height else None
        n_parts = max(1, -(-kept.height // self.batch_size))
        for i in range(n_parts):
            part = kept.slice(i * self.batch_size, self.batch_size)
            rj = [rej_frame] if (rej_frame is not None and i == 0) else []
            stats = [st] if i == 0 else [StageStats(name=name, operator=op.name, kind="global")]
            sdir.commit_batch(i, part, rj, stats)
        metrics = op.report_metrics()
        if metrics:
            atomic.write_json(sdir.path / "metrics.json", {name: metrics})
        return sdir.finish()

    def _ctx(self, stage: str) -> RunContext:
        c = RunContext(out=self.ctx.out, seed=self.ctx.seed, llm=self.ctx.llm, stage=stage,
                       engine=self.name, options=self.ctx.options)
        return c
