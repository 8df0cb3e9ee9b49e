"""Rule filter cost: the default rule set of `RuleFilter` (rules/filters/default.yaml, built as
Polars expressions in dataforge/clean/rules.py), in one process, on alpaca rows repeated.

1. The whole default rule set: `RuleFilter().reasons(df)`, seconds and rows/s.
2. Each rule alone (`RuleFilter(only=[name])`): the 10 costliest, and the sum of all of them.
   (Once each by default, --rule-repeats: at 6,200 rows the set takes 7-9 s a call here.)
3. Side by side with the way other curation tools (data-juicer, datatrove) run such filters,
   a per-row Python loop: for the default rules of type `regex` and `phrases`, the loop applies
   the same parameters to each row with the `regex` module (compiled once, outside the timing)
   against `RuleFilter(only=those rules)`; printed: both times, their ratio, and how many rows
   each flags and on how many the first firing rule differs (counted, not asserted).
   The loop reproduces b_regex (patterns, case_insensitive, fields, max_words), b_phrases
   (phrases/file, ASCII case folding, curly quotes, speech, lines, alone_lines, min_distinct)
   and `_unless` (unless_instruction, read with the input under a wrapper instruction as
   request_in_input_when says, unless_input with carried_in_instruction and input_carried_when,
   task_refusal, unless_output, only_instruction, decline_instruction). The `regex` module it
   uses comes with transformers, not as a dataforge dependency.
   It leaves out: the `system` column (these rows have none) and `unless_tasks` (no `task`
   column; no such rule uses it); for min_distinct it counts the distinct phrases present
   anywhere, where the operator counts distinct non-overlapping Aho-Corasick matches; and the
   dialects differ at the edges (Python's `$` also matches before a final newline, Rust's not).
   Only which rule fires first is compared, not the reason's detail text.

    .venv/bin/python benchmarks/rules.py                 # 6,200 rows (the alpaca sample 4x)
    .venv/bin/python benchmarks/rules.py --rows 1550     # the sample once
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl
import regex

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from dataforge.clean.rules import WRAPPER_MAX_WORDS, load  # noqa: E402
from dataforge.ops.filters import RuleFilter  # noqa: E402
from dataforge.words import WORD_RE  # noqa: E402

ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
WORD = regex.compile(WORD_RE, regex.V1)  # V1: the class intersection (&&) WORD_RE uses
NONWORD = regex.compile(r"[^\p{L}\p{N}]+")


def rows(n: int) -> pl.DataFrame:
    base = pl.read_ndjson(ROOT / "sample_data" / "alpaca.jsonl").select("instruction", "input", "output")
    return pl.concat([base] * -(-n // base.height)).head(n)


def best(fn, repeats: int, warm: bool = True):
    """A warm-up call (unless `warm` is False), then the best of `repeats` timed calls:
    (seconds, last result)."""
    out = fn() if warm else None
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def quotes(t: str) -> str:
    return t.replace("’", "'").replace("‘", "'")


def regex_check(r):
    """b_regex, one row: any pattern found in any field (of at most max_words words)."""
    flags = regex.I if r.get("case_insensitive", True) else 0
    pats = r.get("patterns") or ([r.get("pattern")] if r.get("pattern") else []) or r.get("words") or []
    pats = [regex.compile(p, flags) for p in pats]
    fields, max_words = r.fields(["instruction", "input", "output"]), r.get("max_words")

    def fires(row: dict) -> bool:
        for f in fields:
            t = row[f]
            if max_words and len(WORD.findall(t)) > max_words:
                continue
            if any(p.search(t) for p in pats):
                return True
        return False
    return fires


def phrases_check(r):
    """b_phrases, one row: a phrase in the (ASCII-lower-cased) text, or a `lines` / `alone_lines`
    line; with min_distinct, that many different ones."""
    phrases = [quotes(p.lower()) for p in (r.get("phrases") or []) + (r.get("words") or [])]
    speech = regex.compile(r.get("speech")) if r.get("speech") else None
    lines = regex.compile(r"(?im)^[ \t>*#_|-]*(?:" + r.get("lines") + r")[ \t:.!?]*$") if r.get("lines") else None
    alone = regex.compile(r"(?im)^[ \t>*#_|-]*(" + r.get("alone_lines") + r")[ \t:.!?]*$") \
        if r.get("alone_lines") else None
    fields, min_distinct = r.fields(["output"]), r.get("min_distinct", 1)

    def fires(row: dict) -> bool:
        for f in fields:
            t = quotes(speech.sub(" ", row[f]) if speech else row[f])
            low = t.translate(ASCII_LOWER)  # Aho-Corasick's ascii_case_insensitive
            found = {p for p in phrases if p in low}
            if lines:
                found |= {NONWORD.sub(" ", m.group(0).lower()).strip() for m in lines.finditer(t)}
            hit = len(found) >= min_distinct if min_distinct > 1 else bool(found)
            if hit or (alone and alone.search(t)):
                return True
        return False
    return fires


def unless_check(r):
    """`_unless`, one row: True where the request, the input or the answer spares the rule."""
    ci = {k: regex.compile(r.get(k), regex.I) for k in ("unless_instruction", "unless_input", "input_carried_when",
          "unless_output", "only_instruction", "decline_instruction", "task_refusal") if r.get(k)}
    carried = regex.compile("(" + r.get("carried_in_instruction") + ")") if r.get("carried_in_instruction") else None
    wrapper = regex.compile(r.get("request_in_input_when"), regex.I) if r.get("request_in_input_when") else None
    out_field = r.fields(["output"])[0]

    def not_task_refusal(row: dict, c: bool, src: str | None) -> bool:  # _unless_task_refusal
        if not c or "task_refusal" not in ci:
            return c
        refuses = bool(ci["task_refusal"].search(quotes(row[out_field])))
        return not (refuses and not (src is not None and ci["task_refusal"].search(src)))

    def spared(row: dict) -> bool:
        ins = row["instruction"]
        # (an instruction that only wraps the input's request is read with it)
        asked = ins + "\n" + row["input"] if wrapper and wrapper.search(ins) and \
            len(WORD.findall(ins)) <= WRAPPER_MAX_WORDS else ins
        if "unless_instruction" in ci and ci["unless_instruction"].search(asked):
            return True
        if "unless_input" in ci:
            src = row["input"]
            if carried:
                m = carried.search(ins)
                src += "\n" + (m.group(1) if m else "")
            src = quotes(src)
            c = bool(ci["unless_input"].search(src))
            if c and "input_carried_when" in ci:
                c = bool(ci["input_carried_when"].search(ins))
            if not_task_refusal(row, c, src):
                return True
        if "unless_output" in ci and ci["unless_output"].search(row["output"]):
            return True
        if "only_instruction" in ci and not ci["only_instruction"].search(ins):
            return True
        return "decline_instruction" in ci and not_task_refusal(row, bool(ci["decline_instruction"].search(ins)), None)
    return spared


def reference(rules):
    """The per-row loop: each row, the rules in file order, the first that fires and is not spared."""
    checks = [(r.name, regex_check(r) if r.type == "regex" else phrases_check(r), unless_check(r)) for r in rules]

    def run(df: pl.DataFrame) -> list[str | None]:
        out = []
        for row in df.iter_rows(named=True):
            row = {k: v or "" for k, v in row.items()}
            out.append(next((name for name, fires, spared in checks if fires(row) and not spared(row)), None))
        return out
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=6200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rule-repeats", type=int, default=1, help="timed calls per rule alone (47 rules)")
    ap.add_argument("--top", type=int, default=10)
    a = ap.parse_args()
    df = rows(a.rows)
    rules, _ = load("default")
    print(f"{df.height} rows, {len(rules)} default rules (1 and 3: best of {a.repeats}; 1's warm-up call warms all)")

    whole, got = best(lambda: RuleFilter().reasons(df), a.repeats)
    print(f"1. whole rule set  : {whole:7.3f} s  {df.height / whole:9,.0f} rows/s  "
          f"({got.is_not_null().sum()} rows flagged)")

    costs = [(best(lambda: RuleFilter(only=[r.name]).reasons(df), a.rule_repeats, warm=False)[0], r.name, r.type)
             for r in rules]
    costs.sort(reverse=True)
    print(f"2. each rule alone (best of {a.rule_repeats}): sum {sum(c for c, _, _ in costs):7.3f} s  "
          f"(whole set {whole:.3f} s); costliest {a.top}:")
    for c, name, typ in costs[:a.top]:
        print(f"     {name:24s} {typ:14s} {c:7.3f} s  {100 * c / whole:5.1f}% of the whole set")

    chosen = [r for r in rules if r.type in ("regex", "phrases")]
    names = [r.name for r in chosen]
    ref = reference(chosen)
    t_ref, r_ref = best(lambda: ref(df), a.repeats, warm=False)  # (its patterns are compiled above)
    t_op, r_op = best(lambda: RuleFilter(only=names).reasons(df), a.repeats, warm=False)
    op_names = [x.split(":", 1)[0] if x is not None else None for x in r_op.to_list()]
    flag_diff = sum((x is None) != (y is None) for x, y in zip(r_ref, op_names))
    rule_diff = sum(x != y for x, y in zip(r_ref, op_names))
    n_regex = sum(r.type == "regex" for r in chosen)
    print(f"3. the {len(chosen)} regex/phrases rules ({n_regex} regex, {len(chosen) - n_regex} phrases):")
    print(f"     {f'per-row Python loop (regex {regex.__version__})':38s}: {t_ref:7.3f} s  "
          f"{sum(x is not None for x in r_ref)} rows flagged")
    print(f"     {'RuleFilter(only=those rules)':38s}: {t_op:7.3f} s  "
          f"{sum(x is not None for x in op_names)} rows flagged")
    print(f"     rows flagged by one side only: {flag_diff}; rows whose first rule differs: {rule_diff}")
    print(f"     ratio loop / operator: {t_ref / t_op:.1f}x")
    print("     the loop applies every parameter of these rules (patterns, fields, case folding, max_words,\n"
          "     speech, lines, alone_lines, unless_*/request_in_input_when/only_instruction/decline_instruction/\n"
          "     task_refusal); left\n"
          "     out: the system column (absent here); min_distinct counts phrases present anywhere, not\n"
          "     non-overlapping matches; Python's `$` also matches before a final newline, Rust's does not")


if __name__ == "__main__":
    main()
