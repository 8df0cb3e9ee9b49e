"""Prompt search with scripted LLMs: a real `LLM` subclass (dataforge.testing.scripted) whose
judge answers are right only for prompts that carry a known feature, a mutator that proposes
variants, and the bad inputs the search must turn into clear errors or reasoned stops."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from dataforge.errors import ConfigError, InputError
from dataforge.llm.cache import CachedLLM
from dataforge.promptsearch import CallableFitness, SearchConfig, run
from dataforge.promptsearch import log as L
from dataforge.promptsearch.devset import planted_defects
from dataforge.testing.scripted import ScriptedLLM

ROOT = Path(__file__).resolve().parents[1]
FEATURE = "Quote the sentence that decides your score."
PHRASES = ["Be careful.", "Consider the details.", FEATURE, "Be fair to the writer.", "Check every fact.",
           "Mind the tone.", "Read twice."]


def _h(x) -> int:
    return int(hashlib.sha256(str(x).encode()).hexdigest()[:8], 16)


def _dev(n: int = 30, offset: int = 0, seed: int = 0) -> pl.DataFrame:
    rows = pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl").slice(offset, n)
    return planted_defects(rows, 0.5, seed=seed)


def _truth(dev: pl.DataFrame) -> dict[str, int]:
    return {"Instruction: " + r["instruction"] + "\n": r["label"] for r in dev.to_dicts()}


def _label_of(text: str, truth: dict[str, int]) -> int | None:
    return next((v for k, v in truth.items() if k and k in text), None)


def mutator(chat) -> str | None:
    """The mutation / crossover side: appends one phrase, chosen by the request's hash."""
    text = "\n".join(m["content"] for m in chat)
    if "expert prompt engineer" not in text:
        return None
    base = re.findall(r"<prompt>\n(.*?)\n</prompt>", text, re.S)[0]
    return f"<prompt>{base}\n{PHRASES[_h(text) % len(PHRASES)]}</prompt>"


def feature_llm(truth: dict[str, int]) -> ScriptedLLM:
    def answer(chat, s):
        m = mutator(chat)
        if m is not None:
            return m
        text = "\n".join(c["content"] for c in chat)
        if FEATURE in text:
            return json.dumps({"score": 5 if _label_of(text, truth) else 1})
        return json.dumps({"score": 1 + _h(text) % 5})  # a judge that guesses
    return ScriptedLLM(answer)


def test_search_finds_the_feature_within_budget(tmp_path):
    dev = _dev()
    original = (ROOT / "rules" / "prompts" / "judge_quality.yaml").read_bytes()
    cfg = SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric", population=4, generations=6,
                       max_llm_calls=900, seed=3, structural=["format", "order"])
    res = run(cfg, dev, feature_llm(_truth(dev)), tmp_path / "ps")
    assert FEATURE in res.best.user and res.best.op.startswith("llm_")
    assert res.best_fitness == 1.0 and res.original_fitness < 0.8
    assert res.llm_calls <= 900
    # outputs: a NEW prompt file (the original is untouched), the log, the report
    assert (ROOT / "rules" / "prompts" / "judge_quality.yaml").read_bytes() == original
    doc = yaml.safe_load(res.prompt_file.read_text())
    assert res.prompt_file.parent == tmp_path / "ps" and FEATURE in doc["prompts"][0]["user"]
    ens = doc["ensemble"]
    assert ens["how"] == "weighted" and set(ens["weights"]) == {p["name"] for p in doc["prompts"]}
    assert abs(sum(ens["weights"].values()) - 1) < 1e-4
    assert ens["search"]["search_id"] == res.search_id and len(ens["search"]["dev_hash"]) == 16
    recs = L.read(res.log)
    cands = [r for r in recs if r["event"] == "candidate"]
    assert {"generation", "prompt", "fitness", "parents", "id"} <= set(cands[0])
    assert cands[0]["parents"] == [] and all(r["parents"] for r in cands[1:])
    assert recs[-1]["event"] == "stop" and recs[-1]["reason"] in ("patience", "generations")
    html = res.report.read_text()
    assert "<svg" in html and "<script" not in html and 'class="add"' in html and FEATURE in html


def test_rerun_is_answered_from_the_cache(tmp_path):
    dev = _dev(20)
    cfg = SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric", population=3, generations=2, seed=5)
    logs = []
    for i in range(2):
        inner = feature_llm(_truth(dev))
        llm = CachedLLM(inner, tmp_path / "cache")
        res = run(cfg, dev, llm, tmp_path / f"run{i}")
        logs.append([(r["id"], r["fitness"]) for r in L.read(res.log) if r["event"] == "candidate"])
        llm.close()
        if i == 1:
            assert llm.misses == 0 and llm.hits == res.llm_calls > 0
    assert logs[0] == logs[1]  # seeded: the same search again


