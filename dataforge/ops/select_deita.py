"""select_deita: DEITA's score-first, diversity-aware selection (Liu et al. 2024)."""
from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import polars as pl

from dataforge.clean.distinct import DISTINCT_BY_TASK, distinct_columns, split_by_numbers, split_by_task
from dataforge.errors import ConfigError
from dataforge.ops.base import GlobalOp, param, register
from dataforge.schema import REJECT, REJECT_DETAIL
from dataforge.score import texts
from dataforge.score.index import admit, stratum_limits
from dataforge.score.select import (NORMALIZE, STRATA, Normalize, Strata, check_columns, kept_shares, low_shares,
                                    rank_score, strata_columns, stratum_label)

log = logging.getLogger("dataforge.select")


@register
class SelectDeita(GlobalOp):
    """DEITA selection: best score first, admit rows unlike those admitted; each stratum its share of a budget.

    Sort rows by score (the product of `score` columns, e.g. complexity x quality,
    normalised within its `normalize_by` strata, default task, meta.template and
    meta.prompt_type; `normalize`: percentile (default), zscore or none), then admit a row
    only if it is not too similar to any row admitted so far, until `budget` rows are
    admitted (the paper's rule; distilabel's DEITA step inverts it). Fair across strata
    (docs/selection.md): with a budget each `normalize_by` stratum is admitted up to its
    share (`balance`); two rows of one stratum are too similar above the stratum's own
    threshold (`tau_relative`: template rows sit alike whatever their content), rows of two
    strata above `tau`; rows whose numbers or short distinct fields differ
    (`distinct_numbers`, `distinct_by_task`, as the dedup operators) are never compared, nor
    are rows the model cannot represent (`scripts`). Exact: candidates are checked in blocks
    against the admitted set with matrix products. Rejects: "too_similar: cos 0.93 > 0.90 to
    <id>", "not_selected: below budget (ranking score 0.41; the last row admitted had 0.63)"
    and "not_selected: below budget, stratum share full (...)". Metrics: rows kept per source,
    task, language and stratum, strata kept far under the overall share (`low_share_kept`,
    also logged), each stratum's threshold."""

    name = "select_deita"
    version = "2"  # 2: strata (balance, tau_relative), distinct rows, scripts
    score: list[str] = param(default_factory=lambda: ["score_complexity", "score_quality"])
    tau: float = 0.9
    budget: int | None = None  # None: every row that passes the similarity rule
    fields: list[str] = param(default_factory=lambda: ["instruction", "input"])
    model: str | None = None
    max_chars: int = 1000
    normalize: Normalize = "percentile"
    normalize_by: Strata = param(default_factory=lambda: list(STRATA))
    # with a budget, a stratum is admitted up to ceil(budget x its share of the rows); what a
    # stratum short of admissible rows leaves goes to the others' next rows by rank.
    # null: on, unless `normalize: none` (raw scores then decide across strata, as asked)
    balance: bool | None = None
    # a stratum's own threshold: max(tau, 1 - tau_relative x (1 - m)), m its rows' median cosine
    # to their nearest comparable row; null: tau for every pair (the paper)
    tau_relative: float | None = 0.25
    tau_min_rows: int = 20  # strata with fewer measured rows keep tau
    # as dedup_semantic: rows that share a passage, premise or template but differ in these
    # short fields (an answer, a label) or in their numbers are other requests, never compared
    distinct_by_task: dict[str, list[str]] = param(default_factory=lambda: dict(DISTINCT_BY_TASK))
    distinct_max_words: int = 12
    distinct_numbers: bool = True
    # rows the model cannot represent (`auto`: mostly other scripts than Latin, with MiniLM or
    # static) are not compared: they compete on score alone
    scripts: Literal["auto", "latin", "all"] = "auto"
    # a stratum or language (>= warn_min_rows rows) kept under warn_share x the overall share is named
    warn_share: float = 0.5
    warn_min_rows: int = 20

    def validate(self):
        if not -1.0 <= self.tau <= 1.0:
            raise ConfigError(f"operator '{self.name}': tau is a cosine, in [-1, 1]")
        if self.budget is not None and self.budget < 0:
            raise ConfigError(f"operator '{self.name}': budget must be >= 0")
        if self.normalize not in NORMALIZE:
            raise ConfigError(f"operator '{self.name}': normalize must be one of {list(NORMALIZE)}")
        if self.tau_relative is not None and not 0.0 <= self.tau_relative <= 1.0:
            raise ConfigError(f"operator '{self.name}': tau_relative is a fraction in [0, 1], or null")

    def _balanced(self) -> bool:
        return self.normalize != "none" if self.balance is None else bool(self.balance)

    def _stratified(self) -> bool:
        return self.normalize != "none" or self._balanced() or self.tau_relative is not None

    def columns_in(self):
        extra = strata_columns(self.normalize_by) if self._stratified() else []
        extra += distinct_columns(self.distinct_by_task)
        return list(dict.fromkeys(list(self.score) + list(self.fields) + extra))

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        check_columns(df, self.score, f"operator '{self.name}'")
        s = df.select(rank_score(self.score, self.name, self.normalize, self.normalize_by, df.columns)) \
            .to_series().to_numpy()
        # best score first; ties by id so the choice does not depend on input order
        order = np.lexsort((df["id"].to_numpy(), -s))
        vecs, unread = texts.embed_rows(self, df, self.fields, self.model, self.max_chars, self.scripts,
                                        then="select_deita ranks them by score alone")
        label = df.select(stratum_label(self.normalize_by, df.columns)).to_series()
        group = label.rank("dense").cast(pl.Int64).to_numpy() - 1 if df.height else np.zeros(0, np.int64)
        key = self._keys(df, unread)
        lim, _ = stratum_limits(vecs, group, self.tau, self.tau_relative, key, self.tau_min_rows,
                                  seed=self.ctx.seed, order=order)
        cap = None
        if self.budget is not None and self._balanced() and df.height:
            sizes = np.bincount(group, minlength=len(lim))
            cap = np.ceil(self.budget * sizes / df.height - 1e-9).astype(np.int64)
        a = admit(vecs, order, self.tau, self.budget, group=group, tau_group=lim, key=key, cap=cap)
        cut = float(s[a.admitted].min()) if a.admitted.any() else None
        shares = kept_shares(df.with_columns(label.alias("stratum")), pl.Series(a.admitted, dtype=pl.Boolean),
                             by=("source", "task", "lang", "stratum"))
        names = label.unique().sort().to_list()
        self._metrics = {"normalize": self.normalize, "normalize_by": self.normalize_by,
                         "last_admitted_score": round(cut, 4) if cut is not None else None,
                         "tau": self.tau, **shares,
                         "stratum_tau": {n: round(float(lim[i]), 4) for i, n in enumerate(names)
                                         if lim[i] > self.tau},
                         "rows_not_compared_script": int(unread.sum()) if unread is not None else 0}
        if cap is not None:
            self._metrics["stratum_cap"] = {n: int(cap[i]) for i, n in enumerate(names)}
        self._warn_low(self._metrics)
        return mark(df, a.admitted, a.sim, a.near, self.tau, s, cut, limit=a.limit, passed=a.passed_over,
                    stratum=label, group=group)

    def _keys(self, df: pl.DataFrame, unread: np.ndarray | None) -> np.ndarray:
        """An int per row: rows with different codes are never compared."""
        k = pl.Series("k", ["="] * df.height, dtype=pl.Utf8)
        k = split_by_task(df, k, self.distinct_by_task, self.distinct_max_words)
        if self.distinct_numbers:
            k = split_by_numbers(df, k, self.fields)
        codes = np.array(k.rank("dense").cast(pl.Int64).to_numpy()) if df.height else np.zeros(0, np.int64)
        if unread is not None:  # each its own code: compared with nobody
            codes[unread] = codes.max() + 1 + np.arange(int(unread.sum()))
        return codes

    def _warn_low(self, m: dict) -> None:
        low = low_shares(m, self.warn_share, self.warn_min_rows)
        if not low:
            return
        m["low_share_kept"] = low
        hints = []
        if any(k.startswith("stratum ") for k in low):
            hints.append("a stratum runs short when its rows are too alike to pass the similarity rule "
                         "(see each reject's reason; raise tau or tau_relative)")
        if any(k.startswith("lang ") for k in low):
            hints.append("languages are not strata: add lang to normalize_by to give each its share")
        log.warning("select_deita kept %s of the rows overall but far less of: %s; %s",
                    m["share_kept"], ", ".join(f"{k} ({v['kept']} of {v['rows']})" for k, v in low.items()),
                    "; ".join(hints))


