"""Quality report of an output folder: `OUT/report/index.html` (self-contained) and `OUT/report.json`.

    build_report(OUT)                      # called at the end of every run
    build_report(OUT_A, compare=OUT_B)     # side by side: OUT_A/report/compare.html + compare.json
"""
from __future__ import annotations

import json
from pathlib import Path

from dataforge.io import atomic
from dataforge.report.collect import TEXT_FIELDS, Options, RunData, collect, load_manifest
from dataforge.report.html import render, sections

__all__ = ["build_report", "collect", "data_path", "Options", "RunData"]


def build_report(out: str | Path, compare: str | Path | None = None, html_path: str | Path | None = None,
                 **options) -> Path:
    """Write the report (or the comparison with `compare`) and return the HTML path.

    `options` override the run's recorded report options (collect.Options: tokenizer, warn_share, ...)."""
    out = Path(out)
    runs = [collect(p, Options.from_manifest(load_manifest(Path(p)), **options))
            for p in [out] + ([compare] if compare is not None else [])]
    if compare is not None and runs[0].label == runs[1].label:
        runs[0].summary["run"]["label"] = f"A: {runs[0].label}"
        runs[1].summary["run"]["label"] = f"B: {runs[1].label}"
    stem = "compare" if compare is not None else "index"
    html = Path(html_path) if html_path else out / "report" / f"{stem}.html"
    title = (f"dataforge report: {runs[0].label} vs {runs[1].label}" if compare is not None
             else f"dataforge report: {runs[0].label}")
    page, drawn = render(runs, title)
    html.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(html) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    status = {s["id"]: s["status"] for s in sections(runs)}
    if compare is None:
        doc = runs[0].summary | {"figures": drawn, "sections": status}
        # a report built elsewhere (-o) keeps its data beside it: the run's own report.json
        # matches the run's own page (and is what `publish` uploads)
        atomic.write_json(data_path(out, html_path, compare), doc)
    else:
        doc = {"runs": [r.summary for r in runs], "figures": drawn, "sections": status,
               "diff": _diff(runs[0], runs[1])}
        atomic.write_json(html.with_suffix(".json"), doc)
    return html


def data_path(out: str | Path, html_path: str | Path | None = None, compare: str | Path | None = None) -> Path:
    """Where build_report writes the report's data: OUT/report.json for the run's own page,
    else beside the HTML (FILE.json)."""
    out = Path(out)
    if compare is None and html_path is None:
        return out / "report.json"
    html = Path(html_path) if html_path else out / "report" / "compare.html"
    return html.with_suffix(".json")


def _diff(a: RunData, b: RunData) -> dict:
    """B minus A for the headline numbers."""
    ta, tb = a.summary["run"]["totals"], b.summary["run"]["totals"]
    d = {"totals": {k: tb.get(k, 0) - ta.get(k, 0) for k in ("rows_in", "rows_added", "rows_rejected", "rows_out")}}
    d["warnings"] = {"a": len(a.summary["warnings"]), "b": len(b.summary["warnings"])}
    ka = (a.summary["tokens"].get("total") or {}).get("all", 0)
    d["tokens_total"] = (b.summary["tokens"].get("total") or {}).get("all", 0) - ka
    sa, sb = a.summary["scores"], b.summary["scores"]
    d["score_mean"] = {k: sb[k]["stats"].get("mean", 0) - sa[k]["stats"].get("mean", 0)
                       for k in sa if k != "note" and k in sb and k != "note"}
    la, lb = a.summary["lengths"], b.summary["lengths"]
    d["length_p50_words"] = {f: lb[f]["words"].get("p50", 0) - la[f]["words"].get("p50", 0)
                             for f in la if f in TEXT_FIELDS and f in lb}
    return json.loads(json.dumps(d))
