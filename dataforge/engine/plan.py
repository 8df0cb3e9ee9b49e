"""Split a pipeline into checkpointed stages and key each by everything before it.

Stage 0 reads every source (with its per-source operators). Then consecutive map/filter
operators form one streaming segment; each global operator is a stage of its own.
A stage's key hashes its operators' fingerprints and the previous stage's key, so
changing one operator reruns that stage and those after it only.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field

from dataforge.errors import ConfigError
from dataforge.io.source import Source
from dataforge.ops.base import Operator
from dataforge.schema import COLUMNS

log = logging.getLogger(__name__)

FORMAT_VERSION = "3"  # bump when the checkpoint layout or the row ids change (2: XXH3 ids; 3: meta.origin)


@dataclass
class Stage:
    index: int
    kind: str  # "read" | "segment" | "global"
    ops: list[Operator] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    key: str = ""

    @property
    def label(self) -> str:
        if self.kind == "read":
            return "read"
        return "+".join(self.names)[:60]

    @property
    def dirname(self) -> str:
        safe = "".join(ch if ch.isalnum() or ch in "-_+" else "_" for ch in self.label)
        return f"{self.index:02d}-{safe}-{self.key[:16]}"


def digest(obj) -> str:
    """sha256 of an object's canonical JSON: the checkpoint and manifest keys."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def stage_names(ops: list[Operator], names: list[str | None] | None = None) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, op in enumerate(ops):
        base = (names[i] if names and names[i] else None) or op.name
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return out


def op_key(op: Operator, run_llm: str | None, run_embedding: str | None = None) -> str:
    """An operator's fingerprint, plus the run's --llm / embedding when the operator falls back to it."""
    fp = op.fingerprint()
    if getattr(op, "llm", "") is None and run_llm:
        fp = digest([fp, run_llm])
    if run_embedding:
        from dataforge.embed import embedding_param, model_identity

        p = embedding_param(op)
        if p and getattr(op, p) is None and model_identity(run_embedding) != model_identity(None):
            fp = digest([fp, {"embedding": model_identity(run_embedding)}])
    return fp


def build(sources: list[Source], ops: list[Operator], names: list[str], *,
          batch_size: int, seed: int, llm: str | None = None, embedding: str | None = None) -> list[Stage]:
    read = Stage(0, "read")
    read.key = digest({"v": FORMAT_VERSION, "batch": batch_size, "seed": seed,
                   "sources": [s.fingerprint() for s in sources],
                   "source_ops": [[op_key(o, llm, embedding) for o in s.ops] for s in sources]})
    stages = [read]
    current: Stage | None = None
    for op, name in zip(ops, names):
        if op.kind == "global":
            current = None
            stages.append(Stage(len(stages), "global", [op], [name]))
        else:
            if current is None:
                current = Stage(len(stages), "segment")
                stages.append(current)
            current.ops.append(op)
            current.names.append(name)
    prev = read.key
    for st in stages[1:]:
        st.key = digest({"prev": prev, "ops": [op_key(op, llm, embedding) for op in st.ops], "names": st.names})
        prev = st.key
    return stages


def check_inputs(source_columns: dict[str, list[str]], sources: list[Source],
                  ops: list[Operator], names: list[str]) -> None:
    """Fail before running if an operator needs a column nothing provides. A source that
    read no rows (an empty file) has no columns to check: it is skipped with a warning."""
    for src in sources:
        cols = set(source_columns[src.name])
        if not cols:
            where = "<in-memory>" if src.in_memory else str(src.path)
            log.warning("source '%s' (%s) has no rows: nothing of it to run", src.name, where)
            continue
        for op in src.ops:
            cols = _advance(cols, op, f"source '{src.name}' operator '{op.name}'")
        if "instruction" in cols and "output" in cols:
            cols |= set(COLUMNS)
        cols.add("id")
        for op, name in zip(ops, names):
            cols = _advance(cols, op, f"stage '{name}' (operator '{op.name}', rows from source '{src.name}')")


def _advance(cols: set[str], op: Operator, where: str) -> set[str]:
    need = [c for c in op.columns_in() if c not in cols]
    if need:
        raise ConfigError(f"{where} needs column(s) {need}, which no source or earlier "
                          f"operator provides; available: {sorted(cols)}")
    out = cols | set(op.columns_out())
    if "instruction" in out and "output" in out:
        out |= set(COLUMNS)
    return out


def check_kept(source_columns: dict[str, list[str]], sources: list[Source], ops: list[Operator],
               keep_columns: list[str], *, log_them: bool = True) -> list[str]:
    """Warnings (logged and returned) for kept columns that nothing provides: a source's `keep`
    naming a field its rows lack, an output `keep_columns` entry no source keeps and no step
    makes. A typo there would otherwise write nothing for the column, silently. Sources that
    read no rows have no columns to check."""
    import difflib

    warnings = []
    made = {c for op in list(ops) + [o for s in sources for o in s.ops] for c in op.columns_out()}
    kept: set[str] = set()
    for src in sources:
        cols = source_columns.get(src.name) or []
        for c in src.keep:
            if cols and c not in cols and c not in made:
                near = difflib.get_close_matches(c, cols, n=1)
                warnings.append(f"source '{src.name}': keep '{c}': no field '{c}' in its first rows"
                                + (f" (did you mean '{near[0]}'?)" if near else "") + f"; fields are {sorted(cols)}")
        kept |= {c for c in src.keep if c in cols or c in made}
    if any(source_columns.get(s.name) for s in sources):
        have = kept | made | set(COLUMNS)
        fields = {c for s in sources for c in (source_columns.get(s.name) or [])}
        for c in keep_columns:
            if c in have or c.startswith("score_"):
                continue
            if c in fields:
                warnings.append(f"output keep_columns '{c}': the sources have it, but none keeps it; add "
                                f"`keep: [{c}]` to the source(s) that have it")
            else:
                near = difflib.get_close_matches(c, sorted(fields | kept | made), n=1)
                warnings.append(f"output keep_columns '{c}': no source or step has a column '{c}'"
                                + (f" (did you mean '{near[0]}'?)" if near else ""))
    for w in warnings if log_them else ():
        log.warning("%s", w)
    return warnings
