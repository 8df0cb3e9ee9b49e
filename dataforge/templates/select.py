"""Which templates render which rows: uniform, weighted, `all` (ensembling) or `match`.

Input: per-row prompt types and the per-row draw base. Output: (row, template, prompt
type) triples, ordered by row, then template order in the family file.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataforge.errors import ConfigError
from dataforge import rand as draw
from dataforge.templates.spec import Family, Template


@dataclass
class Pool:
    mode: str  # uniform | all | match
    templates: list[Template]
    weights: list[float]


def pools(fam: Family, spec: str | list | dict, original_only: bool) -> dict[str, Pool]:
    """{'forward': Pool, 'inverted': Pool} for a `templates` parameter."""
    fwd = [t for t in fam.templates if t.original_task or not original_only]
    if not fwd:
        raise ConfigError(f"{fam.path.name}: no original-task templates in family '{fam.name}'")
    if isinstance(spec, str):
        mode = fam.select if spec == "auto" else spec
        if mode not in ("uniform", "all", "match"):
            raise ConfigError(f"convert: templates must be auto, uniform, all, match, a list of ids or "
                              f"{{id: weight}}; got {spec!r}")
        return {"forward": Pool(mode, fwd, [1.0] * len(fwd)),
                "inverted": Pool(mode, fam.inverted, [1.0] * len(fam.inverted))}
    wanted = {_bare(k, fam): float(v) for k, v in spec.items()} if isinstance(spec, dict) \
        else {_bare(k, fam): 1.0 for k in spec}
    wanted = {k: v for k, v in wanted.items() if k is not None}
    if not wanted:  # the ids name templates of another family: use all of this one
        return pools(fam, "uniform", original_only)
    for k in wanted:
        fam.get(k)  # ConfigError naming the file for an unknown id
    out = {}
    for direction, ts in (("forward", fwd), ("inverted", fam.inverted)):
        chosen = [t for t in ts if t.id in wanted and wanted[t.id] > 0]
        out[direction] = Pool("uniform", chosen, [wanted[t.id] for t in chosen]) if chosen \
            else Pool("uniform", ts, [1.0] * len(ts))
    return out


def _bare(key: str, fam: Family) -> str | None:
    if "/" in key:
        f, _, tid = key.partition("/")
        return tid if f == fam.name else None
    return key if any(t.id == key for t in fam.all_templates()) else None


def renderable(pool: Pool, rows: np.ndarray, ok: dict[str, np.ndarray]) -> np.ndarray:
    """(len(rows), templates) booleans: can template j render row i (`ok` per template id)."""
    return np.stack([ok[t.id][rows] for t in pool.templates], axis=1)


def assign(pool: Pool, rows: np.ndarray, base: np.ndarray, ok: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, template indices into pool.templates) for `rows`.

    `ok[template id]` is a boolean per batch row: renderable by that template (for `match`,
    and for the uniform pools of families with templates that `require` optional fields).
    """
    n_t = len(pool.templates)
    if rows.size == 0 or n_t == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if pool.mode == "all":
        r, t = np.repeat(rows, n_t), np.tile(np.arange(n_t), rows.size)
        # a template that cannot render the row (it requires an optional field the row lacks:
        # "explain_relation" over MNLI rows without a rationale) skips it rather than rejecting
        # it: the others render it. A row no template can render keeps its first, which rejects
        # it once, with the reason.
        keep = np.ones(r.size, dtype=bool)
        for j, tp in enumerate(pool.templates):
            if tp.id in ok:
                m = t == j
                keep[m] = ok[tp.id][r[m]]
        if not keep.all():
            lost = ~np.isin(rows, r[keep])
            keep |= np.isin(r, rows[lost]) & (t == 0)
            r, t = r[keep], t[keep]
        return r, t
    if pool.mode == "match":
        # the first template that can render the row; else the first (it rejects the row with a reason)
        good = renderable(pool, rows, ok)
        idx = np.where(good.any(axis=1), good.argmax(axis=1), 0)
        return rows, idx.astype(np.int64)
    idx = draw.choose(base[rows], "template", pool.weights)
    if all(t.id in ok for t in pool.templates):
        # a row the drawn template cannot render (an optional field it requires is blank) is
        # drawn again among the templates that can, rather than rejected; the others keep their draw
        good = renderable(pool, rows, ok)
        redo = ~good[np.arange(rows.size), idx] & good.any(axis=1)
        if redo.any():
            w = good[redo] * np.asarray(pool.weights, dtype=np.float64)
            cum = np.cumsum(w, axis=1)
            u = draw.uniform(base[rows][redo], "template_renderable")[:, None] * cum[:, -1:]
            idx[redo] = (u < cum).argmax(axis=1)
    return rows, idx