def test_judge_file_with_weights_drives_the_judge_operator(tmp_path):
    """The written file is a working judge prompt file: the `judge` operator reads its weights."""
    from dataforge.llm import for_op
    from dataforge.ops.base import RunContext, create

    dev = _dev(16)
    res = run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric", population=3,
                           generations=1, seed=2), dev, feature_llm(_truth(dev)), tmp_path / "ps")
    for_op.use("scripted:feature", feature_llm(_truth(dev)))
    op = create("judge", {"aspect": "quality", "prompt_file": str(res.prompt_file), "aggregate": "weighted",
                          "llm": "scripted:feature"})
    op.bind(RunContext(seed=2))
    op.setup()
    got = op.map(dev)["score_judge_quality"].to_numpy()
    assert got.shape == (16,) and np.all((got >= 0) & (got <= 1))
    with pytest.raises(ConfigError, match="ensemble"):  # weighted on a file without weights: a clear error
        bad = create("judge", {"aspect": "quality", "aggregate": "weighted", "llm": "scripted:feature"})
        bad.bind(RunContext())
        bad.setup()


def test_generator_search_uses_operator_scores(tmp_path):
    """respond.yaml: replies are good (long, structured) only for prompts with the feature."""
    feature = "Answer in full sentences."
    rows = pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl").head(12)
    good = {r["instruction"]: r["output"] for r in rows.to_dicts()}

    def answer(chat, s):
        if "expert prompt engineer" in chat[0]["content"]:
            text = chat[-1]["content"]
            base = re.findall(r"<prompt>\n(.*?)\n</prompt>", text, re.S)[0]
            return f"<prompt>{base}\n{[feature, 'Be brief.', 'Use plain words.'][_h(text) % 3]}</prompt>"
        text = chat[-1]["content"]
        inst = next(k for k in good if k in text)
        # (not "ok": since the task-aware score_quality, a bare "ok" can pass as a short answer)
        return good[inst] if feature in text else "Sorry, I cannot help with that."

    cfg = SearchConfig(prompt_file="respond.yaml", entry="", population=3, generations=3, seed=1,
                       weights={"score_quality": 1.0}, structural=["order"])
    res = run(cfg, rows.with_columns(pl.lit("").alias("output")), ScriptedLLM(answer), tmp_path / "gen")
    assert feature in res.best.user and res.best_fitness > res.original_fitness
    doc = yaml.safe_load(res.prompt_file.read_text())
    assert feature in doc["user"] and doc["ensemble"]["how"] == "weighted_mixture"
    assert abs(sum(m["weight"] for m in doc["ensemble"]["members"]) - 1) < 1e-4
    # the respond operator reads the written mixture: each row names the member that made it
    from dataforge.llm import for_op
    from dataforge.ops.base import RunContext, create

    for_op.use("scripted:gen", ScriptedLLM(answer))
    op = create("respond", {"prompt_file": str(res.prompt_file), "llm": "scripted:gen"})
    op.bind(RunContext(seed=1))
    op.setup()
    out = op.map(rows.with_columns(pl.lit("").alias("output"), pl.lit("{}").alias("meta"),
                                   pl.lit("alpaca").alias("source"), pl.int_range(12).cast(pl.Utf8).alias("id")))
    got = [json.loads(m)["prompt_variant"] for m in out["meta"]]
    assert {g["name"] for g in got} <= {m["name"] for m in doc["ensemble"]["members"]}
    assert {g["search"] for g in got} == {res.search_id}


def test_callable_fitness(tmp_path):
    dev = _dev(6)
    fit = CallableFitness(lambda c, d, llm: float(len(c.user)))  # prefers longer prompts
    res = run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric", population=3,
                           generations=2, seed=0), dev, feature_llm(_truth(dev)), tmp_path / "cf", fitness=fit)
    assert len(res.best.user) > len(yaml.safe_load((ROOT / "rules/prompts/judge_quality.yaml").read_text())
                                    ["prompts"][0]["user"])


# -- bad input: a clear error or a reasoned stop, never a crash or an endless loop ----------------
def test_empty_dev_set_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="dev set is empty"):
        run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric"), _dev().clear(),
            feature_llm({}), tmp_path)


