"""Report figures as `data:` URIs (SVG, or PNG for dense scatter plots): the page needs no network.

Every function takes one RunData per run, so the compare mode overlays runs on shared bins.
"""
from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib
import matplotlib.colors
import numpy as np
# Figures are built as bare `Figure`s, never through pyplot: no backend or figure manager
# is involved (importing pyplot alone took most of a second here) and nothing global is kept.
from matplotlib import colormaps
from matplotlib.figure import Figure

from dataforge.report.collect import RunData

matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "dataforge", "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False,
                     # one draw per figure: constrained layout instead of bbox_inches="tight" (which draws twice)
                     "figure.constrained_layout.use": True})
COLORS = ("#3b6fb6", "#d9822b")
MAX_CATEGORIES = 20


def _subplots(figsize: tuple[float, float], ncols: int = 1, squeeze: bool = True, layout: str | None = None):
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(1, ncols, squeeze=squeeze)


def _labelled(figsize: tuple[float, float], labels: Sequence[str]):
    """One axes whose y tick labels are `labels`: margins in inches from the longest label
    (about 0.07 in per character at 9 pt) instead of the constrained layout, which measured
    every text of the figure on each draw."""
    w, h = figsize
    longest = max((len(str(x)) for x in labels), default=4)
    if longest > 36:  # long names (fused stage labels): let the layout engine fit them
        return _subplots(figsize)
    left = 0.3 + 0.07 * longest
    fig, ax = _subplots(figsize, layout="none")
    fig.subplots_adjust(left=left / w, right=1 - 0.25 / w, top=1 - 0.35 / h, bottom=0.55 / h)
    return fig, ax


def _uri(fig, fmt: str = "svg") -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=110, metadata={"Date": None} if fmt == "svg" else None)
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode()}"


def funnel(run: RunData) -> str | None:
    stages = run.summary["funnel"]
    if not stages:
        return None
    names = [s["name"] for s in stages][::-1]
    kept = np.array([s["rows_out"] for s in stages][::-1])
    dropped = np.array([s["rows_rejected"] for s in stages][::-1])
    fig, ax = _labelled((6.5, 0.35 * len(stages) + 0.9), names)
    ax.barh(names, kept, color=COLORS[0], label="rows out")
    ax.barh(names, dropped, left=kept, color="#c44e52", label="rejected")
    ax.set_xlabel("rows")
    ax.legend(loc="lower right", frameon=False)
    ax.set_title(run.label)
    return _uri(fig)


def histograms(runs: Sequence[RunData], keys: list[str], titles: list[str], xlabel: str,
               bins: int = 40, drawn: dict | None = None) -> str | None:
    """One panel per key; runs overlaid on the same bins. `drawn[title]` receives the bin edges and counts."""
    keys_present = [(k, t) for k, t in zip(keys, titles) if any(r.values.get(k) is not None and
                                                               r.values[k].size for r in runs)]
    if not keys_present:
        return None
    width = 3.3 * len(keys_present) + 0.5
    # numeric ticks and short titles only: fixed margins (in inches) instead of the
    # constrained layout, which measured every tick label and cost half of each figure's time
    fig, axes = _subplots((width, 2.6), len(keys_present), squeeze=False, layout="none")
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.12 / width, bottom=0.2, top=0.88, wspace=0.3)
    for ax, (key, title) in zip(axes[0], keys_present):
        arrays = [r.values.get(key, np.array([])) for r in runs]
        allv = np.concatenate([a for a in arrays if a.size]).astype(float)
        hi = float(np.percentile(allv, 99)) if allv.size else 1.0
        lo = float(allv.min()) if allv.size else 0.0
        edges = np.histogram_bin_edges(allv, bins=bins, range=(lo, hi if hi > lo else lo + 1))
        record = {"edges": [round(float(e), 6) for e in edges], "counts": {}}
        for i, (r, a) in enumerate(zip(runs, arrays)):
            if a.size:
                counts, _ = np.histogram(np.clip(a, lo, edges[-1]), bins=edges)
                record["counts"][r.label] = counts.astype(int).tolist()
                # one artist per run (stairs), not one patch per bin: drawing stays cheap
                heights = counts / (counts.sum() * np.diff(edges)) if len(runs) > 1 else counts
                ax.stairs(heights, edges, fill=True, alpha=0.6 if len(runs) > 1 else 0.9,
                          color=COLORS[i % 2], label=r.label)
        if drawn is not None:
            drawn[title] = record
        ax.set_title(title)
        ax.set_xlabel(xlabel)
    axes[0][0].set_ylabel("share" if len(runs) > 1 else "rows")
    if len(runs) > 1:
        axes[0][-1].legend(frameon=False)
    return _uri(fig)


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
    fig, ax = _labelled((6.5, 0.32 * len(groups) * len(runs) + 1.0), groups)
    width = 0.7 / len(runs)
    # drawn from collections (one bar container, one line collection, one marker line per
    # run) instead of `bxp`'s seven artists per box: the figures were most of the report's time
    from matplotlib.collections import LineCollection
    for i, (r, mp) in enumerate(zip(runs, maps)):
        rows = [(len(groups) - 1 - j + i * width, mp[g]) for j, g in enumerate(groups)
                if mp.get(g) and mp[g].get("n")]
        if not rows:
            continue
        y = np.array([p for p, _ in rows])
        q1, q3, med, lo, hi, mean = (np.array([float(st[k]) for _, st in rows])
                                     for k in ("p25", "p75", "p50", "p5", "p95", "mean"))
        h = width * 0.9
        ax.barh(y, q3 - q1, left=q1, height=h, color=COLORS[i % 2], alpha=0.55, edgecolor="#333", linewidth=0.6)
        segs = np.concatenate([
            np.stack([np.c_[lo, y], np.c_[q1, y]], axis=1), np.stack([np.c_[q3, y], np.c_[hi, y]], axis=1),  # whiskers
            np.stack([np.c_[lo, y - h / 4], np.c_[lo, y + h / 4]], axis=1),  # caps
            np.stack([np.c_[hi, y - h / 4], np.c_[hi, y + h / 4]], axis=1)])
        ax.add_collection(LineCollection(segs, colors="#333", linewidths=0.8))
        ax.add_collection(LineCollection(np.stack([np.c_[med, y - h / 2], np.c_[med, y + h / 2]], axis=1),
                                         colors="#222", linewidths=1.2))
        ax.plot(mean, y, "o", markersize=3, color="#222", linestyle="none")
    ax.autoscale_view()
    ticks = np.arange(len(groups))[::-1] + width * (len(runs) - 1) / 2
    ax.set_yticks(ticks, groups)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if len(runs) > 1:
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=COLORS[i % 2], alpha=0.55, label=r.label) for i, r in enumerate(runs)],
                  frameon=False, fontsize=7)
    return _uri(fig)


