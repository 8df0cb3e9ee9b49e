"""Answers outside the choices a request lists, and few-shot prompts the answer runs on with.

A converted classification or NLI row lists what its answer may be ("Choose from: joy,
sadness, anger", "Options: entailment, neutral, contradiction", "(entailment / neutral /
contradiction)?", "true or false"); a short answer that is none of them ("excitement",
"maybe", or the options block itself, "Options:\n- true\n- false") is an invalid label, a
defect no wrong-but-valid label shares. Rules read the patterns from the rules file
(`rules/filters/default.yaml`, `label_choice`); this module parses one row at a time, and only
rows whose request lists choices come here (`rules.b_choice`).

A few-shot prompt ("Word: hot\nOpposite: cold\n\nWord: fragile\nOpposite:") asks for one
completion; an answer that goes on with the prompt's own labels ("sturdy\n\nWord: brave\n
Opposite: cowardly ...") ran past its stop (`fewshot_runon`).
"""
from __future__ import annotations

import re
from collections import Counter

_ARTICLE = re.compile(r"^(?:the|a|an)\s+")
_STRIP = " \t\n\"'“”‘’`*_.,;:!?()[]{}"


def _norm(text: str) -> str:
    t = text.strip(_STRIP).lower().replace("_", " ")  # "not_entailment" is "not entailment"
    t = re.sub(r"\s+", " ", t)
    return _ARTICLE.sub("", t).strip(_STRIP)


def options(instruction: str, patterns: list[str], line_list: str, input_patterns: list[str] = (),
            given: str = "") -> list[str]:
    """The choices a request lists, normalised; [] when it lists none (or lists them by letter:
    "A) ... B) ...", "1) ... 2) ...", which an answer may give either way). `patterns` read the
    instruction; `input_patterns` and `line_list` read the input (`given`) too: a passage's
    prose ("eight General Education categories: ...") lists no choices."""
    found: list[str] = []
    both = instruction + "\n" + given
    for pat, text_in in [(p, instruction) for p in patterns] + [(p, both) for p in input_patterns]:
        # (the last list of each kind: a few-shot prompt lists each example's choices, and the
        # answer is to the last)
        for m in list(re.finditer(pat, text_in, flags=re.I | re.M))[-1:]:
            # (the list ends with its sentence: "topics: Sports, Politics, Other. Reply with the
            # topic only." lists no "other. reply with the topic only")
            text = re.split(r"(?<=\w)[.?!]\s+(?=[A-Z])", m.group(1), maxsplit=1)[0]
            if re.search(r"(?:^|\s|\()(?:[A-Ea-e]|\d{1,2})\s?[).]\s", text):
                return _enumerators(text)
            # "World, Sports, Sci/Tech": commas split, a slash within a word does not; without
            # commas, slashes and "or" split ("entailment / neutral / contradiction")
            parts = re.split(r",\s*(?:or\s+|and\s+)?|\s+or\s+|;\s*", text) if "," in text or ";" in text \
                else re.split(r"\s*/\s*|\s+or\s+|\s*\|\s*", text)
            found += [_norm(p) for p in parts]
            if "," in text and re.search(r"\s+or\s+", parts[-1]):  # "..., film or written work"
                found += [_norm(p) for p in re.split(r"\s+or\s+", parts[-1])]
    blocks = list(re.finditer(line_list, both, flags=re.I | re.M)) if line_list else []
    if blocks:  # "Options:\n- yes\n- no" (the last block)
        block = blocks[-1]
        found += [_norm(x) for x in re.findall(r"(?m)^\s*[-*•]\s*(.+)$", block.group(0))]
    # a quoted word the request offers too: "If none do, answer 'None'."
    found += [_norm(q) for q in re.findall(r"(?:answer|reply|respond|say|write|output|return)\s+[\"'“‘]([^\"'”’\n]{1,30})[\"'”’]",
                                             instruction, flags=re.I)]
    return [f for f in dict.fromkeys(found) if f and len(f.split()) <= 10]


_MANY = re.compile(r"(?i)\b(?:all that apply|all (?:the )?(?:labels|categories|options) that|one or more|more than one|multiple|several|any that|each (?:label|category) that|multi-?label)\b")


