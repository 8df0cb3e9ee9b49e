"""OpenAI-compatible HTTP backend (`vllm serve`, llama.cpp server, hosted APIs).

Async with bounded concurrency; each item is one request (`n` completions); `timeout` bounds
the whole request (not each read, so a server dripping bytes cannot hold it); timeouts,
429 and 5xx answers, connection errors and bodies that are not a valid completion are
retried with exponential backoff (honouring Retry-After), then the item gets `error` set.
The API key comes from `api_key=` or the environment (`OPENAI_API_KEY` by default, see
`api_key_env`); it is sent only in the Authorization header and never appears in reprs,
logs, cache keys or error messages.

Structured output: `structured="vllm"` (default) sends vLLM's `structured_outputs`
(json / choice); `"openai"` sends `response_format` json_schema (chat only); `"none"` sends
nothing. In every mode a reply that does not match `json_schema` fails its item with the
reason (dataforge/llm/structured.py), as in the other backends.
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
from typing import Any

from dataforge.errors import ConfigError, MissingResourceError
from dataforge.llm.base import LLM, Chat, Completion, Result, Sampling
from dataforge.llm.seeds import item_seed
from dataforge.llm.structured import enforce

log = logging.getLogger("dataforge.llm.openai")
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class _Retryable(Exception):
    pass


class OpenAICompatible(LLM):
    backend = "openai"

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", concurrency: int = 16, timeout: float = 120.0,
                 max_retries: int = 4, backoff: float = 0.5, max_backoff: float = 20.0,
                 structured: str = "vllm", **options: Any):
        super().__init__(model, **options)
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise ConfigError("openai backend: no base URL (use openai:URL@MODEL or set OPENAI_BASE_URL)")
        if structured not in ("vllm", "openai", "none"):
            raise ConfigError(f"openai backend: structured must be vllm, openai or none, got {structured!r}")
        self.base_url = base_url.rstrip("/")
        self.__key = api_key if api_key is not None else os.environ.get(api_key_env)
        self.concurrency = int(concurrency)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.structured = structured

    def __repr__(self) -> str:  # never the key
        return f"OpenAICompatible(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def model_id(self) -> str:
        return f"openai:{self.base_url}@{self.model}"

    # -- interface ----------------------------------------------------------------
    def _generate(self, prompts: list[str], sampling: Sampling) -> list[Result]:
        bodies = [{"prompt": p, **self._params(sampling, chat=False, item=p)} for p in prompts]
        return self._run("/completions", bodies, sampling, chat=False)

    def _chat(self, chats: list[Chat], sampling: Sampling) -> list[Result]:
        bodies = [{"messages": c, **self._params(sampling, chat=True, item=c)} for c in chats]
        return self._run("/chat/completions", bodies, sampling, chat=True)

    def _params(self, s: Sampling, chat: bool, item=None) -> dict:
        p: dict[str, Any] = {"model": self.model, "n": s.n, "temperature": s.temperature, "top_p": s.top_p,
                             "max_tokens": s.max_tokens, "presence_penalty": s.presence_penalty}
        if s.stop:
            p["stop"] = list(s.stop)
        if s.seed is not None:
            p["seed"] = item_seed(s.seed, item)
        if s.logprobs:
            p.update({"logprobs": True, "top_logprobs": s.logprobs} if chat else {"logprobs": s.logprobs})
        if self.structured == "vllm":
            if s.json_schema is not None:
                p["structured_outputs"] = {"json": s.json_schema}
            elif s.choice:
                p["structured_outputs"] = {"choice": list(s.choice)}
        elif self.structured == "openai" and s.json_schema is not None and chat:
            p["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": s.json_schema}}
        return p

    # -- transport ------------------------------------------------------------------
    def _run(self, path: str, bodies: list[dict], s: Sampling, chat: bool) -> list[Result]:
        if not bodies:
            return []
        coro = self._all(self.base_url + path, bodies, s, chat)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return enforce(asyncio.run(coro), s, "openai")
        box: dict = {}  # already inside an event loop (notebook): run ours on a thread
        t = threading.Thread(target=lambda: box.setdefault("r", asyncio.run(coro)))
        t.start()
        t.join()
        return enforce(box["r"], s, "openai")

    async def _all(self, url: str, bodies: list[dict], s: Sampling, chat: bool) -> list[Result]:
        try:
            import httpx
        except ImportError as e:
            raise MissingResourceError(f"the openai backend needs `pip install dataforge[openai]`: {e}") from None
        headers = {"Content-Type": "application/json"}
        if self.__key:
            headers["Authorization"] = f"Bearer {self.__key}"
        sem = asyncio.Semaphore(self.concurrency)
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        async with httpx.AsyncClient(timeout=self.timeout, headers=headers, limits=limits) as client:
            async def one(body):
                async with sem:
                    return await self._one(client, url, body, s, chat)
            return list(await asyncio.gather(*(one(b) for b in bodies)))

    async def _one(self, client, url: str, body: dict, s: Sampling, chat: bool) -> Result:
        import httpx

        last = ""
        for attempt in range(self.max_retries + 1):
            wait = None
            try:
                # httpx's timeout bounds each read; a server that drips bytes would never trip
                # it, so the whole request (connect, send, every read) gets one deadline.
                r = await asyncio.wait_for(client.post(url, json=body), self.timeout)
                if r.status_code in RETRY_STATUS or r.status_code >= 500:
                    wait = _retry_after(r.headers.get("retry-after"))
                    raise _Retryable(f"HTTP {r.status_code}")
                if r.status_code >= 400:  # a client error will not get better by retrying
                    return Result(error=self._scrub(f"HTTP {r.status_code}: {r.text[:200]}"))
                try:
                    return _parse(r.json(), s, chat)
                except (ValueError, KeyError, TypeError, IndexError) as e:
                    raise _Retryable(f"unparseable response ({type(e).__name__})") from None
            except _Retryable as e:
                last = str(e)
            except (httpx.TimeoutException, asyncio.TimeoutError):
                last = f"timeout: no complete answer within {self.timeout:g}s"
            except httpx.TransportError as e:
                last = f"connection error ({type(e).__name__})"
            if attempt < self.max_retries:
                delay = wait if wait is not None else min(self.max_backoff, self.backoff * 2 ** attempt)
                delay = min(self.max_backoff, delay) * (0.5 + random.random() / 2)  # jitter
                log.warning("openai backend: %s; retry %d/%d in %.2fs", last, attempt + 1, self.max_retries, delay)
                await asyncio.sleep(delay)
        return Result(error=self._scrub(f"openai: {last} (after {self.max_retries} retries)"))

    def _scrub(self, text: str) -> str:
        return text.replace(self.__key, "***") if self.__key else text


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _parse(data: dict, s: Sampling, chat: bool) -> Result:
    """A completion response -> Result; raises on anything that is not one (garbage)."""
    choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
    if not choices:
        raise ValueError("no choices")
    usage = data.get("usage") or {}
    ptoks = int(usage.get("prompt_tokens") or 0)
    ctoks = int(usage.get("completion_tokens") or 0) // max(1, len(choices))  # the API reports a total
    comps = []
    for c in choices:
        text = c["message"]["content"] if chat else c["text"]
        if not isinstance(text, str):
            raise TypeError("completion text is not a string")
        comps.append(Completion(text=text, finish_reason=c.get("finish_reason"), prompt_tokens=ptoks,
                                completion_tokens=ctoks, logprobs=_logprobs(c.get("logprobs"), chat) if s.logprobs else None))
    return Result(comps)


def _logprobs(lp: Any, chat: bool) -> list[dict[str, float]] | None:
    if not lp:
        return None
    if chat:
        return [{t["token"]: t["logprob"] for t in step.get("top_logprobs") or []} for step in lp.get("content") or []]
    return [dict(step or {}) for step in lp.get("top_logprobs") or []]
