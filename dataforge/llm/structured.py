"""One check of structured output for every backend: a reply to `Sampling.json_schema` must parse
as JSON and match the schema, else the item fails with the reason (the operator rejects the row).

vLLM and vLLM servers constrain decoding, but a reply cut by `max_tokens` still breaks off
mid-JSON; transformers does not constrain at all; other servers may ignore the request. Checking
the text in all three makes them behave the same to an operator: a Result either holds replies
that match the schema or carries `error` saying why not.
"""
from __future__ import annotations

import json
from functools import lru_cache

from dataforge.llm.base import Completion, Result, Sampling


@lru_cache(maxsize=32)
def _validator(schema_json: str):
    """A jsonschema validator for the schema, or None when jsonschema is not installed."""
    try:
        import jsonschema
    except ImportError:  # parse-only check; jsonschema ships with the [ml] / [ray] extras
        return None
    schema = json.loads(schema_json)
    return jsonschema.validators.validator_for(schema)(schema)


def schema_error(c: Completion, schema: dict) -> str | None:
    """Why this reply does not satisfy `schema` (None when it does)."""
    try:
        value = json.loads(c.text)
    except ValueError as e:
        cut = " (cut by the length limit)" if c.finish_reason == "length" else ""
        return f"reply is not JSON{cut}: {e.msg} at char {e.pos}"
    v = _validator(json.dumps(schema, sort_keys=True))
    if v is None:
        return None
    err = next(iter(v.iter_errors(value)), None)
    if err is None:
        return None
    where = "/".join(map(str, err.absolute_path)) or "top level"
    return f"reply does not match the JSON schema at {where}: {err.message[:200]}"


def enforce(results: list[Result], s: Sampling, backend: str) -> list[Result]:
    """Turn items whose replies miss `s.json_schema` into errors; a no-op without a schema."""
    if s.json_schema is None:
        return results
    out = []
    for r in results:
        why = next((w for c in r.completions if (w := schema_error(c, s.json_schema))), None) if r.ok else None
        out.append(Result(error=f"{backend}: json_schema: {why}") if why else r)
    return out