# (a question that labels: "Tea or coffee?" may be answered "both")
_LABELLING = re.compile(r"(?i)\b(?:sentiment|label\w*|classif\w*|categor\w*|class|tone|polarity|stance|spam|toxic|"
                        r"sarcas\w*|fact|opinion|true|false|correct|incorrect|valid|invalid|grammatical|formal|"
                        r"informal|literal|figurative|subjective|objective|positive|negative)\b")
_EITHER = re.compile(r"(?i)\b([a-z][\w-]*) or ([a-z][\w-]*)\s*\?")


def _parts(answer: str) -> list[str]:
    """An answer split where it joins several things: "positive, negative", "yes / no"."""
    return [_norm(x) for x in re.split(r"\s*(?:,|/|;|\band\b|\bor\b|&)\s*", answer.strip(" \t.\"'“”‘’`*_")) if x.strip()]


def _enumerators(text: str) -> list[str]:
    """The letters or numbers a list of choices is given by ("A) shark B) whale" -> a, b): an
    answer may name a choice by them, or by its text, which is then accepted as any text is."""
    return ["*"] + [m.lower() for m in re.findall(r"(?:^|\s|\()([A-Ea-e]|\d{1,2})\s?[).]\s", text)]


_OPTION = r"(?:^|(?<=\s))\(?([A-Ea-e])[).]\s+"


def _lettered_options(request: str) -> dict[str, str]:
    """{letter: option text} of "A) rubber" lines and of inline "(A) oxygen (B) nitrogen"."""
    out: dict[str, str] = {}
    for m in re.finditer(_OPTION + r"(.+?)(?=\s+\(?[A-Ea-e][).]\s|\n|$)", request, flags=re.M):
        out.setdefault(m.group(1).lower(), _norm(m.group(2)))
    return out


def _letter_mismatch(request: str, output: str, many: bool) -> str | None:
    """A lettered answer that contradicts itself: two letters where one is asked ("A or C"), a
    letter beside another option's text ("C) copper" where copper is D), or a final "Answer: B"
    after a working that chose (C)."""
    texts = _lettered_options(request)
    if len(texts) < 2:
        return None
    two = re.fullmatch(r"\s*\(?([A-Ea-e])\)?\s*(?:,|/|\bor\b|\band\b|&)\s*\(?([A-Ea-e])\)?\.?\s*", output)
    if two and not many and two.group(1).lower() != two.group(2).lower() \
            and {two.group(1).lower(), two.group(2).lower()} <= texts.keys():
        return output.strip()
    pair = re.fullmatch(r"\s*\(?([A-Ea-e])[).:]\s*([^\n]{1,80}?)\s*", output)
    if pair:
        letter, said = pair.group(1).lower(), _norm(pair.group(2))
        if texts.get(letter) and said != texts[letter] and said in {t for k, t in texts.items() if k != letter}:
            return output.strip()[:40]
        return None
    # ... or said in a sentence: "The answer is (B) photosynthesis." where photosynthesis is C
    # (a capital letter or one in brackets: "the answer is a mammal" names no option a)
    said = re.search(r"(?i:\b(?:answer|option|choice) is):?\s*(?:\(([A-Ea-e])\)|([A-E])\b[.:]?)\s+([^\n.,;!?]{1,60})", output)
    if said:
        letter, text = (said.group(1) or said.group(2)).lower(), _norm(said.group(3))
        own = texts.get(letter)
        if own and not text.startswith(own) and any(text.startswith(t) for k, t in texts.items() if k != letter and t):
            return said.group(0).strip()[:40]
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    final = re.fullmatch(r"(?i)\W*(?:final )?answer\s*[:=-]\s*\(?([A-E])\)?\W*", lines[-1]) if len(lines) > 1 else None
    if final:
        chose = re.findall(r"(?i:\b(?:answer|option|choice) is)\s*:?\s*(?:\(([A-Ea-e])\)|([A-E])\b(?!['’]))",
                           "\n".join(lines[:-1]))
        if chose and (chose[-1][0] or chose[-1][1]).lower() != final.group(1).lower():
            return lines[-1].strip()[:40]
    return None


