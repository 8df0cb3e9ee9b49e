"""Generation operators end to end: fixed completions for the logic, the tiny model for real."""
import glob
import itertools
import json

import polars as pl
import pytest

from dataforge.errors import ConfigError
from dataforge.io.source import Source
from dataforge.llm import for_op
from dataforge.llm.base import Completion
from dataforge.llm.revision import revision_of
from dataforge.ops.base import create
from dataforge.pipeline import Pipeline
from dataforge.testing.scripted import ScriptedLLM


def _run(ops, src, tmp_path, llm=None):
    res = Pipeline(ops).run(src, out=tmp_path / "out", llm=llm)
    assert res.manifest["totals"]["balanced"]
    kept = pl.concat([pl.read_parquet(p) for p in res.shards])
    rej = [pl.read_parquet(p) for p in glob.glob(str(tmp_path / "out" / "rejects" / "*.parquet"))]
    return res, kept, (pl.concat(rej, how="diagonal_relaxed") if rej else pl.DataFrame())


def test_self_instruct_filters_and_instances(tmp_path, sample_dir):
    n = itertools.count()
    topics = [("tides form near the coast", "movie reviews as positive or negative"),
              ("volcanoes erupt under pressure", "emails as spam or not spam"),
              ("bees communicate by dancing", "headlines as sports or politics")]

    def answer(p, s):
        if p.startswith("Come up with a series of tasks"):
            a, b = topics[next(n) % 3]
            assert p.count("\n") == 9 and p.endswith("9.")  # header + 8 items + "9."
            return Completion(f" Explain how {a}.\n10. Draw a cat in the snow today."
                              f"\n11. Hi\n12. Classify {b}.\n"
                              "13. Write a poem about the ocean at nigh", finish_reason="length")
        if p.startswith("Can the following"):
            return " Yes" if "Classify" in p.rsplit("Task:", 1)[1] else " No"
        if p.startswith("Given the classification"):
            return "Class label: Positive\nReview: Great!\nClass label: Negative\nReview: Awful."
        return "Example 1\nInput: near a bay\nOutput: The moon pulls water.\nExample 2\nInput: x\nOutput: x"

    for_op.use("scripted:si", ScriptedLLM(answer))
    op = create("self_instruct", {"target": 4, "requests_per_round": 2, "llm": "scripted:si"})
    src = Source(name="seed_tasks", path=str(sample_dir / "seed_tasks.jsonl"), keep=["instances", "is_classification"])
    res, kept, rej = _run([op], src, tmp_path)
    gen = kept.filter(pl.col("source") == "self_instruct")
    seeds = kept.filter(pl.col("source") == "seed_tasks")
    assert seeds.height == 175  # seeds: one row per instance
    # ... each with its seed task's line in the file (the seed rows had lost meta.origin)
    origins = [json.loads(m)["origin"] for m in seeds["meta"]]
    assert {o["file"] for o in origins} == {"seed_tasks.jsonl"} and len({o["line"] for o in origins}) == 175
    # 2 rounds x 2 requests: the tide and review instructions of each request are novel
    insts = gen["instruction"].unique().to_list()
    assert len(insts) == 4
    clf = gen.filter(pl.col("task") == "classification")
    assert set(clf["output"]) == {"Positive", "Negative"} and set(clf["input"]) == {"Review: Great!", "Review: Awful."}
    other = gen.filter(pl.col("task") == "open_ended")
    assert other["output"].to_list() == ["The moon pulls water."] * 2
    reasons = {r.split(":")[0] for r in rej["reason"]}
    assert {"blocked_word", "too_few_words", "truncated", "input_equals_output"} <= reasons
    meta = json.loads(gen["meta"][0])
    assert meta["generator"] == "self_instruct" and meta["model"] == "scripted:script"
    assert res.manifest["stages"][-1]["rows_added"] == gen.height + rej.height + 175 - 175


def test_evol_instruct_keeps_parent_chain_and_eliminates(tmp_path):
    def answer(chat, s):
        text = chat[-1]["content"]
        if text.startswith("I want you act as a Prompt Rewriter") or text.startswith("I want you act as a Prompt Creator"):
            given = text.split("Prompt#:\n", 1)[1].rsplit("\n#", 1)[0]
            if "poem" in given:
                return "#Rewritten Prompt#: a poem"  # copies prompt words
            return given + " Use exactly three steps."
        if text.startswith("Here are two Instructions"):
            return "Not Equal"
        if "Sorry" in text:
            return "I am sorry, I cannot."
        return "Step one, then step two, then step three: the answer is 42."

    llm = ScriptedLLM(answer)
    for_op.use("scripted:evol", llm)
    df = pl.DataFrame({"instruction": ["Add 40 and 2.", "Write a poem.", "Say Sorry twice."],
                       "output": ["42", "roses", "sorry sorry"]})
    op = create("evol_instruct", {"rounds": 2, "llm": "scripted:evol"})
    res, kept, rej = _run([op], Source(name="t", path=df), tmp_path)
    # evolved rows name their root's source (its terms apply) and keep its input position
    ev = kept.filter(pl.col("source") == "t+evol_instruct")
    assert ev.height == 2  # only "Add 40 and 2." survives, twice
    root_meta = json.loads(kept.filter(pl.col("instruction") == "Add 40 and 2.")["meta"][0])
    assert root_meta["origin"] and all(json.loads(m)["origin"] == root_meta["origin"] for m in ev["meta"])
    first, second = ev.sort("instruction")["instruction"].to_list()
    assert second.startswith(first)
    root = kept.filter(pl.col("instruction") == "Add 40 and 2.")["id"][0]
    by_id = dict(zip(ev["id"], ev["parent_id"]))
    r1 = ev.filter(pl.col("instruction") == first)
    assert r1["parent_id"][0] == root and by_id[ev.filter(pl.col("instruction") == second)["id"][0]] == r1["id"][0]
    reasons = sorted(r.split(":")[0] for r in rej["reason"])
    assert reasons == ["copied_prompt_words"] * 2 + ["sorry_response"] * 2
    # each round samples with its own seed: a failed row retries from its last survivor, and
    # the same prompt under the same seed would fail the same way
    evolve_seeds = [s.seed for kind, _, s in llm.calls if s.seed is not None]
    assert len(set(evolve_seeds)) == 2, evolve_seeds
    assert json.loads(ev["meta"][0])["evolution"] in ("add_constraints", "deepening", "concretizing",
                                                       "increase_reasoning", "breadth")


def test_evol_no_information_gain_uses_llm_judge(tmp_path):
    def answer(chat, s):
        text = chat[-1]["content"]
        if text.startswith("Here are two Instructions"):
            assert s.choice == ("Equal", "Not Equal")
            return "Equal"
        return "Explain photosynthesis in plants with three examples." if text.startswith("I want") else "A long answer."

    for_op.use("scripted:eq", ScriptedLLM(answer))
    df = pl.DataFrame({"instruction": ["Explain photosynthesis."], "output": ["..."]})
    res, kept, rej = _run([create("evol_instruct", {"rounds": 1, "llm": "scripted:eq"})], Source(name="t", path=df), tmp_path)
    assert rej["reason"][0].startswith("no_information_gain") and kept.height == 1


def test_respond_fills_outputs_n2_and_rejects_failures(tmp_path):
    def answer(chat, s):
        user = chat[-1]["content"]
        if "fail" in user:
            raise RuntimeError("backend down")
        assert chat[0]["role"] == ("system" if "sys" in user else "user")
        return [Completion("answer A", "stop"), Completion("answer B", "length")]

    for_op.use("scripted:resp", ScriptedLLM(answer))
    df = pl.DataFrame({"instruction": ["Say hi.", "please fail", "Done already.", "sys test"],
                       "output": ["", "", "kept", ""], "system": [None, None, None, "Be brief."]})
    op = create("respond", {"n": 2, "llm": "scripted:resp"})
    res, kept, rej = _run([op], Source(name="t", path=df), tmp_path)
    assert kept.filter(pl.col("instruction") == "Done already.")["output"].to_list() == ["kept"]
    hi = kept.filter(pl.col("instruction") == "Say hi.")
    assert hi["output"].to_list() == ["answer A"] and hi["parent_id"][0] is not None
    assert json.loads(hi["meta"][0])["respond"]["sample"] == 0
    reasons = sorted(r.split(":")[0] for r in rej["reason"])
    assert reasons == ["llm_error", "llm_error", "truncated_response", "truncated_response"]
    assert res.manifest["totals"]["rows_in"] == 4


def test_magpie_adds_rows_and_rejects_duplicates(tmp_path):
    def answer(item, s):
        if isinstance(item, str):
            assert item.startswith("<|start_header_id|>user") and s.n == 3
            return [Completion("How do magnets work?", "stop"), Completion("How do magnets work?", "stop"),
                    Completion("Why is the", "length")]
        return "Magnets align electron spins."

    for_op.use("scripted:mag", ScriptedLLM(answer))
    df = pl.DataFrame({"instruction": ["x y z"], "output": ["o"]})
    op = create("magpie", {"count": 3, "llm": "scripted:mag"})
    res, kept, rej = _run([op], Source(name="t", path=df), tmp_path)
    assert kept.filter(pl.col("source") == "magpie")["output"].to_list() == ["Magnets align electron spins."]
    assert sorted(r.split(":")[0] for r in rej["reason"]) == ["duplicate_instruction", "truncated"]


def test_misspelt_sampling_keys_are_errors_naming_file_and_key(tmp_path):
    from dataforge import recipe

    with pytest.raises(ConfigError, match=r"unknown sampling step\(s\) \['query'\].*instruction.*response"):
        create("magpie", {"sampling": {"query": {"max_tokens": 24}}})
    with pytest.raises(ConfigError, match=r"unknown sampling key\(s\) \['max_token'\] in `sampling.evolve`"):
        create("evol_instruct", {"sampling": {"evolve": {"max_token": 24}}})
    with pytest.raises(ConfigError, match=r"unknown sampling key\(s\) \['temprature'\].*valid: .*temperature"):
        create("respond", {"sampling": {"temprature": 0.2}})
    with pytest.raises(ConfigError, match="input_first"):
        create("self_instruct", {"sampling": {"instances": {"max_tokens": 8}}})
    text = ("sources: [{path: x.jsonl}]\npipeline:\n  - magpie: {count: 2, sampling: {query: {max_tokens: 24}}}\n"
            "output: {}\n")
    with pytest.raises(ConfigError, match=r"my\.yaml:\d+: pipeline step 1\b.*'query'"):
        recipe.loads(text, where="my.yaml", base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['temperatur'\]; valid: .*temperature"):
        create("rewrite", {"temperatur": 0.3})


def test_generation_op_without_llm_is_a_clear_error(tmp_path):
    df = pl.DataFrame({"instruction": ["a b c"], "output": [""]})
    with pytest.raises(ConfigError, match="needs an LLM"):
        Pipeline([create("respond", {})]).run(Source(name="t", path=df), out=tmp_path / "o")


def assert_provenance(meta: dict, backend: str, spec: str, steps: set[str]) -> None:
    """Generated rows carry backend, model, revision, sampling (per step) and seed."""
    model_dir = spec.split(":", 1)[1]
    assert meta["backend"] == backend and meta["model"] == spec, meta
    # a local folder's revision is a digest of its files (the same for every row)
    assert meta["revision"] == revision_of(model_dir) and meta["revision"].startswith("local-sha256:")
    assert steps <= set(meta["sampling"]), (steps, meta["sampling"])
    for s in meta["sampling"].values():
        assert {"temperature", "top_p", "max_tokens", "n", "seed"} <= set(s)
    assert isinstance(meta["seed"], int)


@pytest.mark.slow
def test_hf_backend_runs_the_generation_ops(tmp_path, sample_dir):
    from dataforge.testing.tiny_models import shared_tiny_causal_lm

    spec = f"hf:{shared_tiny_causal_lm()}"
    ops = [create("respond", {"overwrite": True, "reject_truncated": False, "sampling": {"max_tokens": 8}}),
           create("evol_instruct", {"rounds": 1, "sampling": {"evolve": {"max_tokens": 8}, "respond": {"max_tokens": 8}}}),
           create("magpie", {"count": 3, "sampling": {"instruction": {"max_tokens": 8}, "response": {"max_tokens": 8}}})]
    src = Source(name="alpaca", path=str(sample_dir / "alpaca.jsonl"), limit=4)
    res, kept, rej = _run(ops, src, tmp_path, llm=spec)
    stages = {s["name"]: s for s in res.manifest["stages"]}
    assert stages["evol_instruct"]["rows_added"] == 4 and stages["magpie"]["rows_added"] == 3
    # answered rows say the model wrote them (source + "+respond"), with full provenance
    answered = kept.filter(pl.col("source") == "alpaca+respond")
    assert answered.height == 4 and answered["output"].str.len_chars().min() > 0
    assert json.loads(answered["meta"][0])["respond"]["model"] == spec
    allrows = pl.concat([kept, rej], how="diagonal_relaxed") if rej.height else kept
    for gen, steps in (("respond", None), ("evol_instruct", {"evolve", "respond"}),
                       ("magpie", {"instruction", "response"})):
        metas = [json.loads(m) for m in allrows["meta"]]
        metas = [m for m in metas if (m.get("generator") == gen if gen != "respond" else "respond" in m)]
        assert metas, gen
        for m in metas:
            assert_provenance(m, "hf", spec, steps or {"respond"})
    # the manifest names the --llm spec and the model, with its revision and who used it
    man = res.manifest
    assert man["llm"] == spec and "torch" in man["created_by"] and "transformers" in man["created_by"]
    (m,) = [m for m in man["models"] if m["role"] == "llm"]
    assert m["name"] == spec[3:] and m["backend"] == "hf" and m["revision"] == revision_of(spec[3:])
    assert m["used_by"] == ["respond", "evol_instruct", "magpie"]
    # self_instruct on the same model: its candidates (kept or rejected) carry the same record
    si = create("self_instruct", {"target": 2, "requests_per_round": 2, "max_rounds": 1,
                                  "sampling": {"instructions": {"max_tokens": 24}, "input_first": {"max_tokens": 8},
                                               "output_first": {"max_tokens": 8}}})
    seeds = Source(name="seed_tasks", path=str(sample_dir / "seed_tasks.jsonl"), limit=10,
                   keep=["instances", "is_classification"])
    _, kept2, rej2 = _run([si], seeds, tmp_path / "si", llm=spec)
    metas = [json.loads(m) for m in pl.concat([kept2, rej2], how="diagonal_relaxed")["meta"]]
    metas = [m for m in metas if m.get("generator") == "self_instruct"]
    assert metas
    for m in metas:
        assert_provenance(m, "hf", spec, {"instructions"})
    # a second run answers from the cache under OUT/cache/llm without loading anything new
    llm = for_op.llm_for(create("respond", {}).bind(type(ops[0].ctx)(out=tmp_path / "out", llm=spec)))
    before = llm.misses
    Pipeline(ops).run(src, out=tmp_path / "out", llm=spec, force=True)
    assert llm.misses == before and llm.hits > 0
