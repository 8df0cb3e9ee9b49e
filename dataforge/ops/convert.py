"""`convert`: raw NLP rows -> instruction/response pairs through rules/templates/<family>.yaml.

Per row (all draws from seed + row id, so a resumed run is byte-identical): a prompt type
(zero_shot, few_shot, cot, inversion, mixed by ratio), one template (uniform, weighted),
every template (`all`: template ensembling, several rows per input) or the first that fits
(`match`), then modifiers: answer options shown/hidden, an explicit output format, a system
prompt. Rows a template cannot render (missing field, unknown label) are rejected with that
reason. Output: canonical columns only; `parent_id` is the raw row's id, `meta` records
template, prompt type, dataset and the source row.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
import polars as pl

from dataforge.errors import ConfigError, InputError
from dataforge.ops.base import MapOp, param, register
from dataforge.schema import COLUMNS, ORIGIN, REJECT, REJECT_DETAIL, SOURCE_NAME, RawJson, content_id, meta_set
from dataforge import rand as draw
from dataforge.templates import chats, fewshot, fields, modify, prompts, render, select
from dataforge.templates.spec import Family, Template, load_family

ROW = fields.ROW
_WARNED: set[tuple] = set()  # (family, template, options) warned about once per process
SPLIT_ROWS = 100_000  # a frame this big converts in two halves on two threads (no few-shot rows)


@register
class Convert(MapOp):
    """Raw NLP rows -> instruction pairs with the template families of rules/templates/."""

    name = "convert"
    batch_parallel = True
    version = "4"  # 2: chats drop assistant turns before the first user turn, meta chat_turns;
    # 3: chat column and role aliases, content parts, transcripts, tool/multimodal rejects;
    # 4: unknown labels rejected by templates reading label_id, float/bool labels, each row's
    # source, exemplars never the query's text, options for questions that refer to choices
    adds_rows = True
    family: str | list[str]
    templates: str | list[str] | dict[str, float] = "auto"
    prompt_types: str | list[str] | dict[str, float] = "zero_shot"
    k: int | None = None  # few-shot exemplars; default from _prompt_types.yaml
    options: str | float = "template"  # template | shown | hidden | probability of shown
    output_format: float = 0.0  # probability of an explicit format (zero-shot rows)
    formats: list[str] | None = None  # restrict the formats drawn
    system: float = 0.0  # probability of a system/role prompt
    original_only: bool = False  # only templates of the dataset's original task
    fields: dict[str, str] = param(default_factory=dict)  # template variable -> raw column
    source: str | None = None
    dataset: str | None = None
    seed: int | None = None  # default: the run's seed
    # chats (`messages`, ShareGPT `conversations`) of several exchanges: keep the first, or reject
    multi_turn: Literal["first", "reject"] = "first"
    # the classes of your data, replacing the family's: a list of names (a label is a name, in
    # any case, or its 0-based position) or {label: name}
    labels: list[str] | dict[str | int, str] | None = None

    def validate(self) -> None:
        fams = [self.family] if isinstance(self.family, str) else list(self.family)
        if not fams:
            raise ConfigError("convert: `family` needs at least one family name")
        self._fams = [with_labels(load_family(f), self.labels) for f in fams]
        self._ptw = prompts.weights(self.prompt_types, "prompt type", prompts.PROMPT_TYPES)
        if isinstance(self.options, str) and self.options not in ("template", "shown", "hidden"):
            raise ConfigError("convert: options must be template, shown, hidden or a probability")
        for p in ("output_format", "system") + (("options",) if not isinstance(self.options, str) else ()):
            if not 0.0 <= float(getattr(self, p)) <= 1.0:
                raise ConfigError(f"convert: {p} is a probability in [0, 1]")
        bad = [f for f in self.formats or [] if f not in prompts.FORMATS]
        if bad:
            raise ConfigError(f"convert: unknown format(s) {bad}; valid: {list(prompts.FORMATS)}")
        if isinstance(self.templates, (list, dict)):
            known = {t.id for f in self._fams for t in f.all_templates()} | \
                {t.key for f in self._fams for t in f.all_templates()}
            unknown = [k for k in self.templates if k not in known]
            if unknown:
                raise ConfigError(f"convert: family {[f.name for f in self._fams]} has no template "
                                  f"{', '.join(repr(u) for u in unknown)}; run `dataforge templates`")
        self._pools = {f.name: select.pools(f, self.templates, self.original_only) for f in self._fams}
        if not getattr(self, "_restored", False):  # (not again in each Ray worker)
            self._warn_unnamed_classes(fams)
        if "cot" in self._ptw:
            # a chain-of-thought row must show reasoning: only families that carry a rationale
            none = [f.name for f in self._fams if "rationale" not in f.fields]
            if none:
                raise ConfigError(f"convert: prompt type cot needs a `rationale` field (e.g. e-SNLI's "
                                  f"explanations) so the response shows the reasoning; family {none} has none. "
                                  "Drop cot from prompt_types for it")
        if "inversion" in self._ptw:
            none = [f.name for f in self._fams if not self._pools[f.name]["inverted"].templates]
            if none:
                raise ConfigError(f"convert: prompt type inversion needs `inverted` templates; "
                                  f"family {none} has none")

    def _warn_unnamed_classes(self, names: list[str]) -> None:
        """Once per family and template: a template that asks for one of the user's classes
        (`labels: given`) without naming them, with its options hidden, asks to pick among
        classes the prompt never names. Kept (a model may learn a fixed label set from the data),
        but said: show the options or use templates that name the classes."""
        for name, fam in zip(names, self._fams):
            if load_family(name).labels != {}:  # fixed classes: the wording names them
                continue
            for t in self._pools[fam.name]["forward"].templates:
                hidden = self.options == "hidden" or (self.options == "template" and t.options == "hidden") or \
                    (not isinstance(self.options, str) and float(self.options) < 1.0)
                key = (fam.name, t.id, str(self.options))
                if t.options == "none" or "answer_choices" in t.uses or not hidden or key in _WARNED:
                    continue
                _WARNED.add(key)
                logging.getLogger("dataforge.convert").warning(
                    "convert: template '%s' asks for one of your classes without naming them, and options=%s "
                    "hides the options on %s rows: those prompts cannot be answered from their text alone. "
                    "Use options: shown (or template), or templates that name the classes (%s)",
                    t.key, self.options, "all" if self.options in ("hidden", "template") else "some",
                    ", ".join(x.id for x in fam.templates if "answer_choices" in x.uses) or "none")

    # compiled Jinja templates do not pickle (Ray ships operators to workers): reload instead
    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_fams", "_pools", "_ptw")}

    def __setstate__(self, state):
        self.__dict__.update(state, _restored=True)
        self.validate()

    def fingerprint_extra(self):
        extra = {"families": [f.digest for f in self._fams], "wording": prompts.wording().digest}
        if any(_reads_chats(f) for f in self._fams):  # how chat files are read
            from dataforge import rulefiles
            extra["chats"] = rulefiles.digest(chats.FILE)
        return extra

    def columns_out(self):
        return list(COLUMNS)

    # -- map --------------------------------------------------------------------------
    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        fam = self._family_for(df)
        done = None
        if fam.passthrough and {"instruction", "output"} <= set(df.columns) and \
                not fam.fits(set(df.columns), self.fields):
            # rows already in instruction form (another source of a mixed pipeline) pass through
            mask = pl.col("instruction").is_not_null() & pl.col("output").is_not_null()
            done, df = df.filter(mask), df.filter(~mask)
        out = self._records(df, fam) if df.height else None
        frames = [f for f in (out, done) if f is not None and f.height]
        if not frames:
            return (out if out is not None else df).clear()
        return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]

    def _family_for(self, df: pl.DataFrame) -> Family:
        for f in self._fams:
            if f.fits(set(df.columns), self.fields):
                return f
        return self._fams[0]

    def _records(self, df: pl.DataFrame, fam: Family) -> pl.DataFrame:
        """Records and rejects of raw rows `df`. A big frame without few-shot rows (whose
        exemplars are other rows of the same batch) converts in two halves on two threads
        (Polars releases the GIL; draws and ids are per row), put back in one call's order:
        every record, then every rejected raw row."""
        if "few_shot" in self._ptw or df.height < SPLIT_ROWS or (os.cpu_count() or 1) < 2:
            parts = [self._convert(df, fam)]
        else:
            half = df.height // 2
            with ThreadPoolExecutor(2) as pool:
                parts = list(pool.map(lambda d: self._convert(d, fam), (df.slice(0, half), df.slice(half))))
        frames = [p[0] for p in parts if p[0] is not None] + [p[1] for p in parts if p[1] is not None]
        if not frames:
            return pl.DataFrame(schema={c: pl.Utf8 for c in COLUMNS})
        return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]

    def _convert(self, df: pl.DataFrame, fam: Family) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
        seed = self.ctx.seed if self.seed is None else self.seed
        df, keys = _explode(df, fam)  # also gives raw rows without an id one
        raw = df  # (rejects keep the rows as read, whole chats included)
        prep = chats.prepare(df) if _reads_chats(fam) else None
        df, turns, problem = (prep.df, prep.turns, prep.problem) if prep else (df, None, None)
        try:
            v = fields.derive(df, fam, self.fields)
        except InputError as e:  # name the source and file whose rows do not fit
            raise InputError(f"convert: {_where(df, self.ctx.source)}{e}") from None
        b = draw.base(keys, seed)
        # exemplars must not repeat their query: keys as integer codes (few-shot only)
        key_code = keys.cast(pl.Categorical).to_physical().to_numpy().astype(np.int64) \
            if "few_shot" in self._ptw else np.zeros(len(keys), dtype=np.int64)
        if "few_shot" in self._ptw:
            codes = [key_code]
            if fam.few_shot_distinct:  # exemplars must differ from the query in these fields too
                group = v.select(pl.concat_str([pl.col(f).cast(pl.Utf8).fill_null("") for f in fam.few_shot_distinct],
                                               separator="\x1f").hash(seed=0)).to_series().to_numpy()
                codes.append(group.astype(np.int64, copy=False))
            if fam.input_fields:  # nor be the query's own text (a duplicate under another id)
                codes.append(_text_code(v, fam.input_fields))
            key_code = np.stack(codes, axis=1) if len(codes) > 1 else key_code
        names = list(self._ptw)
        ptype = np.array(names, dtype=object)[draw.choose(b, "prompt_type", list(self._ptw.values()))]
        if "cot" in self._ptw:  # a row without a rationale cannot be a CoT row: it stays zero-shot
            rat = v["rationale"].cast(pl.Utf8).fill_null("").str.strip_chars() if "rationale" in v.columns \
                else pl.Series([""] * v.height)
            ptype = np.where((ptype == "cot") & (rat.str.len_chars() == 0).to_numpy(), "zero_shot", ptype)
        pools = self._pools[fam.name]
        ring = fewshot.ring(b) if "few_shot" in self._ptw else None
        # rows whose question refers to its choices ("Which of the following ...?"): never hidden
        refers = _refers_to_choices(v, fam)
        ctxs: dict[str, pl.DataFrame] = {}

        def ctx_of(t: Template) -> pl.DataFrame:
            if t.id not in ctxs:
                c = render.context(t, fam, v)
                ctxs[t.id] = c.with_columns(render.reasons(t, fam, c).alias("_why"))
            return ctxs[t.id]

        # renderability per template: for `match` and `all`, and for uniform pools where some template
        # requires an optional field (its rows without it are drawn again among the others)
        ok = {t.id: ctx_of(t)["_why"].is_null().to_numpy()
              for d in ("forward", "inverted")
              if pools[d].mode in ("match", "all") or (pools[d].mode == "uniform" and any(x.requires for x in pools[d].templates))
              for t in pools[d].templates}
        rows_all = np.arange(v.height)
        parts, rejects = [], []
        for direction in ("forward", "inverted"):
            pool = pools[direction]
            sel = (ptype == "inversion") if direction == "inverted" else (ptype != "inversion")
            rows, tix = select.assign(pool, rows_all[sel], b, ok)
            # a row no layout of a `match` family fits is rejected as such, not with the first
            # template's first missing field
            none = rows[~select.renderable(pool, rows, ok).any(axis=1)] \
                if pool.mode == "match" and rows.size and pool.templates else np.empty(0, np.int64)
            for ti, t in enumerate(pool.templates):
                m = tix == ti
                if m.any():
                    good, bad = self._render(t, fam, ctx_of(t), rows[m], ptype[rows[m]], b, ring, key_code, keys,
                                             refers)
                    if none.size:
                        msg = f"no_layout: no template of family '{fam.name}' finds its fields in the row"
                        if problem is not None:  # the row holds a chat that no layout could read
                            msg += ("; a chat needs a user turn followed by an assistant turn with text "
                                    "(the answer to learn)")
                        bad = bad.with_columns(pl.when(pl.col(ROW).is_in(none)).then(pl.lit(msg))
                                               .otherwise(pl.col("_why")).alias("_why"))
                    if problem is not None:  # a chat whose first exchange cannot be a record
                        good, bad = _chat_problems(good, bad, problem)
                    parts.append(good)
                    rejects.append(bad)
        return self._finish(raw, v, fam, keys, parts, rejects, seed, turns)

    def _render(self, t: Template, fam: Family, ctx: pl.DataFrame, rows: np.ndarray, ptype: np.ndarray,
                b: np.ndarray, ring: np.ndarray | None, key_code: np.ndarray, keys: pl.Series,
                refers: np.ndarray | None = None):
        """Render `rows` with `t`: (rendered rows with modifiers applied, rejected rows)."""
        w = prompts.wording()
        why = ctx["_why"].gather(rows)
        fine = why.is_null().to_numpy()
        bad = pl.DataFrame({ROW: rows[~fine], "_ptype": ptype[~fine].tolist()},
                           schema={ROW: pl.Int64, "_ptype": pl.Utf8}).with_columns(
            why.filter(~why.is_null()).alias("_why"), pl.lit(t.key).alias("_t"))
        rows, ptype = rows[fine], ptype[fine]
        shown = self._shown(t, fam, rows, b, refers)  # answer options, None where the template has none
        if "rationale" in t.uses:  # its answer already explains: a CoT wrapper would say it twice
            ptype = np.where(ptype == "cot", "zero_shot", ptype)
        fs = ptype == "few_shot"
        k = self.k if self.k is not None else int(w.get("prompt_types", "few_shot", "k", default=3))
        ex = fewshot.pick(rows[fs], ctx["_why"].is_null().to_numpy(), ring, key_code, k) if fs.any() \
            else np.empty((0, k), dtype=np.int64)
        extra_rows = ex[ex != fewshot.NONE]
        # (rows come sorted and distinct: without exemplars they are all the rows needed)
        need = np.union1d(rows, extra_rows) if extra_rows.size else rows
        rendered = render.pieces(t, ctx[need])  # base rendering, before any modifier
        # (a list: Polars reads numpy's fixed-width unicode from `astype(str)` 20x slower)
        q = pl.DataFrame({ROW: rows, "_ptype": ptype.tolist()}, schema={ROW: pl.Int64, "_ptype": pl.Utf8})
        # without exemplars `rendered` holds exactly `rows`, in their order: no join needed
        q = q.join(rendered, on=ROW, how="left", maintain_order="left") if extra_rows.size \
            else q.hstack(rendered.drop(ROW))
        extra = [c for c in ("rationale", fam.choices) if c and c in ctx.columns]
        q = q.with_columns(ctx.select(extra)[rows]) if extra else q
        if "rationale" not in q.columns:
            q = q.with_columns(pl.lit(None, dtype=pl.Utf8).alias("rationale"))
        # few-shot: exemplar blocks of the same template; a query with none left becomes zero-shot
        q = q.with_columns(pl.lit(None, dtype=pl.Utf8).alias("exemplars"),
                           pl.lit(None, dtype=pl.List(pl.Utf8)).alias("exemplar_ids"))
        if fs.any():
            blocks = modify.exemplar_blocks(rendered, w).select(ROW, "block")
            blocks = blocks.with_columns(keys.gather(blocks[ROW]).alias("_key"))
            q_shown = None
            if shown is not None and (shown[fs].any() or (refers is not None and refers[need].any())):
                # exemplars in the query's form: their own options where the query shows its own
                # (and where an exemplar's question refers to its choices)
                q_shown = shown[fs]
                opt = rendered.with_columns(ctx[need].select(ROW, _options_expr(t, fam, w).alias("options"))["options"],
                                            pl.lit(True).alias("_shown"))
                opt = modify.exemplar_blocks(modify.options(opt, w, "_shown").select(ROW, "instruction", "input",
                                                                                      "output"), w)
                ex_refers = refers[need] if refers is not None else np.zeros(need.size, dtype=bool)
                blocks = blocks.with_columns(opt["block"].alias("block_opts"),
                                             pl.Series("_refers", ex_refers, dtype=pl.Boolean))
            sep = str(w.get("prompt_types", "few_shot", "separator", default="\n\n"))
            exs = fewshot.blocks_text(rows[fs], ex, blocks, ROW, sep, shown=q_shown).with_columns(pl.Series(ROW, rows[fs]))
            q = q.drop("exemplars", "exemplar_ids").join(exs.drop("_q"), on=ROW, how="left", maintain_order="left")
        q = q.with_columns(pl.when((pl.col("_ptype") == "few_shot") & pl.col("exemplars").is_null())
                           .then(pl.lit("zero_shot")).otherwise(pl.col("_ptype")).alias("_ptype"))
        return self._modify(t, fam, q, b, w, shown), bad

    def _shown(self, t: Template, fam: Family, rows: np.ndarray, b: np.ndarray,
               refers: np.ndarray | None) -> np.ndarray | None:
        """Per row of `rows`: are the answer options shown (None: the template has none). A row
        whose question refers to its choices shows them, unless the template names them itself."""
        if t.direction != "forward" or t.options == "none" or ((t.labels or fam.labels) is None and fam.choices is None):
            return None
        if isinstance(self.options, str):
            shown = np.full(rows.size, (t.options if self.options == "template" else self.options) == "shown")
        else:
            shown = draw.uniform(b[rows], f"options:{t.key}") < float(self.options)
        if refers is not None and not t.uses & {"answer_choices", fam.choices}:
            shown = shown | refers[rows]
        return shown

    def _modify(self, t: Template, fam: Family, q: pl.DataFrame, b: np.ndarray, w,
                shown: np.ndarray | None) -> pl.DataFrame:
        rb = b[q[ROW].to_numpy()]
        salt = t.key
        forward = t.direction == "forward"
        # answer options shown or hidden
        q = q.with_columns(pl.lit(None, dtype=pl.Utf8).alias("_opts"))
        if shown is not None:
            q = q.with_columns(_options_expr(t, fam, w).alias("options"), pl.Series("_shown", shown, dtype=pl.Boolean))
            q = modify.options(q, w, "_shown")
            q = q.with_columns(pl.when(pl.col("_shown")).then(pl.lit("shown")).otherwise(pl.lit("hidden")).alias("_opts"))
        # chain of thought, few-shot
        q = modify.cot(q.with_columns((pl.col("_ptype") == "cot").alias("_m")), w, "_m")
        q = modify.few_shot(q.with_columns((pl.col("_ptype") == "few_shot").alias("_m")), w, "_m")
        # an explicit output format: zero-shot rows of forward templates whose task allows one
        allowed = [f for f in (t.formats if t.formats is not None else fam.formats)
                   if not self.formats or f in self.formats]
        fmt = np.full(q.height, None, dtype=object)
        if forward and allowed and self.output_format > 0:
            use = (draw.uniform(rb, f"format:{salt}") < self.output_format) & (q["_ptype"].to_numpy() == "zero_shot")
            pick = np.asarray(allowed, dtype=object)[draw.choose(rb, f"format_pick:{salt}", [1.0] * len(allowed))]
            fmt = np.where(use, pick, None)
        q = modify.output_format(q.with_columns(pl.Series("_fmt", fmt.tolist(), dtype=pl.Utf8)), w, "_fmt", fam.json_key)
        # a system/role prompt with probability `system`
        sys_list = fam.system or [str(s) for s in w.get("system", default=[]) or []]
        sysv = np.full(q.height, None, dtype=object)
        if self.system > 0 and sys_list:
            use = draw.uniform(rb, f"system:{salt}") < self.system
            sysv = np.where(use, np.asarray(sys_list, dtype=object)[
                draw.choose(rb, f"system_pick:{salt}", [1.0] * len(sys_list))], None)
        q = q.with_columns(pl.Series("system", sysv.tolist(), dtype=pl.Utf8), pl.lit(t.key).alias("_t"),
                           pl.lit(t.task or fam.task).alias("_task"), pl.lit(t.lang or fam.lang).alias("_lang"),
                           pl.lit(t.original_task).alias("_orig"))
        return q.select(ROW, "_t", "_ptype", "_opts", "_fmt", "exemplar_ids", "instruction", "input",
                        "output", "system", "_task", "_lang", "_orig")

    # -- output -----------------------------------------------------------------------
    def _finish(self, df: pl.DataFrame, v: pl.DataFrame, fam: Family, keys: pl.Series,
                parts: list[pl.DataFrame], rejects: list[pl.DataFrame], seed: int,
                turns: pl.Series | None = None) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
        """(records, with the rows whose render came out empty marked; rejected raw rows)."""
        order = {t.key: i for i, t in enumerate(fam.all_templates())}
        src_name = self.ctx.source
        # rows of a pipeline-level convert come from several sources: each keeps its own name
        # (the read stage's `_source`), not the family's dataset
        row_src = None if self.source or src_name else _row_text(df, SOURCE_NAME)
        row_set = None if self.source or src_name else _row_text(df, "source", fam)  # `set: {source: ...}`
        source = self.source or src_name or _text_column(df, "source", fam) or fam.dataset
        dataset = self.dataset or src_name or fam.dataset
        per_row = {}
        if row_src is not None or (row_set is not None and row_set.n_unique() > 1):
            per_row["_src"] = pl.coalesce([s for s in (row_set, row_src) if s is not None] + [pl.lit(fam.dataset)])
        if row_src is not None and not self.dataset:
            per_row["_ds"] = pl.coalesce([row_src, pl.lit(fam.dataset)])
        # a language the rows carry (`set: {lang: es}` on the source) wins over the family's
        row_lang = _row_text(df, "lang", fam)
        if row_lang is not None:
            per_row["_row_lang"] = row_lang
        per_row = pl.select(**per_row) if per_row else None
        raw_id = df["id"].cast(pl.Utf8)
        key_s = keys.alias("_key")
        # where the raw row was read (file and line), when the engine read it; rows read as
        # records (Alpaca files through `imports`) have it in their meta already
        origin = df[ORIGIN].cast(pl.Utf8) if ORIGIN in df.columns else _meta_origin(df)

        def common(x: pl.DataFrame) -> pl.DataFrame:
            x = x.with_columns(pl.col("_t").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
            x = x.sort(ROW, "_o", maintain_order=True)
            r = x[ROW]
            x = x.with_columns(raw_id.gather(r).alias("parent_id"), key_s.gather(r).alias("_key"))
            if per_row is not None:
                x = x.with_columns(per_row[r])
            return x.with_columns(origin.gather(r).alias(ORIGIN)) if origin is not None else x

        def meta(x: pl.DataFrame, **more) -> pl.Expr:
            if origin is not None:
                more["origin"] = RawJson(pl.col(ORIGIN))
            return meta_set(pl.lit("{}"), template=pl.col("_t"), family=fam.name, prompt_type=pl.col("_ptype"),
                            dataset=pl.col("_ds") if "_ds" in x.columns else dataset,
                            source_row=pl.col("_key"), seed=seed, **more)

        def src_col(x: pl.DataFrame) -> pl.Expr:
            return (pl.col("_src") if "_src" in x.columns else pl.lit(source)).alias("source")

        def lang_col(x: pl.DataFrame, default: pl.Expr) -> pl.Expr:
            return (pl.coalesce(pl.col("_row_lang"), default) if "_row_lang" in x.columns else default).alias("lang")

        records = rejected = None
        good = [p for p in parts if p.height]
        if good:
            g = common(pl.concat(good, how="vertical_relaxed"))
            r = g[ROW]
            row_task = v["task"].gather(r) if "task" in v.columns else None
            sys_fields = [c for c in fam.fields if c.startswith("system")]
            row_sys = v.select(pl.coalesce([pl.col(c).replace("", None) for c in sys_fields])).to_series().gather(r) \
                if sys_fields else None
            g = g.with_columns(
                (pl.coalesce(pl.lit(row_task).replace("", None), pl.col("_task")) if row_task is not None else pl.col("_task")).alias("task"),
                (pl.coalesce(pl.lit(row_sys), pl.col("system")) if row_sys is not None
                 else pl.col("system")).alias("system"))
            # a chat's user turns, where the rows hold chats: the record is its first exchange
            n_turns = turns.gather(r) if turns is not None else None
            chat = {"chat_turns": pl.lit(n_turns).replace(0, None)} if n_turns is not None else {}
            out = g.select(
                pl.col("instruction"), pl.col("input").fill_null(""), pl.col("output"), pl.col("system"),
                pl.col("task"), src_col(g), lang_col(g, pl.col("_lang")), pl.col("parent_id"),
                meta(g, original_task=pl.col("_orig"), options=pl.col("_opts"), format=pl.col("_fmt"),
                     exemplars=pl.col("exemplar_ids"), **chat).alias("meta"))
            empty = pl.when(pl.col("instruction").str.len_chars() == 0).then(pl.lit("empty_render: instruction")) \
                .when(pl.col("output").str.len_chars() == 0).then(pl.lit("empty_render: output"))
            out = out.with_columns(content_id(out).alias("id"), empty.otherwise(None).alias(REJECT))
            keep = list(COLUMNS) + [REJECT]
            if n_turns is not None and self.multi_turn == "reject" and (n_turns > 1).any():
                out, keep = _multi_turn(out, df, n_turns, r), keep + [REJECT_DETAIL]
            records = out.select(keep)
        bad = [r for r in rejects if r.height]
        if bad:
            x = common(pl.concat(bad, how="vertical_relaxed"))
            x = x.with_columns(_raw_json(df, x[ROW]).alias("_raw"))
            detail = pl.concat_str([pl.lit('{"template":'), pl.col("_t").map_batches(_json_str),
                                    pl.lit(',"raw":'), pl.col("_raw").fill_null("null"), pl.lit("}")])
            rejected = x.select(
                pl.col("parent_id").alias("id"), pl.lit(None, dtype=pl.Utf8).alias("instruction"),
                pl.lit("").alias("input"), pl.lit(None, dtype=pl.Utf8).alias("output"),
                pl.lit(None, dtype=pl.Utf8).alias("system"), pl.lit(fam.task).alias("task"),
                src_col(x), lang_col(x, pl.lit(fam.lang)), pl.col("parent_id"),
                meta(x).alias("meta"), pl.col("_why").alias(REJECT), detail.alias(REJECT_DETAIL))
        return records, rejected


def with_labels(fam: Family, labels: list | dict | None) -> Family:
    """`fam` with the classes of the user's data as its label set, for a family whose label
    field says `labels: given` (templates worded for fixed classes, "positive or negative",
    would misstate other classes)."""
    if fam.labels != {}:
        if labels is not None and fam.label_field is None:
            raise ConfigError(f"convert: family '{fam.name}' has no label field for `labels`")
        if labels is not None:
            raise ConfigError(f"convert: family '{fam.name}' has fixed classes "
                              f"({', '.join(fam.labels.values())}); for the classes of "
                              "your data use `family: classification` with `labels:` (and `fields:` to "
                              "name your text and label columns)")
        return fam
    if labels is None:
        raise ConfigError(f"convert: family '{fam.name}' reads the classes of your data; give them, e.g. "
                          f"`convert: {{family: {fam.name}, labels: [billing, technical, account]}}`")
    if isinstance(labels, dict):
        ids, aliases = {str(k): str(v) for k, v in labels.items()}, None
    else:
        names = [str(x).strip() for x in labels]
        if len({n.lower() for n in names}) != len(names) or not all(names):
            raise ConfigError(f"convert: `labels` must be distinct, non-empty class names, got {names}")
        ids = {n: n for n in names}
        aliases = {str(i): n for i, n in enumerate(names) if str(i) not in ids} or None
    if len(ids) < 2:
        raise ConfigError(f"convert: `labels` needs at least two classes, got {list(ids.values())}")
    field = dataclasses.replace(fam.fields[fam.label_field], labels=ids, label_aliases=aliases)
    return dataclasses.replace(fam, labels=ids, fields={**fam.fields, fam.label_field: field})


def _raw_json(df: pl.DataFrame, rows: pl.Series) -> pl.Series:
    """The raw rows `rows` of `df` as JSON objects (every field but the id), for rejects."""
    raw_cols = [c for c in df.columns if c not in ("id", ORIGIN, SOURCE_NAME)]
    if not raw_cols:
        return pl.Series("raw", [None] * rows.len(), dtype=pl.Utf8)
    return df.select(pl.struct(raw_cols).struct.json_encode().alias("raw"))["raw"].gather(rows)


def _multi_turn(out: pl.DataFrame, df: pl.DataFrame, n: pl.Series, r: pl.Series) -> pl.DataFrame:
    """Reject the records (raw rows `r`) of chats with several user turns (`n` per record);
    the detail keeps the whole chat."""
    multi = n > 1
    detail = pl.Series(REJECT_DETAIL, [None] * out.height, dtype=pl.Utf8).scatter(
        multi.arg_true(), '{"raw":' + _raw_json(df, r.filter(multi)) + "}")
    reason = pl.format("multi_turn: a chat of {} user turns (records are one exchange; `multi_turn: first` "
                       "keeps the first)", pl.lit(n))
    return out.with_columns(pl.coalesce(pl.col(REJECT), pl.when(pl.lit(multi)).then(reason)).alias(REJECT),
                            pl.lit(detail).alias(REJECT_DETAIL))


def _chat_problems(good: pl.DataFrame, bad: pl.DataFrame, problem: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows whose chat cannot be a record (tools, images: `chats.prepare`) move from the
    rendered rows to the rejects, and rejects say that reason rather than their template's."""
    p = problem.gather(good[ROW])
    moved = good.filter(p.is_not_null()).select(ROW, "_ptype", p.filter(p.is_not_null()).alias("_why"), "_t")
    bad = bad.with_columns(pl.coalesce(problem.gather(bad[ROW]), pl.col("_why")).alias("_why"))
    return good.filter(p.is_null()), pl.concat([bad, moved.select(bad.columns)], how="vertical_relaxed")


