"""`--engine ray` works for every built-in operator, or the operator says why it cannot.

One parametrized test over the registry (a new operator is covered automatically): each
operator runs in a tiny pipeline with the local engine and with the Ray engine, and the
two runs must write the same shards (sha256), rejects, per-stage accounting and metrics.
An operator whose class sets `driver_only` (a reason) runs on the driver, and the Ray engine's log must
name it with its reason. The map operators that load models share one pipeline (one actor
pool, one model load per actor); LLM operators use a tiny random model through `hf:`.
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

ray = pytest.importorskip("ray")
torch = pytest.importorskip("torch")

from dataforge.io.source import Source  # noqa: E402
from dataforge.ops import base  # noqa: E402
from dataforge.pipeline import OutputSpec, Pipeline  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
BATCH = 16  # several parts per stage, so actor pools and admission passes see more than one
# short replies, seeded: respond and evol_instruct sample unseeded unless a step sets a seed
TINY = {"max_tokens": 6, "seed": 1}


@dataclass
class Case:
    """How to run one operator: its parameters, its input, the pipeline it shares."""

    params: dict = field(default_factory=dict)
    group: str | None = None  # operators of a group run, in table order, in one pipeline
    source: str = "rows"  # rows | head (its first 32: two parts) | seeds | raw (see `sources`)
    per_source: bool = False  # a per-source operator (runs in the read stage)
    llm: bool = False  # the run gets the tiny model's `hf:` spec
    exact: bool = True  # False: float columns agree to 1e-5, not to the bit (see MODELS)


# Map operators with setup() share one pipeline: one segment, so one actor pool, in which
# each actor imports torch and loads its models once. Their float columns are compared to
# 1e-5, not to the bit: sentence-transformers pads each batch to its longest text, so a
# vector depends in its last bits on its batch mates, and the per-text cache keeps whichever
# batch encoded a repeated text first, which on Ray is a race between actors. Texts,
# decisions and accounting still match exactly.
MODELS = dict(group="models", exact=False, llm=True, source="head")

# Operators not listed run with their defaults on `rows` in a pipeline of their own.
CASES: dict[str, Case] = {
    "convert": Case({"family": "sentiment", "prompt_types": {"zero_shot": 0.6, "few_shot": 0.4}, "options": 0.5},
                    source="raw", per_source=True),
    "length": Case({"field": "output", "min": 60}),
    "select_threshold": Case({"min": {"score_quality": 0.3}}),
    "select_topk": Case({"k": 5, "score": ["score_quality"]}),
    "select_random": Case({"n": 20}),
    "select_deita": Case({"budget": 20, "tau": 0.8}),
    "mix": Case({"by": "task", "method": "ratio", "ratios": {"open_qa": 0.5, "brainstorming": 0.3,
                                                             "rewriting": 0.2}, "total": 24}),
    "dedup_near": Case({"threshold": 0.7, "ngram": 3}),
    "dataset_metrics": Case({"sample": 40, "map_points": 40}),
    "self_instruct": Case({"target": 2, "requests_per_round": 1, "max_rounds": 2,
                           "sampling": {k: TINY for k in ("instructions", "classification", "input_first",
                                                          "output_first")}},
                          source="seeds", llm=True),
    # the "models" pipeline, in this order
    "rule_filter": Case(**MODELS),
    "langid": Case(**MODELS),
    "quality_ft": Case(**MODELS),  # `model` comes from the trained fixture
    "eda": Case({"ratio": 0.5, "min_similarity": 0.5}, **MODELS),
    "score_clarity": Case(**MODELS),
    "score_quality": Case(**MODELS),
    "score_complexity": Case(**MODELS),
    "score_alignment": Case(**MODELS),
    "respond": Case({"overwrite": True, "reject_truncated": False, "sampling": TINY}, **MODELS),
    "rewrite": Case({"max_tokens": 6, "min_similarity": None, "reject_truncated": False, "ratio": 0.5}, **MODELS),
    "back_translate": Case({"engine": "llm", "pivots": ["de"], "min_similarity": None, "max_new_tokens": 6,
                            "ratio": 0.5}, **MODELS),
    "evol_instruct": Case({"rounds": 1, "sampling": {"evolve": TINY, "respond": TINY, "equality": TINY}}, **MODELS),
    "judge": Case({"max_tokens": 6}, **MODELS),
    "magpie": Case({"count": 3, "sampling": {"instruction": TINY, "response": TINY}}, **MODELS),  # global: driver
}


def builtin_operators() -> list[str]:
    return sorted(n for n, c in base.load_all().items() if c.__module__.startswith("dataforge.ops."))


# -- inputs ---------------------------------------------------------------------------

def rows_frame() -> pl.DataFrame:
    """Alpaca rows plus what the operators need to have work to do: exact duplicates (case
    changed), prompts answered twice (preference pairs), three tasks, two scores."""
    df = pl.read_ndjson(SAMPLE / "alpaca.jsonl").head(36).select("instruction", "input", "output")
    dup = df.slice(4, 4).with_columns(pl.col("instruction").str.to_uppercase())
    again = df.slice(10, 8).with_columns(pl.col("output").str.split(" ").list.reverse().list.join(" "))
    out = pl.concat([df, dup, again])
    i = pl.int_range(pl.len())
    return out.with_columns(
        task=pl.Series(["open_qa", "brainstorming", "rewriting"]).gather(pl.Series(range(out.height)) % 3),
        score_quality=(pl.col("output").str.len_chars() % 97) / 96.0,
        score_complexity=((pl.col("instruction").str.len_chars() + i) % 53) / 52.0,
    )


def sources(case: Case, op) -> list[Source]:
    if case.source == "raw":
        return [Source(name="rt_polarity", path=str(SAMPLE / "rt_polarity.jsonl"), limit=40,
                       ops=[op] if case.per_source else [])]
    if case.source == "seeds":
        return [Source(name="seed_tasks", path=str(SAMPLE / "seed_tasks.jsonl"), limit=8,
                       keep=["instances", "is_classification"])]
    return [Source(name="rows", path=rows_frame().head(32) if case.source == "head" else rows_frame())]


# -- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def ray_session(ray_cluster):
    # A Ray worker with num_cpus=1 runs torch on one thread (OMP_NUM_THREADS=1); the local run
    # does too, so both compute alike, and two cores shared with Ray's processes are not
    # oversubscribed (torch on two threads here made the local run many times slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_llm(tmp_path_factory) -> str:
    """The hf backend seeds torch once per batch, so a sampled completion depends on its
    batch mates; with one prompt per batch it depends on the request alone, whichever
    actor answers it first (the answer then comes from the shared cache)."""
    from dataforge.testing.tiny_models import build_tiny_causal_lm

    return f"hf:{build_tiny_causal_lm(tmp_path_factory.mktemp('tiny') / 'model')}?batch_size=1"


@pytest.fixture(scope="module")
def quality_model(tmp_path_factory) -> str:
    """A fastText quality classifier trained as tests/test_quality_ft.py trains one."""
    from dataforge.cli import main

    d = tmp_path_factory.mktemp("qft")
    df = pl.read_ndjson(SAMPLE / "alpaca.jsonl").slice(100, 300)
    rng = random.Random(0)
    vocab = " ".join(df["output"]).split()
    df.select("output").write_ndjson(d / "pos.jsonl")
    pl.DataFrame({"output": [" ".join(rng.choice(vocab) for _ in t.split()) for t in df["output"]]}) \
        .write_ndjson(d / "neg.jsonl")
    assert main(["train-classifier", "--positive", str(d / "pos.jsonl"), "--negative", str(d / "neg.jsonl"),
                 "-o", str(d / "q.bin"), "--epoch", "5", "--dim", "10", "--bucket", "10000"]) == 0
    return str(d / "q.bin")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_llm, quality_model):
    """Runs each pipeline once on both engines (lazily, on first use); key: group or operator."""
    done: dict[str, tuple] = {}
    extra = {"quality_ft": {"model": quality_model}}

    def get(name: str, caplog) -> tuple:
        case = CASES.get(name, Case())
        key = case.group or name
        if key not in done:
            names = [n for n, c in CASES.items() if c.group == key] if case.group else [name]
            out = tmp_path_factory.mktemp(key)
            res = []
            for engine in ("local", "ray"):
                ops = [base.create(n, CASES.get(n, Case()).params | extra.get(n, {})) for n in names]
                pipe = Pipeline([] if case.per_source else ops, batch_size=BATCH, seed=7,
                                output=OutputSpec(report=False))
                caplog.clear()
                with caplog.at_level(logging.INFO, logger="dataforge.engine.ray"):
                    res.append(pipe.run(sources(case, ops[0]), out=out / engine, engine=engine,
                                        llm=tiny_llm if case.llm else None))
            done[key] = (res[0], res[1], caplog.text)  # the log of the Ray run
        return done[key]

    return get


# -- the test -------------------------------------------------------------------------

@pytest.mark.parametrize("name", builtin_operators())
def test_operator_on_ray_matches_local(name, runs, caplog):
    cls = base.get(name)
    case = CASES.get(name, Case())
    a, b, log = runs(name, caplog)
    if cls.driver_only:  # the operator declines Ray: the run says which operator and why
        assert len(cls.driver_only) > 10, f"{name}.driver_only must explain itself"
        assert name in log and cls.driver_only in log
    ma, mb = a.manifest, b.manifest
    stage = next(s for s in mb["stages"] if s["operator"] == name)
    assert stage["rows_in"] > 0, f"{name} got no rows: the case tests nothing"
    assert ma["stages"] == mb["stages"]
    assert ma["totals"] == mb["totals"] and mb["totals"]["balanced"]
    assert [(s["path"], s["rows"]) for s in ma["shards"]] == [(s["path"], s["rows"]) for s in mb["shards"]]
    for s in ma["shards"]:  # rows first, for a readable diff; then the bytes
        assert_frame_equal(pl.read_parquet(a.out / "data" / s["path"]), pl.read_parquet(b.out / "data" / s["path"]),
                           check_exact=case.exact)
    if case.exact:
        assert [s["sha256"] for s in ma["shards"]] == [s["sha256"] for s in mb["shards"]]
    assert ma["rejects"] == mb["rejects"]
    for r in ma["rejects"]:
        assert_frame_equal(pl.read_parquet(a.out / r["path"]), pl.read_parquet(b.out / r["path"]),
                           check_exact=case.exact)
    assert ma["metrics"] == mb["metrics"]


def test_llm_actors_ask_what_the_local_run_asks_through_the_same_cache(runs, caplog):
    """The LLM operators' actors write their completions to OUT/cache/llm, as the local run
    does: the same requests (keys) with the same answers."""
    import sqlite3

    a, b, _ = runs("respond", caplog)

    def cached(res) -> dict:
        db = sqlite3.connect(res.out / "cache" / "llm" / "completions.sqlite")
        return dict(db.execute("SELECT k, v FROM c"))

    local, on_ray = cached(a), cached(b)
    assert len(local) > 50 and on_ray == local