def _offers_letter(request: str, letter: str) -> bool:
    """Whether the request names `letter` as something to answer ("(B)", "B)", "B =", "'B'",
    "option B", "B if ...", "A or B")."""
    u, lo = re.escape(letter.upper()), re.escape(letter.lower())
    return bool(re.search(rf"\((?:{u}|{lo})\)|(?m:^\s*(?:{u}|{lo})[.):])|\b{u}[.):](?:\s|$)|\b{u}\s*[=:–-]\s|[\"'‘“]{u}[\"'’”]|"
                          rf"(?i:\b(?:option|choice|letter)\s+){u}\b|\b{u}\s+(?:if|for|when)\b|\b{u}\s*(?:,|/|or|and)\s*[A-H]\b|"
                          rf"\b[A-H]\s*(?:,|/|or|and)\s*{u}\b", request))


def invalid_choice(instruction: str, output: str, patterns: list[str], line_list: str, prefix: str,
                   max_words: int = 6, synonyms: dict[str, str] | None = None,
                   input_patterns: list[str] = (), given: str = "", letter_request: str = "") -> str | None:
    """The answer when it is short and none of the listed choices, else None."""
    opts = options(instruction, patterns, line_list, input_patterns, given)
    # choices given by letter or number (lines "A) Oxygen" too): only a bare letter or number
    # outside them is read ("E" for A-D); any other answer may give a choice's text
    lettered = re.findall(r"(?m)^\s*\(?([A-Ea-e])[).]\s+\S", instruction + "\n" + given)
    bare = re.fullmatch(r"\s*\(?([A-Za-z]|\d{1,2})\)?\.?\s*", output)
    inline = _lettered_options(instruction + "\n" + given)  # "(A) oxygen (B) nitrogen" on one line
    if opts[:1] == ["*"] or len(lettered) >= 2 or len(inline) >= 2:
        keys = set(opts[1:]) | {x.lower() for x in lettered} | set(inline)
        if bare:
            return output.strip() if len(keys) >= 2 and bare.group(1).lower() not in keys else None
        return _letter_mismatch(instruction + "\n" + given, output, bool(_MANY.search(instruction)))
    if bare and letter_request and re.search(letter_request, instruction, flags=re.I) \
            and re.fullmatch(r"[A-Ha-h]", bare.group(1)) and not _offers_letter(instruction + "\n" + given, bare.group(1)):
        # "Respond with the option letter" -> "(B)", where no option B was rendered
        return output.strip()
    if len(opts) < 2:
        # a question between two ("Is the sentiment positive or negative?") answered with both
        pair = _EITHER.findall(instruction)
        parts = _parts(output)
        if pair and len(parts) == 2 and set(parts) == {_norm(pair[-1][0]), _norm(pair[-1][1])} \
                and _LABELLING.search(instruction) and not _MANY.search(instruction):
            return output.strip()[:40]
        return None
    answer = output.strip()
    # a chain of thought ends on its answer: "... So the answer is: entailment"
    concluded = re.split(r"(?i)\banswer is\s*:?", answer)
    if len(concluded) > 1:
        answer = concluded[-1]
    answer = re.sub(prefix, "", answer.strip(), flags=re.I) if prefix else answer.strip()
    # two or more of the choices and nothing else, where one is asked for: a hedge ("positive,
    # negative"), unless the request lets several apply
    parts = _parts(answer)
    if len(set(parts)) >= 2 and all(p in opts for p in parts) and not _MANY.search(instruction):
        return answer.strip()[:40]
    # an answer key for several items ("1. True\n2. False"): each item's label is read
    lines = [ln for ln in answer.splitlines() if ln.strip()]
    enum = re.compile(r"^\s*(?:\d{1,3}|[a-z])[.)]\s+")
    items = [enum.sub("", ln) for ln in lines] if len(lines) > 1 and all(enum.match(ln) for ln in lines) else [answer]
    syn = synonyms or {}
    for item in items:
        # the label before an explanation: "Neutral - the premise does not say", "joy. She is ..."
        first = re.split(r"[\n.;:!?—–(]|\s-\s|,\s", item.strip(" \t\"'“”‘’`*_"), maxsplit=1)[0]
        cand = _norm(first)
        if not cand or len(cand.split()) > max_words:
            return None
        if cand in opts or syn.get(cand) in opts or any(cand.startswith(o + " ") for o in opts):
            continue
        # an answer naming a choice among a few words: "It's joy", "definitely positive"
        if len(cand.split()) <= 3 and any(re.search(rf"\b{re.escape(o)}\b", cand) for o in opts):
            continue
        return answer.strip()[:40]
    return None