def _reads_chats(fam: Family) -> bool:
    return any(c in chats.LAYOUTS for f in fam.fields.values() for c in (f.column, *f.aliases))


def _json_str(s: pl.Series) -> pl.Series:
    return pl.DataFrame({"v": s}).select(pl.struct("v").struct.json_encode().str.slice(5).str.strip_suffix("}")).to_series()


def _text_column(df: pl.DataFrame, col: str, fam: Family) -> str | None:
    """A string column the rows already carry (e.g. `source` set in the recipe), unless a field reads it."""
    if col not in df.columns or df.schema[col] != pl.Utf8 or any(col in (f.column, *f.aliases) for f in fam.fields.values()):
        return None
    vals = df[col].drop_nulls().unique()
    return vals[0] if vals.len() == 1 and vals[0] not in ("", "unknown") else None


def _options_expr(t: Template, fam: Family, w) -> pl.Expr:
    """The options block lines of template `t`: the row's choices, or the verbalizer's words."""
    bullet = str(w.get("options", "bullet", default="- "))
    return fields.options_list(t.labels or fam.labels, fam.choices, bullet)


def _refers_to_choices(v: pl.DataFrame, fam: Family) -> np.ndarray | None:
    """Rows of a family with per-row choices whose question refers to them ("Which of the
    following ...", `options.refers_to_choices` in _prompt_types.yaml), or None."""
    pats = prompts.wording().get("options", "refers_to_choices", default=None) or []
    text_fields = [n for n in fam.input_fields if n in v.columns and v.schema[n] == pl.Utf8]
    if not fam.choices or not pats or not text_fields:
        return None
    rx = "(?i)" + "|".join(f"(?:{p})" for p in pats)
    hit = pl.any_horizontal([pl.col(n).str.contains(rx).fill_null(False) for n in text_fields])
    return v.select(hit).to_series().to_numpy()


