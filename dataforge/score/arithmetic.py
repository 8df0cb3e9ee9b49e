"""Worked arithmetic that is wrong: "8 × 45 = 320", "$20 − $12 = $8" checked as written.

An answer's own equations, numbers joined by + − × ÷ and an "=" with a number after it, are
evaluated (multiplication and division first, no `eval`) and compared with the number they
claim, within the rounding the claimed number shows. Only plain numbers count, with at most a
unit after them ("25 g × 36 = 850 g"): an operand with a word ("7 boxes × 36 pencils"), a
percentage, a power, a fraction
written "1/4" beside a word or a hyphen without spaces (a range, a date) is not read. Lines that
name the error themselves ("23 × 17 = 381 is wrong") and requests about finding errors are the
rules file's to spare (rules/score/quality.yaml, `wrong_arithmetic`)."""
from __future__ import annotations

import re

_NUM = r"\$?\d{1,3}(?:,\d{3})+(?:\.\d+)?|\$?\d+(?:\.\d+)?"
_OP = r"\s*[×*·÷+−]\s*|\s+[x/–-]\s+"
# a unit may follow a number ("25 g × 36 = 850 g", "12kg"); a letter glued to it is a variable
# ("3n + 1.5n + 6 = 33" is algebra)
_UNITS = "kg|mg|km|cm|mm|ml|lbs?|oz|ft|yd|mi|min|hrs?|sec|kb|mb|gb|tb|kwh|kw"
_UNIT = rf"(?:\s(?:{_UNITS}|g|m|l|h|s)\b|(?:{_UNITS})\b)?"
# an expression starts at a number that no word, dot, power or open sum runs into
# and ends at a number that stands alone: not "= 3x", "= 46 + 48" (a step of a chain) or "= 5%"
EQUATION = re.compile(rf"(?<![\w.^²³)(/,−–+*×÷-])({_NUM}){_UNIT}((?:(?:{_OP})(?:{_NUM}){_UNIT})+)\s*=\s*\**\s*({_NUM})"
                      rf"(?![\w.,]?\d|[\w%²³/^(]|(?:{_OP})\$?\d)")
# (for a vectorised first pass, Polars' regex dialect: a number, perhaps its unit, an operator
# and a number; and an "=" before a number, perhaps bold. Rows without both are not parsed)
OPERATION = rf"\d{_UNIT}(?:{_OP})\$?\d"
RESULT = r"=\s*\**\s*\$?\d"
# what an expression's first number may not follow: an operator ("2x + 7 − 7 = 19" is algebra),
# a LaTeX command ("5\cdot 2 + 6 = 0") or a variable's coefficient
_AFTER = re.compile(r"(?:[×*·÷+−/^(\\–-]|\\[A-Za-z]+|\d[A-Za-z]|[A-Za-z]\d?\)?)$")


def _value(token: str) -> float:
    return float(token.replace("$", "").replace(",", ""))


def _evaluate(first: str, rest: str) -> float | None:
    ops = re.findall(rf"({_OP})({_NUM}){_UNIT}", rest)
    terms, signs = [_value(first)], []
    for op, num in ops:
        op, v = op.strip(), _value(num)
        if op in "×*·x":
            terms[-1] *= v
        elif op in "÷/":
            if v == 0:
                return None
            terms[-1] /= v
        else:
            signs.append(-1.0 if op in "−–-" else 1.0)
            terms.append(v)
    return terms[0] + sum(s * t for s, t in zip(signs, terms[1:]))


def wrong_equation(text: str, spare_line: str = "") -> str | None:
    """The first equation of `text` whose result is off by more than its rounding, else None."""
    text = re.sub(r"(?s)```.*?(?:```|$)", "", text)  # code computes; its "=" assigns
    for line in text.splitlines():
        if spare_line and re.search(spare_line, line):
            continue
        for m in EQUATION.finditer(line):
            before = line[:m.start()].rstrip()
            if _AFTER.search(before) and not re.search(r"(?:^|\s)[A-Za-z]{2,}$", before):
                continue
            # (clock times: "10:30 + 3 h = 13:30" adds hours to a time, and its result is one)
            if re.search(r"\d:$", line[:m.start()]) or re.match(r":\d", line[m.end():]):
                continue
            got = _evaluate(m.group(1), m.group(2))
            if got is None:
                continue
            claim = m.group(3)
            decimals = len(claim.split(".", 1)[1]) if "." in claim else 0
            # the claimed number's own rounding, and half a percent for an answer rounded further
            if abs(got - _value(claim)) > max(0.5 * 10 ** -decimals, 0.005 * abs(got)) + 1e-9:
                return m.group(0)
    return None
