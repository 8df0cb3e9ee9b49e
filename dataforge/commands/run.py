"""dataforge run RECIPE -o OUT [--force] [--llm SPEC] [--engine local|ray] [--embedding M] [--profile]."""
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
    p.add_argument("--embedding", help="run-wide embedding model: static | minilm | a model folder "
                                       "(overrides the recipe's `embedding:`)")
    p.add_argument("--profile", action="store_true", help="print the slowest stages and operators")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataforge import recipe

    pipe = recipe.load(args.recipe, overrides={"llm": args.llm, "embedding": getattr(args, "embedding", None)})
    res = pipe.run(out=args.out, force=args.force, engine=args.engine, address=args.address,
                   llm=args.llm)
    m = res.manifest
    tot = m["totals"]
    print(f"rows: {tot['rows_in']} read, {tot['rows_added']} added, {tot['rows_out']} written, "
          f"{tot['rows_rejected']} rejected ({res.seconds:.1f}s"
          + (f"; reused {len(res.skipped_stages)} finished stage(s)" if res.skipped_stages else "") + ")")
    print_stages(res.timings)
    if getattr(args, "profile", False):
        print_profile(res.timings)
    out = Path(args.out)
    print(f"shards:   {out / 'data'} ({len(m['shards'])} file(s): "
          + ", ".join(f"{k}={v}" for k, v in m["splits"].items()) + ")")
    lin = m.get("split_by") or {}
    if lin.get("rows_moved_by_lineage"):
        n = sum(n for to in lin["rows_moved_by_lineage"].values() for n in to.values())
        print(f"          split by lineage: {n} derived row(s) in their example's split rather than their own id's")
    if lin.get("rows_in_parent_loops"):
        print(f"WARNING:  {lin['rows_in_parent_loops']} row(s) have a parent_id chain that loops; they keep "
              "their own id's split")
    ex = m.get("exemplar_splits") or {}
    if ex.get("rows_to_train"):
        print(f"          few-shot exemplars: {sum(ex['rows_to_train'].values())} row(s) shown as exemplars "
              f"moved to {ex['training_split']} ("
              + ", ".join(f"from {k}: {v}" for k, v in ex["rows_to_train"].items()) + ")")
    if ex.get("cross_split_uses"):
        print(f"WARNING:  {ex['cross_split_uses']} few-shot exemplar use(s) show a non-{ex['training_split']} row "
              f"(with its answer) inside a row of another split (output.exemplar_split: {ex['policy']}; "
              "set it to train to avoid)")
    print(f"rejects:  {out / 'rejects'}")
    print(f"manifest: {out / 'manifest.json'}")
    if res.report.exists():
        print(f"report:   {res.report}")
    return 0


def _rate(s: dict) -> str:
    if s.get("reused"):
        return "reused"
    return f"{s['rows_per_s']:,.0f} rows/s" if s.get("rows_per_s") else "-"


def print_stages(timings: dict) -> None:
    """One line per checkpoint stage and output step: seconds and rows/s."""
    for s in timings.get("stages", []):
        print(f"  {s['stage'][:44]:<44} {s['seconds']:>8.2f}s  {s['rows_in']:>9,} rows  {_rate(s)}")


def print_profile(timings: dict, top: int = 10) -> None:
    """The slowest operators (inside segments too) and output steps, with their share of the run."""
    total = timings.get("total_s") or 0.0
    items = [(o["name"], o["seconds"]) for o in timings.get("operators", [])]
    items += [(s["stage"], s["seconds"]) for s in timings.get("stages", []) if s["kind"] in ("output", "read")]
    items.sort(key=lambda kv: -kv[1])
    print(f"profile (top {min(top, len(items))} of {len(items)}, total {total:.2f}s):")
    for name, sec in items[:top]:
        share = 100 * sec / total if total else 0.0
        print(f"  {name[:44]:<44} {sec:>8.2f}s  {share:5.1f}%")