def test_dev_set_without_labels_is_a_clear_error(tmp_path):
    llm = feature_llm({})
    with pytest.raises(InputError, match="no label column 'label'"):
        run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric"), _dev().drop("label"), llm, tmp_path)
    with pytest.raises(InputError, match="have no 'label' label"):
        run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric"),
            _dev().with_columns(pl.lit(None, dtype=pl.Int64).alias("label")), llm, tmp_path)
    with pytest.raises(InputError, match="at least two values"):
        run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric"),
            _dev().with_columns(pl.lit(1).alias("label")), llm, tmp_path)
    assert llm.calls == []  # refused before any LLM call


def test_constant_fitness_stops_with_a_reason(tmp_path):
    def answer(chat, s):
        return mutator(chat) or '{"score": 3}'  # the judge says 3 to everything
    res = run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric", population=4, generations=50),
              _dev(10), ScriptedLLM(answer), tmp_path)
    assert res.stop_reason == "constant_fitness" and "cannot tell these prompts apart" in res.stop_detail
    assert res.generations == 0 and res.prompt_file.exists()


@pytest.mark.parametrize("structural", [[], ["system", "format", "fewshot", "order"]])
def test_garbage_from_the_llm_stops_with_a_reason(tmp_path, structural):
    dev = _dev(10)

    def answer(chat, s):
        text = "\n".join(m["content"] for m in chat)
        if "expert prompt engineer" in text:
            return "lorem ipsum {{ nonsense"  # never a usable template
        return json.dumps({"score": 1 + _h(text) % 5})  # a guessing judge: fitness differs by prompt
    res = run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric", population=4,
                           generations=1000, max_llm_calls=100_000, structural=structural, max_failures=8,
                           fewshot_pool=["Instruction: a\nResponse: b\nScore: 5"]),
              dev, ScriptedLLM(answer), tmp_path)
    assert res.stop_reason in ("llm_garbage", "no_new_candidates", "patience")
    if not structural:
        assert res.stop_reason == "llm_garbage" and "unusable" in res.stop_detail
    rej = [r for r in L.read(res.log) if r["event"] == "rejected"]
    assert rej and all(r["why"] for r in rej)


def test_invalid_variants_are_rejected_not_used(tmp_path):
    """A variant that drops {{ output }} cannot judge anything: it is logged as rejected."""
    dev = _dev(8)

    def answer(chat, s):
        text = "\n".join(m["content"] for m in chat)
        if "expert prompt engineer" in text:
            return "<prompt>Rate it from 1 to 5: {{ instruction }}</prompt>"
        return '{"score": %d}' % (1 + _h(text) % 5)
    res = run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric", population=3, generations=2,
                           structural=[], max_failures=4), dev, ScriptedLLM(answer), tmp_path)
    rej = [r for r in L.read(res.log) if r["event"] == "rejected"]
    assert rej and "missing ['input', 'output']" in rej[0]["why"]
    assert res.stop_reason == "llm_garbage"


def test_budget_is_respected(tmp_path):
    dev = _dev(10)
    llm = feature_llm(_truth(dev))
    res = run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric", population=4,
                           generations=20, max_llm_calls=45, patience=50), dev, llm, tmp_path)
    assert res.stop_reason == "budget" and res.llm_calls <= 45
    assert sum(n for _k, n, _s in llm.calls) == res.llm_calls


def test_bad_config_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="population"):
        run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric", population=1), _dev(4),
            feature_llm({}), tmp_path)
    with pytest.raises(ConfigError, match="no entry named 'nope'"):
        run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.nope"), _dev(4), feature_llm({}), tmp_path)
    with pytest.raises(ConfigError, match="unknown structural"):
        run(SearchConfig(prompt_file="judge_quality.yaml", structural=["flip"]), _dev(4), feature_llm({}), tmp_path)


def test_a_backend_that_raises_ends_the_search_with_its_message(tmp_path):
    dev = _dev(8)
    truth = _truth(dev)

    class Raising(ScriptedLLM):
        def _chat(self, chats, s):
            if any("expert prompt engineer" in c[0]["content"] for c in chats):
                raise RuntimeError("prompt longer than the context")
            return super()._chat(chats, s)
    res = run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric", population=3, generations=2,
                           structural=[]), dev, Raising(feature_llm(truth).answer), tmp_path)
    assert res.stop_reason == "llm_error" and "prompt longer than the context" in res.stop_detail
    assert res.prompt_file.exists()  # what was evaluated is still written out


