"""How an operator gets its LLM: its own `llm` parameter, else the run's `--llm`, cached.

Backends are shared per process and spec, so two generation steps of one pipeline load
one vLLM engine, not two (on a GPU the second would not fit). Each output folder gets
its own completion cache (`OUT/cache/llm/`).
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from dataforge.errors import ConfigError
from dataforge.llm.base import LLM
from dataforge.llm.cache import CachedLLM

if TYPE_CHECKING:
    from dataforge.ops.base import Operator

_ENGINES: dict[str, LLM] = {}
_CACHED: dict[tuple[str, str], CachedLLM] = {}
_LOCK = threading.Lock()


def spec_for(op: "Operator") -> str:
    spec = getattr(op, "llm", None) or op.ctx.llm
    if not spec:
        raise ConfigError(
            f"operator '{op.name}' needs an LLM: run with `--llm SPEC` (vllm:MODEL, openai:URL@MODEL "
            f"or hf:MODEL), or set `llm:` in the recipe or on the step")
    return spec


def llm_for(op: "Operator") -> LLM:
    """The (cached) backend for this operator; raise ConfigError when no LLM is configured."""
    from dataforge.llm import from_spec

    spec = spec_for(op)
    with _LOCK:
        if spec not in _ENGINES:
            _ENGINES[spec] = from_spec(spec)
        engine = _ENGINES[spec]
        cache_dir = op.ctx.cache_dir("llm")
        if cache_dir is None:
            return engine
        key = (spec, str(cache_dir))
        if key not in _CACHED:
            _CACHED[key] = CachedLLM(engine, cache_dir)
        return _CACHED[key]


def registered(spec: str) -> LLM | None:
    """The engine already built or registered under `spec` in this process, if any."""
    with _LOCK:
        return _ENGINES.get(spec)


def use(spec: str, llm: LLM) -> None:
    """Register a ready backend under a spec (tests, notebooks: an engine you built yourself)."""
    with _LOCK:
        _ENGINES[spec] = llm
        for k in [k for k in _CACHED if k[0] == spec]:
            del _CACHED[k]
