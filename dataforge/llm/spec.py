"""Parse backend spec strings: `vllm:MODEL`, `openai:URL@MODEL`, `hf:MODEL`, each with `?k=v&...`."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import yaml

from dataforge.errors import ConfigError

BACKENDS = ("vllm", "openai", "hf")
USAGE = "use vllm:MODEL, openai:URL@MODEL or hf:MODEL (options after '?', e.g. vllm:M?max_model_len=4096)"


def parse_spec(spec: str) -> tuple[str, str, dict[str, Any]]:
    """Return (backend, model, options). For openai the model part is `URL@MODEL`."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(f"LLM spec {spec!r}: {USAGE}")
    backend, _, rest = spec.partition(":")
    backend = backend.strip().lower()
    if backend not in BACKENDS:
        raise ConfigError(f"LLM spec {spec!r}: unknown backend '{backend}'; {USAGE}")
    model, opts = rest, {}
    # '?' starts options, except inside an openai URL's own query (rare): take the last one.
    if "?" in rest:
        model, _, query = rest.rpartition("?")
        for k, v in parse_qsl(query, keep_blank_values=True):
            if k in ("api_key", "key", "token"):
                raise ConfigError("LLM spec: do not put keys in the spec (it is logged); "
                                  "set OPENAI_API_KEY or pass api_key in code")
            opts[k] = yaml.safe_load(v) if v else None  # numbers and booleans typed like YAML
    model = model.strip()
    if not model:
        raise ConfigError(f"LLM spec {spec!r}: no model; {USAGE}")
    if backend == "openai":
        url, at, name = model.rpartition("@")
        if not at or not url or not name:
            raise ConfigError(f"LLM spec {spec!r}: openai needs URL@MODEL, e.g. openai:http://127.0.0.1:8000/v1@my-model")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"LLM spec {spec!r}: the URL must start with http:// or https://")
    return backend, model, opts
