"""dataforge run RECIPE -o OUT [--force] [--llm SPEC] [--engine local|ray]."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("run", help="run a recipe into an output folder (resumes if interrupted)")
    p.add_argument("recipe")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--force", action="store_true", help="ignore checkpoints and run every stage")
    p.add_argument("--llm", help="LLM backend spec: vllm:MODEL | openai:URL@MODEL | hf:MODEL")
    p.add_argument("--engine", default="local", choices=["local", "ray"])
    p.add_argument("--address", help="Ray cluster address (with --engine ray)")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataforge import recipe

    pipe = recipe.load(args.recipe, overrides={"llm": args.llm})
    res = pipe.run(out=args.out, force=args.force, engine=args.engine, address=args.address,
                   llm=args.llm)
    m = res.manifest
    tot = m["totals"]
    print(f"rows: {tot['rows_in']} read, {tot['rows_added']} added, {tot['rows_out']} written, "
          f"{tot['rows_rejected']} rejected ({res.seconds:.1f}s"
          + (f"; reused {len(res.skipped_stages)} finished stage(s)" if res.skipped_stages else "") + ")")
    out = Path(args.out)
    print(f"shards:   {out / 'data'} ({len(m['shards'])} file(s): "
          + ", ".join(f"{k}={v}" for k, v in m["splits"].items()) + ")")
    print(f"rejects:  {out / 'rejects'}")
    print(f"manifest: {out / 'manifest.json'}")
    if res.report.exists():
        print(f"report:   {res.report}")
    return 0
