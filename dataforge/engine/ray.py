"""The Ray engine: the local engine's stages, run as Ray Data jobs over checkpoint parts.

The unit of work is one checkpoint part (`batch_size` rows), exactly as in the local
engine, so both engines write the same `StageDir` layout and the same bytes:

- read:    the driver parses the sources (the readers are sequential per file) and ships
           each raw batch as Arrow IPC through the object store; a worker conforms it,
           runs the per-source operators and commits part/rejects/stats number i.
- segment: a Ray Data dataset of part descriptors; `map_batches` runs one part per call:
           Arrow table -> Polars (zero-copy) -> `batch.run_chain` -> commit. Operators with
           a `setup()` (models, indexes) or GPUs run in an actor pool, so setup happens
           once per actor; `num_cpus` / `num_gpus` come from the operators' `resources`.
- global:  the operator's own distributed form (`run_ray`, applied by `ray_globals`),
           else `op.run` on the driver over the checkpoint, as the local engine does,
           with a log line.

Workers read and write checkpoint parts themselves, so on a cluster OUT must be on
storage every node sees (NFS, a shared volume). A part commits when its stats file
lands, so a killed run resumes part by part, like the local engine.
"""
from __future__ import annotations

import io
import json
import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from dataforge.engine import batch as B
from dataforge.engine import checkpoint as C
from dataforge.engine.checkpoint import StageDir
from dataforge.engine.local import LocalEngine, segment_metrics
from dataforge.engine.plan import Stage
from dataforge.errors import DataforgeError, MissingResourceError
from dataforge.io.read import Batch
from dataforge.io.source import Source
from dataforge.ops.base import Operator, RunContext

log = logging.getLogger("dataforge.engine.ray")


