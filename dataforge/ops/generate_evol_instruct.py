"""Evol-Instruct (Xu et al., 2023, WizardLM): evolve instructions in depth and in breadth."""
from __future__ import annotations

import hashlib
import json

import polars as pl

from dataforge import rulefiles
from dataforge.generate import elimination, prompts, provenance, rows
from dataforge.ops.base import MapOp, param, register
from dataforge.ops.base_prompt import PromptFileOp
from dataforge.schema import REJECT

IN_DEPTH = ("add_constraints", "deepening", "concretizing", "increase_reasoning")
METHODS = IN_DEPTH + ("breadth",)


@register
class EvolInstruct(PromptFileOp, MapOp):
    """Evolve each row's instruction for `rounds` rounds; each evolved row keeps `parent_id`.

    Each round picks, per row, one of the four in-depth methods (add constraints, deepen,
    concretise, increase reasoning steps) or in-breadth evolution, asks the LLM to rewrite,
    answers the new instruction with the same LLM and applies the paper's elimination:
    no information gain (the LLM judges the two instructions equal), a short "sorry"
    response, a response of only punctuation and stop words, or copied prompt words.
    Eliminated evolutions go to rejects with the rule; the next round evolves the last
    surviving instruction. The input rows pass through unchanged.
    """

    name = "evol_instruct"
    adds_rows = True
    inputs = ("id", "instruction", "input")
    outputs = ("instruction", "input", "output", "parent_id")
    rounds: int = 4
    methods: list[str] = param(default_factory=lambda: list(METHODS))
    prompt_file: str = "evol_instruct.yaml"
    judge_equality: bool = True
    structured: bool = True  # constrained Equal / Not Equal answer where the backend supports it
    sampling: dict[str, dict] = param(default_factory=dict)  # overrides: {evolve: {...}, respond: {...}}
    llm: str | None = None

    def validate(self):
        from dataforge.errors import ConfigError

        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ConfigError(f"evol_instruct: methods must be a non-empty subset of {list(METHODS)}, got {bad}")
        if self.rounds < 1:
            raise ConfigError("evol_instruct: rounds must be >= 1")
        prompts.check_sampling(self.name, self.sampling, ("evolve", "respond", "equality"))

    def prompt_files(self) -> list[str]:
        return [self.prompt_file, prompts.load(self.prompt_file)["stopwords_file"]]

    def check_prompts(self) -> None:
        self.stopwords = list(rulefiles.load_words(prompts.find(self.cfg["stopwords_file"])))

    def _method(self, row_id: str, rnd: int) -> str:
        """Per-row choice from (seed, id, round): the same row evolves the same way in any batch."""
        h = hashlib.blake2b(f"{self.ctx.seed}|{row_id}|{rnd}".encode(), digest_size=8).digest()
        return self.methods[int.from_bytes(h, "big") % len(self.methods)]

    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        # the root row's source and input position travel with every evolution of it: the
        # source's terms apply to what was evolved from it ("alpaca+evol_instruct")
        cur = df.select(
            pl.col("id").alias("parent"),
            pl.col("id").alias("root"),
            pl.col("instruction").fill_null(""),
            pl.col("input").fill_null(""),
            (pl.col("source").fill_null("") if "source" in df.columns else pl.lit("")).alias("source"),
            (pl.col("meta").fill_null("{}").str.json_path_match("$.origin") if "meta" in df.columns
             else pl.lit(None, pl.Utf8)).alias("origin"),
        ).to_dicts()
        out: list[dict] = []
        for rnd in range(1, self.rounds + 1):
            cur = self._round(rnd, cur, out)
        return rows.concat([df, rows.make_rows(out)])

    def _round(self, rnd: int, cur: list[dict], out: list[dict]) -> list[dict]:
        cfg = self.cfg
        given = [prompts.render(cfg["given"], instruction=c["instruction"], input=c["input"]) for c in cur]
        methods = [self._method(c["root"], rnd) for c in cur]
        msgs, variants = [], []
        # a searched mixture of prompts (for in_depth or in_breadth): each row and round draws its member
        docs, drawn = self.prompt_variants([f"{c['root']}|{rnd}" for c in cur], self.ctx.seed)
        entry = (cfg.get("ensemble") or {}).get("entry")
        for g, m, doc, pv in zip(given, methods, docs, drawn):
            key = "in_breadth" if m == "breadth" else "in_depth"
            sec = doc[key]
            text = prompts.render(sec["prompt"], instruction=g, method=sec["methods"].get(m, ""))
            msgs.append([{"role": "user", "content": text}])
            variants.append(pv if pv is not None and entry == key else None)
        # each round samples with its own seed: a row that failed retries from its last survivor,
        # and the same prompt under the same seed would give the same failure again
        seed = self.ctx.seed + rnd - 1
        sp = prompts.sampling({"sampling": cfg.get("evolve_sampling")}, {"seed": seed, **(self.sampling.get("evolve") or {})})
        evolved = self.model.chat(msgs, sp)
        new = [(r.completions[0].text.strip() if r.ok else "") for r in evolved]
        sp_r = prompts.sampling(cfg["respond"], {"seed": seed, **(self.sampling.get("respond") or {})})
        todo = [i for i, t in enumerate(new) if t]
        answers = dict(zip(todo, self.model.chat([[{"role": "user", "content": new[i]}] for i in todo], sp_r)))
        equal = self._equal([given[i] for i in todo], [new[i] for i in todo])
        equal = dict(zip(todo, equal))
        prov = provenance.of(self.model, {"evolve": sp, "respond": sp_r})
        recs = []
        for i, c in enumerate(cur):
            meta = {"generator": "evol_instruct", **prov, "round": rnd,
                    "evolution": methods[i], "root_id": c["root"]}
            if c.get("origin"):
                meta["origin"] = json.loads(c["origin"])
            if variants[i] is not None:
                meta["prompt_variant"] = variants[i]
            src = f"{c['source']}+evol_instruct" if c.get("source") else "evol_instruct"
            rec = {"instruction": new[i], "output": "", "parent_id": c["parent"], "source": src,
                   "task": "evolved", "meta": meta, REJECT: None}
            e, a = evolved[i], answers.get(i)
            if not e.ok:
                rec[REJECT] = f"llm_error: {e.error}"
            elif not new[i]:
                rec[REJECT] = "empty_evolution: the model returned no instruction"
            elif e.completions[0].finish_reason == "length":
                rec[REJECT] = "truncated: the evolved instruction was cut by the length limit"
            elif a is None or not a.ok:
                rec[REJECT] = f"llm_error: {a.error if a is not None else 'no response'}"
            elif equal.get(i):
                rec[REJECT] = "no_information_gain: the LLM judged the evolved instruction equal to its parent"
            else:
                rec["output"] = a.completions[0].text.strip()
                if a.completions[0].finish_reason == "length":
                    rec[REJECT] = "truncated_response: the response was cut by the length limit"
            recs.append(rec)
        frame = rows.make_rows(recs)
        rules = elimination.reasons(pl.col("instruction"), pl.col("output"), cfg, self.stopwords)
        frame = frame.with_columns(pl.coalesce(pl.col(REJECT), rules).alias(REJECT))  # first reason wins
        out.extend(frame.to_dicts())
        nxt = []
        for c, r in zip(cur, frame.iter_rows(named=True)):
            if r[REJECT] is None:  # survivors evolve further; failures retry from their parent
                nxt.append({"parent": r["id"], "root": c["root"], "instruction": r["instruction"], "input": "",
                            "source": c.get("source"), "origin": c.get("origin")})
            else:
                nxt.append(c)
        return nxt

    def _equal(self, first: list[str], second: list[str]) -> list[bool]:
        if not self.judge_equality or not first:
            return [False] * len(first)
        sec = self.cfg["equality"]
        choice = tuple(sec.get("choices", ["Equal", "Not Equal"]))
        sp = prompts.sampling(sec, self.sampling.get("equality"), **({"choice": choice} if self.structured else {}))
        msgs = [[{"role": "user", "content": prompts.render(sec["prompt"], first=a, second=b)}]
                for a, b in zip(first, second)]
        res = self.model.chat(msgs, sp)
        eq = sec.get("equal", "equal").lower()
        # "Not Equal" starts with "not": only an answer that starts with "equal" counts as equal
        return [r.ok and r.completions[0].text.strip().lower().startswith(eq) for r in res]
