"""Side-by-side throughput: dataforge's vllm backend against calling the engine directly.

All sides share one engine (loaded once) and run the same prompts and sampling, in rotating
order, `repeats` times; the best time of each counts (the least disturbed run on a shared
machine). Three sides: `raw` (vllm.LLM.generate/chat), `dataforge` (our VLLM backend) and
`dataforge+cache` (the backend behind the completion cache, cold, as operators use it).

Wall-clock ratios are noisy on a busy machine, so the layer's own cost is also measured
directly: a timing proxy around the engine records the time spent inside vLLM during each
layer call; everything else (building SamplingParams, converting outputs, hashing keys,
SQLite) is our overhead. `engine_share` = time inside vLLM / whole layer call: the ratio our
layer would reach if the engine ran equally fast on both sides.
Used by benchmarks/generate.py and scripts/gpu_check.py.
"""
from __future__ import annotations

import shutil
import tempfile
import time


class _TimedEngine:
    """Forwards to a vllm.LLM and adds up the seconds spent in generate/chat."""

    def __init__(self, engine):
        self._engine = engine
        self.seconds = 0.0

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def _timed(self, fn, *a, **kw):
        t = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            self.seconds += time.perf_counter() - t

    def generate(self, *a, **kw):
        return self._timed(self._engine.generate, *a, **kw)

    def chat(self, *a, **kw):
        return self._timed(self._engine.chat, *a, **kw)


def compare(model: str, n_prompts: int = 256, max_tokens: int = 64, repeats: int = 5, chat: bool = False,
            ours=None, **engine_opts) -> dict:
    """Run the three sides; `ours` reuses an already built VLLM backend (one engine per process)."""
    from dataforge.llm.base import Sampling
    from dataforge.llm.cache import CachedLLM
    from dataforge.llm.vllm import VLLM

    ours = ours or VLLM(model, **engine_opts)
    engine = ours.engine  # the raw vllm.LLM every side uses
    timed = _TimedEngine(engine)
    prompts = [f"Write a short note about topic number {i}." for i in range(n_prompts)]
    sampling = Sampling(n=1, temperature=0.8, top_p=0.95, max_tokens=max_tokens)  # unseeded: see VLLM.seeded_requests
    sp = ours.sampling_params(sampling)
    chats = [[{"role": "user", "content": p}] for p in prompts]
    tmp = tempfile.mkdtemp(prefix="df-bench-cache-")

    def raw():
        outs = engine.chat(chats, sp, use_tqdm=False) if chat else engine.generate(prompts, sp, use_tqdm=False)
        return sum(len(c.token_ids) for o in outs for c in o.outputs)

    def layer(llm):
        res = llm.chat(chats, sampling) if chat else llm.generate(prompts, sampling)
        return sum(c.completion_tokens for r in res for c in r.completions)

    sides = ("raw", "dataforge", "dataforge+cache")
    best = {k: float("inf") for k in sides}
    tokens: dict[str, int] = {}
    share = {k: 0.0 for k in sides[1:]}  # best engine share of the layer sides
    try:
        raw()  # warm-up (graph capture, caches)
        ours._engine = timed
        for rep in range(repeats):
            # a fresh, cold cache each repeat: every request is a miss, as in a first run
            cached = CachedLLM(ours, f"{tmp}/{rep}")
            fns = {"raw": raw, "dataforge": lambda: layer(ours), "dataforge+cache": lambda: layer(cached)}
            order = sides[rep % 3:] + sides[:rep % 3]  # rotate who runs first
            for name in order:
                timed.seconds = 0.0
                t = time.perf_counter()
                tokens[name] = fns[name]()
                dt = time.perf_counter() - t
                best[name] = min(best[name], dt)
                if name != "raw":
                    share[name] = max(share[name], timed.seconds / dt)
            cached._db.close()  # keep the engine: CachedLLM.close would close it too
    finally:
        ours._engine = engine
        shutil.rmtree(tmp, ignore_errors=True)
    tps = {k: tokens[k] / best[k] for k in sides}
    return {"prompts": n_prompts, "max_tokens": max_tokens, "repeats": repeats, "tokens": tokens,
            "seconds": best, "tokens_per_s": tps, "ratio": tps["dataforge"] / tps["raw"],
            "ratio_cached": tps["dataforge+cache"] / tps["raw"], "engine_share": share}