def mark(df: pl.DataFrame, admitted: np.ndarray, sim: np.ndarray, near: np.ndarray, tau: float,
         score: np.ndarray | None = None, cut: float | None = None, *, limit: np.ndarray | None = None,
         passed: np.ndarray | None = None, stratum: pl.Series | None = None,
         group: np.ndarray | None = None) -> pl.DataFrame:
    """Reject reasons from the admission result (vectorised). With the ranking `score` and the
    last admitted row's (`cut`), a row below the budget says how far below it was; a row
    `passed` over because its stratum had its share says so, with the stratum's own cut."""
    n = len(admitted)
    near_id = df["id"].gather(np.clip(near, 0, None)) if df.height else df["id"]
    lim = limit if limit is not None else np.full(n, tau, dtype=np.float32)
    s_cut = np.full(n, np.nan)
    if passed is not None and group is not None and score is not None and n:
        lowest = np.full(int(group.max()) + 1, np.nan)
        for g in np.unique(group[admitted]):
            lowest[g] = score[admitted & (group == g)].min()
        s_cut = lowest[group]
    info = pl.DataFrame({
        "adm": admitted,
        "cos": pl.Series(sim, dtype=pl.Float64).fill_nan(None).round(3),
        "lim": pl.Series(lim, dtype=pl.Float64).fill_nan(None).round(4),
        "near": near_id.zip_with(pl.Series(near >= 0), pl.Series([None] * len(near), dtype=pl.Utf8)),
        "rank_score": pl.Series(score if score is not None else np.full(n, np.nan), dtype=pl.Float64)
        .fill_nan(None).round(4),
        "passed": passed if passed is not None else np.zeros(n, dtype=bool),
        "stratum": stratum if stratum is not None else pl.Series([None] * n, dtype=pl.Utf8),
        "s_cut": pl.Series(s_cut, dtype=pl.Float64).fill_nan(None).round(4),
        # "0.90" as before; a stratum's own threshold with three decimals where it has them
        "lim_txt": [None if x != x else f"{x:.2f}" if abs(x * 100 - round(x * 100)) < 1e-4 else f"{x:.3f}"
                    for x in lim.tolist()],
    })
    too_similar = ~pl.col("adm") & pl.col("cos").is_not_null()
    below = pl.lit("not_selected: below budget")
    if score is not None and cut is not None:
        below = pl.format(f"not_selected: below budget (ranking score {{}}; the last row admitted had {cut:.2f})",
                          pl.col("rank_score").round(2))
    full = pl.format("not_selected: below budget, stratum share full (ranking score {}; {} kept its share "
                     "down to {})", pl.col("rank_score").round(2), pl.col("stratum"),
                     pl.col("s_cut").round(2).cast(pl.Utf8).fill_null("none"))
    reason = (pl.when(pl.col("adm")).then(None)
              .when(too_similar)
              .then(pl.format("too_similar: cos {} > {} to {}", pl.col("cos").round(2), pl.col("lim_txt"),
                              pl.col("near")))
              .when(pl.col("passed")).then(full)
              .otherwise(below).alias(REJECT))
    detail = (pl.when(too_similar)
              .then(pl.struct(pl.col("cos"), pl.col("near").alias("similar_to"), pl.col("lim").alias("tau"),
                              pl.col("rank_score")).struct.json_encode())
              .when(~pl.col("adm") & pl.col("passed") & pl.col("rank_score").is_not_null())
              .then(pl.struct(pl.col("rank_score"), pl.col("stratum"),
                              pl.col("s_cut").alias("stratum_last_admitted_score")).struct.json_encode())
              .when(~pl.col("adm") & pl.col("rank_score").is_not_null())
              .then(pl.struct(pl.col("rank_score"), pl.lit(cut).alias("last_admitted_score")).struct.json_encode())
              .otherwise(None).alias(REJECT_DETAIL))
    return pl.concat([df, info.select(reason, detail)], how="horizontal")

