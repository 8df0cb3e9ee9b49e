"""mix: combine sources by ratio with per-source caps; optional multi-stage output."""
from __future__ import annotations

from typing import Literal

import logging

import polars as pl

from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, param, register
from dataforge.rand import keys_in_id_order
from dataforge.schema import REJECT
from dataforge.score.quota import quotas, shares
from dataforge.score.select import NORMALIZE, STRATA, Normalize, Strata, check_columns, rank_score, strata_columns

STAGE = "stage"


@register
class Mix(GlobalOp):
    """Mix sources by ratio, proportional-with-cap or temperature; optional multi-stage output.

    Sample rows per `by` (default `source`) so the output has the target shares:
    - method `ratio`: the shares in `ratios` (sources not named get no rows);
    - `proportional`: examples-proportional, each source counted up to `cap` (T5/FLAN);
    - `temperature`: shares proportional to (n_s / N) ** (1 / temperature), after `cap`.
    `caps` limits the rows a source can give; `total` the output size (default: the
    largest the availability allows at these shares). Within a source, rows are taken
    in seeded random order, or best first by the product of `order_by` score columns,
    normalised within `normalize_by` strata as the selections do (default task,
    meta.template, meta.prompt_type; `normalize: none` ranks raw products).
    Multi-stage: `stages: {stage1: {synthetic: 0.8, curated: 0.2}, stage2: {curated: 1.0}}`
    with optional `stage_sizes`; stages take rows in order, without reuse, and the
    `stage` column names each row's stage. Rows not taken: "mix: over quota for <source>
    (quota 150 of 316 rows)"; rows of a group `ratios` does not name: "mix: not in the
    ratios: <source> (method ratio gives unnamed groups no rows)", with a warning."""

    name = "mix"
    by: str = "source"
    method: Literal["ratio", "proportional", "temperature"] = "proportional"
    ratios: dict[str, float] = param(default_factory=dict)
    cap: int | None = None
    caps: dict[str, int] = param(default_factory=dict)
    temperature: float = 1.0
    total: int | None = None
    order_by: list[str] = param(default_factory=list)
    normalize: Normalize = "percentile"
    normalize_by: Strata = param(default_factory=lambda: list(STRATA))
    stages: dict[str, dict[str, float]] = param(default_factory=dict)
    stage_sizes: dict[str, int] = param(default_factory=dict)
    seed: int = 0

    def validate(self):
        where = f"operator '{self.name}'"
        if self.method == "ratio" and not self.ratios and not self.stages:
            raise ConfigError(f"{where}: method 'ratio' needs `ratios: {{source: share}}`")
        if self.normalize not in NORMALIZE:
            raise ConfigError(f"{where}: normalize must be one of {list(NORMALIZE)}")
        if self.temperature <= 0:
            raise ConfigError(f"{where}: temperature must be > 0")
        all_ratios = list(self.ratios.values()) + [v for st in self.stages.values() for v in st.values()]
        if any(v < 0 for v in all_ratios):
            raise ConfigError(f"{where}: ratios must be >= 0")
        unknown = sorted(set(self.stage_sizes) - set(self.stages))
        if unknown:
            raise ConfigError(f"{where}: stage_sizes names unknown stage(s) {unknown}")

    def columns_in(self):
        strata = strata_columns(self.normalize_by) if self.order_by and self.normalize != "none" else []
        return list(dict.fromkeys([self.by] + list(self.order_by) + strata))

    def columns_out(self):
        return [STAGE] if self.stages else []

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        group = pl.col(self.by).cast(pl.Utf8).fill_null("(none)")
        if self.by == "source":
            # rows derived from a source's rows ("rt+eda", "alpaca+evol_instruct") count toward
            # the source the ratios and caps name, unless those name the derived source itself:
            # a cap of 120 on rt let its augmented rows through on top, and `ratio` gave them nothing
            named = set(self.ratios) | set(self.caps) | {s for st in self.stages.values() for s in st}
            root = group.str.split("+").list.first()
            group = pl.when(~group.is_in(sorted(named)) & root.is_in(sorted(named))).then(root).otherwise(group)
        avail = {str(k): int(v) for k, v in df.group_by(group.alias("g")).len().iter_rows()}
        avail = {s: min(n, self.caps[s]) if s in self.caps else n for s, n in avail.items()}
        plan = self._plan(avail)
        # one ranking per source; stage i takes ranks (sum of earlier quotas, + its quota]
        df = df.with_columns(self._order_key(df).alias("__key"))
        rank = pl.col("__key").rank("ordinal").over(group)
        stage_expr = pl.lit(None, dtype=pl.Utf8)
        taken = {s: 0 for s in avail}
        chain = None
        for stage, q in plan.items():
            upper = {s: taken[s] + q.get(s, 0) for s in avail}
            cond = rank <= group.replace_strict(upper, default=0, return_dtype=pl.Int64)
            chain = pl.when(cond).then(pl.lit(stage)) if chain is None else chain.when(cond).then(pl.lit(stage))
            taken = upper
        stage_expr = chain.otherwise(None) if chain is not None else stage_expr
        out = df.with_columns(stage_expr.alias("__stage")).drop("__key")
        named = set(self.ratios) | {s for st in self.stages.values() for s in st}
        unnamed = sorted(g for g in avail if g not in named) if self.method == "ratio" or self.stages else []
        if unnamed:
            logging.getLogger("dataforge.mix").warning(
                "mix: %s %s not named in the ratios: their %d row(s) get no share (name them with a ratio to keep some)",
                self.by, unnamed, sum(avail[g] for g in unnamed))
        quota = {g: sum(q.get(g, 0) for q in plan.values()) for g in avail}
        rows = df.group_by(group.alias("g")).len()
        total = dict(zip(rows["g"].to_list(), rows["len"].to_list()))
        reason = (pl.when(pl.col("__stage").is_not_null()).then(None)
                  .when(group.is_in(unnamed))
                  .then(pl.format(f"mix: not in the ratios: {{}} (method {self.method} gives groups the ratios do "
                                  "not name no rows)", group))
                  .otherwise(pl.format("mix: over quota for {} (quota {} of {} rows)", group,
                                       group.replace_strict(quota, default=0, return_dtype=pl.Int64),
                                       group.replace_strict(total, default=0, return_dtype=pl.Int64))))
        out = out.with_columns(reason.alias(REJECT))
        out = out.rename({"__stage": STAGE}) if self.stages else out.drop("__stage")
        self._metrics = {"available": avail,
                         "quotas": {st: {s: n for s, n in q.items() if n} for st, q in plan.items()},
                         "rows_out": int(sum(sum(q.values()) for q in plan.values()))}
        return out

    def _plan(self, avail: dict[str, int]) -> dict[str, dict[str, int]]:
        """stage -> source -> rows. Without `stages`, one stage named 'all'."""
        named = set(self.ratios) | {s for st in self.stages.values() for s in st}
        missing = sorted(named - set(avail))
        if missing:
            raise ConfigError(f"operator '{self.name}': no rows with {self.by} {missing}; "
                              f"present: {sorted(avail)}")
        if not self.stages:
            share = shares(avail, self.method, self.ratios, self.cap, self.temperature)
            return {"all": quotas(avail, share, self.total)}
        left = dict(avail)
        plan = {}
        for stage, ratios in self.stages.items():
            share = shares(left, "ratio", ratios, None, 1.0)
            q = quotas(left, share, self.stage_sizes.get(stage))
            plan[stage] = q
            left = {s: left[s] - q.get(s, 0) for s in left}
        return plan

    def _order_key(self, df: pl.DataFrame) -> pl.Expr:
        if self.order_by:
            check_columns(df, self.order_by, f"operator '{self.name}'")
            s = rank_score(self.order_by, self.name, self.normalize, self.normalize_by, df.columns)
            return pl.struct((-s).alias("s"), pl.col("id"))
        return pl.lit(pl.Series(keys_in_id_order(df["id"], self.ctx.seed, self.seed)))
