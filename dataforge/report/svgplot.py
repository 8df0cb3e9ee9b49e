"""The report's figures written as SVG text directly, without a plotting library:
histogram panels, category charts (bars, box plots, the funnel) and rings (the sunburst).

A histogram is a few filled step outlines, two axes and a dozen tick labels: writing that
markup takes milliseconds, while matplotlib's artist tree and text layout took about a
quarter of a second per figure, most of the report's time on a large run (docs/performance.md).
Sizes are in points (72 per inch), as in matplotlib's own SVG output, so the page lays out
the same.
"""
from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from html import escape as _html_escape

import numpy as np

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
SIZE = 9  # points, as the matplotlib figures' rcParams
# panel margins in points: room for the y tick labels, the title, the x ticks and label
LEFT, RIGHT, TOP, BOTTOM, GAP = 50.0, 10.0, 22.0, 34.0, 46.0


def escape(s: str) -> str:
    return _html_escape(s, quote=False)  # &, < and >: what text content needs


def nice_ticks(lo: float, hi: float, target: int = 5) -> np.ndarray:
    """Ticks at 1, 2, 2.5 or 5 times a power of ten inside [lo, hi] (Heckbert's "nice numbers")."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo])
    raw = (hi - lo) / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    # the nice step nearest to the raw one (on a log scale): about `target` ticks
    step = min((m * mag for m in (1, 2, 2.5, 5, 10)), key=lambda s: abs(math.log(s / raw)))
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-6, step)
    return np.round(ticks, 12)


def tick_label(v: float, step: float) -> str:
    """Short numeric labels: 1.5k / 2M for big counts, as many decimals as the step needs."""
    a = abs(v)
    if a >= 1e6 and step >= 1e5:
        return f"{v / 1e6:g}M"
    if a >= 1e4 and step >= 1e3:
        return f"{v / 1e3:g}k"
    if step >= 1 and float(v).is_integer():
        return f"{int(v)}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) + (1 if round(step / 10 ** math.floor(math.log10(step)), 6) == 2.5 else 0)
    return f"{v:.{decimals}f}"


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, s: str, anchor: str = "middle", size: float = SIZE, rotate: bool = False,
          tip: str | None = None) -> str:
    """A label; `tip` is shown on hover (the full text of a label cut to fit)."""
    rot = f' transform="rotate(-90 {_num(x)} {_num(y)})"' if rotate else ""
    title = f"<title>{escape(tip)}</title>" if tip else ""
    return (f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{size}"{rot}>'
            f"{escape(s)}{title}</text>")


def _open(w: float, h: float) -> list[str]:
    """The document's first elements: the root with its size in points, and a white page."""
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(w)}pt" height="{_num(h)}pt" '
            f'viewBox="0 0 {_num(w)} {_num(h)}" font-family="{FONT}" fill="#222">',
            f'<rect width="{_num(w)}" height="{_num(h)}" fill="#fff"/>']


def _spines(x0: float, y0: float, pw: float, ph: float) -> str:
    """The left and bottom axis lines of a plot area, as the matplotlib figures had."""
    return (f'<path d="M{_num(x0)},{_num(y0)} V{_num(y0 + ph)} H{_num(x0 + pw)}" '
            f'stroke="#222" stroke-width="0.8" fill="none"/>')


def _xtick(x: float, axis_y: float, label: str, tip: str | None = None) -> list[str]:
    """A tick under the bottom axis at x, with its label below."""
    return [f'<path d="M{_num(x)},{_num(axis_y)} v3.5" stroke="#222" stroke-width="0.8"/>',
            _text(x, axis_y + 13, label, tip=tip)]


def _ytick(axis_x: float, y: float, label: str, tip: str | None = None) -> list[str]:
    """A tick left of the left axis at y, with its label right-aligned before it."""
    return [f'<path d="M{_num(axis_x)},{_num(y)} h-3.5" stroke="#222" stroke-width="0.8"/>',
            _text(axis_x - 6, y + 3, label, anchor="end", tip=tip)]


