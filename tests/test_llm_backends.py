"""Spec parsing, the completion cache and the transformers backend on the tiny model."""
import pytest

from dataforge.errors import ConfigError
from dataforge.llm import Sampling, from_spec, parse_spec
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
