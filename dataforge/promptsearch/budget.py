"""Counting LLM calls: every item sent (a chat or a prompt, cached or not) spends one call,
so a search follows the same path whether its answers come from the backend or the cache."""
from __future__ import annotations

from dataforge.errors import DataforgeError
from dataforge.llm.base import LLM, Chat, Result, Sampling


class BudgetExhausted(DataforgeError):
    pass


class LLMFailed(DataforgeError):
    """The backend raised instead of answering (e.g. an engine that cannot start)."""


class BudgetedLLM(LLM):
    def __init__(self, inner: LLM, max_calls: int):
        super().__init__(inner.model)
        self.inner, self.backend, self.max_calls, self.used = inner, inner.backend, max_calls, 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def left(self) -> int:
        return self.max_calls - self.used

    def _spend(self, n: int) -> None:
        if n > self.left:
            raise BudgetExhausted(f"LLM call budget: {n} more calls asked, {self.left} of {self.max_calls} left")
        self.used += n

    def _generate(self, prompts: list[str], sampling: Sampling) -> list[Result]:
        self._spend(len(prompts))
        return self._call(self.inner.generate, prompts, sampling)

    def _chat(self, chats: list[Chat], sampling: Sampling) -> list[Result]:
        self._spend(len(chats))
        return self._call(self.inner.chat, chats, sampling)

    def _call(self, fn, items, sampling):
        try:
            return fn(items, sampling)
        except DataforgeError:
            raise
        except Exception as e:  # noqa: BLE001 - a backend's own error ends the search with its message
            raise LLMFailed(f"the LLM backend failed on a batch of {len(items)}: {type(e).__name__}: {e}") from e