def histogram_panels(panels: Sequence[dict], size: tuple[float, float], ylabel: str,
                     legend: Sequence[tuple[str, str]] = ()) -> str:
    """One SVG document: a panel per dict {title, xlabel, edges, series: [(heights, color, alpha)]}.

    `size` is (width, height) in inches; `legend` lists (label, color) drawn in the last panel."""
    W, H = size[0] * 72.0, size[1] * 72.0
    n = len(panels)
    pw = (W - LEFT - RIGHT - GAP * (n - 1)) / n
    ph = H - TOP - BOTTOM
    out = _open(W, H)
    for i, p in enumerate(panels):
        x0, y0 = LEFT + i * (pw + GAP), TOP
        edges = np.asarray(p["edges"], dtype=float)
        xlo, xhi = float(edges[0]), float(edges[-1])
        if xhi <= xlo:
            xhi = xlo + 1.0
        ymax = max((float(np.max(h)) for h, _, _ in p["series"] if len(h)), default=0.0)
        yticks = nice_ticks(0.0, ymax if ymax > 0 else 1.0)
        ytop = max(float(yticks[-1]), ymax) * 1.05 or 1.0

        def sx(v, xlo=xlo, xhi=xhi, x0=x0):
            return x0 + (np.asarray(v, dtype=float) - xlo) / (xhi - xlo) * pw

        def sy(v, ytop=ytop, y0=y0):
            return y0 + ph - np.asarray(v, dtype=float) / ytop * ph

        for heights, color, alpha in p["series"]:
            hx, hy = sx(edges), sy(np.asarray(heights, dtype=float))
            # the step outline: up and across each bin, down to the axis at the end
            pts = [f"{_num(hx[0])},{_num(y0 + ph)}"]
            for j in range(len(hy)):
                pts.append(f"{_num(hx[j])},{_num(hy[j])} {_num(hx[j + 1])},{_num(hy[j])}")
            pts.append(f"{_num(hx[-1])},{_num(y0 + ph)}")
            out.append(f'<polygon points="{" ".join(pts)}" fill="{color}" fill-opacity="{alpha}"/>')
        out.append(_spines(x0, y0, pw, ph))
        xticks = [t for t in nice_ticks(xlo, xhi) if xlo - 1e-9 <= t <= xhi + 1e-9]
        xstep = float(xticks[1] - xticks[0]) if len(xticks) > 1 else 1.0
        ystep = float(yticks[1] - yticks[0]) if len(yticks) > 1 else 1.0
        for t in xticks:
            out += _xtick(float(sx(t)), y0 + ph, tick_label(t, xstep))
        for t in yticks:
            out += _ytick(x0, float(sy(t)), tick_label(t, ystep))
        out.append(_text(x0 + pw / 2, y0 - 8, p["title"], size=SIZE + 1))
        out.append(_text(x0 + pw / 2, H - 6, p["xlabel"]))
        if i == 0:
            out.append(_text(12, y0 + ph / 2, ylabel, rotate=True))
    if legend:
        lx, ly = W - RIGHT - 4, TOP + 8
        for k, (label, color) in enumerate(legend):
            y = ly + 13 * k
            out.append(f'<rect x="{_num(lx - 18)}" y="{_num(y - 7)}" width="12" height="8" fill="{color}" fill-opacity="0.6"/>')
            out.append(_text(lx - 22, y, label, anchor="end", size=SIZE - 1))
    out.append("</svg>")
    return "".join(out)


def uri(svg: str) -> str:
    return f"data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}"


CHAR = 5.0  # points per character of a 9-point label, DejaVu Sans' average advance


def _fit(label: str, room: float) -> str:
    """The label, cut with an ellipsis where it would overflow `room` points."""
    most = max(int(room / CHAR), 4)
    return label if len(label) <= most else label[: most - 1] + "…"


