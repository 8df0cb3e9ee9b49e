"""Evolutionary prompt search (APE / EvoPrompt-GA style) over one prompt-file entry.

    generation 0: the original + (population - 1) variants of it, all evaluated
    each next generation: `offspring` children, each an LLM crossover of two tournament-picked
        parents (probability crossover_rate), else an LLM mutation of one (llm_mutation_rate),
        else a structural mutation; invalid or duplicate children are dropped and re-proposed
        (at most 4 rounds); parents and children compete, the best `population` survive.
    stop: `generations` done | the LLM-call budget cannot pay for one more evaluation |
        no improvement for `patience` generations | every candidate of generation 0 has the same
        fitness (the dev set or fitness cannot tell prompts apart) | no new valid child in a
        generation | `max_failures` unusable LLM mutation replies in a row | the backend raised
        (llm_error; what was evaluated so far is still written out).
Randomness comes from `seed` only, and LLM sampling seeds from the seed and the parents, so a
rerun asks the same questions and the LLM cache answers them all.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from dataforge.errors import ConfigError, InputError
from dataforge.promptsearch import ensemble, mutate
from dataforge.promptsearch import target as T
from dataforge.promptsearch.budget import BudgetedLLM, BudgetExhausted, LLMFailed
from dataforge.promptsearch.candidate import Candidate, check
from dataforge.promptsearch.fitness import DEFAULT_WEIGHTS, Eval, Fitness, GeneratorFitness, JudgeFitness
from dataforge.promptsearch.filters import OPERATORS, Filters, detect
from dataforge.promptsearch.log import SearchLog


@dataclass
class SearchConfig:
    prompt_file: str
    entry: str = ""
    kind: Literal["auto", "judge", "generator"] = "auto"
    population: int = 6
    generations: int = 4
    offspring: int | None = None  # children per generation; default = population
    max_llm_calls: int = 2000
    crossover_rate: float = 0.3
    llm_mutation_rate: float = 0.6  # of the non-crossover children; the rest are structural
    structural: list[str] = field(default_factory=lambda: list(mutate.STRUCTURAL))
    fewshot_pool: list[str] = field(default_factory=list)
    patience: int = 2
    max_failures: int = 10
    top_k: int = 3
    seed: int = 0
    meta_prompts: str = mutate.META_FILE
    mutation_max_tokens: int | None = None  # override of the meta-prompt file's sampling.max_tokens
    # fitness
    label: str = "label"
    metric: Literal["auto", "auroc", "spearman", "accuracy"] = "auto"
    produces: str = "output"
    weights: dict[str, float] | None = None
    reject_weight: float = 0.5
    constants: dict = field(default_factory=dict)
    operator: str = "auto"  # whose filters reject replies: auto (from the file), respond, rewrite, self_instruct, none
    max_tokens: int | None = None  # judges: reply length; generators: override of the file's sampling

    def validate(self) -> None:
        if self.population < 2:
            raise ConfigError("prompt search: population must be >= 2")
        if self.generations < 0 or self.max_llm_calls < 1 or self.top_k < 1 or self.patience < 1:
            raise ConfigError("prompt search: generations >= 0, max_llm_calls >= 1, top_k >= 1, patience >= 1")
        for name in ("crossover_rate", "llm_mutation_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"prompt search: {name} must be in [0, 1]")
        if self.operator not in OPERATORS:
            raise ConfigError(f"prompt search: operator must be one of {list(OPERATORS)}, got {self.operator!r}")
        unknown = sorted(set(self.structural) - set(mutate.STRUCTURAL))
        if unknown:
            raise ConfigError(f"prompt search: unknown structural mutation(s) {unknown}; have {list(mutate.STRUCTURAL)}")


@dataclass
class SearchResult:
    search_id: str
    best: Candidate
    best_fitness: float
    original_fitness: float
    ranked: list[Candidate]
    fitness: list[float]
    weights: list[float]
    ensemble_dev: float | None  # judges: dev metric of the fitted ensemble
    mean_dev: float | None  # judges: dev metric of the unweighted mean of the same prompts
    stop_reason: str
    stop_detail: str
    llm_calls: int
    generations: int
    prompt_file: Path | None = None
    log: Path | None = None
    report: Path | None = None


def dev_hash(dev: pl.DataFrame) -> str:
    return hashlib.sha256(dev.write_csv().encode("utf-8")).hexdigest()[:16]


def make_fitness(cfg: SearchConfig, tgt: T.Target) -> Fitness:
    kind = tgt.kind if cfg.kind == "auto" else cfg.kind
    if kind == "judge":
        scale = tgt.doc.get("scale") or {}
        if not {"min", "max"} <= set(scale):
            raise ConfigError(f"{tgt.path}: a judge prompt file needs `scale: {{min, max}}`")
        return JudgeFitness(scale=(int(scale["min"]), int(scale["max"])), label=cfg.label, metric=cfg.metric,
                            logprobs=bool(tgt.doc.get("logprobs", False)), max_tokens=cfg.max_tokens or 64,
                            seed=cfg.seed)
    sampling = tgt.node_sampling()
    if cfg.max_tokens:
        sampling["max_tokens"] = cfg.max_tokens
    op = detect(tgt.doc, cfg.entry) if cfg.operator == "auto" else cfg.operator
    # "none": only the reply checks every operator makes (respond's own filters)
    filters = Filters(operator="respond" if op == "none" else op, doc=tgt.doc, produces=cfg.produces)
    return GeneratorFitness(produces=cfg.produces, weights=dict(cfg.weights or DEFAULT_WEIGHTS),
                            reject_weight=cfg.reject_weight, sampling=sampling, constants=cfg.constants, seed=cfg.seed,
                            filters=filters)


def _seed(*parts) -> int:
    return int(hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:8], 16)


class Search:
    def __init__(self, cfg: SearchConfig, dev: pl.DataFrame, llm, out: str | Path,
                 fitness: Fitness | None = None):
        cfg.validate()
        self.cfg, self.out = cfg, Path(out)
        self.target = T.load(cfg.prompt_file, cfg.entry)
        self.kind = self.target.kind if cfg.kind == "auto" else cfg.kind
        if dev is None or dev.height == 0:
            raise InputError("prompt search: the dev set is empty; give it labelled rows (a few dozen is enough)")
        self.dev = dev
        self.fitness = fitness or make_fitness(cfg, self.target)
        if isinstance(self.fitness, JudgeFitness):
            self.labels = self.fitness.check(dev)  # clear errors before any LLM call
        self.meta = mutate.meta(cfg.meta_prompts)
        self.llm = BudgetedLLM(llm, cfg.max_llm_calls)
        self.rng = random.Random(cfg.seed)
        self.original = self.target.original()
        self.evals: dict[str, Eval] = {}
        self.cands: dict[str, Candidate] = {}
        self.failures = 0  # unusable LLM mutation replies in a row
        self.last_bad = ""
        self.dev_hash = dev_hash(dev)
        cfg_blob = {k: v for k, v in asdict(cfg).items()}
        self.search_id = hashlib.sha256(json.dumps(
            [cfg_blob, self.original.id, self.dev_hash, getattr(llm, "model_id", "")],
            sort_keys=True, default=str).encode()).hexdigest()[:12]

    # -- evaluation ------------------------------------------------------------------
    def _evaluate(self, cands: list[Candidate], gen: int) -> list[Candidate]:
        per = self.fitness.calls_per_candidate(self.dev)
        afford = len(cands) if per == 0 else min(len(cands), self.llm.left // per)
        todo = cands[:afford]
        if todo:
            for c, ev in zip(todo, self.fitness.evaluate(todo, self.dev, self.llm)):
                self.evals[c.id], self.cands[c.id] = ev, c
                self.log.write("candidate", generation=gen, id=c.id, parents=list(c.parents), op=c.op,
                               fitness=ev.fitness, system=c.system, prompt=c.user, detail=ev.detail)
        if afford < len(cands):
            raise BudgetExhausted(f"the LLM-call budget ({self.cfg.max_llm_calls}) cannot pay for another "
                                  f"evaluation ({per} calls each); {self.llm.used} used")
        return todo

    def fit(self, c: Candidate) -> float:
        return self.evals[c.id].fitness

    # -- proposals -------------------------------------------------------------------
    def _tournament(self, pop: list[Candidate]) -> Candidate:
        a, b = self.rng.sample(pop, 2) if len(pop) >= 2 else (pop[0], pop[0])
        return a if self.fit(a) >= self.fit(b) else b

    def _propose(self, pop: list[Candidate], want: int, gen: int) -> list[Candidate]:
        cfg, seen = self.cfg, set(self.cands)
        children: list[Candidate] = []
        per_eval = max(self.fitness.calls_per_candidate(self.dev), 0)
        for _round in range(4):
            need = want - len(children)
            if need <= 0:
                break
            llm_jobs, structural = [], []
            for _ in range(need):
                r = self.rng.random()
                use_llm = r < cfg.crossover_rate + (1 - cfg.crossover_rate) * cfg.llm_mutation_rate or not cfg.structural
                # an LLM proposal only while the budget still pays for it and its evaluation
                if use_llm and self.llm.left - len(llm_jobs) > per_eval * (len(children) + len(llm_jobs) + 1):
                    if r < cfg.crossover_rate and len(pop) >= 2:
                        a = self._tournament(pop)
                        b = self._tournament([p for p in pop if p.id != a.id])
                        llm_jobs.append(("llm_crossover", (a, b), mutate.crossover_chat(self.meta, self.kind, a, b)))
                    else:
                        a = self._tournament(pop)
                        llm_jobs.append(("llm_mutate", (a,), mutate.mutate_chat(self.meta, self.kind, a, self.rng)))
                elif cfg.structural:
                    structural.append(self._tournament(pop))
            proposals: list[tuple[Candidate | None, str, str]] = []  # (candidate, why not, reply)
            if llm_jobs:
                from dataforge.generate import prompts as P

                # one batch, one seed per (search seed, generation, round): reruns ask the same questions
                sp = P.sampling(self.meta, {"seed": _seed(cfg.seed, gen, _round) % (2**31)}
                                | ({"max_tokens": cfg.mutation_max_tokens} if cfg.mutation_max_tokens else {}))
                res = self.llm.chat([j[2] for j in llm_jobs], sp)
                for (op, parents, _chat), r in zip(llm_jobs, res):
                    reply = r.completions[0].text if r.ok and r.completions else f"<error: {r.error}>"
                    text = mutate.parse_reply(reply)
                    if text is None:
                        proposals.append((None, "no <prompt>...</prompt> in the reply", reply))
                        continue
                    c = parents[0].child(op=op, generation=gen, parents=tuple(p.id for p in parents), user=text)
                    proposals.append((c, check(c, self.original) or "", reply))
            for parent in structural:
                names = list(cfg.structural)
                self.rng.shuffle(names)
                for name in names:
                    c = mutate.STRUCTURAL_OPS[name](parent, self.rng, doc=self.meta, kind=self.kind, gen=gen,
                                                    pool=cfg.fewshot_pool)
                    if c is not None and c.id not in seen:
                        proposals.append((c, check(c, self.original) or "", ""))
                        break
            for c, why, reply in proposals:
                is_llm = c is None or c.op.startswith("llm_")
                if c is not None and not why and c.id in seen:  # a repeat is not the LLM's failure
                    self.log.write("rejected", generation=gen, op=c.op, why="duplicate of an earlier candidate",
                                   reply="")
                    continue
                if why:
                    self.log.write("rejected", generation=gen, op=c.op if c else "llm", why=why, reply=reply[:300])
                    if is_llm:
                        self.failures += 1
                        self.last_bad = f"{why}: {reply[:120]!r}"
                        if self.failures >= cfg.max_failures:
                            raise _Stop("llm_garbage", f"{self.failures} LLM mutation replies in a row were unusable "
                                                       f"(last: {self.last_bad}); check the model and the meta-prompts "
                                                       f"in {cfg.meta_prompts}")
                    continue
                if is_llm:
                    self.failures = 0
                seen.add(c.id)
                children.append(c)
        return children[:want]

    # -- the loop --------------------------------------------------------------------
    def run(self) -> SearchResult:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        self.log = SearchLog(self.out / "search.jsonl")
        self.log.write("start", search_id=self.search_id, config=asdict(cfg), kind=self.kind,
                       fitness=self.fitness.describe(), dev_rows=self.dev.height, dev_hash=self.dev_hash,
                       original=self.original.id, prompt_file=str(self.target.path), entry=cfg.entry)
        reason, detail, gen = "generations", f"ran the {cfg.generations} generation(s) asked for", 0
        pop: list[Candidate] = []
        try:
            pop = self._evaluate([self.original], 0)
            if not pop:
                raise BudgetExhausted("the budget cannot pay for evaluating the original prompt once")
            pop += self._evaluate(self._propose(pop, cfg.population - 1, 0), 0)
            pop = self._select(pop)
            self._generation_line(0, pop)
            fits = [self.fit(c) for c in pop]
            if len(pop) >= 2 and max(fits) - min(fits) < 1e-12:
                raise _Stop("constant_fitness", f"all {len(pop)} candidates of generation 0 have fitness {fits[0]:.4g}: "
                                                f"the dev set or the fitness cannot tell these prompts apart "
                                                f"(more or harder dev rows, another metric)")
            best, stale = self.fit(pop[0]), 0
            for gen in range(1, cfg.generations + 1):
                kids = self._propose(pop, cfg.offspring or cfg.population, gen)
                if not kids:
                    raise _Stop("no_new_candidates", f"generation {gen}: no new valid variant could be proposed"
                                + (f" (last unusable LLM reply: {self.last_bad})" if self.last_bad else ""))
                pop = self._select(pop + self._evaluate(kids, gen))
                self._generation_line(gen, pop)
                if self.fit(pop[0]) > best + 1e-12:
                    best, stale = self.fit(pop[0]), 0
                else:
                    stale += 1
                    if stale >= cfg.patience:
                        raise _Stop("patience", f"no improvement for {stale} generation(s)")
        except BudgetExhausted as e:
            reason, detail = "budget", str(e)
        except LLMFailed as e:
            reason, detail = "llm_error", str(e)
        except _Stop as s:
            reason, detail = s.reason, s.detail
        self.log.write("stop", reason=reason, detail=detail, generation=gen, llm_calls=self.llm.used)
        self.log.close()
        if not self.evals:
            raise InputError(f"prompt search: nothing was evaluated ({detail})")
        return self._result(reason, detail, gen)

    def _select(self, pop: list[Candidate]) -> list[Candidate]:
        uniq = {c.id: c for c in pop}
        # stable: on equal fitness the older candidate (the original first) stays ahead
        return sorted(uniq.values(), key=lambda c: -self.fit(c))[: self.cfg.population]

    def _generation_line(self, gen: int, pop: list[Candidate]) -> None:
        fits = [self.fit(c) for c in pop]
        self.log.write("generation", generation=gen, best=max(fits), mean=float(np.mean(fits)),
                       best_id=pop[0].id, llm_calls=self.llm.used)

    def _result(self, reason: str, detail: str, gen: int) -> SearchResult:
        ranked = sorted(self.cands.values(), key=lambda c: -self.fit(c))[: self.cfg.top_k]
        fits = [self.fit(c) for c in ranked]
        ens_dev = mean_dev = None
        if isinstance(self.fitness, JudgeFitness) and all(self.evals[c.id].preds is not None for c in ranked):
            preds = np.stack([self.evals[c.id].preds for c in ranked], axis=1)
            w, ens_dev, mean_dev = ensemble.fit_judge(preds, fits, lambda s: self.fitness.score(self.labels, s))
        else:
            w = ensemble.fit_mixture(fits)
        return SearchResult(search_id=self.search_id, best=ranked[0], best_fitness=fits[0],
                            original_fitness=self.fit(self.original), ranked=ranked, fitness=fits,
                            weights=[float(x) for x in w], ensemble_dev=ens_dev, mean_dev=mean_dev,
                            stop_reason=reason, stop_detail=detail, llm_calls=self.llm.used, generations=gen)


class _Stop(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail
