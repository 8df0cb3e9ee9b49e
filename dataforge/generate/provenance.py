"""Provenance of generated rows: which backend, model and revision, with which sampling and seed.

    meta = {**provenance.of(llm, {"respond": sampling}), ...}
      -> {"backend": "vllm", "model": "vllm:Qwen/...", "revision": "abc123...",
          "sampling": {"respond": {"temperature": 0.7, "top_p": 1.0, "max_tokens": 512, "n": 1, "seed": 0}},
          "seed": 0}

`model` keeps the backend-qualified id the completion cache uses (`hf:/models/x`); the plain
name is in the manifest's `models`. Stop strings and structured-output constraints are part of
the sampling record only when set.
"""
from __future__ import annotations

from dataclasses import asdict

from dataforge.llm.base import LLM, Sampling

_ALWAYS = ("n", "temperature", "top_p", "max_tokens", "presence_penalty", "seed")


def sampling_record(s: Sampling) -> dict:
    d = asdict(s)
    out = {k: d[k] for k in _ALWAYS}
    if s.stop:
        out["stop"] = list(s.stop)
    if s.choice:
        out["choice"] = list(s.choice)
    if s.json_schema is not None:
        out["json_schema"] = s.json_schema
    if s.logprobs is not None:
        out["logprobs"] = s.logprobs
    return out


def of(llm: LLM, steps: dict[str, Sampling], seed: int | None = None) -> dict:
    """Row meta for text made by `llm` through the named sampling steps; `seed` defaults to the
    seed of the first step that has one."""
    info = llm.provenance()
    if seed is None:
        seed = next((s.seed for s in steps.values() if s.seed is not None), None)
    return {"backend": info["backend"], "model": llm.model_id, "revision": info.get("revision"),
            "sampling": {k: sampling_record(s) for k, s in steps.items()}, "seed": seed}
