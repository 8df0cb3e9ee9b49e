"""dataforge validate RECIPE: parse, build every operator, check sources and columns."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a recipe without running it")
    p.add_argument("recipe")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataforge import recipe
    from dataforge.engine import plan
    from dataforge.pipeline import _peek_columns, check_records
    from dataforge.promptsearch import spec as prompt_search

    if prompt_search.is_spec(args.recipe):  # a prompt-search spec (docs/prompt-search.md)
        print(f"{args.recipe}: ok (prompt search: {prompt_search.check(prompt_search.load(args.recipe))})")
        return 0

    pipe = recipe.load(args.recipe)
    if not pipe.sources:
        from dataforge.errors import ConfigError

        raise ConfigError(f"{args.recipe}: no `sources:`; a recipe run needs at least one source")
    peeked = _peek_columns(pipe.sources)
    check_records(peeked, pipe.sources, pipe.ops)
    plan.check_inputs(peeked, pipe.sources, pipe.ops, pipe.names)
    warnings = plan.check_kept(peeked, pipe.sources, pipe.ops, pipe.output.keep_columns, log_them=False)
    _check_prompt_files(pipe)
    print(f"{args.recipe}: ok ({len(pipe.sources)} source(s), {len(pipe.ops)} step(s)"
          + (f", {len(warnings)} warning(s))" if warnings else ")"))
    for w in warnings:
        print(f"  warning: {w}")
    for s in pipe.sources:
        print(f"  source {s.name}: {s.path}" + (f" + {len(s.ops)} op(s)" if s.ops else ""))
    for name, op in zip(pipe.names, pipe.ops):
        print(f"  {op.kind:6s} {name} ({op.name})")
    return 0


def _check_prompt_files(pipe) -> None:
    """Prompt files of generation steps: YAML and the templates the sandbox would refuse."""
    from dataforge.generate.prompts import load
    from dataforge.ops.base_prompt import PromptFileOp

    for op in list(pipe.ops) + [o for s in pipe.sources for o in s.ops]:
        if isinstance(op, PromptFileOp):
            for f in op.prompt_files():
                if f.endswith((".yaml", ".yml")):
                    load(f)