def category_chart(categories: Sequence[str], positions: Sequence[float], marks: Sequence[tuple],
                   size: tuple[float, float], title: str, value_label: str,
                   horizontal: bool = True, legend: Sequence[tuple[str, str]] = (),
                   category_label: str = "") -> str:
    """Categories along one axis (labels at `positions`, index units), values along the other.

    Marks, in (category position, value) units:
      ("bar", pos, start, length, thickness, color, alpha)   a bar from `start` to `start + length`
      ("seg", pos0, v0, pos1, v1, color, width)             a line
      ("dot", pos, value, color)                            a small disc
    Translucent bars (alpha < 0.9: a box plot's boxes) are outlined."""
    W, H = size[0] * 72.0, size[1] * 72.0
    longest = max((len(c) for c in categories), default=4)
    top = 25.0 + (14.0 if legend else 0.0)  # the legend gets its own row under the title
    if horizontal:
        left = min(22.0 + CHAR * longest, 0.55 * W)
        x0, y0, pw, ph = left, top, W - left - 18.0, H - top - 40.0
    else:
        x0, y0 = 58.0, top
        pw, ph = W - x0 - 18.0, H - y0 - 40.0
    values = []
    for m in marks:
        if m[0] == "bar":
            values += [m[2], m[2] + m[3]]
        elif m[0] == "seg":
            values += [m[2], m[4]]
        else:
            values.append(m[2])
    vlo, vhi = min(values + [0.0]), max(values + [0.0])
    if vhi <= vlo:  # nothing to draw (a run with no rows): an empty 0..1 axis
        vhi = vlo + 1.0
    if vlo < 0 or any(m[0] != "bar" for m in marks):  # boxes: pad both ends, no forced zero
        vlo, vhi = min(values), max(values)
        pad = (vhi - vlo) * 0.05 or 0.5
        vlo, vhi = vlo - pad, vhi + pad
    else:
        vhi *= 1.05
    plo = min(positions, default=0.0) - 0.6
    phi = max(positions, default=0.0) + 0.6

    def at(pos: float, v: float) -> tuple[float, float]:
        """Page coordinates of a (category position, value) point."""
        f = (v - vlo) / (vhi - vlo)
        g = (pos - plo) / (phi - plo)
        return (x0 + f * pw, y0 + ph - g * ph) if horizontal else (x0 + g * pw, y0 + ph - f * ph)

    out = _open(W, H)
    for m in marks:
        if m[0] == "bar":
            _, pos, start, length, thick, color, alpha = m
            (ax, ay), (bx, by) = at(pos - thick / 2, start), at(pos + thick / 2, start + length)
            x, y, w, h = min(ax, bx), min(ay, by), abs(bx - ax), abs(by - ay)
            edge = ' stroke="#333" stroke-width="0.6"' if alpha < 0.9 else ""
            out.append(f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" '
                       f'fill="{color}" fill-opacity="{alpha}"{edge}/>')
        elif m[0] == "seg":
            _, p0, v0, p1, v1, color, width = m
            (ax, ay), (bx, by) = at(p0, v0), at(p1, v1)
            out.append(f'<path d="M{_num(ax)},{_num(ay)} L{_num(bx)},{_num(by)}" stroke="{color}" stroke-width="{width}"/>')
        else:
            _, pos, v, color = m
            cx, cy = at(pos, v)
            out.append(f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="1.6" fill="{color}"/>')
    out.append(_spines(x0, y0, pw, ph))
    ticks = [t for t in nice_ticks(vlo, vhi) if vlo - 1e-9 <= t <= vhi + 1e-9]
    step = float(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    for t in ticks:  # the value axis: the bottom one of a horizontal chart, else the left one
        x, y = at(plo, t)
        out += _xtick(x, y0 + ph, tick_label(t, step)) if horizontal else _ytick(x0, y, tick_label(t, step))
    room = x0 - 12 if horizontal else pw / max(len(categories), 1)
    for c, pos in zip(categories, positions):
        x, y = at(pos, vlo)
        label = _fit(c, room)
        tip = c if label != c else None
        out += _ytick(x0, y, label, tip) if horizontal else _xtick(x, y0 + ph, label, tip)
    out.append(_text(x0 + pw / 2, 14, title, size=SIZE + 1))
    if horizontal:
        out.append(_text(x0 + pw / 2, H - 8, value_label))
    else:
        out.append(_text(x0 + pw / 2, H - 8, category_label))
        out.append(_text(12, y0 + ph / 2, value_label, rotate=True))
    lx = x0 + pw
    for label, color in reversed(legend):  # one row, right-aligned, first entry leftmost
        out.append(f'<rect x="{_num(lx - 12)}" y="{_num(top - 14)}" width="12" height="8" fill="{color}" fill-opacity="0.8"/>')
        out.append(_text(lx - 16, top - 7, label, anchor="end", size=SIZE - 1))
        lx -= 16 + CHAR * 0.9 * len(label) + 14
    out.append("</svg>")
    return "".join(out)


def _wedge(cx: float, cy: float, r0: float, r1: float, a0: float, a1: float) -> str:
    """An annulus sector from angle a0 to a1 (radians, clockwise from 12 o'clock) as a path."""
    if a1 - a0 >= 2 * math.pi - 1e-9:  # a whole ring: two halves (an arc cannot end where it starts)
        mid = a0 + math.pi
        return _wedge(cx, cy, r0, r1, a0, mid) + " " + _wedge(cx, cy, r0, r1, mid, a1)

    def pt(r: float, a: float) -> str:
        return f"{_num(cx + r * math.sin(a))},{_num(cy - r * math.cos(a))}"

    large = 1 if a1 - a0 > math.pi else 0
    return (f"M{pt(r1, a0)} A{_num(r1)},{_num(r1)} 0 {large} 1 {pt(r1, a1)} L{pt(r0, a1)} "
            f"A{_num(r0)},{_num(r0)} 0 {large} 0 {pt(r0, a0)} Z")


def rings(title: str, rings_: Sequence[dict], size: float = 6.2) -> str:
    """Concentric rings of wedges (the verb-noun sunburst), clockwise from 12 o'clock.

    Each ring: {inner, outer (fractions of the radius), wedges: [(value, color, label)],
    opacity, font, min_share (the smallest wedge, as a share of the ring, that shows its label)}."""
    W = size * 72.0
    top = 26.0
    R = (W - top - 12.0) / 2
    cx, cy = W / 2, top + R
    out = _open(W, W) + [_text(cx, 16, title, size=SIZE + 1)]
    labels = []
    for ring in rings_:
        total = float(sum(v for v, _, _ in ring["wedges"])) or 1.0
        r0, r1 = ring["inner"] * R, ring["outer"] * R
        a = 0.0
        for value, color, label in ring["wedges"]:
            a1 = a + 2 * math.pi * value / total
            if value > 0:
                out.append(f'<path d="{_wedge(cx, cy, r0, r1, a, a1)}" fill="{color}" '
                           f'fill-opacity="{ring.get("opacity", 1.0)}" stroke="#fff" stroke-width="0.6">'
                           f"<title>{escape(label or '')} {value}</title></path>")
                if label and value / total >= ring.get("min_share", 0.0):
                    mid, rm = (a + a1) / 2, (r0 + r1) / 2
                    labels.append(_text(cx + rm * math.sin(mid), cy - rm * math.cos(mid) + 3, label,
                                        size=ring.get("font", SIZE - 1)))
            a = a1
    out += labels  # on top of every wedge
    out.append("</svg>")
    return "".join(out)
