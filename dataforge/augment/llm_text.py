"""Text-to-text LLM calls from a prompt file: render (sandboxed Jinja), chat in one batch, clean.

A prompt file (rules/prompts/*.yaml) has `system` and `user` templates, `sampling`
defaults and `clean.strip_prefixes` (labels models like to put before the answer).
Each item gives one reply or an error string; nothing raises for a single bad item.
"""
from __future__ import annotations

import re
from dataclasses import replace

from dataforge.augment import rules as R
from dataforge.errors import ConfigError
from dataforge.llm.base import LLM, Sampling


# the settings an augmentation prompt file may set; the operator sets seed and n itself
SAMPLING_KEYS = ("temperature", "top_p", "max_tokens")


def check(doc: dict, where: str, keys: tuple[str, ...] = ("user",)) -> None:
    missing = [k for k in keys if not isinstance(doc.get(k), str)]
    if missing:
        raise ConfigError(f"{where}: needs text template(s) {missing}")
    sampling = doc.get("sampling")
    if sampling is None:
        return
    from dataforge import rulefiles

    if not isinstance(sampling, dict):
        raise ConfigError(f"{rulefiles.at(where, doc, 'sampling')}: `sampling` must be a mapping of {list(SAMPLING_KEYS)}")
    bad = [k for k in sampling if k not in SAMPLING_KEYS]
    if bad:  # a misspelt setting is an error, never silently ignored
        raise ConfigError(f"{rulefiles.at(where, sampling, bad[0])}: unknown sampling key(s) {bad}; "
                          f"valid: {list(SAMPLING_KEYS)}")


def sampling_from(doc: dict, **override) -> Sampling:
    base = {k: v for k, v in (doc.get("sampling") or {}).items() if k in SAMPLING_KEYS}
    base.update({k: v for k, v in override.items() if v is not None})
    return replace(Sampling(), **base)


def chats(doc: dict, items: list[dict], docs: list[dict] | None = None) -> list[list[dict]]:
    """`docs`: a prompt file per item (a searched mixture's draw); default `doc` for all."""
    out = []
    for values, doc in zip(items, docs or [doc] * len(items)):
        msgs = []
        if doc.get("system"):
            msgs.append({"role": "system", "content": R.render(doc["system"], values)})
        msgs.append({"role": "user", "content": R.render(doc["user"], values)})
        out.append(msgs)
    return out


def clean(text: str, doc: dict) -> str:
    """Drop a leading label ("Rewritten instruction:") and quotes wrapped around the whole reply."""
    t = text.strip()
    for p in (doc.get("clean") or {}).get("strip_prefixes") or []:
        if t.lower().startswith(p.lower()):
            t = t[len(p):].strip()
            break
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'`":
        t = t[1:-1].strip()
    return re.sub(r"\n{3,}", "\n\n", t)


def run(llm: LLM, doc: dict, items: list[dict], sampling: Sampling,
        reject_truncated: bool = True, docs: list[dict] | None = None) -> tuple[list[str | None], list[str | None]]:
    """One reply per item: (texts, errors); a text is None where its error says why."""
    if not items:
        return [], []
    results = llm.chat(chats(doc, items, docs), sampling)
    texts: list[str | None] = []
    errors: list[str | None] = []
    for r in results:
        if not r.ok or not r.completions:
            texts.append(None)
            errors.append(r.error or "no completion")
            continue
        c = r.completions[0]
        t = clean(c.text, doc)
        if not t:
            texts.append(None)
            errors.append("empty reply")
        elif reject_truncated and c.finish_reason == "length":
            texts.append(None)
            errors.append(f"reply cut at max_tokens={sampling.max_tokens}")
        else:
            texts.append(t)
            errors.append(None)
    return texts, errors
