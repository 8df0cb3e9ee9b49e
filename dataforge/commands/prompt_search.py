"""dataforge prompt-search SPEC -o OUT [--llm SPEC]: search better prompts for one prompt-file entry."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("prompt-search", help="evolve a prompt on a labelled dev set; write a new prompt file "
                                             "with a weighted top-k ensemble, a log and a report")
    p.add_argument("spec", help="prompt-search YAML (e.g. rules/recipes/prompt_search.yaml)")
    p.add_argument("-o", "--out", required=True, help="output folder (search.jsonl, report.html, the new prompt file)")
    p.add_argument("--llm", help="LLM backend spec: vllm:MODEL | openai:URL@MODEL | hf:MODEL")
    p.add_argument("--generations", type=int)
    p.add_argument("--population", type=int)
    p.add_argument("--max-llm-calls", type=int)
    p.add_argument("--seed", type=int)
    p.set_defaults(func=run)


def run(args) -> int:
    from dataforge import promptsearch
    from dataforge.errors import ConfigError
    from dataforge.llm import for_op, from_spec
    from dataforge.llm.cache import CachedLLM
    from dataforge.promptsearch import spec as S

    spec = S.load(args.spec)
    for name in ("generations", "population", "max_llm_calls", "seed"):
        if getattr(args, name) is not None:
            setattr(spec.config, name, getattr(args, name))
    spec.config.validate()
    llm_spec = args.llm or spec.llm
    if not llm_spec:
        raise ConfigError("prompt-search needs an LLM: --llm SPEC (vllm:MODEL, openai:URL@MODEL or hf:MODEL) "
                          "or `llm:` in the spec")
    dev, pool = S.dev_frame(spec)
    if pool and not spec.config.fewshot_pool:
        spec.config.fewshot_pool = pool
    out = Path(args.out)
    # an engine this process already runs under that spec (a vLLM engine is started once) is
    # reused and left open; a rerun is answered from the cache
    shared = for_op.registered(llm_spec)
    engine = shared or from_spec(llm_spec)
    llm = CachedLLM(engine, out / "cache" / "llm")
    try:
        res = promptsearch.run(spec.config, dev, llm, out)
    finally:
        if shared is None:
            llm.close()
        else:
            llm.close_cache()
    print(f"prompt search {res.search_id}: fitness {res.original_fitness:.4f} (original) -> "
          f"{res.best_fitness:.4f} (best, {res.best.op}); {res.llm_calls} LLM calls "
          f"({llm.hits} from the cache); stopped: {res.stop_reason} ({res.stop_detail})")
    if res.ensemble_dev is not None:
        print(f"ensemble of {len(res.ranked)}: dev {res.ensemble_dev:.4f} with fitted weights, "
              f"{res.mean_dev:.4f} unweighted")
    print(f"prompts: {res.prompt_file}")
    print(f"log:     {res.log}")
    print(f"report:  {res.report}")
    return 0
