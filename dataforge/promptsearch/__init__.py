"""Automatic prompt search and weighted prompt ensembles (docs/prompt-search.md).

    from dataforge.promptsearch import SearchConfig, run
    res = run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric"), dev_df, llm, "out/ps")
    res.best, res.prompt_file, res.log, res.report

`run` searches, then writes OUT/<stem>.searched.yaml (a new prompt file: the top-k prompts
with fitted weights and provenance), OUT/search.jsonl and OUT/report.html.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from dataforge.promptsearch.fitness import CallableFitness, Fitness, GeneratorFitness, JudgeFitness
from dataforge.promptsearch.search import Search, SearchConfig, SearchResult

__all__ = ["SearchConfig", "SearchResult", "Search", "run", "Fitness", "JudgeFitness", "GeneratorFitness",
           "CallableFitness"]


def run(cfg: SearchConfig, dev: pl.DataFrame, llm, out: str | Path, fitness: Fitness | None = None) -> SearchResult:
    from dataforge.io.atomic import atomic_path
    from dataforge.promptsearch import report
    from dataforge.promptsearch import target as T

    out = Path(out)
    s = Search(cfg, dev, llm, out, fitness)
    res = s.run()
    provenance = {"search_id": res.search_id, "source": str(s.target.path), "entry": cfg.entry,
                  "fitness": s.fitness.describe(), "dev_hash": s.dev_hash, "dev_rows": dev.height,
                  "original_fitness": round(res.original_fitness, 6), "seed": cfg.seed,
                  "model": getattr(llm, "model_id", ""), "llm_calls": res.llm_calls, "stop": res.stop_reason}
    if res.ensemble_dev is not None:
        provenance |= {"ensemble_dev": round(res.ensemble_dev, 6), "mean_dev": round(res.mean_dev, 6)}
    doc = T.result_doc(s.target, res.ranked, res.weights, res.fitness, provenance)
    path = out / f"{s.target.path.stem}.searched.yaml"
    if path.resolve() == s.target.path.resolve():  # never overwrite the original
        path = out / f"{s.target.path.stem}.searched-{res.search_id}.yaml"
    head = (f"# Written by `dataforge prompt-search` (search {res.search_id}) from {s.target.path.name};\n"
            f"# see docs/prompt-search.md. The original file is unchanged.\n")
    _write(path, head + T.dump(doc), atomic_path)
    res.prompt_file, res.log = path, out / "search.jsonl"
    res.report = out / "report.html"
    _write(res.report, report.render(s.log.records, s.original, res), atomic_path)
    return res


def _write(path: Path, text: str, atomic_path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
