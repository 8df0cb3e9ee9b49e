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
OUTPUT_KEYS = {"shard_size_mb", "max_rows_per_shard", "splits", "formats", "keep_columns", "report", "compression",
               "tokenizer", "exemplar_split", "split_by"}
# `output.report` is true/false or a mapping of these (see docs/report.md)
REPORT_KEYS = {"enabled": bool, "warn_share": float, "sample_rows": int, "analysis_rows": int, "exact_token_rows": int}


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
        raise ConfigError(f"{where}:1: a recipe is a YAML mapping with `sources`, `pipeline`, `output`")
    _unknown(doc, TOP_KEYS, where)
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"{_at(where, doc, 'seed')}: seed must be an integer, got {seed!r}")
    batch_size = doc.get("batch_size", 50_000)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ConfigError(f"{_at(where, doc, 'batch_size')}: batch_size must be an integer >= 1, got {batch_size!r}")
    for key in ("name", "description", "llm"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise ConfigError(f"{_at(where, doc, key)}: `{key}` must be text, got {type(doc[key]).__name__}")
    steps = doc.get("pipeline") or []
    if not isinstance(steps, list):
        raise ConfigError(f"{_at(where, doc, 'pipeline')}: `pipeline` must be a list of operator steps")
    ops, names = [], []
    for i, step in enumerate(steps):
        op, name = parse_step(step, f"pipeline step {i + 1}", where, rulefiles.line_of(steps, i))
        ops.append(op)
        names.append(name)
    # parsed before the try below: their errors already name their own line
    output = parse_output(doc.get("output") or {}, where)
    embedding = _embedding(doc.get("embedding"), where)
    try:
        pipe = Pipeline(ops, names=names, seed=seed, batch_size=batch_size,
                        output=output, llm=doc.get("llm"),
                        name=doc.get("name") or Path(where).stem,
                        recipe_text=text, embedding=embedding)
    except ConfigError as e:  # stage names: duplicates or unsafe characters
        raise ConfigError(f"{_at(where, doc, 'pipeline')}: {e}") from None
    srcs = doc.get("sources") or []
    if not isinstance(srcs, list):
        raise ConfigError(f"{_at(where, doc, 'sources')}: `sources` must be a list of sources")
    pipe.sources = [parse_source(s, i, where, base_dir, rulefiles.line_of(srcs, i)) for i, s in enumerate(srcs)]
    names_ = [s.name for s in pipe.sources]
    dup = sorted({n for n in names_ if names_.count(n) > 1})
    if dup:
        raise ConfigError(f"{_at(where, doc, 'sources')}: source names must be unique; repeated: {dup}")
    if overrides:
        pipe.llm = overrides.get("llm") or pipe.llm
        pipe.embedding = _embedding(overrides.get("embedding"), where) or pipe.embedding
    return pipe


def _at(where: str, node: Any = None, key: Any = None, line: int | None = None) -> str:
    """'recipe.yaml:LINE' from the YAML position of `node` (or of `key` in it)."""
    if line is None and node is not None:
        line = rulefiles.line_of(node, key) if key is not None else None
        line = line or rulefiles.line_of(node)
    return f"{where}:{line}" if line else where


def _embedding(value: Any, where: str) -> str | None:
    """`embedding: static | minilm | <folder or hub id>` (the run-wide default of embedding operators)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: `embedding` is static, minilm or a model folder / hub id, got {value!r}")
    return value.strip()


def parse_step(step: Any, what: str, where: str = "<recipe>",
               line: int | None = None) -> tuple[base.Operator, str | None]:
    w = f"{_at(where, step, line=line)}: {what}"
    if not isinstance(step, dict) or not step:
        raise ConfigError(f"{w}: a step is a mapping like `{{op: NAME, param: value}}` or `{{NAME: {{...}}}}`")
    raw = step
    step = dict(step)
    if "op" in step:
        name = step.pop("op")
        label = step.pop("name", None)
        params, pnode = step, raw
    elif len(step) == 1:
        name, pnode = next(iter(step.items()))
        if pnode is not None and not isinstance(pnode, dict):
            raise ConfigError(f"{_at(where, raw, name)}: {what}: parameters of '{name}' must be a mapping")
        params = dict(pnode or {})
        label = params.pop("name", None)
    else:
        raise ConfigError(f"{w}: use `op: NAME` when a step has several keys (got {list(step)})")
    if not isinstance(name, str):
        raise ConfigError(f"{w}: the operator name must be text, got {name!r}")
    if label is not None and not isinstance(label, str):
        raise ConfigError(f"{_at(where, pnode, 'name')}: {what}: `name` must be text, got {label!r}")
    try:
        return base.create(name, params), label
    except ConfigError as e:
        msg = str(e)
        # point at the parameter the message names, else at the step
        hit = next((k for k in params if isinstance(k, str) and f"'{k}'" in msg.split(";")[0]), None)
        if hit is None:
            hit = next((k for k in params if isinstance(k, str) and f"'{k}'" in msg), None)
        loc = _at(where, pnode, hit) if hit is not None and isinstance(pnode, dict) else w.split(": ")[0]
        raise ConfigError(f"{loc}: {what} ('{name}'): {msg}") from None


def parse_source(spec: Any, i: int, where: str, base_dir: Path | None, line: int | None = None) -> Source:
    loc = _at(where, spec, line=line)
    w = f"{loc}: source {i + 1}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{w}: a source is a mapping with at least `path`")
    _unknown(spec, SOURCE_KEYS, f"{where}: source {i + 1}", node=spec)
    raw = spec
    spec = dict(spec)
    if "path" not in spec:
        raise ConfigError(f"{w}: needs `path`")
    if not isinstance(spec["path"], str) or not spec["path"]:
        raise ConfigError(f"{_at(where, raw, 'path')}: source {i + 1}: `path` must be a file, glob or folder name")
    types = {"name": str, "format": str, "map": dict, "set": dict, "template": dict, "ops": list,
             "on_error": str, "limit": int, "keep": list, "options": dict}
    for key, tp in types.items():
        v = spec.get(key)
        if v is not None and (not isinstance(v, tp) or isinstance(v, bool)):
            raise ConfigError(f"{_at(where, raw, key)}: source {i + 1}: `{key}` must be "
                              f"{_TYPE_WORDS[tp]}, got {type(v).__name__} {v!r}")
    for key in ("map", "template"):
        for target, v in (spec.get(key) or {}).items():
            if not isinstance(v, str):
                raise ConfigError(f"{_at(where, raw.get(key), target)}: source {i + 1}: {key} {target}: "
                                  f"must be a field name / text, got {type(v).__name__} {v!r}")
    spec["path"] = resolve_path(str(spec["path"]), base_dir)
    spec.setdefault("name", Path(str(spec["path"]).split("*")[0].rstrip("/")).stem or f"source{i}")
    ops = []
    op_nodes = spec.pop("ops", None) or []
    for j, step in enumerate(op_nodes):
        op, _ = parse_step(step, f"source {i + 1} ('{spec['name']}') op {j + 1}", where,
                           rulefiles.line_of(op_nodes, j))
        ops.append(op)
    try:
        return Source(ops=ops, **spec)
    except (TypeError, ConfigError) as e:
        msg = str(e)
        hit = next((k for k in SOURCE_KEYS if k in raw and (f"{k} " in msg or f"`{k}`" in msg)), None)
        raise ConfigError(f"{_at(where, raw, hit) if hit else loc}: source {i + 1}: {msg}") from None


_TYPE_WORDS = {str: "text", dict: "a mapping", list: "a list", int: "an integer"}


def parse_output(spec: Any, where: str) -> OutputSpec:
    if not isinstance(spec, dict):
        raise ConfigError(f"{_at(where, spec)}: `output` must be a mapping")
    _unknown(spec, OUTPUT_KEYS, f"{where}: output", node=spec)
    try:
        shards = ShardSpec(
            shard_size_mb=float(spec.get("shard_size_mb", 256)),
            max_rows_per_shard=spec.get("max_rows_per_shard"),
            splits=spec.get("splits") or {"train": 1.0},
            compression=spec.get("compression", "zstd"),
            exemplar_split=spec.get("exemplar_split", "train"),
            split_by=spec.get("split_by", "lineage"),
        )
    except (ConfigError, TypeError, ValueError) as e:
        key = next((k for k in ("splits", "max_rows_per_shard", "compression", "shard_size_mb", "exemplar_split",
                                 "split_by")
                    if k in spec and k in str(e)), "splits" if "splits" in spec else None)
        raise ConfigError(f"{_at(where, spec, key)}: output: {e}") from None
    formats = spec.get("formats") or []
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list):
        raise ConfigError(f"{_at(where, spec, 'formats')}: output: `formats` must be a list of format names")
    from dataforge.io import export

    for j, f in enumerate(formats):
        fline = rulefiles.line_of(spec.get("formats"), j) if isinstance(spec.get("formats"), list) else None
        try:
            export.check(f)
        except ConfigError as e:
            raise ConfigError(f"{_at(where, spec, 'formats', line=fline)}: output: formats: {e}") from None
    keep = spec.get("keep_columns") or []
    if not isinstance(keep, list) or not all(isinstance(c, str) for c in keep):
        raise ConfigError(f"{_at(where, spec, 'keep_columns')}: output: `keep_columns` must be a list of column names")
    report, options = parse_report(spec.get("report", True), where)
    if spec.get("tokenizer") is not None:
        options["tokenizer"] = str(spec["tokenizer"])
    return OutputSpec(shards=shards, formats=list(formats), keep_columns=list(keep),
                      report=report, report_options=options)


def parse_report(spec: Any, where: str) -> tuple[bool, dict]:
    """`report: false`, or `report: {warn_share: 0.05, ...}`: whether to build it, and its options.

    `where` is the recipe file; errors name the line of the bad key."""
    if not isinstance(spec, dict):
        return bool(spec), {}
    _unknown(spec, set(REPORT_KEYS), f"{where}: output.report", node=spec)
    opts = {}
    for k, v in spec.items():
        typ = REPORT_KEYS[k]
        if isinstance(v, bool) != (typ is bool) or not isinstance(v, (int, float) if typ is float else typ):
            raise ConfigError(f"{_at(where, spec, k)}: output.report.{k}: expected {typ.__name__}, got {v!r}")
        opts[k] = typ(v)
    if not 0 < opts.get("warn_share", 0.1) <= 1:
        raise ConfigError(f"{_at(where, spec, 'warn_share')}: output.report.warn_share: a share in (0, 1], "
                          f"got {opts['warn_share']}")
    return opts.pop("enabled", True), opts


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


def _unknown(d: dict, allowed: set[str], where: str, node: Any = None) -> None:
    extra = sorted((k for k in d if k not in allowed), key=str)
    if extra:
        file, _, rest = where.partition(": ")
        loc = _at(file, node if node is not None else d, extra[0])
        raise ConfigError(f"{loc}: {rest + ': ' if rest else ''}unknown key(s) {extra}; "
                          f"allowed: {sorted(allowed)}")
