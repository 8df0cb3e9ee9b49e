"""Prompt-search specs: a YAML file (rules/recipes/prompt_search.yaml) read with safe_load.

    name: ...
    seed: 7
    llm: null                    # a backend spec; `--llm` overrides
    prompt_search: {prompt_file: judge_quality.yaml, entry: prompts.rubric, population: 6, ...}
    dev: {path: sample_data/alpaca.jsonl, limit: 40, offset: 0, plant_defects: 0.5, fewshot: 6}

Every key of `prompt_search` is a SearchConfig field; `dev` says where the labelled rows
come from. Unknown keys are errors that list the valid ones.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import polars as pl

from dataforge import rulefiles
from dataforge.errors import ConfigError, InputError
from dataforge.promptsearch import devset
from dataforge.promptsearch import target as T
from dataforge.promptsearch.search import SearchConfig

TOP = {"name", "description", "seed", "llm", "prompt_search", "dev"}
DEV = {"path", "limit", "offset", "plant_defects", "fewshot", "label"}


@dataclass
class Spec:
    name: str
    config: SearchConfig
    dev: dict
    llm: str | None
    where: str
    base: Path


def is_spec(path: str | Path) -> bool:
    try:
        doc = rulefiles.parse_yaml(Path(path).read_text(encoding="utf-8"), str(path))
    except (OSError, ConfigError):
        return False
    return isinstance(doc, dict) and "prompt_search" in doc


def load(path: str | Path) -> Spec:
    path = Path(path)
    try:
        doc = rulefiles.parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    where = str(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("prompt_search"), dict):
        raise ConfigError(f"{where}: a prompt-search spec is a mapping with a `prompt_search:` section")
    unknown = sorted(set(doc) - TOP)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid: {sorted(TOP)}")
    ps = dict(doc["prompt_search"])
    valid = {f.name for f in fields(SearchConfig)}
    bad = sorted(set(ps) - valid)
    if bad:
        raise ConfigError(f"{where}: prompt_search: unknown key(s) {bad}; valid: {sorted(valid)}")
    if "prompt_file" not in ps:
        raise ConfigError(f"{where}: prompt_search needs `prompt_file`")
    seed = doc.get("seed", 0)
    if not isinstance(seed, int):
        raise ConfigError(f"{where}: seed must be an integer")
    ps.setdefault("seed", seed)
    try:
        cfg = SearchConfig(**ps)
    except TypeError as e:
        raise ConfigError(f"{where}: prompt_search: {e}") from None
    _types(cfg, where)
    cfg.validate()
    dev = doc.get("dev") or {}
    if not isinstance(dev, dict) or "path" not in dev:
        raise ConfigError(f"{where}: `dev:` needs a `path` to the labelled rows")
    bad = sorted(set(dev) - DEV)
    if bad:
        raise ConfigError(f"{where}: dev: unknown key(s) {bad}; valid: {sorted(DEV)}")
    return Spec(name=doc.get("name") or path.stem, config=cfg, dev=dev, llm=doc.get("llm"), where=where,
                base=path.resolve().parent)


def _types(cfg: SearchConfig, where: str) -> None:
    for name in ("population", "generations", "max_llm_calls", "top_k", "patience", "max_failures", "seed"):
        v = getattr(cfg, name)
        if not isinstance(v, int) or isinstance(v, bool):
            raise ConfigError(f"{where}: prompt_search.{name} must be an integer, got {v!r}")
    for name in ("crossover_rate", "llm_mutation_rate", "reject_weight"):
        if not isinstance(getattr(cfg, name), (int, float)):
            raise ConfigError(f"{where}: prompt_search.{name} must be a number")


def find_data(path: str, base: Path) -> Path:
    p = Path(path)
    if p.exists() or p.is_absolute():
        return p
    for d in [base, *base.parents]:
        if (d / p).exists():
            return d / p
    raise InputError(f"dev set not found: {path} (looked in . and {base} and its parents)")


def read_rows(path: Path) -> pl.DataFrame:
    try:
        if path.suffix in (".jsonl", ".ndjson", ".json"):
            return pl.read_ndjson(path)
        if path.suffix == ".parquet":
            return pl.read_parquet(path)
        if path.suffix in (".csv", ".tsv"):
            return pl.read_csv(path, separator="\t" if path.suffix == ".tsv" else ",")
    except (pl.exceptions.PolarsError, OSError) as e:
        raise InputError(f"{path}: cannot read the dev set: {e}") from None
    raise InputError(f"{path}: dev set format not known (use .jsonl, .parquet or .csv)")


def dev_frame(spec: Spec) -> tuple[pl.DataFrame, list[str]]:
    """The dev rows and the few-shot pool (rows right after them, never the same rows)."""
    d = spec.dev
    df = read_rows(find_data(str(d["path"]), spec.base))
    offset, limit, shots = int(d.get("offset", 0)), d.get("limit"), int(d.get("fewshot", 0))
    label = d.get("label", spec.config.label)
    n = int(limit) if limit is not None else max(df.height - offset - shots, 0)
    df = df.slice(offset, n + shots)  # defects are planted in these rows only: a balanced dev set
    if d.get("plant_defects") and df.height:
        df = devset.planted_defects(df, float(d["plant_defects"]), spec.config.seed, label=label)
    dev, pool_rows = df.head(n), df.slice(n, shots)
    tgt = T.load(spec.config.prompt_file, spec.config.entry)
    kind = tgt.kind if spec.config.kind == "auto" else spec.config.kind
    scale = (int(tgt.doc["scale"]["min"]), int(tgt.doc["scale"]["max"])) if kind == "judge" else None
    return dev, devset.fewshot_texts(pool_rows, scale, label)


def check(spec: Spec) -> str:
    """Everything `dataforge validate` can check without an LLM: the prompt entry, the dev file."""
    tgt = T.load(spec.config.prompt_file, spec.config.entry)
    from dataforge.promptsearch import mutate

    mutate.meta(spec.config.meta_prompts)
    p = find_data(str(spec.dev["path"]), spec.base)
    return f"{tgt.path} entry '{spec.config.entry or '(root)'}' ({tgt.kind}), dev set {p}"
