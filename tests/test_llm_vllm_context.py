"""The vLLM backend's context check, without vLLM: a fake engine that refuses, as vLLM does, a
prompt whose token count is not below max_model_len (vllm.exceptions.VLLMValidationError, which
is not a ValueError). A too-long prompt is that row's error naming its length and the limit;
the other rows of the batch are answered."""
from types import SimpleNamespace

from dataforge.llm.base import Sampling
from dataforge.llm.vllm import VLLM, too_long


class VLLMClientError(Exception):  # named like vLLM's: the backend matches on the class name
    pass


class VLLMValidationError(VLLMClientError):
    pass


class FakeTok:
    def __call__(self, text):
        return {"input_ids": text.split()}

    def apply_chat_template(self, chat, tokenize=True, add_generation_prompt=True):
        ids = ["<s>"] + [w for m in chat for w in m["content"].split()] + ["<a>"]
        # transformers 5 returns a BatchEncoding (a dict), not the list of ids
        return {"input_ids": ids, "attention_mask": [1] * len(ids)}


class FakeEngine:
    def __init__(self, limit):
        self.model_config = SimpleNamespace(max_model_len=limit)
        self.calls = []

    def get_tokenizer(self):
        return FakeTok()

    def _out(self, items, n):
        self.calls.append(len(items))
        for it in items:
            if n(it) >= self.model_config.max_model_len:
                raise VLLMValidationError(f"The decoder prompt (length {n(it)}) is longer than the maximum "
                                          f"model length of {self.model_config.max_model_len}.")
        return [SimpleNamespace(prompt_token_ids=[0] * n(it), outputs=[SimpleNamespace(
            text=f"ok{n(it)}", finish_reason="stop", token_ids=[1], logprobs=None)]) for it in items]

    def generate(self, prompts, sp, use_tqdm=False):
        return self._out(prompts, lambda p: len(p.split()))

    def chat(self, chats, sp, use_tqdm=False):
        return self._out(chats, lambda c: 2 + sum(len(m["content"].split()) for m in c))


def _llm(limit):
    m = VLLM("fake", seeded_requests=False)
    m._engine = FakeEngine(limit)
    m.sampling_params = lambda s, seed=None: None  # vllm.SamplingParams: not needed by the fake
    return m


def test_boundary_of_the_length_check():
    res = too_long([7, 8, 9, None], 8)
    assert [r is None for r in res] == [True, False, False, True]
    assert "is 8 tokens" in res[1].error and "max_model_len) is 8" in res[1].error
    assert too_long([10_000], None) == [None]


def test_too_long_prompt_is_a_per_row_error_not_a_crash():
    m = _llm(8)
    res = m.generate(["a b c", "w " * 8, "d e"], Sampling(max_tokens=2))
    assert [r.ok for r in res] == [True, False, True]
    assert res[0].completions[0].text == "ok3" and res[2].completions[0].text == "ok2"
    assert "prompt_too_long" in res[1].error and "8 tokens" in res[1].error and "is 8" in res[1].error
    assert m._engine.calls == [2]  # only the rows that fit were sent
    chats = [[{"role": "user", "content": "hi"}], [{"role": "user", "content": "x " * 6}]]
    res = m.chat(chats, Sampling(max_tokens=2))  # 6 words + 2 template tokens = 8: refused
    assert [r.ok for r in res] == [True, False] and "prompt_too_long" in res[1].error and "8 tokens" in res[1].error
    assert m._engine.calls == [2, 1]


def test_engine_refusal_without_a_token_count_is_isolated_per_row():
    m = _llm(8)
    m.prompt_lengths = lambda items: [None] * len(items)  # e.g. no tokenizer: vLLM's own check decides
    res = m.generate(["a", "w " * 9, "b"], Sampling(max_tokens=2))
    assert [r.ok for r in res] == [True, False, True]
    assert "VLLMValidationError" in res[1].error and "length 9" in res[1].error and "8" in res[1].error


def test_other_errors_still_raise():
    m = _llm(8)

    def boom(*a, **k):
        raise KeyError("engine bug")

    m._engine.generate = boom
    try:
        m.generate(["a"], Sampling())
    except KeyError:
        pass
    else:
        raise AssertionError("a programming error must not be hidden as a row error")
