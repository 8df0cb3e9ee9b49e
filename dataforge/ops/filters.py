"""Rule filters: rules are data (rules/filters/*.yaml), each a named reason; this
operator evaluates them column-wise and rejects a row with the first rule that fires."""
from __future__ import annotations

import polars as pl

from dataforge.clean import rules as R
from dataforge.errors import ConfigError
from dataforge.ops.base import FilterOp, param, register


@register
class RuleFilter(FilterOp):
    """Rules from rules/filters/RULES.yaml: refusals, placeholders, truncation, repetition, ..."""

    name = "rule_filter"
    batch_parallel = True
    rules: str = "default"  # a file in rules/filters/ (without .yaml) or a path
    only: list[str] = param(default_factory=list)  # run only these rules
    skip: list[str] = param(default_factory=list)  # run all but these
    override: dict[str, dict] = param(default_factory=dict)  # {rule: {param: value}}

    def validate(self):
        rules, _ = R.load(self.rules)
        names = {r.name for r in rules}
        unknown = sorted((set(self.only) | set(self.skip) | set(self.override)) - names)
        if unknown:
            raise ConfigError(f"rule_filter: unknown rule(s) {unknown} in {self.rules}; rules: {sorted(names)}")

    def active(self) -> list[R.Rule]:
        rules, _ = R.load(self.rules)
        out = []
        for r in rules:
            if (self.only and r.name not in self.only) or r.name in self.skip:
                continue
            out.append(R.Rule(r.name, r.type, {**r.params, **self.override.get(r.name, {})}, r.source))
        return out

    def columns_in(self):
        cols: list[str] = []
        for r in self.active():
            default = ["instruction", "output"] if r.type == "same_text" else ["output"]
            for c in r.fields(default) + R.context_columns(r):
                if c not in cols:
                    cols.append(c)
        return cols

    def fingerprint_extra(self):
        return R.load(self.rules)[1]

    def setup(self):
        self._rules = self.active()
        self._cols = self.columns_in()  # builders read these columns; the rest need not travel

    def reasons(self, df: pl.DataFrame) -> pl.Series:
        self.ensure_setup()
        return R.reasons(self._rules, df.select([c for c in self._cols if c in df.columns]))
