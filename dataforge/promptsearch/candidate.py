"""A prompt variant: the system and user text of one prompt-file entry, with its lineage.

A candidate's id is a hash of its text, so the same prompt proposed twice is one candidate,
and a search log line names a prompt stably across reruns. `check` decides whether a
proposed variant can stand in for the original: it must parse as (sandboxed) Jinja and use
exactly the original's variables (dropping `{{ output }}` from a judge prompt, or inventing
a variable the operator does not provide, makes it invalid).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Candidate:
    user: str
    system: str | None = None
    parents: tuple[str, ...] = ()
    op: str = "original"  # how it was made: original | llm_mutate | llm_crossover | system | format | fewshot | order
    generation: int = 0
    note: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        blob = json.dumps([self.system or "", self.user], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]

    def child(self, *, op: str, generation: int, parents: tuple[str, ...] | None = None, **text) -> "Candidate":
        return replace(self, op=op, generation=generation,
                       parents=parents if parents is not None else (self.id,), note="", **text)


def variables(text: str) -> set[str]:
    """Undeclared (input) variables of a Jinja template; raises jinja2.TemplateSyntaxError."""
    from jinja2 import meta

    from dataforge import rulefiles

    return set(meta.find_undeclared_variables(rulefiles.sandbox(True).parse(text)))


def check(cand: Candidate, original: Candidate) -> str | None:
    """None when the variant is usable, else why not (one short phrase for the log)."""
    from jinja2 import TemplateSyntaxError

    if not cand.user.strip():
        return "empty prompt"
    try:
        got = variables(cand.user) | (variables(cand.system) if cand.system else set())
    except TemplateSyntaxError as e:
        return f"not a valid template: {e.message}"
    want = variables(original.user) | (variables(original.system) if original.system else set())
    if got != want:
        missing, extra = sorted(want - got), sorted(got - want)
        return "variables differ: " + "; ".join(
            x for x in (f"missing {missing}" if missing else "", f"unknown {extra}" if extra else "") if x)
    if len(cand.user) > 8 * max(len(original.user), 200):
        return "far longer than the original"
    return None
