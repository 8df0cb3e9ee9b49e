"""Render runs into one self-contained HTML page (sandboxed Jinja, autoescaped, inline figures)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from dataforge import rulefiles
from dataforge.report import plots
from dataforge.report.collect import TEXT_FIELDS, RunData

TEMPLATES = Path(__file__).parent / "templates"
# (id, title, the summary key whose `note` means the section has nothing to show)
SECTIONS = (
    ("summary", "Summary", None),
    ("funnel", "Stage funnel", None),
    ("rejects", "Rejected rows", "rejects"),
    ("scores", "Score distributions", "scores"),
    ("examples", "Top and bottom examples per score", "scores"),
    ("lengths", "Length distributions", "lengths"),
    ("coverage", "Task, source and language coverage", None),
    ("duplicates", "Duplicate cluster sizes", "duplicates"),
    ("diversity", "Diversity and dataset metrics", "metrics"),
    ("embedding", "Embedding map", "embedding"),
)


def figures(runs: Sequence[RunData]) -> dict:
    score_cols = sorted({k.split(":", 1)[1] for r in runs for k in r.values if k.startswith("score:")})
    dists = sorted({k for r in runs for k in r.summary["metrics"].get("distributions", {})})
    return {
        "funnel": [plots.funnel(r) for r in runs],
        "lengths": plots.histograms(runs, [f"length:{f}" for f in TEXT_FIELDS], list(TEXT_FIELDS), "words"),
        "scores": plots.histograms(runs, [f"score:{s}" for s in score_cols], score_cols, "score", bins=30),
        "coverage": {dim: plots.bars(runs, lambda r, d=dim: r.summary["coverage"].get(d), f"rows by {dim}")
                     for dim in ("task", "source", "lang")},
        "duplicates": plots.bars(runs, _cluster_sizes, "duplicate clusters by size", "cluster size", horizontal=False),
        "distributions": {name: plots.bars(runs, lambda r, n=name: r.summary["metrics"].get("distributions", {}).get(n),
                                           name) for name in dists[:8]},
        "embedding": [plots.embedding(r) for r in runs],
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


def render(runs: Sequence[RunData], title: str) -> str:
    # not strict: the template shows optional summary fields (a score column without values
    # has no mean) as empty; it is our own template over our own summary, not a user's
    env = rulefiles.jinja_env(templates=TEMPLATES, html=True, strict=False)
    secs = sections(runs)
    return env.get_template("report.html.j2").render(
        title=title, runs=[r.summary for r in runs], figs=figures(runs),
        sections=secs, section_map={s["id"]: s for s in secs},
    )
