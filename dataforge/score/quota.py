"""Per-source quotas for mixing: shares from ratios, proportional-with-cap or temperature,
rounded so they sum exactly to the total (largest remainder)."""
from __future__ import annotations

import math


def shares(avail: dict[str, int], method: str, ratios: dict[str, float], cap: int | None,
           temperature: float) -> dict[str, float]:
    """Target share of each source in the output (sums to 1 over sources that get rows)."""
    if method == "ratio":
        w = {s: float(ratios.get(s, 0.0)) for s in avail}
    else:
        size = {s: min(n, cap) if cap is not None else n for s, n in avail.items()}
        total = sum(size.values()) or 1
        if method == "proportional":
            w = {s: v / total for s, v in size.items()}
        else:  # temperature sampling (FLAN, mT5): p_s proportional to (n_s / N) ** (1 / T)
            w = {s: (v / total) ** (1.0 / temperature) if v else 0.0 for s, v in size.items()}
    # a named source with no rows left keeps its share (the total shrinks to honour the
    # ratio); unnamed or empty sources under proportional/temperature simply get nothing
    w = {s: v for s, v in w.items() if v > 0 and (method == "ratio" or avail.get(s, 0) > 0)}
    z = sum(w.values())
    return {s: v / z for s, v in w.items()} if z else {}


def largest_remainder(share: dict[str, float], total: int) -> dict[str, int]:
    raw = {s: p * total for s, p in share.items()}
    q = {s: int(math.floor(v)) for s, v in raw.items()}
    left = total - sum(q.values())
    for s in sorted(raw, key=lambda s: (-(raw[s] - q[s]), s))[:max(0, left)]:
        q[s] += 1
    return q


def quotas(avail: dict[str, int], share: dict[str, float], total: int | None) -> dict[str, int]:
    """Rows per source: the largest total (<= `total`) that no source's availability limits,
    split by `share`. Shares are kept exactly; no source is topped up past its share."""
    if not share:
        return {s: 0 for s in avail}
    feasible = min(math.floor(avail.get(s, 0) / p + 1e-9) for s, p in share.items())
    t = feasible if total is None else min(total, feasible)
    q = largest_remainder(share, t)
    # rounding may ask one row too many of a source at its limit: move it to one with room
    for s in list(q):
        while q[s] > avail[s]:
            q[s] -= 1
            room = [o for o in sorted(q, key=lambda o: -share[o]) if q[o] < avail[o]]
            if room:
                q[room[0]] += 1
    return {s: q.get(s, 0) for s in avail}
