"""The generation operator's own filters, applied to a prompt variant's replies (generator fitness).

A reply the operator itself would reject counts as rejected in the fitness, so "rejection
rate" is the operator's, not only the backend's:

- every operator: LLM error, empty reply, reply cut by the length limit;
- `rewrite` (a prompt file with `styles`): the reply cleaned as the operator cleans it, then
  its guards (dataforge/augment/guards.py): copy of the original, a lost number, drift
  (MiniLM cosine to the original below `min_similarity`, 0.8 as the operator's default);
- `self_instruct` (a file with an `instructions` section that has `split`): the reply is
  split into numbered instructions; each is a candidate, kept only if it passes the paper's
  filters (parse.instruction_reason: length, blocked words / prefixes, punctuation,
  non-ASCII) and ROUGE-L F1 <= `rouge_threshold` (0.7) against the dev instructions (the
  seeds) and the instructions this variant already kept;
- anything else (`respond`, evolution prompts): the reply checks above.

`apply` returns the rows the operator would keep (the dev row's columns, the reply in
`produces`) and one reason per candidate (None: kept).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

OPERATORS = ("auto", "respond", "rewrite", "self_instruct", "none")


def detect(doc: dict, entry: str) -> str:
    """The operator a prompt file drives, from its structure."""
    if isinstance(doc.get("styles"), dict) and "user" in doc:
        return "rewrite"
    sec = doc.get("instructions")
    if entry == "instructions" and isinstance(sec, dict) and "split" in sec:
        return "self_instruct"
    return "respond"


def reply_reason(c) -> str | None:
    """What every generation operator rejects itself (c: the first Completion, or None)."""
    if c is None:
        return "llm_error"
    if not c.text.strip():
        return "empty_response"
    if c.finish_reason == "length":
        return "truncated_response"
    return None


@dataclass
class Filters:
    operator: str = "respond"
    doc: dict = field(default_factory=dict)  # the target's prompt file
    produces: str = "output"
    min_similarity: float | None = 0.8  # rewrite's drift guard (None: off)
    keep_numbers: bool = True  # rewrite's lost-number guard
    rouge_threshold: float = 0.7  # self_instruct
    embed_model: str | None = None

    def apply(self, base: pl.DataFrame, replies: list) -> tuple[pl.DataFrame, list[str | None]]:
        """base: the dev rows (canonical); replies: one Completion (or None for a failed request) per row."""
        if self.operator == "self_instruct":
            return self._self_instruct(base, replies)
        reasons = [reply_reason(c) for c in replies]
        texts = [c.text.strip() if c is not None else "" for c in replies]
        if self.operator == "rewrite":
            return self._rewrite(base, replies, texts, reasons)
        keep = pl.Series([r is None for r in reasons])
        made = base.with_columns(pl.Series(self.produces, texts, dtype=pl.Utf8)).filter(keep)
        return made, reasons

    # -- rewrite: the augmenter's guards -------------------------------------------------
    def _rewrite(self, base, replies, texts, reasons):
        from dataforge.augment import guards, llm_text

        texts = [llm_text.clean(t, self.doc) if t else "" for t in texts]
        reasons = [r or ("empty_response" if not t else None) for r, t in zip(reasons, texts)]
        parent = base["text"] if "text" in base.columns else base[self.produces]
        df = pl.DataFrame({"_parent": parent.cast(pl.Utf8).fill_null(""),
                           "_new": pl.Series(texts, dtype=pl.Utf8)})
        copy = df.select(guards.copy_reason(pl.col("_parent"), pl.col("_new")).alias("r"))["r"].to_list()
        lost = guards.lost_number_reason(df, "_parent", "_new").to_list() if self.keep_numbers else [None] * df.height
        reasons = [r or c or n for r, c, n in zip(reasons, copy, lost)]
        if self.min_similarity is not None:
            live = [i for i, r in enumerate(reasons) if r is None]
            if live:
                from dataforge import embed

                emb = embed.shared(self.embed_model)
                cos = guards.cosines(emb, [df["_parent"][i] for i in live], [texts[i] for i in live])
                for i, c in zip(live, cos):
                    if c < self.min_similarity:
                        reasons[i] = f"drift: cosine {c:.2f} < {self.min_similarity:.2f}"
        keep = pl.Series([r is None for r in reasons])
        made = base.with_columns(pl.Series(self.produces, texts, dtype=pl.Utf8)).filter(keep)
        return made, reasons

    # -- self_instruct: the paper's filters and ROUGE-L novelty ----------------------------
    def _self_instruct(self, base, replies):
        from dataforge.generate import parse
        from dataforge.generate.rouge import NoveltyIndex

        sec = self.doc.get("instructions") or {}
        index = NoveltyIndex(self.rouge_threshold)
        for s in base["instruction"].to_list():
            if s and s.strip():
                index.add(s)
        recs, reasons = [], []
        for row, c in zip(base.iter_rows(named=True), replies):
            if reply_reason(c) in ("llm_error", "empty_response"):
                reasons.append(reply_reason(c))
                continue
            for inst, cut in parse.split_instructions(c.text, c.finish_reason, sec.get("split", r"\n\d+\s?\.\s")):
                why = "truncated: cut by the length limit" if cut else parse.instruction_reason(inst, self.doc)
                if why is None:
                    novel, score = index.add_if_novel(inst)
                    if not novel:
                        why = f"rouge_similar: ROUGE-L {score:.2f} > {self.rouge_threshold}"
                reasons.append(why)
                if why is None:
                    recs.append({**row, "instruction": inst, "input": "", "output": ""})
        made = pl.DataFrame(recs, schema=base.schema) if recs else base.clear()
        return made, reasons
