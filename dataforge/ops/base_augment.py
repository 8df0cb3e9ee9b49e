"""AugmentOp: the part every augmenter shares.

An augmenter returns its input rows unchanged plus new rows: the chosen `field` rewritten,
a new content `id`, `parent_id` = the original's id, `source` + a suffix ("+eda"), and
`meta` with augmenter, variant, parameters and seed. `ratio` picks which rows are
augmented and `per_row` how many new rows each gets; both are decided per row from a hash
of (seed, row id), so results do not depend on batching. New rows that fail a guard come
back with `_reject` set (the engine moves them to rejects): a failed call, an exact copy,
a duplicate of another new row, drift below `min_similarity`, or (where enabled) a lost
number; such a row gets an id of its own (never its parent's or another row's content id). Rows that are classification examples never get their output (label) changed.

Subclasses implement `generate(texts, seeds, slots)` and return `Generated`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from dataforge.augment import guards, seeds as S
from dataforge.errors import ConfigError
from dataforge.ops.base import MapOp
from dataforge.schema import REJECT, REJECT_DETAIL, content_id, is_score, meta_set, nest_step_provenance

_K = "_aug_slot"
_NEW = "_aug_text"
_ERR = "_aug_error"
_VAR = "_aug_variant"
_SEED = "_aug_seed"
_PARENT = "_aug_parent_text"


@dataclass
class Generated:
    texts: list[str | None]  # None where the augmenter failed for that item
    variants: list[str]  # which action / pivot / style made each text
    errors: list[str | None] | None = None  # why an item failed ("backend: timeout")
    prompt_variants: list[dict | None] | None = None  # a searched prompt mixture's member per item


# tasks whose output is a label (the task taxonomy: sentiment and topic are tasks of their own)
LABEL_TASKS = ("classification", "sentiment", "topic", "nli", "paraphrase", "multiple_choice")


def is_classification() -> pl.Expr:
    """A task whose output is a label, or a label recorded in meta (converted classification data)."""
    label = pl.col("meta").fill_null("{}").str.json_path_match("$.label").is_not_null()
    return pl.col("task").is_in(LABEL_TASKS).fill_null(False) | label


class AugmentOp(MapOp):
    adds_rows: ClassVar[bool] = True
    suffix: ClassVar[str] = ""  # appended to `source` of new rows, e.g. "+eda"
    keep_numbers_default: ClassVar[bool] = False
    keep_quotes_default: ClassVar[bool] = False
    plumbing: ClassVar[tuple[str, ...]] = ()  # parameters that do not shape the text (kept out of meta)

    field: Literal["instruction", "input", "output"] = "instruction"
    per_row: int = 1
    ratio: float = 1.0
    seed: int | None = None  # None: the run's seed
    min_similarity: float | None = 0.8  # drift guard; null turns it off
    keep_numbers: bool | None = None  # reject new rows that lose a number; None: the augmenter's default
    # reject new rows whose quoted text or colon material ("Translate into French: Hello") changed
    keep_quotes: bool | None = None  # None: the augmenter's default
    keep_fluency: bool = True  # reject new rows with more scrambled word transitions than their parent
    embed_model: str | None = None  # sentence-transformers model for the drift guard (default MiniLM)
    include_augmented: bool = False  # also augment rows an earlier augmenter made (noise compounds)

    # -- parameters ---------------------------------------------------------------------
    def validate(self) -> None:
        if self.per_row < 1:
            raise ConfigError(f"operator '{self.name}': per_row must be >= 1, got {self.per_row}")
        if not 0.0 <= self.ratio <= 1.0:
            raise ConfigError(f"operator '{self.name}': ratio must be within [0, 1], got {self.ratio}")
        if self.min_similarity is not None and not -1.0 <= self.min_similarity <= 1.0:
            raise ConfigError(f"operator '{self.name}': min_similarity must be within [-1, 1]")

    def meta_params(self) -> dict:
        """Parameters recorded in each new row's meta (what shaped the text, not the plumbing)."""
        skip = {"field", "per_row", "ratio", "seed", "min_similarity", "keep_numbers", "keep_quotes",
                "keep_fluency", "embed_model", "include_augmented", *self.plumbing}
        return {k: v for k, v in self.params().items() if k not in skip}

    def provenance(self) -> dict:
        """Backend, model, revision and sampling of what wrote the new text (row meta)."""
        return {}

    def columns_in(self):
        return ["id", self.field, "task", "source", "meta", "lang"]

    def columns_out(self):
        return ["id", self.field, "source", "parent_id", "meta"]

    @property
    def run_seed(self) -> int:
        return self.seed if self.seed is not None else self.ctx.seed

    # -- what subclasses provide ------------------------------------------------------------
    def eligible(self) -> pl.Expr:
        """Rows this augmenter can work on, beyond the shared checks (e.g. a source language)."""
        return pl.lit(True)

    def generate(self, texts: list[str], seeds: np.ndarray, slots: np.ndarray) -> Generated:
        raise NotImplementedError

    # -- the shared flow ----------------------------------------------------------------------
    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        chosen = self._chosen(df)
        if chosen.height == 0:
            return df
        rep = pl.concat([chosen.with_columns(pl.lit(k, dtype=pl.Int64).alias(_K)) for k in range(self.per_row)])
        ids = rep["id"] + "\x1f" + rep[_K].cast(pl.Utf8)
        seeds = S.row_seeds(ids, self.run_seed, self.name)
        # variant rotation starts from a per-row value shared by the row's slots, so they differ
        start = S.row_seeds(rep["id"], self.run_seed, self.name + ":start")
        gen = self.generate(rep[self.field].to_list(), start, rep[_K].to_numpy())
        errors = gen.errors or [None] * rep.height
        rep = rep.with_columns(
            pl.Series(_NEW, gen.texts, dtype=pl.Utf8), pl.Series(_ERR, errors, dtype=pl.Utf8),
            pl.Series(_VAR, gen.variants, dtype=pl.Utf8), pl.Series(_SEED, seeds.astype(np.int64)),
        )
        pv = {}
        if gen.prompt_variants and gen.prompt_variants[0] is not None:  # meta.prompt_variant: which member
            rep = rep.with_columns(pl.Series("_pvn", [v["name"] for v in gen.prompt_variants], dtype=pl.Utf8),
                                   pl.Series("_pvs", [v["search"] for v in gen.prompt_variants], dtype=pl.Utf8))
            pv = {"prompt_variant": pl.struct(name=pl.col("_pvn"), search=pl.col("_pvs"))}
        new = self._new_rows(rep, pv)
        if pv:
            new = new.drop("_pvn", "_pvs")
        new = self._guard(new, df)
        return pl.concat([df, new.select([c for c in new.columns if c in df.columns or c in (REJECT, REJECT_DETAIL)])],
                         how="diagonal_relaxed")

    def _chosen(self, df: pl.DataFrame) -> pl.DataFrame:
        text = pl.col(self.field).fill_null("")
        ok = (text.str.strip_chars().str.len_chars() > 0) & self.eligible()
        if not self.include_augmented:
            ok = ok & pl.col("meta").fill_null("{}").str.json_path_match("$.augmenter").is_null()
        if self.field == "output":  # a classification row's output is its label: never touch it
            ok = ok & ~is_classification()
        cand = df.filter(ok)
        if self.ratio < 1.0 and cand.height:
            u = S.uniform(S.row_seeds(cand["id"], self.run_seed, self.name + ":ratio"))
            cand = cand.filter(pl.Series(u < self.ratio))
        return cand

    def _new_rows(self, rep: pl.DataFrame, extra: dict | None = None) -> pl.DataFrame:
        # (the parent's own step record, if another step wrote it, moves under meta.earlier whole)
        meta = meta_set(nest_step_provenance(pl.col("meta")), augmenter=self.name, variant=pl.col(_VAR),
                        params=self.meta_params(), seed=pl.col(_SEED), field=self.field,
                        **{k: v for k, v in self.provenance().items() if k != "seed"},  # seed: the row's
                        **(extra or {}))
        scores = [pl.lit(None, dtype=pl.Float64).alias(c) for c in rep.columns if is_score(c)]
        new = rep.with_columns(
            pl.col(self.field).alias(_PARENT),
            # a failed item keeps the parent's text, so its reject shows what was tried
            pl.col(_NEW).fill_null(pl.col(self.field)).alias(self.field),
            pl.col("id").alias("parent_id"),
            (pl.col("source") + self.suffix).alias("source"),
            meta.alias("meta"),
            *scores,  # scores measured the parent's text, not this one
        )
        return new.with_columns(content_id(new).alias("id"))

    def _guard(self, new: pl.DataFrame, old: pl.DataFrame) -> pl.DataFrame:
        failed = pl.when(pl.col(_NEW).is_null()).then(
            pl.concat_str([pl.lit(f"augment_failed: {self.name}: "), pl.col(_ERR).fill_null("no output")]))
        later_twin = pl.col("id").is_duplicated() & (pl.int_range(pl.len()).over("id") > 0)
        dup = pl.col("id").is_in(old["id"].implode()) | later_twin
        reason = pl.coalesce(
            failed.otherwise(None),
            guards.copy_reason(pl.col(_PARENT), pl.col(self.field)),
            pl.when(dup).then(pl.lit("copy: duplicate of another row")).otherwise(None),
        )
        new = new.with_columns(reason.alias(REJECT))
        # the constraint guards, each a reason per row where it is on (None: the augmenter's default)
        checks = [(self.keep_numbers, self.keep_numbers_default, guards.lost_number_reason),
                  (self.keep_quotes, self.keep_quotes_default, guards.changed_material_reason),
                  (self.keep_fluency, True, guards.garbled_reason)]
        for on, default, guard in checks:
            if (on if on is not None else default) and new.height:
                why = guard(new, _PARENT, self.field)
                new = new.with_columns(pl.coalesce(pl.col(REJECT), pl.lit(why)).alias(REJECT))
        new = self._drift(new)
        return self._reject_ids(new).drop(_PARENT, _K, _NEW, _ERR, _VAR, _SEED)

    def _reject_ids(self, new: pl.DataFrame) -> pl.DataFrame:
        """A new row that failed a guard gets an id of its own: a hash of its content id, its
        parent's id, this step and its slot. Its content id is often another row's (a failed
        item keeps its parent's text; a copy is its parent's or another row's content), and
        rejects would then show the same id as a row kept in the shards, with the row its own
        parent. Kept new rows keep their content id."""
        if not new.height or new[REJECT].null_count() == new.height:
            return new
        key = new.select(pl.col("id"), pl.col("parent_id"), pl.lit(self.name).alias("_step"), pl.col(_K))
        own = content_id(key, ("id", "parent_id", "_step", _K))
        return new.with_columns(pl.when(pl.col(REJECT).is_null()).then(pl.col("id")).otherwise(pl.lit(own)).alias("id"))

    def _drift(self, new: pl.DataFrame) -> pl.DataFrame:
        if self.min_similarity is None:
            return new.with_columns(pl.lit(None, dtype=pl.Utf8).alias(REJECT_DETAIL))
        from dataforge.embed import for_op

        live = new.with_row_index("_r").filter(pl.col(REJECT).is_null())
        emb = for_op(self, self.embed_model)
        cos = guards.cosines(emb, live[_PARENT].to_list(), live[self.field].to_list())
        scored = live.select("_r").with_columns(pl.Series("_cos", cos, dtype=pl.Float64))
        new = new.with_row_index("_r").join(scored, on="_r", how="left", maintain_order="left")
        detail = pl.concat_str([pl.lit('{"cosine": '), guards.fixed2(pl.col("_cos")),
                                pl.lit(f', "min_similarity": {json.dumps(self.min_similarity)}}}')])
        return new.with_columns(
            pl.coalesce(pl.col(REJECT), guards.drift_reason(pl.col("_cos"), self.min_similarity)).alias(REJECT),
            pl.when(pl.col("_cos") < self.min_similarity).then(detail).otherwise(None).alias(REJECT_DETAIL),
        ).drop("_r", "_cos")
