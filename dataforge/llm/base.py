"""One small interface for LLM generation; backends: vllm, openai (any compatible server), hf.

    llm = dataforge.llm.from_spec("hf:/path/to/model")   # or vllm:MODEL, openai:URL@MODEL
    results = llm.generate(["prompt", ...], Sampling(n=2, temperature=0.7, max_tokens=64))
    results = llm.chat([[{"role": "user", "content": "hi"}], ...], Sampling())

Each input gives one `Result` with `n` `Completion`s (text, finish_reason, token counts,
optional logprobs of the first generated token). A failed item has `error` set instead of
raising, so an operator can reject that row with the reason and the run goes on.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

Chat = list[dict[str, str]]


@dataclass(frozen=True)
class Sampling:
    n: int = 1
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float = 0.0
    logprobs: int | None = None  # top-k log-probabilities of each generated token
    json_schema: dict | None = None  # structured output: the reply must match this schema
    choice: tuple[str, ...] | None = None  # structured output: the reply is one of these

    def key(self) -> dict:
        return asdict(self)


@dataclass
class Completion:
    text: str
    finish_reason: str | None = None  # "stop" | "length" | ...
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # one dict per generated token: {token_text: logprob} for the top-k alternatives
    logprobs: list[dict[str, float]] | None = None


@dataclass
class Result:
    completions: list[Completion] = field(default_factory=list)
    error: str | None = None  # set when the backend failed for this item after retries

    @property
    def ok(self) -> bool:
        return self.error is None


class LLM:
    """Backend base. Subclasses implement `_generate` and `_chat` over a whole batch."""

    backend: str = ""

    def __init__(self, model: str, **options: Any):
        self.model = model
        self.options = options

    @property
    def model_id(self) -> str:
        """Identity used in cache keys (never includes credentials)."""
        return f"{self.backend}:{self.model}"

    def provenance(self) -> dict:
        """What made the text, for row meta and the manifest: backend, model, revision (None
        when unknown). Never credentials."""
        from dataforge.llm.revision import revision_of

        explicit = self.options.get("revision")
        # a server (openai backend) serves weights we cannot see: only an explicit revision counts
        rev = explicit if getattr(self, "base_url", None) else revision_of(self.model, explicit)
        return {"backend": self.backend, "model": self.model, "revision": rev}

    def generate(self, prompts: Sequence[str], sampling: Sampling = Sampling()) -> list[Result]:
        return self._generate(list(prompts), sampling)

    def chat(self, chats: Sequence[Chat], sampling: Sampling = Sampling()) -> list[Result]:
        return self._chat([list(c) for c in chats], sampling)

    def _generate(self, prompts: list[str], sampling: Sampling) -> list[Result]:
        raise NotImplementedError

    def _chat(self, chats: list[Chat], sampling: Sampling) -> list[Result]:
        raise NotImplementedError

    def close(self) -> None:
        """Release engines, sessions, GPU memory."""
