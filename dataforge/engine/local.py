"""The local engine: Polars over batches in this process, a checkpoint per stage.

What is committed, and how a killed run resumes, is `engine/checkpoint.py`'s business;
this engine only decides where the work runs: here, one batch at a time.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import polars as pl

from dataforge.engine import batch as B
from dataforge.engine import checkpoint as C
from dataforge.engine.checkpoint import StageDir
from dataforge.engine.overlap import Committer, prefetch
from dataforge.engine.plan import Stage
from dataforge.io.source import Source
from dataforge.ops.base import RunContext


def progress(total: int | None, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=" rows", disable=not sys.stderr.isatty(),
                dynamic_ncols=True, leave=False)


class LocalEngine:
    name = "local"
    fuse_read = True  # run the read stage and a first segment in one pass (run_read_segment)

    def __init__(self, root: Path, ctx: RunContext, batch_size: int):
        self.root = root
        self.ctx = ctx
        self.batch_size = batch_size

    # -- read -------------------------------------------------------------------
    def run_read(self, stage: Stage, sdir: StageDir, sources: list[Source]) -> list[dict]:
        bar = progress(None, "read")
        i = 0
        # (the next batch is read while this one is processed and written; two at once where
        # every source operator may run on two batches at once)
        with Committer(self.in_flight([op for src in sources for op in src.ops])) as commits:
            for src in sources:
                self.bind_source_ops(src)
                for op in src.ops:  # (set up here, not by two batches at once)
                    op.ensure_setup()
                for b in src.batches(self.batch_size):
                    if not sdir.committed(i):
                        commits.submit(C.commit_read_batch, sdir, i, src, b)
                    bar.update(b.read)
                    i += 1
        bar.close()
        return sdir.finish()

    def run_read_segment(self, read: Stage, rdir: StageDir, seg: Stage, sdir: StageDir,
                         sources: list[Source]) -> tuple[list[dict], list[dict]]:
        """The read stage and the first segment in one pass: each source batch goes through
        the segment's operators straight away instead of through a read part written and read
        back. Both stages still commit batch by batch (read first), so a killed run resumes as
        before. Read parts are written only where the sources are slow to read again (JSON,
        CSV, per-source operators); otherwise the read stage is virtual (checkpoint.py)."""
        keep_parts = not C.rereadable(sources)
        self.bind_stage_ops(seg)
        bar = progress(None, f"read+{seg.label}")
        i = 0
        # where every operator may run on two batches at once, each batch's whole work goes to
        # the background jobs (two at once); otherwise it runs here and only its commit there
        n = self.in_flight([op for src in sources for op in src.ops] + list(seg.ops))
        with Committer(n) as commits:
            for src in sources:
                self.bind_source_ops(src)
                for op in list(src.ops) + (list(seg.ops) if n > 1 else []):
                    op.ensure_setup()
                for b in src.batches(self.batch_size):
                    need_read, need_seg = not rdir.committed(i), not sdir.committed(i)
                    if need_read or need_seg:
                        job = (src, b, seg, need_read, need_seg, keep_parts)
                        if n > 1:
                            commits.submit(_read_segment_batch, rdir, sdir, i, job)
                        else:
                            commits.submit(_commit_both, rdir, sdir, i, *_read_segment_work(*job))
                    bar.update(b.read)
                    i += 1
        bar.close()
        read_stats = rdir.totals() if rdir.done else rdir.finish(virtual=not keep_parts)
        sdir.write_metrics(segment_metrics(seg))
        return read_stats, sdir.finish()

    # -- segments ---------------------------------------------------------------
    def run_segment(self, stage: Stage, sdir: StageDir, prev: StageDir) -> list[dict]:
        self.bind_stage_ops(stage)
        bar = progress(None, stage.label)
        with Committer() as commits:  # (batch i is written while batch i+1 is processed)
            for i, df in enumerate(prefetch(C.iter_parts(prev.parts()))):
                if not sdir.committed(i):
                    kept, rej, stats = B.run_chain(df, stage.ops, stage.names)
                    commits.submit(sdir.commit_batch, i, kept, rej, stats)
                bar.update(df.height)
        bar.close()
        sdir.write_metrics(segment_metrics(stage))
        return sdir.finish()

    def run_global(self, stage: Stage, sdir: StageDir, prev: StageDir) -> list[dict]:
        op, name = stage.ops[0], stage.names[0]
        self.bind_stage_ops(stage)
        op.ensure_setup()
        lf = C.scan_parts(prev.parts())
        n_in = lf.select(pl.len()).collect().item() if prev.parts() else 0
        out = op.run(lf) if n_in or op.adds_rows else lf.collect()
        kept, rej = B.split_rejects(out)

        def write_parts(st) -> None:
            rej_frame = B.to_reject_frame(rej, stage=name, operator=op.name) if rej.height else None
            for i in range(C.n_parts(kept.height, self.batch_size)):
                part = kept.slice(i * self.batch_size, self.batch_size)
                rj = [rej_frame] if (rej_frame is not None and i == 0) else []
                sdir.commit_batch(i, part, rj, C.part_stats(i, st))

        return C.commit_global(sdir, op, name, rows_in=n_in, rows_kept=kept.height, rejects=rej,
                               write_parts=write_parts, metrics=op.report_metrics())

    @staticmethod
    def in_flight(ops: list) -> int:
        """Batches processed at once: two where there are cores for it and every operator
        says it may run on two batches at once (`batch_parallel`), else one."""
        return 2 if ops and all(op.batch_parallel for op in ops) and (os.cpu_count() or 1) > 1 else 1

    # -- binding operators to the run ---------------------------------------------
    def bind_source_ops(self, src: Source) -> None:
        for op, name in zip(src.ops, C.source_op_names(src)):
            op.bind(self.context(name, source=src.name))

    def bind_stage_ops(self, stage: Stage) -> None:
        for op, name in zip(stage.ops, stage.names):
            op.bind(self.context(name))

    def context(self, stage: str, source: str | None = None) -> RunContext:
        # every run-wide field (out, seed, llm, embedding) travels; only stage and source differ
        return dataclasses.replace(self.ctx, stage=stage, source=source)


def _read_segment_work(src: Source, b, seg: Stage, need_read: bool, need_seg: bool,
                       keep_parts: bool) -> tuple[tuple | None, tuple | None]:
    """One source batch through the source's operators and the first segment's."""
    kept, rej, stats = C.read_batch(src, b)
    out = B.run_chain(kept, seg.ops, seg.names) if need_seg else None
    read = (kept if keep_parts else None, rej, stats) if need_read else None
    return read, out


def _read_segment_batch(rdir: StageDir, sdir: StageDir, i: int, job: tuple) -> None:
    _commit_both(rdir, sdir, i, *_read_segment_work(*job))


def _commit_both(rdir: StageDir, sdir: StageDir, i: int, read: tuple | None, seg: tuple | None) -> None:
    if read is not None:  # the read batch first: a committed segment batch implies its read batch
        rdir.commit_batch(i, *read)
    if seg is not None:
        sdir.commit_batch(i, *seg)


def segment_metrics(stage: Stage) -> dict:
    """What a segment's operators report, asked of the driver's copies: what a map operator
    reports is known from its parameters (its model, licence), not from worker state."""
    return {n: m for op, n in zip(stage.ops, stage.names) if (m := op.report_metrics())}
