"""Self-Instruct parsing and filters, as in the paper's release, on plain completions.

    split_instructions(text, finish_reason, split_re) -> [(instruction, cut_by_length)]
    instruction_reason(inst, rules)                    -> None or "rule: detail"
    parse_instances(text, finish_reason, clf, markers) -> [(input, output)]
    instance_reasons(instances)                        -> one None-or-reason per instance
"""
from __future__ import annotations

import re
import string


def split_instructions(text: str, finish_reason: str | None, split_re: str) -> list[tuple[str, bool]]:
    """The completion continues a numbered list: split on item numbers; the last item of a
    completion cut by the length limit is marked cut (it is probably unfinished)."""
    parts = re.split(split_re, text)
    out = []
    for i, p in enumerate(parts):
        inst = re.sub(r"\s+", " ", p).strip()
        if not inst:
            continue
        cut = finish_reason == "length" and i == len(parts) - 1
        out.append((inst[:1].upper() + inst[1:], cut))
    return out


def _word_re(words: list[str]) -> re.Pattern:
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alts})\b", re.IGNORECASE)


def instruction_reason(inst: str, rules: dict) -> str | None:
    """Why Self-Instruct would drop this instruction (None: keep). `rules` is the prompt file."""
    n = len(inst.split())
    if n < rules.get("min_words", 4):
        return f"too_few_words: {n} words"
    if n > rules.get("max_words", 150):
        return f"too_many_words: {n} words"
    m = _word_re(rules.get("blocked_words", [])).search(inst) if rules.get("blocked_words") else None
    if m:
        return f"blocked_word: {m.group(0).lower()}"
    for p in rules.get("blocked_prefixes", []):
        if inst.startswith(p):
            return f"blocked_prefix: {p}"
    if inst[0] in string.punctuation:
        return "leading_punctuation: starts with " + repr(inst[0])
    if not inst[0].isascii():
        return "leading_non_ascii: starts with " + repr(inst[0])
    return None


# -- instances ---------------------------------------------------------------------

def _input_output(text: str, m: dict) -> tuple[str, str]:
    out_re, in_re = m["output"], m["input"]
    if re.search(out_re, text):
        inp, outp = re.split(out_re, text, maxsplit=2)[:2]
    else:
        inp, outp = "", text
    if re.search(in_re, outp):  # several input/output pairs in one: keep the first
        outp = re.split(in_re, outp)[0]
    inp = re.sub("^" + in_re, "", inp.strip())
    return inp.strip(), outp.strip()


def parse_instances(text: str, finish_reason: str | None, classification: bool, markers: dict) -> list[tuple[str, str]]:
    """Completion of an instance prompt -> (input, output) pairs; [] when nothing parses.

    Classification prompts are output-first ("Class label: X\\nSentence: ..."); the others
    input-first ("Example 1\\nInput: ...\\nOutput: ..." or a bare "Output: ...").
    """
    text = text.strip()
    inst: list[tuple[str, str]] = []
    if classification:
        label = markers["label"]
        if label not in text:
            return []
        for chunk in text.split(label)[1:]:
            first, _, rest = chunk.strip().partition("\n")
            inst.append((rest.strip(), first.strip()))
    elif re.search(markers["example"], text):
        for chunk in re.split(markers["example"], text):
            if chunk.strip():
                inst.append(_input_output(chunk.strip(), markers))
    elif re.search(markers["output"], text):
        inst.append(_input_output(text, markers))
    else:
        return []
    if finish_reason == "length":  # the last one was cut by the length limit
        inst = inst[:-1]
    return inst


def instance_reasons(instances: list[tuple[str, str]]) -> list[str | None]:
    """The paper's instance filters, one reason (or None) per instance.

    Same non-empty input with different outputs drops every instance of that input; exact
    duplicates after the first are dropped too.
    """
    outputs: dict[str, set[str]] = {}
    for i, o in instances:
        if i:
            outputs.setdefault(i, set()).add(o)
    seen: set[tuple[str, str]] = set()
    reasons: list[str | None] = []
    for i, o in instances:
        if o == "":
            r = "empty_output: the instance has no output"
        elif i == o:
            r = "input_equals_output: the instance repeats its input"
        elif i.endswith(":") or o.endswith(":"):
            r = "ends_with_colon: incomplete instance"
        elif i and len(outputs[i]) > 1:
            r = f"conflicting_outputs: {len(outputs[i])} outputs for one input"
        elif (i, o) in seen:
            r = "duplicate_instance: same input and output as an earlier one"
        else:
            r = None
        seen.add((i, o))
        reasons.append(r)
    return reasons
