"""Proposing variants: LLM mutation and crossover (meta-prompts in rules/prompts/prompt_search.yaml)
and cheap structural mutations (system prompt on/off, an output-format line, few-shot
examples drawn from a pool, the order of instruction paragraphs)."""
from __future__ import annotations

import random
import re

from dataforge import rulefiles
from dataforge.promptsearch.candidate import Candidate, variables

META_FILE = "prompt_search.yaml"
STRUCTURAL = ("system", "format", "fewshot", "order")
_TAG = re.compile(r"<prompt>\s*(.*?)\s*</prompt>", re.S)
_JINJA = re.compile(r"{{|{%|%}|}}")


def meta(path: str = META_FILE) -> dict:
    return rulefiles.load_yaml(rulefiles.resolve(path, what="meta-prompt file", prefer="prompts"))


def _var_list(c: Candidate) -> str:
    names = sorted(variables(c.user) | (variables(c.system) if c.system else set()))
    return ", ".join("{{ %s }}" % n for n in names) or "none"


def mutate_chat(doc: dict, kind: str, c: Candidate, rng: random.Random) -> list[dict]:
    direction = rng.choice(doc.get("directions") or ["improve it."])
    user = rulefiles.template(doc["mutate"]).render(kind=kind, prompt=c.user, variables=_var_list(c),
                                                    direction=direction)
    return [{"role": "system", "content": doc["system"]}, {"role": "user", "content": user}]


def crossover_chat(doc: dict, kind: str, a: Candidate, b: Candidate) -> list[dict]:
    user = rulefiles.template(doc["crossover"]).render(kind=kind, prompt_a=a.user, prompt_b=b.user,
                                                       variables=_var_list(a))
    return [{"role": "system", "content": doc["system"]}, {"role": "user", "content": user}]


def parse_reply(text: str) -> str | None:
    """The template between <prompt> tags (the last complete pair); None when there is none."""
    found = _TAG.findall(text or "")
    return found[-1].strip() if found and found[-1].strip() else None


# -- structural mutations: each returns a new Candidate or None when it does not apply --------
def toggle_system(c: Candidate, rng: random.Random, doc: dict, kind: str, gen: int, **_) -> Candidate | None:
    if c.system:
        return c.child(op="system", generation=gen, system=None)
    roles = (doc.get("roles") or {}).get(kind) or []
    return c.child(op="system", generation=gen, system=rng.choice(roles)) if roles else None


def toggle_format(c: Candidate, rng: random.Random, doc: dict, kind: str, gen: int, **_) -> Candidate | None:
    lines = (doc.get("formats") or {}).get(kind) or []
    present = [f for f in lines if f in c.user]
    if present:  # remove one that is there
        f = rng.choice(present)
        return c.child(op="format", generation=gen, user=c.user.replace("\n" + f, "").replace(f, "").strip())
    if not lines:
        return None
    return c.child(op="format", generation=gen, user=c.user.rstrip() + "\n" + rng.choice(lines))


def add_fewshot(c: Candidate, rng: random.Random, doc: dict, gen: int, pool: list[str] | None = None,
                **_) -> Candidate | None:
    """Insert 1-3 examples from the pool before the first paragraph that holds a variable;
    they go in a {% raw %} block, so braces in an example are never read as Jinja."""
    header = doc.get("fewshot_header", "Examples:")
    if not pool or header in c.user:
        if pool and header in c.user:  # drop the examples again
            head, _, rest = c.user.partition(header)
            tail = rest.split("{% endraw %}", 1)[-1]
            return c.child(op="fewshot", generation=gen, user=(head.rstrip() + "\n\n" + tail.lstrip()).strip())
        return None
    shots = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
    block = header + "{% raw %}\n" + "\n\n".join(s.strip() for s in shots) + "\n{% endraw %}"
    paras = c.user.split("\n\n")
    at = next((i for i, p in enumerate(paras) if _JINJA.search(p)), len(paras))
    return c.child(op="fewshot", generation=gen, user="\n\n".join(paras[:at] + [block] + paras[at:]))


def reorder(c: Candidate, rng: random.Random, gen: int, **_) -> Candidate | None:
    """Swap two instruction paragraphs (or lines) that hold no Jinja, so no block is broken."""
    for sep in ("\n\n", "\n"):
        parts = c.user.split(sep)
        free = [i for i, p in enumerate(parts) if p.strip() and not _JINJA.search(p)]
        if len(free) >= 2:
            i, j = rng.sample(free, 2)
            parts[i], parts[j] = parts[j], parts[i]
            return c.child(op="order", generation=gen, user=sep.join(parts))
    return None


STRUCTURAL_OPS = {"system": toggle_system, "format": toggle_format, "fewshot": add_fewshot, "order": reorder}
