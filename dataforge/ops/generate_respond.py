"""`respond`: generate outputs for rows that have an instruction but no output."""
from __future__ import annotations

import numpy as np
import polars as pl

from dataforge.generate import prompts, provenance, rows
from dataforge.ops.base import MapOp, param, register
from dataforge.ops.base_prompt import PromptFileOp
from dataforge.schema import REJECT, content_id, meta_set, nest_step_provenance


@register
class Respond(PromptFileOp, MapOp):
    """Answer instructions with an LLM (Alpaca-style distillation), `n` samples per row.

    Rows whose output is empty (or every row, with `overwrite`) are sent as a chat: the row's
    `system` as system message, instruction (+ input) as the user message
    (rules/prompts/respond.yaml). With n = 1 the row gets its output; with n > 1 the row
    becomes n rows that share `parent_id` (the original id) and `meta.respond.group`, the
    material for preference pairs. Answered rows get `source` + "+respond" and, in `meta`, the
    backend, model, revision, sampling and seed (dataforge/generate/provenance.py). Failed, empty or (with `reject_truncated`) length-cut
    answers go to rejects with the reason.
    """

    name = "respond"
    adds_rows = True
    inputs = ("instruction", "input", "output")
    outputs = ("output",)
    n: int = 1
    overwrite: bool = False
    reject_truncated: bool = True
    prompt_file: str = "respond.yaml"
    sampling: dict = param(default_factory=dict)  # overrides of the prompt file's sampling
    llm: str | None = None

    def validate(self):
        from dataforge.errors import ConfigError

        if self.n < 1:
            raise ConfigError("respond: n must be >= 1")
        prompts.check_sampling(self.name, self.sampling)

    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        need = pl.lit(True) if self.overwrite else pl.col("output").fill_null("").str.strip_chars() == ""
        df = df.with_row_index("_pos")
        todo, rest = df.filter(need), df.filter(~need)
        if todo.height == 0:
            return df.drop("_pos")
        chats = []
        docs, variants = self.prompt_variants(todo["id"].to_list(), self.ctx.seed)
        for r, doc in zip(todo.select("instruction", "input", *(["system"] if "system" in df.columns else [])).iter_rows(named=True), docs):
            # a mixture member's own system prompt applies where the row brings none
            system = r.get("system") or (doc.get("system") if doc is not self.cfg else None)
            msg = [{"role": "system", "content": system}] if system else []
            msg.append({"role": "user", "content": prompts.render(doc["user"], instruction=r["instruction"] or "",
                                                                  input=r["input"] or "").strip()})
            chats.append(msg)
        # seeded by the run unless the step sets one: reruns and engines sample the same
        sp = prompts.sampling(self.cfg, {"seed": self.ctx.seed, **self.sampling}, n=self.n)
        res = self.model.chat(chats, sp)
        k = self.n
        reasons, texts, finish = [], [], []
        for r in res:
            for j in range(k):
                c = r.completions[j] if r.ok and j < len(r.completions) else None
                texts.append(c.text.strip() if c else "")
                finish.append(c.finish_reason if c else None)
                if not r.ok:
                    reasons.append(f"llm_error: {r.error}")
                elif c is None:
                    reasons.append("llm_error: fewer completions than requested")
                elif not c.text.strip():
                    reasons.append("empty_response: the model returned nothing")
                elif self.reject_truncated and c.finish_reason == "length":
                    reasons.append("truncated_response: cut by the length limit")
                else:
                    reasons.append(None)
        # repeat each row n times (n = 1: itself), then set output and provenance
        # (gather, not repeat_by: it works for list and struct columns too)
        rep = todo[pl.Series(np.repeat(np.arange(todo.height), k))] if k > 1 else todo
        rep = rep.with_columns(
            pl.Series("output", texts, dtype=pl.Utf8),
            pl.Series("_why", reasons, dtype=pl.Utf8),
            pl.Series("_finish", finish, dtype=pl.Utf8),
            pl.int_range(pl.len()).mod(k).alias("_sample"),
        )
        info = {"model": self.model.model_id, "finish_reason": pl.col("_finish")}
        extra = {}
        if variants and variants[0] is not None:  # which prompt of the searched mixture made the row
            rep = rep.with_columns(pl.Series("_pvn", [v["name"] for v in variants for _ in range(k)], dtype=pl.Utf8),
                                   pl.Series("_pvs", [v["search"] for v in variants for _ in range(k)], dtype=pl.Utf8))
            extra["prompt_variant"] = pl.struct(name=pl.col("_pvn"), search=pl.col("_pvs"))
        if k > 1:
            info |= {"group": pl.col("id"), "sample": pl.col("_sample")}
            rep = rep.with_columns(pl.col("id").alias("parent_id"))
        rep = rep.with_columns(meta_set(nest_step_provenance(pl.col("meta")), respond=pl.struct(**{
            kk: (v if isinstance(v, pl.Expr) else pl.lit(v)) for kk, v in info.items()}),
            **provenance.of(self.model, {"respond": sp}), **extra).alias("meta"),
            # the output is the model's, not the source's: say so (the input rows keep theirs)
            (pl.col("source").fill_null("") + "+respond").alias("source"))
        rep = rep.with_columns(content_id(rep).alias("id"))
        prev = pl.col(REJECT) if REJECT in rep.columns else pl.lit(None, dtype=pl.Utf8)
        rep = rep.with_columns(pl.coalesce(prev, pl.col("_why")).alias(REJECT)).drop("_why", "_finish", "_sample", *(["_pvn", "_pvs"] if extra else []))
        return rows.concat([rest, rep]).sort("_pos", maintain_order=True).drop("_pos")