def sunburst(run: RunData) -> str | None:
    """Self-Instruct's figure: top verbs (inner ring) and their top nouns (outer ring)."""
    tree = run.summary.get("verb_noun", {}).get("tree")
    if not tree:
        return None
    cmap = colormaps["tab20"]
    fig, ax = _subplots((6.2, 6.2))
    inner = [t["count"] for t in tree]
    inner_colors = [cmap(i % 20) for i in range(len(tree))]
    outer, outer_colors, outer_labels = [], [], []
    for i, t in enumerate(tree):
        named = sum(n["count"] for n in t["nouns"])
        for n in t["nouns"]:
            outer.append(n["count"])
            outer_colors.append(inner_colors[i])
            outer_labels.append(n["noun"])
        if t["count"] > named:  # the verb's other nouns
            outer.append(t["count"] - named)
            outer_colors.append("#eeeeee")
            outer_labels.append("")
    total = float(sum(inner))
    wedge = {"edgecolor": "white", "linewidth": 0.6}
    ax.pie(inner, radius=0.62, colors=inner_colors, wedgeprops=wedge | {"width": 0.34},
           labels=[t["verb"] if c / total > 0.025 else "" for t, c in zip(tree, inner)],
           labeldistance=0.7, textprops={"fontsize": 8}, startangle=90, counterclock=False)
    ax.pie(outer, radius=1.0, colors=outer_colors, wedgeprops=wedge | {"width": 0.38, "alpha": 0.75},
           labels=[lab if c / total > 0.012 else "" for lab, c in zip(outer_labels, outer)],
           labeldistance=0.8, textprops={"fontsize": 7}, startangle=90, counterclock=False)
    ax.set_title(f"{run.label}: top verbs and their nouns")
    ax.set_aspect("equal")
    return _uri(fig)


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
    order = order[:MAX_CATEGORIES]
    n = len(order)
    # vertical bars: the y labels are counts (room for 9 characters: digits and "count")
    fig, ax = _labelled((6.5, 0.28 * n + 1.0), order) if horizontal else _labelled((6.5, 2.8), ["100000000"])
    width = 0.8 / len(runs)
    pos = np.arange(n)
    for i, (r, mp) in enumerate(zip(runs, maps)):
        vals = [mp.get(k, 0) for k in order]
        if horizontal:
            ax.barh(pos[::-1] + i * width, vals, height=width, color=COLORS[i % 2], label=r.label)
        else:
            ax.bar(pos + i * width, vals, width=width, color=COLORS[i % 2], label=r.label)
    ticks = pos + width * (len(runs) - 1) / 2
    if horizontal:
        ax.set_yticks(ticks[::-1], order)
        ax.set_xlabel(xlabel or "rows")
    else:
        ax.set_xticks(ticks, order, rotation=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
    ax.set_title(title)
    if len(runs) > 1:
        ax.legend(frameon=False)
    return _uri(fig)


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
    cmap = colormaps["tab10"]
    hexc = [matplotlib.colors.to_hex(cmap(i)) for i in range(10)]
    out = [{"cx": round(float(a), 1), "cy": round(float(b), 1), "color": hexc[top.index(lab) if lab in top else 9],
            "title": f"{lab} · {p.get('task' if key == 'source' else 'source', '?')}: {p.get('text', '')}"}
           for a, b, lab, p in zip(cx, cy, labels, pts)]
    legend = [{"label": t, "color": hexc[i], "n": counts[t]} for i, t in enumerate(top)]
    if len(counts) > len(top):
        legend.append({"label": "other", "color": hexc[9], "n": sum(counts[k] for k in counts if k not in top)})
    return {"key": key, "size": size, "points": out, "legend": legend}