class RayEngine(LocalEngine):
    name = "ray"
    fuse_read = False  # reads on the driver, segments on workers: nothing to fuse

    def __init__(self, root: Path, ctx: RunContext, batch_size: int, *, address: str | None = None,
                 window: int | None = None):
        super().__init__(root, ctx, batch_size)
        self.address = address
        connect(address)
        self.window = window or max(4, 4 * int(cluster_resources().get("CPU", 1)))

    # -- read -------------------------------------------------------------------
    def run_read(self, stage: Stage, sdir: StageDir, sources: list[Source]) -> list[dict]:
        for src in sources:
            self.bind_source_ops(src)
        job = ReadJob(self.root, stage, [_light_source(s) for s in sources])
        ops = [op for s in sources for op in s.ops]
        pending: list[dict] = []
        i = 0
        for k, src in enumerate(sources):
            for b in src.batches(self.batch_size):
                if not sdir.committed(i):
                    pending.append({"i": i, "src": k, "rows": to_ipc(b.rows),
                                    "bad": json.dumps(b.bad), "read": b.read})
                i += 1
                if len(pending) >= self.window:  # bounded: the driver never holds a whole source
                    self.map_parts(pending, job, ops)
                    pending = []
        if pending:
            self.map_parts(pending, job, ops)
        return sdir.finish()

    # -- segments ---------------------------------------------------------------
    def run_segment(self, stage: Stage, sdir: StageDir, prev: StageDir) -> list[dict]:
        why = [f"{op.name}: {op.driver_only}" for op in stage.ops if op.driver_only]
        if why:
            log.warning("stage '%s' runs on the driver, not on Ray (%s)", stage.label, "; ".join(why))
            return super().run_segment(stage, sdir, prev)
        self.bind_stage_ops(stage)
        items = [{"i": i, "path": str(p)} for i, p in enumerate(prev.parts()) if not sdir.committed(i)]
        if items:
            self.map_parts(items, SegmentJob(self.root, stage), stage.ops)
        sdir.write_metrics(segment_metrics(stage))
        return sdir.finish()

    # -- global -----------------------------------------------------------------
    def run_global(self, stage: Stage, sdir: StageDir, prev: StageDir) -> list[dict]:
        from dataforge.engine import ray_globals

        op = stage.ops[0]
        self.bind_stage_ops(stage)
        distributed, why = ray_globals.distributed_form(op)
        if distributed and not ray_globals.Rows(prev.parts()).n:
            distributed, why = False, "no rows"  # the local engine does not call the operator either
        if not distributed:
            log.info("global operator '%s' runs on the driver over the checkpoint: %s", op.name, why)
            return super().run_global(stage, sdir, prev)
        log.info("global operator '%s' runs distributed on Ray (%s)", op.name, why)
        op.ensure_setup()
        return ray_globals.run_distributed(self, stage, sdir, prev)

    # -- Ray Data plumbing --------------------------------------------------------
    def map_parts(self, items: list[dict], job, ops: list[Operator]) -> list[dict]:
        """Run `job.process(item)` for every item as a Ray Data `map_batches` job."""
        import ray.data

        have = cluster_resources()
        res = [resources_of(op, have) for op in ops]
        cpus = max([float(r.get("num_cpus", 1)) for r in res] or [1.0])
        gpus = max([float(r.get("num_gpus", 0)) for r in res] or [0.0])
        if gpus and have.get("GPU", 0) < gpus:
            names = [op.name for op, r in zip(ops, res) if r.get("num_gpus")]
            raise MissingResourceError(f"operator(s) {names} need {gpus:g} GPU(s) per worker; "
                                       f"the Ray cluster has {have.get('GPU', 0):g}")
        slots = int(have.get("CPU", 1) // cpus) or 1
        if gpus:
            slots = min(slots, int(have["GPU"] // gpus))
        slots = max(1, min(slots, len(items)))
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        kw = dict(batch_size=1, batch_format="pyarrow", num_cpus=cpus)
        if gpus:
            kw["num_gpus"] = gpus
        if gpus or any(needs_actor(op) for op in ops):
            # setup() once per actor, not once per part. A fixed pool, started at once: the
            # number of parts is known, and a growing pool starts its next actor only after
            # the first is ready (imports and model loads take seconds)
            kw["compute"] = ray.data.ActorPoolStrategy(size=slots)
            ds = ds.map_batches(PartWorker, fn_constructor_kwargs={"job": job}, **kw)
        else:
            kw["compute"] = ray.data.TaskPoolStrategy(size=slots)
            ds = ds.map_batches(_run_job, fn_kwargs={"job": job}, **kw)
        return collect(ds)


def resources_of(op: Operator, have: dict) -> dict:
    """The operator's declared resources; an LLM operator on a vLLM spec gets a GPU per
    actor when the cluster has GPUs (vLLM needs the device Ray assigns to the actor)."""
    res = dict(op.resources)
    spec = getattr(op, "llm", None) or (op.ctx.llm if "llm" in getattr(op, "__dataclass_fields__", {}) else None)
    if "num_gpus" not in res and isinstance(spec, str) and spec.startswith("vllm") and have.get("GPU", 0) >= 1:
        res["num_gpus"] = 1
    return res


def needs_actor(op: Operator) -> bool:
    return type(op).setup is not Operator.setup


def collect(ds) -> list[dict]:
    """Run a dataset to completion; a dataforge error raised in a worker is raised here as itself."""
    out = ds.take_all()
    for row in out:
        if row.get("error"):
            raise pickle.loads(row["error"])
    return out


# -- connecting -------------------------------------------------------------------

def connect(address: str | None) -> None:
    """Join a cluster at `address`, or start a local one; reuse a session already open."""
    import ray

    if not ray.is_initialized():
        if address:  # an existing cluster: its own settings apply
            ray.init(address=address, log_to_driver=False)
        else:
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private local cluster
            ray.init(include_dashboard=False, log_to_driver=False)
    import ray.data  # creates Ray Data's loggers, which set their own levels

    if not os.environ.get("DATAFORGE_RAY_VERBOSE"):  # our own progress is the manifest
        for name in list(logging.root.manager.loggerDict):
            if name == "ray.data" or name.startswith("ray.data."):
                logging.getLogger(name).setLevel(logging.WARNING)
    set_shuffle(os.environ.get("DATAFORGE_RAY_SHUFFLE") or (None if address else "sort_shuffle_pull_based"))
    # the admission pass streams a sorted dataset: blocks must arrive in order
    ray.data.DataContext.get_current().execution_options.preserve_order = True


def set_shuffle(strategy: str | None) -> None:
    """Shuffle used by group-bys and sorts of the global forms.

    On one machine the sort-based pull shuffle answers in tenths of a second where the
    default hash shuffle starts aggregator actors (seconds); clusters keep Ray's default.
    """
    if not strategy:
        return
    import ray.data
    from ray.data.context import ShuffleStrategy

    ray.data.DataContext.get_current().shuffle_strategy = ShuffleStrategy(strategy)


def cluster_resources() -> dict:
    import ray

    return ray.cluster_resources()


# -- jobs: what one worker does with one part ---------------------------------------

@dataclass
class SegmentJob:
    root: Path
    stage: Stage

    def process(self, item: dict) -> dict:
        import pyarrow.parquet as pq

        sdir = StageDir(self.root, self.stage)
        df = pl.from_arrow(pq.read_table(item["path"]))  # zero-copy Arrow -> Polars
        kept, rejects, stats = B.run_chain(df, self.stage.ops, self.stage.names)
        sdir.commit_batch(item["i"], kept, rejects, stats)
        return {"i": item["i"], "rows_in": df.height, "rows_out": kept.height}


@dataclass
class ReadJob:
    root: Path
    stage: Stage
    sources: list[Source]

    def process(self, item: dict) -> dict:
        src = self.sources[item["src"]]
        b = Batch(pl.read_ipc(io.BytesIO(item["rows"])), json.loads(item["bad"]), item["read"])
        # the checkpoint's one read-batch commit: same conform, same chain, same stats
        C.commit_read_batch(StageDir(self.root, self.stage), item["i"], src, b)
        return {"i": item["i"], "rows_in": b.read, "rows_out": b.rows.height}


class PartWorker:
    """Actor form of a job: operators' `setup()` runs once per actor, then stays loaded."""

    def __init__(self, job):
        self.job = job

    def __call__(self, batch: pa.Table) -> pa.Table:
        return _run_job(batch, self.job)


def _run_job(batch: pa.Table, job) -> pa.Table:
    out = []
    for item in batch.to_pylist():
        try:
            out.append(job.process(item) | {"error": None})
        except DataforgeError as e:  # a user error: carry it back so the CLI prints one line
            out.append({"i": item["i"], "error": pickle.dumps(e)})
    return pa.Table.from_pylist(out)


def to_ipc(df: pl.DataFrame) -> bytes:
    """A frame as Arrow IPC bytes, to travel through the object store."""
    buf = io.BytesIO()
    df.write_ipc(buf)
    return buf.getvalue()


def _light_source(src: Source) -> Source:
    """Workers need a source's name, operators and keep list, not its (maybe in-memory) data."""
    import copy

    s = copy.copy(src)
    if s.in_memory:
        s.path = "<in-memory>"
    return s