def _text_code(v: pl.DataFrame, names: list[str]) -> np.ndarray:
    """A hash per row of the text of fields `names`, in lower case with blanks collapsed."""
    parts = [(pl.col(n).list.eval(pl.element().cast(pl.Utf8)).list.join("\x1e") if isinstance(v.schema[n], pl.List)
              else pl.col(n).cast(pl.Utf8))
             .fill_null("") for n in names]
    text = pl.concat_str(parts, separator="\x1f").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    return v.select(text.hash(seed=0)).to_series().to_numpy().astype(np.int64, copy=False)


def _where(df: pl.DataFrame, source: str | None) -> str:
    """"source 'x' (file data.jsonl): " for an error about rows of `df`, as far as known."""
    if source is None and SOURCE_NAME in df.columns and df.height:
        source = df[SOURCE_NAME][0]
    file = df[ORIGIN].cast(pl.Utf8).str.json_path_match("$.file")[0] if ORIGIN in df.columns and df.height else None
    parts = ([f"source '{source}'"] if source else []) + ([f"file {file}"] if file else [])
    return (" ".join(parts[:1]) + (f" ({parts[1]})" if len(parts) > 1 else "") + ": ") if parts else ""


def _row_text(df: pl.DataFrame, col: str, fam: Family | None = None) -> pl.Series | None:
    """Per-row text of column `col` the raw rows carry (blank and "unknown" as null), unless
    it is missing, not text, or a field of `fam` reads it."""
    if col not in df.columns or df.schema[col] != pl.Utf8 or \
            (fam is not None and any(col in (f.column, *f.aliases) for f in fam.fields.values())):
        return None
    s = df[col]
    return pl.select(pl.when(s.str.strip_chars().is_in(["", "unknown"])).then(None).otherwise(s)).to_series()


def _meta_origin(df: pl.DataFrame) -> pl.Series | None:
    """`meta.origin` of rows that are records already, as JSON text (None where absent)."""
    if "meta" not in df.columns or df.schema["meta"] != pl.Utf8 or \
            not df["meta"].str.contains('"origin"', literal=True).any():
        return None
    return df["meta"].str.json_path_match("$.origin")


def _explode(df: pl.DataFrame, fam: Family) -> tuple[pl.DataFrame, pl.Series]:
    """Rows holding lists of instances (self-instruct seeds, SNI tasks) -> one row per instance."""
    if "id" not in df.columns:  # used outside the engine on raw rows
        df = df.with_columns(content_id(df).alias("id"))
    ids = df["id"].cast(pl.Utf8).alias("_key")
    cols = [c for c in fam.explode if c in df.columns and isinstance(df.schema[c], pl.List)]
    if not cols:
        return df, ids
    df = df.with_row_index("_orig").explode(cols[0])
    keys = df.select(pl.format("{}#{}", pl.col("id").cast(pl.Utf8), pl.int_range(pl.len()).over("_orig")))
    return df.drop("_orig"), keys.to_series().alias("_key")
