"""GPU check of the MiniLM embedding path: dataforge's `embed.Embedder` next to raw
`SentenceTransformer.encode` on the same texts, and its vectors on the GPU against the CPU's.

    python scripts/gpu_embed_check.py --model DIR [--texts sample_data/alpaca.jsonl] [--repeat 4]

DIR is a sentence-transformers folder; weights stored as float16 (to fit a small transfer)
are widened back to float32 in a temporary copy first, so both devices run the same float32
model. Prints one JSON line per measurement. The machine needs torch with CUDA, numpy,
pyarrow and sentence-transformers; polars is not needed: when it is missing, only
`dataforge.embed` (which does not use it) is loaded, past the package's __init__.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def import_embed():
    """dataforge.embed; without polars, the package's __init__ (which needs it) is skipped."""
    sys.path.insert(0, str(ROOT))
    if importlib.util.find_spec("polars") is None:
        pkg = types.ModuleType("dataforge")
        pkg.__path__ = [str(ROOT / "dataforge")]
        sys.modules["dataforge"] = pkg
    from dataforge import embed

    return embed


def float32_copy(src: Path) -> Path:
    """A copy of the model folder whose safetensors weights are float32."""
    import torch
    from safetensors.torch import load_file, save_file

    dst = Path(tempfile.mkdtemp()) / "model"
    shutil.copytree(src, dst)
    for f in dst.rglob("*.safetensors"):
        t = load_file(str(f))
        save_file({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in t.items()},
                  str(f), metadata={"format": "pt"})
    return dst


def best(fn, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", default=str(ROOT / "sample_data" / "alpaca.jsonl"))
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--device", default="cuda", help="cuda; cpu to try the script here")
    ap.add_argument("--copies", type=int, default=8, help="distinct variants of each text (more rows)")
    a = ap.parse_args()

    import numpy as np
    import torch

    has_polars = importlib.util.find_spec("polars") is not None
    embed = import_embed()
    from sentence_transformers import SentenceTransformer

    rows = [json.loads(line) for line in Path(a.texts).read_text().splitlines() if line.strip()]
    base = [r["output"] for r in rows if r.get("output")] + [r["instruction"] for r in rows]
    texts = [f"{t} ({i})" if i else t for i in range(a.copies) for t in base]  # distinct, so nothing is cached
    chars = sum(map(len, texts)) / len(texts)
    path = str(float32_copy(Path(a.model)))
    print(json.dumps({"gpu": torch.cuda.get_device_name(0) if a.device == "cuda" else a.device, "torch": torch.__version__,
                      "texts": len(texts), "mean_chars": round(chars, 1)}), flush=True)

    raw = SentenceTransformer(path, device=a.device)
    raw.encode(texts[:512], batch_size=64)  # warm-up: kernels, allocator
    for bs in (64, 256):
        t_raw = best(lambda: raw.encode(texts, batch_size=bs, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False), a.repeat)

        def ours(cache=None):
            e = embed.Embedder(path, cache_dir=cache, batch_size=bs, device=a.device)
            e.encode(texts)

        t_ours = best(ours, a.repeat)
        # the disk cache writes Parquet through dataforge.io.atomic, which needs polars
        t_disk = best(lambda: ours(tempfile.mkdtemp()), a.repeat) if has_polars else None
        e = embed.Embedder(path, batch_size=bs, device=a.device)
        e.encode(texts)
        t_warm = best(lambda: e.encode(texts), a.repeat)
        print(json.dumps({"batch_size": bs, "raw_texts_per_s": round(len(texts) / t_raw),
                          "ours_texts_per_s": round(len(texts) / t_ours),
                          "ours_over_raw": round(t_ours / t_raw, 3),
                          "ours_with_disk_cache_over_raw": round(t_disk / t_raw, 3) if t_disk else "no polars",
                          "warm_cache_texts_per_s": round(len(texts) / t_warm)}), flush=True)

    # the same vectors on both devices (float32 both; kernels differ, so not bit-equal)
    sample = base[:1024]
    g = embed.Embedder(path, device=a.device).encode(sample)
    c = embed.Embedder(path, device="cpu").encode(sample)
    cos = np.sum(g * c, axis=1)
    iu = np.triu_indices(len(sample), 1)
    pair_diff = np.abs((g @ g.T)[iu] - (c @ c.T)[iu])
    print(json.dumps({"cpu_vs_gpu_rows": len(sample), "min_cosine": float(cos.min()),
                      "max_abs_diff": float(np.abs(g - c).max()),
                      "max_pairwise_cosine_diff": float(pair_diff.max())}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
