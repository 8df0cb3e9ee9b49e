"""Which exact weights a model name stands for: the `revision` recorded in meta and the manifest.

    revision_of("Qwen/Qwen2.5-7B-Instruct")  -> the commit hash of the cached snapshot
    revision_of("/models/tiny")              -> "local-sha256:<16 hex>" of the folder's files
    revision_of(name, "v1.0")                -> "v1.0" (an explicit revision wins)

Never downloads: a hub id that is not in the local cache gives None (unknown).
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

_SNAPSHOT = re.compile(r"/snapshots/([0-9a-f]{40})(?:/|$)")
_SMALL = 1 << 20  # files under 1 MiB (configs, tokenizers) are hashed by content, the rest by size


def revision_of(model: str | None, explicit: str | None = None) -> str | None:
    if explicit:
        return str(explicit)
    if not model:
        return None
    return _revision(str(model))


@lru_cache(maxsize=64)
def _revision(model: str) -> str | None:
    p = Path(model).expanduser()
    if p.exists():
        m = _SNAPSHOT.search(str(p.resolve()))
        if m:
            return m.group(1)
        return local_digest(p)
    if model.count("/") == 1 and not model.startswith(("/", ".")):  # a hub id: ask the local cache only
        try:
            from huggingface_hub import snapshot_download

            m = _SNAPSHOT.search(snapshot_download(model, local_files_only=True))
            return m.group(1) if m else None
        except Exception:  # noqa: BLE001 - not cached, or no huggingface_hub: unknown
            return None
    return None


def local_digest(path: Path) -> str:
    """A content identity of a local model file or folder without reading gigabytes of weights:
    small files by content, large ones by name and size."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(q for q in path.rglob("*") if q.is_file())
    for f in files:
        rel = f.name if f == path else f.relative_to(path).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        size = f.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        if size < _SMALL:
            h.update(f.read_bytes())
    return "local-sha256:" + h.hexdigest()[:16]
