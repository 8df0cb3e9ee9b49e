"""Render runs into one self-contained HTML page (sandboxed Jinja, autoescaped, inline figures)."""
from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from dataforge import rulefiles
from dataforge.report import plots, textstats
from dataforge.report.collect import TEXT_FIELDS, RunData

TEMPLATES = Path(__file__).parent / "templates"
# (id, title, the summary key whose `note` means the section has nothing to show)
SECTIONS = (
    ("warnings", "Warnings", None),
    ("summary", "Summary", None),
    ("funnel", "Stage funnel", None),
    ("breakdown", "Rejections and selection by source and task", "breakdown"),
    ("rejects", "Rejected rows", "rejects"),
    ("tokens", "Tokens", "tokens"),
    ("scores", "Score distributions", "scores"),
    ("examples", "Top and bottom examples per score", "scores"),
    ("context", "Rows in context", None),
    ("lengths", "Length distributions", "lengths"),
    ("coverage", "Task, source and language coverage", None),
    ("text_stats", "Character-level statistics", "text_stats"),
    ("verb_noun", "Verb–noun sunburst", "verb_noun"),
    ("duplicates", "Duplicate cluster sizes", "duplicates"),
    ("diversity", "Diversity and dataset metrics", "metrics"),
    ("embedding", "Embedding map", "embedding"),
    ("sample", "Sample rows", None),
)


def figures(runs: Sequence[RunData]) -> dict:
    """Every figure of the page; `drawn` holds the histogram bins and counts (report.json["figures"])."""
    score_cols = sorted({k.split(":", 1)[1] for r in runs for k in r.values if k.startswith("score:")})
    dists = sorted({k for r in runs for k in r.summary["metrics"].get("distributions", {})})
    drawn: dict = {"scores": {}, "lengths": {}, "tokens": {}, "text_stats": {}}
    tok_fields = [f for f in (*TEXT_FIELDS, "all") if any(f"tokens:{f}" in r.values for r in runs)]
    return {
        "drawn": drawn,
        "funnel": [plots.funnel(r) for r in runs],
        "lengths": plots.histograms(runs, [f"length:{f}" for f in TEXT_FIELDS], list(TEXT_FIELDS), "words",
                                    drawn=drawn["lengths"]),
        "lengths_per_task": {f: plots.boxes(runs, lambda r, f=f: r.summary["lengths"].get("per_task_words", {}).get(f),
                                            f"{f} words per task", "words")
                             for f in TEXT_FIELDS},
        "tokens": plots.histograms(runs, [f"tokens:{f}" for f in tok_fields], tok_fields, "tokens",
                                   drawn=drawn["tokens"]),
        "scores": plots.histograms(runs, [f"score:{s}" for s in score_cols], score_cols, "score", bins=30,
                                   drawn=drawn["scores"]),
        "scores_per_task": {s: plots.boxes(runs, lambda r, s=s: r.summary["scores"].get(s, {}).get("per_task"),
                                           f"{s} per task", "score") for s in score_cols},
        "text_stats": plots.histograms(runs, [f"text:{m}" for m in textstats.MEASURES], list(textstats.MEASURES),
                                       "ratio", bins=30, drawn=drawn["text_stats"]),
        "coverage": {dim: plots.bars(runs, lambda r, d=dim: r.summary["coverage"].get(d), f"rows by {dim}")
                     for dim in ("task", "source", "lang")},
        "sunburst": [plots.sunburst(r) for r in runs],
        "duplicates": plots.bars(runs, _cluster_sizes, "duplicate clusters by size", "cluster size", horizontal=False),
        "distributions": {name: plots.bars(runs, lambda r, n=name: r.summary["metrics"].get("distributions", {}).get(n),
                                           name) for name in dists[:8]},
        "embedding": [[m for m in (plots.embedding_points(r, k) for k in ("source", "task")) if m] for r in runs],
    }


def _cluster_sizes(r: RunData) -> dict | None:
    sizes = r.summary["duplicates"].get("cluster_sizes")
    if not sizes:
        return None
    total: dict[str, int] = {}
    for per_stage in sizes.values():
        for k, v in per_stage.items():
            total[k] = total.get(k, 0) + v
    return dict(sorted(total.items(), key=lambda kv: int(kv[0])))


def sections(runs: Sequence[RunData]) -> list[dict]:
    out = []
    for sid, title, key in SECTIONS:
        notes = [r.summary[key].get("note") for r in runs] if key else [None]
        absent = all(notes)
        out.append({"id": sid, "title": title, "status": "absent" if absent else "ok",
                    "note": notes[0] if absent else None})
    return out


_compiling = threading.Lock()


def page_template():
    """The page's template, compiled once per process (about 0.3 s: it is long); the run starts
    compiling it in the background (report_prefetch) and the report waits for that compile
    instead of doing it twice. The loader still reloads it when the file changes."""
    with _compiling:
        return _page_template()


@lru_cache(maxsize=1)
def _page_template():
    # not strict: the template shows optional summary fields (a score column without values
    # has no mean) as empty; it is our own template over our own summary, not a user's
    env = rulefiles.jinja_env(templates=TEMPLATES, html=True, strict=False)
    return env.get_template("report.html.j2")


def render(runs: Sequence[RunData], title: str) -> tuple[str, dict]:
    """The page and the numbers its histograms drew."""
    secs = sections(runs)
    figs = figures(runs)
    page = page_template().render(
        title=title, runs=[r.summary for r in runs], figs=figs,
        sections=secs, section_map={s["id"]: s for s in secs},
    )
    return page, figs["drawn"]
