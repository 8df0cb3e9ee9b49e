"""YAML recipes -> Pipeline objects. Loaded with yaml.safe_load; nothing in a recipe is executed.

    name: quickstart
    seed: 42
    sources:
      - name: alpaca
        path: sample_data/alpaca.jsonl
        set: {task: open_qa}
    pipeline:
      - normalize: {}
      - op: length            # the long form; `name:` labels the stage
        name: nonempty_output
        field: output
        min_chars: 1
    output:
      splits: {train: 0.95, validation: 0.05}

Relative source paths resolve against the working directory, then the recipe's folder
and its parents (so recipes in rules/recipes/ can name sample_data/ files).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from dataforge import rulefiles
from dataforge.errors import ConfigError
from dataforge.io.shards import ShardSpec
from dataforge.io.source import Source
from dataforge.ops import base
from dataforge.pipeline import OutputSpec, Pipeline

TOP_KEYS = {"name", "description", "seed", "batch_size", "llm", "embedding", "sources", "pipeline", "output"}
SOURCE_KEYS = {"name", "path", "format", "map", "set", "template", "ops", "on_error", "limit", "keep", "options"}
OUTPUT_KEYS = {"shard_size_mb", "max_rows_per_shard", "splits", "formats", "keep_columns", "report", "compression"}


def load(path: str | Path, *, overrides: dict | None = None) -> Pipeline:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read recipe: {e.strerror}") from None
    return loads(text, where=str(path), base_dir=path.resolve().parent, overrides=overrides)


def loads(text: str, *, where: str = "<recipe>", base_dir: Path | None = None,
          overrides: dict | None = None) -> Pipeline:
    doc = rulefiles.parse_yaml(text, where)
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: a recipe is a YAML mapping with `sources`, `pipeline`, `output`")
    _unknown(doc, TOP_KEYS, where)
    seed = doc.get("seed", 0)
    if not isinstance(seed, int):
        raise ConfigError(f"{where}: seed must be an integer")
    steps = doc.get("pipeline") or []
    if not isinstance(steps, list):
        raise ConfigError(f"{where}: `pipeline` must be a list of operator steps")
    ops, names = [], []
    for i, step in enumerate(steps):
        op, name = parse_step(step, f"{where}: pipeline step {i + 1}")
        ops.append(op)
        names.append(name)
    pipe = Pipeline(ops, names=names, seed=seed, batch_size=doc.get("batch_size", 50_000),
                    output=parse_output(doc.get("output") or {}, where), llm=doc.get("llm"),
                    name=doc.get("name") or Path(where).stem,
                    recipe_text=text, embedding=_embedding(doc.get("embedding"), where))
    pipe.sources = [parse_source(s, i, where, base_dir) for i, s in enumerate(doc.get("sources") or [])]
    if overrides:
        pipe.llm = overrides.get("llm") or pipe.llm
        pipe.embedding = _embedding(overrides.get("embedding"), where) or pipe.embedding
    return pipe


def _embedding(value: Any, where: str) -> str | None:
    """`embedding: static | minilm | <folder or hub id>` (the run-wide default of embedding operators)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: `embedding` is static, minilm or a model folder / hub id, got {value!r}")
    return value.strip()


def recipe_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def parse_step(step: Any, where: str) -> tuple[base.Operator, str | None]:
    if not isinstance(step, dict) or not step:
        raise ConfigError(f"{where}: a step is a mapping like `{{op: NAME, param: value}}` or `{{NAME: {{...}}}}`")
    step = dict(step)
    if "op" in step:
        name = step.pop("op")
        label = step.pop("name", None)
        params = step
    elif len(step) == 1:
        name, params = next(iter(step.items()))
        params = dict(params or {})
        label = params.pop("name", None) if isinstance(params, dict) else None
    else:
        raise ConfigError(f"{where}: use `op: NAME` when a step has several keys (got {list(step)})")
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: parameters of '{name}' must be a mapping")
    try:
        return base.create(name, params), label
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def parse_source(spec: Any, i: int, where: str, base_dir: Path | None) -> Source:
    w = f"{where}: source {i + 1}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{w}: a source is a mapping with at least `path`")
    _unknown(spec, SOURCE_KEYS, w)
    spec = dict(spec)
    if "path" not in spec:
        raise ConfigError(f"{w}: needs `path`")
    spec["path"] = resolve_path(str(spec["path"]), base_dir)
    spec.setdefault("name", Path(str(spec["path"]).split("*")[0].rstrip("/")).stem or f"source{i}")
    ops = []
    for j, step in enumerate(spec.pop("ops", None) or []):
        op, _ = parse_step(step, f"{w} ('{spec['name']}') op {j + 1}")
        ops.append(op)
    try:
        return Source(ops=ops, **spec)
    except TypeError as e:
        raise ConfigError(f"{w}: {e}") from None


def parse_output(spec: dict, where: str) -> OutputSpec:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: `output` must be a mapping")
    _unknown(spec, OUTPUT_KEYS, f"{where}: output")
    shards = ShardSpec(
        shard_size_mb=float(spec.get("shard_size_mb", 256)),
        max_rows_per_shard=spec.get("max_rows_per_shard"),
        splits=spec.get("splits") or {"train": 1.0},
        compression=spec.get("compression", "zstd"),
    )
    formats = spec.get("formats") or []
    if isinstance(formats, str):
        formats = [formats]
    return OutputSpec(shards=shards, formats=list(formats),
                      keep_columns=list(spec.get("keep_columns") or []), report=bool(spec.get("report", True)))


def resolve_path(p: str, base_dir: Path | None) -> str:
    cand = Path(p)
    if cand.is_absolute() or _exists(cand) or base_dir is None:
        return p
    for d in [base_dir, *base_dir.parents]:
        if _exists(d / p):
            return str(d / p)
    return p


def _exists(p: Path) -> bool:
    s = str(p)
    if any(ch in s for ch in "*?["):
        import glob

        return bool(glob.glob(s, recursive=True))
    return p.exists()


def _unknown(d: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(d) - allowed)
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")
