"""Side-by-side throughput: dataforge's vllm backend against calling the engine directly.

Both run on one engine (loaded once) over the same prompts and sampling, alternating
`repeats` times; the best time of each counts. Used by benchmarks/generate.py and
scripts/gpu_check.py.
"""
from __future__ import annotations

import time


def compare(model: str, n_prompts: int = 256, max_tokens: int = 64, repeats: int = 3, chat: bool = False,
            **engine_opts) -> dict:
    from dataforge.llm.base import Sampling
    from dataforge.llm.vllm import VLLM

    ours = VLLM(model, **engine_opts)
    engine = ours.engine  # the raw vllm.LLM both sides use
    prompts = [f"Write a short note about topic number {i}." for i in range(n_prompts)]
    sampling = Sampling(n=1, temperature=0.8, top_p=0.95, max_tokens=max_tokens)  # unseeded: see VLLM.seeded_requests
    sp = ours.sampling_params(sampling)
    chats = [[{"role": "user", "content": p}] for p in prompts]

    def raw():
        outs = engine.chat(chats, sp, use_tqdm=False) if chat else engine.generate(prompts, sp, use_tqdm=False)
        return sum(len(c.token_ids) for o in outs for c in o.outputs)

    def layer():
        res = ours.chat(chats, sampling) if chat else ours.generate(prompts, sampling)
        return sum(c.completion_tokens for r in res for c in r.completions)

    raw()  # warm-up (graph capture, caches)
    best = {"raw": float("inf"), "dataforge": float("inf")}
    tokens = {}
    for _ in range(repeats):
        for name, fn in (("raw", raw), ("dataforge", layer)):
            t = time.perf_counter()
            tokens[name] = fn()
            best[name] = min(best[name], time.perf_counter() - t)
    tps = {k: tokens[k] / best[k] for k in best}
    return {"prompts": n_prompts, "max_tokens": max_tokens, "tokens": tokens, "seconds": best,
            "tokens_per_s": tps, "ratio": tps["dataforge"] / tps["raw"]}