def _labelled(lines: list[str]) -> list[tuple[str, str]]:
    """(label, text) of each line that fills a label ("Word: hot"); a bare "Opposite:" is none."""
    return [(m.group(1), m.group(2).strip()) for ln in lines if (m := re.match(r"([A-Z][\w ]{0,24}):[ \t]*(\S.*)$", ln))]


def _opener(found: list[tuple[str, str]], min_shots: int) -> str | None:
    """The first label a few-shot prompt fills `min_shots` times or more: the one its examples open with."""
    filled = Counter(label for label, _ in found)
    return next((label for label, _ in found if filled[label] >= min_shots), None)


def fewshot_runon(instruction: str, output: str, min_shots: int = 2) -> str | None:
    """The label a few-shot prompt's examples open with ("Word:", "Sentence:") when it opens a line
    of the answer after its first, else None: the completion went on to invent examples. A
    few-shot prompt ends on the label it asks to fill ("Opposite:") after examples whose labels
    carry their text ("Word: hot") `min_shots` times or more."""
    lines = [ln.strip() for ln in instruction.strip().splitlines() if ln.strip()]
    if not lines or not re.fullmatch(r"[A-Z][\w ]{0,24}:", lines[-1]):
        return None
    # the label each example opens with ("Word:", "Sentence:"): the answer starts a new example
    # with it; the other labels of one example ("Age:" after "Name:") may finish the entry asked
    opener = _opener(_labelled(lines), min_shots)
    if opener is None:
        return None
    for ln in output.strip().splitlines()[1:]:
        m = re.match(r"[ \t]*([A-Z][\w ]{0,24})[ \t]*:", ln)
        if m and m.group(1) == opener:
            return opener
    return None


def fewshot_leak(instruction: str, given: str = "", min_shots: int = 2) -> str | None:
    """The query of a few-shot prompt when one of the prompt's solved examples is that same query
    ("Review: The hike was muddy ...\nSentiment: Positive ... Review: The hike was muddy
    ...\nSentiment:"): the prompt holds the answer, so the row teaches copying. An example is
    the labelled lines from the label the examples open with (`min_shots` times or more) to the
    next; the query is the last of them where the prompt ends on a bare label to fill, else the
    input's labelled lines. The answer's own label is left out of the comparison."""
    lines = [ln.strip() for ln in instruction.strip().splitlines() if ln.strip()]
    if len(lines) < 3:
        return None
    found = _labelled(lines)
    opener = _opener(found, min_shots)
    if opener is None:
        return None
    blocks: list[list[tuple[str, str]]] = []
    for label, text in found:
        if label == opener or not blocks:
            blocks.append([])
        blocks[-1].append((label, text))
    bare = re.fullmatch(r"([A-Z][\w ]{0,24}):", lines[-1])
    if bare:  # the query is the prompt's last example, its answer label left to fill
        answer, query, examples = bare.group(1), blocks[-1], blocks[:-1]
    else:  # ... or the input's labelled lines
        query = _labelled([ln.strip() for ln in given.splitlines() if ln.strip()])
        answer, examples = None, blocks
        if not query or query[0][0] != opener:
            return None
    key = tuple((lb, t) for lb, t in query if lb != answer)
    if not key or sum(len(t.split()) for _, t in key) < 3:
        return None
    labels = {lb for lb, _ in key}
    for ex in examples:
        if tuple((lb, t) for lb, t in ex if lb in labels) == key:
            return key[0][1][:40]
    return None
