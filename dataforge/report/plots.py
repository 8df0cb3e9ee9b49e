"""Report figures as `data:` URIs (SVG, or PNG for dense scatter plots): the page needs no network.

Every function takes one RunData per run, so the compare mode overlays runs on shared bins.
"""
from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dataforge.report.collect import RunData  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "dataforge", "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False})
COLORS = ("#3b6fb6", "#d9822b")
MAX_CATEGORIES = 20


def _uri(fig, fmt: str = "svg") -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, bbox_inches="tight", dpi=110, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode()}"


def funnel(run: RunData) -> str | None:
    stages = run.summary["funnel"]
    if not stages:
        return None
    names = [s["name"] for s in stages][::-1]
    kept = np.array([s["rows_out"] for s in stages][::-1])
    dropped = np.array([s["rows_rejected"] for s in stages][::-1])
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(stages) + 0.9))
    ax.barh(names, kept, color=COLORS[0], label="rows out")
    ax.barh(names, dropped, left=kept, color="#c44e52", label="rejected")
    ax.set_xlabel("rows")
    ax.legend(loc="lower right", frameon=False)
    ax.set_title(run.label)
    return _uri(fig)


def histograms(runs: Sequence[RunData], keys: list[str], titles: list[str], xlabel: str,
               bins: int = 40) -> str | None:
    """One panel per key; runs overlaid on the same bins."""
    keys_present = [(k, t) for k, t in zip(keys, titles) if any(r.values.get(k) is not None and
                                                               r.values[k].size for r in runs)]
    if not keys_present:
        return None
    fig, axes = plt.subplots(1, len(keys_present), figsize=(3.3 * len(keys_present) + 0.5, 2.6), squeeze=False)
    for ax, (key, title) in zip(axes[0], keys_present):
        arrays = [r.values.get(key, np.array([])) for r in runs]
        allv = np.concatenate([a for a in arrays if a.size]).astype(float)
        hi = float(np.percentile(allv, 99)) if allv.size else 1.0
        lo = float(allv.min()) if allv.size else 0.0
        edges = np.histogram_bin_edges(allv, bins=bins, range=(lo, hi if hi > lo else lo + 1))
        for i, (r, a) in enumerate(zip(runs, arrays)):
            if a.size:
                ax.hist(np.clip(a, lo, edges[-1]), bins=edges, alpha=0.6 if len(runs) > 1 else 0.9,
                        color=COLORS[i % 2], label=r.label, density=len(runs) > 1)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
    axes[0][0].set_ylabel("share" if len(runs) > 1 else "rows")
    if len(runs) > 1:
        axes[0][-1].legend(frameon=False)
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
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * n + 1.0) if horizontal else (6.5, 2.8))
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


def embedding(run: RunData) -> str | None:
    pts = run.summary["embedding"].get("points")
    if not pts:
        return None
    x = np.array([p["x"] for p in pts], dtype=float)
    y = np.array([p["y"] for p in pts], dtype=float)
    colour_by = [k for k in ("source", "task") if any(k in p for p in pts)] or [None]
    fig, axes = plt.subplots(1, len(colour_by), figsize=(4.6 * len(colour_by), 4.0), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, key in zip(axes[0], colour_by):
        labels = [str(p.get(key, "?")) for p in pts] if key else ["rows"] * len(pts)
        counts: dict[str, int] = {}
        for lab in labels:
            counts[lab] = counts.get(lab, 0) + 1
        top = sorted(counts, key=lambda k: -counts[k])[:9]  # the rest share one colour
        groups = np.array([top.index(lab) if lab in top else 9 for lab in labels])
        for g in sorted(set(groups)):
            sel = groups == g
            ax.scatter(x[sel], y[sel], s=7, alpha=0.7, color=cmap(g),
                       label=top[g] if g < 9 else "other")
        ax.set_title(f"{run.label}: by {key or 'row'}")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=7, frameon=False, markerscale=2, loc="best")
    return _uri(fig, "png")
