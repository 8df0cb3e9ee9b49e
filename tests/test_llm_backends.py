"""Spec parsing, the completion cache and the transformers backend on the tiny model."""
import pytest

from dataforge.errors import ConfigError
from dataforge.llm import Completion, Result, Sampling, from_spec, parse_spec
from dataforge.llm.cache import CachedLLM
from dataforge.testing.scripted import ScriptedLLM


def test_parse_spec():
    assert parse_spec("vllm:Qwen/Qwen2.5-7B") == ("vllm", "Qwen/Qwen2.5-7B", {})
    assert parse_spec("hf:/m/tiny?batch_size=4&device=cpu") == ("hf", "/m/tiny", {"batch_size": 4, "device": "cpu"})
    assert parse_spec("openai:http://127.0.0.1:8000/v1@my-model") == ("openai", "http://127.0.0.1:8000/v1@my-model", {})
    for bad in ("gpt4", "foo:bar", "openai:http://x/v1", "openai:127.0.0.1@m", "vllm:", "openai:http://h/v1@m?api_key=s"):
        with pytest.raises(ConfigError):
            parse_spec(bad)
    llm = from_spec("openai:http://127.0.0.1:9/v1@m?timeout=3")
    assert (llm.base_url, llm.model, llm.timeout) == ("http://127.0.0.1:9/v1", "m", 3.0)


def test_cache_answers_repeats_and_keys_on_sampling(tmp_path):
    calls = []
    inner = ScriptedLLM(lambda p, s: calls.append(p) or f"{p}!{s.temperature}")
    llm = CachedLLM(inner, tmp_path)
    a = llm.generate(["x", "y", "x"], Sampling(temperature=0.5))
    assert [r.completions[0].text for r in a] == ["x!0.5", "y!0.5", "x!0.5"] and calls == ["x", "y"]
    llm.generate(["y", "x"], Sampling(temperature=0.5))
    assert calls == ["x", "y"] and llm.hits == 2 and llm.misses == 2
    llm.generate(["x"], Sampling(temperature=0.9))  # other sampling: another key
    assert calls == ["x", "y", "x"]
    again = CachedLLM(ScriptedLLM(lambda p, s: 1 / 0), tmp_path)  # a new process reads the same file
    assert again.generate(["y"], Sampling(temperature=0.5))[0].completions[0].text == "y!0.5"
    failed = again.generate(["new"], Sampling())[0]
    assert not failed.ok and "ZeroDivisionError" in failed.error  # errors are returned, not cached
    assert again.generate(["new"], Sampling())[0].error


def test_structured_check_is_the_same_for_every_backend():
    from dataforge.llm.structured import enforce

    schema = {"type": "object", "properties": {"a": {"type": "integer", "minimum": 1}}, "required": ["a"]}
    s = Sampling(n=2, json_schema=schema)
    good = Result([Completion('{"a": 2}', "stop"), Completion(' {"a": 5} ', "stop")])
    res = enforce([good, Result([Completion('{"a": 2}', "stop"), Completion('{"a": 0}', "stop")]),
                   Result([Completion('{"a": 1', "length")]), Result(error="boom")], s, "hf")
    assert res[0] is good
    assert res[1].error.startswith("hf: json_schema: reply does not match the JSON schema at a:")
    assert "not JSON (cut by the length limit)" in res[2].error
    assert res[3].error == "boom"
    bad = [Result([Completion("nope", "stop")])]
    assert enforce(bad, Sampling(), "hf") is bad  # no schema: untouched


@pytest.mark.slow
def test_hf_backend_generate_chat_choice_stop_seed():
    from dataforge.testing.tiny_models import shared_tiny_causal_lm

    from transformers import AutoTokenizer

    model_dir = shared_tiny_causal_lm()
    llm = from_spec(f"hf:{model_dir}", batch_size=3)
    n_prompt = len(AutoTokenizer.from_pretrained(model_dir)("one")["input_ids"])
    s = Sampling(n=2, max_tokens=10, temperature=0.9, seed=3, logprobs=2, presence_penalty=1.0)
    res = llm.generate(["one", "two words", "three more words", "four"], s)
    assert all(r.ok and len(r.completions) == 2 for r in res)
    c = res[0].completions[0]
    assert c.finish_reason in ("stop", "length") and 0 < c.completion_tokens <= 10 and c.prompt_tokens == n_prompt
    assert len(c.logprobs) == c.completion_tokens and all(len(d) <= 2 for d in c.logprobs)
    greedy = Sampling(max_tokens=12, temperature=0.0)
    assert llm.generate(["abc"], greedy)[0].completions[0].text == llm.generate(["abc"], greedy)[0].completions[0].text
    chat = llm.chat([[{"role": "user", "content": "Hi"}]], Sampling(max_tokens=5))
    assert chat[0].ok and chat[0].completions[0].prompt_tokens > 5  # the chat template was applied
    pick = llm.generate(["Is it?"] * 2, Sampling(choice=(" Yes", " No"), temperature=0.0))
    assert {r.completions[0].text for r in pick} <= {" Yes", " No"}
    stopped = llm.generate(["abc"] * 4, Sampling(max_tokens=40, temperature=1.0, stop=("e", "a"), seed=0))
    for r in stopped:
        t = r.completions[0]
        assert "e" not in t.text and "a" not in t.text
    # json_schema is checked, not constrained: the random model's free text fails with the reason
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    js = llm.generate(["JSON:"] * 2, Sampling(json_schema=schema, max_tokens=8, temperature=0.0))
    assert all(not r.ok and r.error.startswith("hf: json_schema: reply is not JSON") for r in js)
    # a special-token stop ends the row with finish "stop" (the text never shows special tokens);
    # this random model repeats the special token it was given, so without the stop it runs to the limit
    special = ["hello <|start_header_id|>"]
    assert llm.generate(special, Sampling(max_tokens=6, temperature=0.0))[0].completions[0].finish_reason == "length"
    c = llm.generate(special, Sampling(max_tokens=6, temperature=0.0, stop=("<|start_header_id|>",)))[0].completions[0]
    assert (c.finish_reason, c.text) == ("stop", "")