@pytest.mark.slow
def test_rewrite_search_with_novelty_and_clarity(tmp_path):
    """A generator whose output is an instruction (rewrite.yaml), scored by clarity and by
    novelty against the pool (score_novelty, a global operator on MiniLM embeddings)."""
    rows = pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl").head(8)
    rows = rows.with_columns(pl.col("instruction").alias("text"))

    def answer(chat, s):
        if "expert prompt engineer" in chat[0]["content"]:
            text = chat[-1]["content"]
            base = re.findall(r"<prompt>\n(.*?)\n</prompt>", text, re.S)[0]
            return f"<prompt>{base}\n{['Vary the wording.', 'Keep it short.'][_h(text) % 2]}</prompt>"
        text = chat[-1]["content"]
        original = text.split("Original:\n", 1)[1].split("\n\nRewritten:", 1)[0]
        # with the feature the rewrites differ from row to row; without it they collapse to one text
        return f"Please, {original.lower()}" if "Vary the wording." in text else "Do the task."

    cfg = SearchConfig(prompt_file="rewrite.yaml", population=3, generations=2, seed=4, produces="instruction",
                       weights={"score_novelty": 1.0, "score_clarity": 1.0}, structural=[],
                       constants={"style": "formal", "guidance": "in a more formal register.", "field": "instruction"})
    res = run(cfg, rows, ScriptedLLM(answer), tmp_path)
    assert "Vary the wording." in res.best.user and res.best_fitness > res.original_fitness
    cand = [r for r in L.read(res.log) if r["event"] == "candidate"]
    assert {"score_novelty", "score_clarity", "rejection_rate"} <= set(cand[0]["detail"])


def test_spec_dev_set_and_fewshot_pool_do_not_overlap():
    from dataforge.promptsearch import spec as S

    spec = S.load(ROOT / "rules" / "recipes" / "prompt_search.yaml")
    assert spec.config.prompt_file == "judge_quality.yaml" and spec.config.seed == 7
    dev, pool = S.dev_frame(spec)
    assert dev.height == 40 and len(pool) == 6
    assert set(dev["label"].to_list()) == {0, 1} and 0.3 < dev["label"].mean() < 0.7
    assert dev.filter(pl.col("label") == 0)["defect"].null_count() == 0
    assert not {p.split("\n")[0][len("Instruction: "):] for p in pool} & set(dev["instruction"].to_list())
    assert all(p.rstrip().endswith(("Score: 5", "Score: 1")) for p in pool)  # labelled on the judge's scale


def test_spec_errors_name_the_key(tmp_path):
    from dataforge.promptsearch import spec as S

    p = tmp_path / "s.yaml"
    p.write_text("prompt_search: {prompt_file: judge_quality.yaml, population: three}\ndev: {path: x.jsonl}\n")
    with pytest.raises(ConfigError, match="population must be an integer"):
        S.load(p)
    p.write_text("prompt_search: {prompt_file: judge_quality.yaml}\ndev: {path: x.jsonl, shuffle: true}\n")
    with pytest.raises(ConfigError, match=r"dev: unknown key\(s\) \['shuffle'\]"):
        S.load(p)
    p.write_text("prompt_search: {prompt_file: judge_quality.yaml}\ndev: {path: nowhere.jsonl}\n")
    with pytest.raises(ConfigError, match="pick one prompt with entry: prompts.NAME"):
        S.check(S.load(p))
    p.write_text("prompt_search: {prompt_file: judge_quality.yaml, entry: prompts.teacher}\ndev: {path: nowhere.jsonl}\n")
    with pytest.raises(InputError, match="dev set not found: nowhere.jsonl"):
        S.check(S.load(p))


def test_structural_mutations_alone_find_a_format_line(tmp_path):
    """No LLM proposals at all: the judge is right only when the prompt carries one of the
    output-format lines of rules/prompts/prompt_search.yaml, which only `format` can add."""
    dev = _dev(20)
    truth = _truth(dev)
    line = "Use the whole scale: keep the top score for answers with no flaw at all."

    def answer(chat, s):
        assert "expert prompt engineer" not in chat[0]["content"]  # structural only: no meta-prompt
        text = "\n".join(m["content"] for m in chat)
        if line in text:
            return json.dumps({"score": 5 if _label_of(text, truth) else 1})
        return json.dumps({"score": 1 + _h(text) % 5})
    res = run(SearchConfig(prompt_file="judge_quality.yaml", entry="prompts.rubric", population=4, generations=6,
                           crossover_rate=0.0, llm_mutation_rate=0.0, patience=3, seed=2), dev,
              ScriptedLLM(answer), tmp_path)
    assert line in res.best.user and res.best_fitness == 1.0
