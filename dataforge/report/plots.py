"""Report figures as SVG `data:` URIs (written by svgplot, no plotting library): the page needs no network.

Every function takes one RunData per run, so the compare mode overlays runs on shared bins.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dataforge.report import svgplot
from dataforge.report.collect import RunData

COLORS = ("#3b6fb6", "#d9822b")
MAX_CATEGORIES = 20
# matplotlib's tab10 and tab20 palettes (every figure is written as SVG text, see svgplot)
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
TAB20 = ("#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd", "#c5b0d5",
         "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5")


def _legend(runs: Sequence[RunData]) -> list[tuple[str, str]]:
    """(label, colour) of each run, for a comparison of two runs; none for one run."""
    return [(r.label, COLORS[i % 2]) for i, r in enumerate(runs)] if len(runs) > 1 else []


def funnel(run: RunData) -> str | None:
    stages = run.summary["funnel"]
    if not stages:
        return None
    names = [s["name"] for s in stages][::-1]
    kept = [float(s["rows_out"]) for s in stages][::-1]
    dropped = [float(s["rows_rejected"]) for s in stages][::-1]
    pos = list(range(len(names)))
    marks = [("bar", p, 0.0, k, 0.8, COLORS[0], 1.0) for p, k in zip(pos, kept)]
    marks += [("bar", p, k, d, 0.8, "#c44e52", 1.0) for p, k, d in zip(pos, kept, dropped) if d]
    return svgplot.uri(svgplot.category_chart(
        names, pos, marks, (6.5, 0.35 * len(stages) + 0.9), run.label, "rows",
        legend=[("rows out", COLORS[0]), ("rejected", "#c44e52")]))


def histograms(runs: Sequence[RunData], keys: list[str], titles: list[str], xlabel: str,
               bins: int = 40, drawn: dict | None = None) -> str | None:
    """One panel per key; runs overlaid on the same bins. `drawn[title]` receives the bin edges and counts."""
    keys_present = [(k, t) for k, t in zip(keys, titles) if any(r.values.get(k) is not None and
                                                               r.values[k].size for r in runs)]
    if not keys_present:
        return None
    width = 3.3 * len(keys_present) + 0.5
    panels = []
    for key, title in keys_present:
        arrays = [r.values.get(key, np.array([])) for r in runs]
        allv = np.concatenate([a for a in arrays if a.size]).astype(float)
        hi = float(np.percentile(allv, 99)) if allv.size else 1.0
        lo = float(allv.min()) if allv.size else 0.0
        edges = np.histogram_bin_edges(allv, bins=bins, range=(lo, hi if hi > lo else lo + 1))
        record = {"edges": [round(float(e), 6) for e in edges], "counts": {}}
        series = []
        for i, (r, a) in enumerate(zip(runs, arrays)):
            if a.size:
                counts, _ = np.histogram(np.clip(a, lo, edges[-1]), bins=edges)
                record["counts"][r.label] = counts.astype(int).tolist()
                heights = counts / (counts.sum() * np.diff(edges)) if len(runs) > 1 else counts
                series.append((heights, COLORS[i % 2], 0.6 if len(runs) > 1 else 0.9))
        if drawn is not None:
            drawn[title] = record
        panels.append({"title": title, "xlabel": xlabel, "edges": edges, "series": series})
    # written as SVG text (svgplot), not through matplotlib: these four figures were most of
    # the report's drawing time on large runs
    legend = _legend(runs)
    return svgplot.uri(svgplot.histogram_panels(panels, (width, 2.6), "share" if len(runs) > 1 else "rows", legend))


def boxes(runs: Sequence[RunData], getter, title: str, xlabel: str) -> str | None:
    """Horizontal box plots per group (whiskers p5/p95, box p25-p75, median, mean as a dot) from the
    summary's box stats, so every number drawn is in report.json."""
    maps = [getter(r) or {} for r in runs]
    groups: list[str] = []
    for mp in maps:
        groups += [g for g in mp if g not in groups and mp[g].get("n")]
    groups = groups[:MAX_CATEGORIES]
    if not groups:
        return None
    width = 0.7 / len(runs)
    h = width * 0.9
    marks: list[tuple] = []
    for i, mp in enumerate(maps):
        for j, g in enumerate(groups):
            st = mp.get(g)
            if not (st and st.get("n")):
                continue
            y = len(groups) - 1 - j - i * width  # the first run on top, as in the legend
            q1, q3, med, lo, hi, mean = (float(st[k]) for k in ("p25", "p75", "p50", "p5", "p95", "mean"))
            marks += [("bar", y, q1, q3 - q1, h, COLORS[i % 2], 0.55),
                      ("seg", y, lo, y, q1, "#333", 0.8), ("seg", y, q3, y, hi, "#333", 0.8),  # whiskers
                      ("seg", y - h / 4, lo, y + h / 4, lo, "#333", 0.8),  # caps
                      ("seg", y - h / 4, hi, y + h / 4, hi, "#333", 0.8),
                      ("seg", y - h / 2, med, y + h / 2, med, "#222", 1.2), ("dot", y, mean, "#222")]
    ticks = [float(len(groups) - 1 - j - width * (len(runs) - 1) / 2) for j in range(len(groups))]
    legend = _legend(runs)
    return svgplot.uri(svgplot.category_chart(groups, ticks, marks, (6.5, 0.32 * len(groups) * len(runs) + 1.0),
                                              title, xlabel, legend=legend))


def sunburst(run: RunData) -> str | None:
    """Self-Instruct's figure: top verbs (inner ring) and their top nouns (outer ring)."""
    tree = run.summary.get("verb_noun", {}).get("tree")
    if not tree:
        return None
    inner, outer = [], []
    for i, t in enumerate(tree):
        color = TAB20[i % 20]
        inner.append((t["count"], color, t["verb"]))
        named = sum(n["count"] for n in t["nouns"])
        outer += [(n["count"], color, n["noun"]) for n in t["nouns"]]
        if t["count"] > named:  # the verb's other nouns
            outer.append((t["count"] - named, "#eeeeee", ""))
    return svgplot.uri(svgplot.rings(f"{run.label}: top verbs and their nouns", [
        {"inner": 0.28, "outer": 0.62, "wedges": inner, "font": 8, "min_share": 0.025},
        {"inner": 0.62, "outer": 1.0, "wedges": outer, "opacity": 0.75, "font": 7, "min_share": 0.012},
    ]))


def bars(runs: Sequence[RunData], getter, title: str, xlabel: str = "", horizontal: bool = True) -> str | None:
    """Grouped bars of {category: count} per run (top categories of the first run)."""
    maps = [getter(r) or {} for r in runs]
    if not any(maps):
        return None
    order: list[str] = []
    for mp in maps:
        for k in sorted(mp, key=lambda k: -mp[k]):
            if k not in order:
                order.append(k)
    order = [str(k) for k in order[:MAX_CATEGORIES]]
    n = len(order)
    width = 0.8 / len(runs)
    marks = []
    for i, mp in enumerate(maps):
        mp = {str(k): v for k, v in mp.items()}
        for j, k in enumerate(order):
            # horizontal: the first category on top; vertical: from the left
            pos = n - 1 - j - i * width if horizontal else j + i * width
            marks.append(("bar", pos, 0.0, float(mp.get(k, 0)), width, COLORS[i % 2], 1.0))
    shift = width * (len(runs) - 1) / 2
    ticks = [float(n - 1 - j - shift if horizontal else j + shift) for j in range(n)]
    legend = _legend(runs)
    if horizontal:
        return svgplot.uri(svgplot.category_chart(order, ticks, marks, (6.5, 0.28 * n + 1.0), title,
                                                  xlabel or "rows", legend=legend))
    return svgplot.uri(svgplot.category_chart(order, ticks, marks, (6.5, 2.8), title, "count", horizontal=False,
                                              legend=legend, category_label=xlabel))


def embedding_points(run: RunData, key: str, size: int = 420) -> dict | None:
    """The embedding map as inline-SVG data: scaled points with colour and hover text, and a legend."""
    pts = run.summary["embedding"].get("points")
    if not pts:
        return None
    x = np.array([p["x"] for p in pts], dtype=float)
    y = np.array([p["y"] for p in pts], dtype=float)
    pad = 8

    def scale(v, flip=False):
        lo, hi = float(v.min()), float(v.max())
        s = (v - lo) / (hi - lo) if hi > lo else np.full_like(v, 0.5)
        return pad + (1 - s if flip else s) * (size - 2 * pad)

    cx, cy = scale(x), scale(y, flip=True)
    labels = [str(p.get(key, "?")) for p in pts]
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    top = sorted(counts, key=lambda k: (-counts[k], k))[:9]  # the rest share one colour
    hexc = TAB10
    out = [{"cx": round(float(a), 1), "cy": round(float(b), 1), "color": hexc[top.index(lab) if lab in top else 9],
            "title": f"{lab} · {p.get('task' if key == 'source' else 'source', '?')}: {p.get('text', '')}"}
           for a, b, lab, p in zip(cx, cy, labels, pts)]
    legend = [{"label": t, "color": hexc[i], "n": counts[t]} for i, t in enumerate(top)]
    if len(counts) > len(top):
        legend.append({"label": "other", "color": hexc[9], "n": sum(counts[k] for k in counts if k not in top)})
    return {"key": key, "size": size, "points": out, "legend": legend}
