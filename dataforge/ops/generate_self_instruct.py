"""Self-Instruct (Wang et al., 2022): grow seed tasks into new instruction/input/output rows."""
from __future__ import annotations

import json
import random

import polars as pl

from dataforge.generate import parse, prompts, provenance, rows
from dataforge.generate.rouge import NoveltyIndex
from dataforge.generate.seeds import seed_frame
from dataforge.ops.base import GlobalOp, param, register
from dataforge.ops.base_prompt import PromptFileOp
from dataforge.schema import ORIGIN, REJECT


@register
class SelfInstruct(PromptFileOp, GlobalOp):
    """Bootstrap new tasks from seed tasks with an LLM, then generate their instances.

    Each request shows `prompt_instructions` instructions (seed ones plus up to
    `machine_in_prompt` generated ones, shuffled) as a numbered list for the model to continue.
    New instructions pass the paper's filters (length, blocked words and prefixes, leading
    punctuation / non-ASCII, not cut by the length limit, ROUGE-L F1 <= `rouge_threshold`
    against every seed and kept instruction); each is classified (classification or not)
    and gets instances, output-first for classification tasks, input-first otherwise.
    Rounds repeat until `target` instructions are kept or `max_rounds` is reached. Seed rows
    come out as one row per seed instance; every rejected candidate or instance is a reject
    row with its rule. Prompts: rules/prompts/self_instruct.yaml.
    """

    name = "self_instruct"
    adds_rows = True
    inputs = ("instruction",)
    outputs = ("instruction", "input", "output")
    target: int = 100
    prompt_file: str = "self_instruct.yaml"
    prompt_instructions: int = 8
    machine_in_prompt: int = 2
    requests_per_round: int = 32
    max_rounds: int = 50
    rouge_threshold: float = 0.7
    max_instances: int | None = None  # per task; default from the prompt file (5)
    structured: bool = True  # answer the classification question with a constrained choice
    sampling: dict[str, dict] = param(default_factory=dict)  # per step overrides, e.g. {instructions: {max_tokens: 256}}
    llm: str | None = None

    def validate(self):
        from dataforge.errors import ConfigError

        if self.target < 1 or self.requests_per_round < 1 or self.max_rounds < 1:
            raise ConfigError("self_instruct: target, requests_per_round and max_rounds must be >= 1")
        if not 0 <= self.machine_in_prompt < self.prompt_instructions:
            raise ConfigError("self_instruct: need 0 <= machine_in_prompt < prompt_instructions")
        prompts.check_sampling(self.name, self.sampling, ("instructions", "classification", "output_first", "input_first"))

    def setup(self):
        super().setup()
        self._metrics: dict = {}

    # -- the loop -----------------------------------------------------------------
    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        df = lf.collect()
        seeds = seed_frame(df)
        seed_insts = seeds.filter(pl.col("instruction").str.strip_chars() != "") \
                          .unique("instruction", keep="first", maintain_order=True)["instruction"].to_list()
        if not seed_insts:
            from dataforge.errors import InputError

            raise InputError("self_instruct: no seed instructions in the input rows")
        rng = random.Random(self.ctx.seed)
        index = NoveltyIndex(self.rouge_threshold)
        for s in seed_insts:
            index.add(s)
        kept: list[dict] = []  # {"instruction", "round", "rouge"}
        out: list[dict] = []
        rounds = 0
        while len(kept) < self.target and rounds < self.max_rounds:
            rounds += 1
            self._instruction_round(rounds, seed_insts, kept, index, rng, out)
        clf = self._classify(kept, out)
        self._instances(kept, clf, out)
        gen = rows.make_rows(out)
        self._metrics = {"rounds": rounds, "instructions_kept": len(kept),
                         "rows_generated": int(gen.filter(pl.col(REJECT).is_null()).height),
                         "candidates_rejected": int(gen.filter(pl.col(REJECT).is_not_null()).height)}
        return rows.concat([self._seed_rows(df, seeds), gen])

    def _instruction_round(self, rnd: int, seed_insts: list[str], kept: list[dict], index: NoveltyIndex,
                           rng: random.Random, out: list[dict]) -> None:
        sec = prompts.section(self.cfg, "instructions", self.prompt_file)
        n_prompt = self.prompt_instructions
        prompt_texts = []
        # a searched mixture of prompts: each request (round, index) draws its member
        docs, variants = self.prompt_variants([f"{rnd}:{i}" for i in range(self.requests_per_round)], self.ctx.seed)
        for doc in docs:
            machine = rng.sample([k["instruction"] for k in kept], min(self.machine_in_prompt, len(kept)))
            chosen = rng.sample(seed_insts, min(n_prompt - len(machine), len(seed_insts))) + machine
            rng.shuffle(chosen)
            prompt_texts.append(prompts.render(prompts.section(doc, "instructions", self.prompt_file)["prompt"],
                                               instructions=chosen))
        nxt = sec.get("max_items", 15) + 1
        stop = tuple(prompts.render(s, next=nxt) for s in sec.get("stop", []))
        sp = prompts.sampling(sec, self.sampling.get("instructions"), stop=stop, seed=self.ctx.seed * 1000 + rnd)
        meta0 = {"generator": "self_instruct", **provenance.of(self.model, {"instructions": sp}), "round": rnd}
        for res, pv in zip(self.model.generate(prompt_texts, sp), variants):
            meta = meta0 if pv is None else {**meta0, "prompt_variant": pv}
            if not res.ok:
                out.append({"instruction": "", REJECT: f"llm_error: {res.error}", "meta": meta,
                            "source": "self_instruct"})
                continue
            c = res.completions[0]
            for inst, cut in parse.split_instructions(c.text, c.finish_reason, sec["split"]):
                reason = "truncated: cut by the length limit" if cut else parse.instruction_reason(inst, self.cfg)
                score = None
                if reason is None and len(kept) >= self.target:
                    reason = "target_reached: enough instructions were kept"
                if reason is None:
                    novel, score = index.add_if_novel(inst)
                    if not novel:
                        reason = f"rouge_similar: ROUGE-L {score:.2f} > {self.rouge_threshold}"
                if reason is None:
                    kept.append({"instruction": inst, "meta": {**meta, "rouge_l_max": round(score or 0.0, 4)}})
                else:
                    out.append({"instruction": inst, REJECT: reason, "meta": meta, "source": "self_instruct"})

    def _classify(self, kept: list[dict], out: list[dict]) -> list[bool | None]:
        if not kept:
            return []
        sec = prompts.section(self.cfg, "classification", self.prompt_file)
        choices = tuple(sec.get("choices", [" Yes", " No"]))
        sp = prompts.sampling(sec, {"seed": self.ctx.seed, **(self.sampling.get("classification") or {})},
                              **({"choice": choices} if self.structured else {}))
        self._clf_sampling = provenance.sampling_record(sp)
        res = self.model.generate([prompts.render(sec["prompt"], instruction=k["instruction"]) for k in kept], sp)
        yes = sec.get("yes", "yes").lower()
        return [r.completions[0].text.strip().lower().startswith(yes) if r.ok else None for r in res]

    def _instances(self, kept: list[dict], clf: list[bool | None], out: list[dict]) -> None:
        cap = self.max_instances or int(self.cfg.get("max_instances", 5))
        markers = self.cfg["parse"]
        for kind, want in (("output_first", True), ("input_first", False)):
            idx = [i for i, c in enumerate(clf) if c is want]
            if not idx:
                continue
            sec = prompts.section(self.cfg, kind, self.prompt_file)
            sp = prompts.sampling(sec, {"seed": self.ctx.seed, **(self.sampling.get(kind) or {})},
                                  stop=tuple(sec.get("stop", ())))
            res = self.model.generate([prompts.render(sec["prompt"], instruction=kept[i]["instruction"]) for i in idx], sp)
            for i, r in zip(idx, res):
                k = kept[i]
                meta = {**k["meta"], "is_classification": want, "instances_prompt": kind,
                        "sampling": {**k["meta"]["sampling"], "classification": self._clf_sampling,
                                     kind: provenance.sampling_record(sp)}}
                common = {"instruction": k["instruction"], "source": "self_instruct", "meta": meta,
                          "task": "classification" if want else "open_ended"}
                if not r.ok:
                    out.append({**common, REJECT: f"llm_error: {r.error}"})
                    continue
                c = r.completions[0]
                inst = parse.parse_instances(c.text, c.finish_reason, want, markers)
                if not inst:
                    out.append({**common, REJECT: "unparseable_instances: no instance in the completion",
                                "output": c.text})
                    continue
                n_ok = 0
                for (inp, outp), why in zip(inst, parse.instance_reasons(inst)):
                    if why is None and n_ok >= cap:
                        why = f"too_many_instances: more than {cap} for one task"
                    n_ok += why is None
                    out.append({**common, "input": inp, "output": outp, REJECT: why})
        for i, c in enumerate(clf):
            if c is None:
                out.append({"instruction": kept[i]["instruction"], "source": "self_instruct", "meta": kept[i]["meta"],
                            REJECT: "llm_error: the classification step failed"})

    def _seed_rows(self, df: pl.DataFrame, seeds: pl.DataFrame) -> pl.DataFrame:
        """Seed tasks as rows: records pass through; seed-task rows become one row per instance."""
        if "output" in df.columns and "instances" not in df.columns:
            return df
        # where each seed task was read: raw rows carry it apart (ORIGIN) until they become records
        origin = pl.col(ORIGIN).cast(pl.Utf8) if ORIGIN in df.columns else \
            pl.col("meta").fill_null("{}").str.json_path_match("$.origin") if "meta" in df.columns else None
        src = df.select("id", *[c for c in ("source", "task", "lang") if c in df.columns],
                        *([origin.alias("_origin")] if origin is not None else []))
        s = seeds.join(src, on="id", how="left")
        recs = []
        for r in s.iter_rows(named=True):
            # (each instance row keeps its seed task's input position, as converted rows do)
            origin = {"origin": json.loads(r["_origin"])} if r.get("_origin") else {}
            recs.append({
                "instruction": r["instruction"], "input": r["input"] or "", "output": r["output"] or "",
                "task": "classification" if r["is_classification"] else (r.get("task") or "open_ended"),
                "source": r.get("source") or "seed_tasks", "lang": r.get("lang") or "en",
                "meta": {"seed_task": r["id"], **origin},
                REJECT: None if r["has_instance"] else "no_instances: a seed task without instances",
            })
        return rows.make_rows(recs)

    def report_metrics(self) -> dict:
        return getattr(self, "_metrics", {})
