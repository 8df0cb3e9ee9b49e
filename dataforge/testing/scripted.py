"""An LLM whose answers a test writes: for parsing and filter logic on fixed completions.

    llm = ScriptedLLM(lambda prompt, sampling: ["text of completion 1", ...])
Real-engine tests use the tiny model instead (tiny_models.py) with hf, vllm or openai.
"""
from __future__ import annotations

from typing import Callable

from dataforge.llm.base import LLM, Chat, Completion, Result, Sampling

Answer = str | Completion | Exception


class ScriptedLLM(LLM):
    backend = "scripted"

    def __init__(self, answer: Callable[[str | Chat, Sampling], list[Answer] | Answer], model: str = "script"):
        super().__init__(model)
        self.answer = answer
        self.calls: list[tuple[str, int, Sampling]] = []  # (kind, batch size, sampling)

    def _one(self, item, s: Sampling) -> Result:
        try:
            got = self.answer(item, s)
        except Exception as e:  # noqa: BLE001 - an answer function may simulate a failure
            return Result(error=f"{type(e).__name__}: {e}")
        got = got if isinstance(got, list) else [got] * s.n
        comps = [g if isinstance(g, Completion) else Completion(text=g, finish_reason="stop") for g in got]
        return Result(comps)

    def _generate(self, prompts: list[str], s: Sampling) -> list[Result]:
        self.calls.append(("generate", len(prompts), s))
        return [self._one(p, s) for p in prompts]

    def _chat(self, chats: list[Chat], s: Sampling) -> list[Result]:
        self.calls.append(("chat", len(chats), s))
        return [self._one(c, s) for c in chats]
