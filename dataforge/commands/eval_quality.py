"""dataforge eval-quality: measure scores, filters and dedup on the labelled quality set."""
from __future__ import annotations


def register(sub) -> None:
    from dataforge.evaluation.harness import add_args, run_cli

    p = sub.add_parser("eval-quality", help="measure quality judgments on the labelled evaluation set (docs/quality.md)")
    add_args(p)
    p.set_defaults(func=run_cli)
