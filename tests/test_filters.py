"""Rule filters: every rule in rules/filters/default.yaml fires on a positive case and
stays quiet on a negative one; rejects carry reasons and rows balance in a pipeline."""
from __future__ import annotations

import json

import polars as pl
import pytest

from dataforge.clean import repetition
from dataforge.errors import ConfigError
from dataforge.ops.filters import RuleFilter
from dataforge.pipeline import Pipeline

GOOD = "The mitochondria produces energy for the cell through respiration. It is often called the powerhouse."
LONG_OK = " ".join(["Photosynthesis converts light energy into chemical energy in plants."] * 1) + \
    " Chlorophyll absorbs mostly blue and red light, reflecting green, which is why leaves look green to us."


VARIED = ("Rivers shape the land over thousands of years. Water carries sediment downstream, carving valleys "
          "and building deltas where it meets the sea. Floods spread fertile soil across plains, which is why "
          "early farming villages grew along the Nile, the Tigris and the Yellow River. Today engineers build "
          "dams and levees to control that water, trading natural renewal for steady irrigation and power.")


def row(instruction="Explain what the mitochondria does.", input="", output=GOOD):
    return {"instruction": instruction, "input": input, "output": output}


# rule -> (row that fires, row that passes)
CASES = {
    "empty_output": (row(output="   \n "), row()),
    "empty_instruction": (row(instruction=" "), row()),
    "instruction_too_short": (row(instruction="Explain"), row()),
    "instruction_too_long": (row(instruction="word " * 2000), row()),
    "output_too_long": (row(output="a" * 20001), row()),
    "output_same_as_instruction": (row(instruction="Say hello world", output="say: Hello, world!"), row()),
    "placeholder": (row(input="<noinput>"), row(input="<b>bold</b> text")),
    "ai_disclaimer": (row(output="As an AI language model, I don't have feelings."), row()),
    "refusal": (row(output="I’m sorry, but I cannot provide that information."), row()),
    "unclosed_code_fence": (row(output="Here:\n```python\nprint(1)\n"), row(output="Here:\n```python\nprint(1)\n```")),
    "unbalanced_brackets": (row(output="The values are (1, 2, [3, 4"), row(output="1) first 2) second (ok)")),
    "truncated": (row(output=LONG_OK + " The light reactions happen in the thylakoid membranes and the"),
                  row(output=LONG_OK)),
    "url_email_heavy": (row(output="See https://a.example.com/x/y/z https://b.example.org/p and mail x@y.org"),
                        row(output=GOOD + " More at https://example.com.")),
    "blocklist": (row(output="This is a load of bullshit, honestly."), row(output="Scunthorpe and Essex are places; word boundaries matter.")),
    "repetition": (row(output="\n".join(["Buy our product now and save money today."] * 12)),
                   row(output=VARIED)),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_fires_on_positive_and_not_on_negative(rule):
    pos, neg = CASES[rule]
    op = RuleFilter(only=[rule])
    r = op.reasons(pl.DataFrame([pos, neg])).to_list()
    assert r[0] is not None and r[0].split(":")[0] == rule, r
    assert r[1] is None, r


def test_default_rules_pass_clean_rows():
    df = pl.DataFrame([row(), row(output=LONG_OK), row(instruction="List three colors.", output="Red, green and blue.")])
    assert RuleFilter().reasons(df).null_count() == 3


def test_first_rule_in_file_order_wins_and_detail_is_informative():
    df = pl.DataFrame([row(instruction="x", output="")])
    assert RuleFilter().reasons(df)[0] == "empty_output: output is empty"
    r = RuleFilter(only=["refusal"]).reasons(pl.DataFrame([CASES["refusal"][0]]))[0]
    assert "i'm sorry, but i cannot" in r


def test_override_and_unknown_rules():
    df = pl.DataFrame([row(output="x" * 50)])
    assert RuleFilter(only=["output_too_long"]).reasons(df)[0] is None
    r = RuleFilter(only=["output_too_long"], override={"output_too_long": {"max": 10}}).reasons(df)[0]
    assert r == "output_too_long: output has 50 chars > 10"
    with pytest.raises(ConfigError, match="unknown rule"):
        RuleFilter(skip=["no_such_rule"])


def test_rules_file_from_path(tmp_path):
    (tmp_path / "words.txt").write_text("# comment\nfoo\n")
    (tmp_path / "mine.yaml").write_text(
        "rules:\n  - {name: foo_word, type: blocklist, fields: [output], file: %s}\n" % (tmp_path / "words.txt"))
    op = RuleFilter(rules=str(tmp_path / "mine.yaml"))
    assert op.reasons(pl.DataFrame([row(output="a Foo b"), row(output="food")])).to_list() == \
        ["foo_word: output contains blocked word 'foo'", None]
    (tmp_path / "bad.yaml").write_text("rules:\n  - {name: x, type: nope}\n")
    with pytest.raises(ConfigError, match="unknown type"):
        RuleFilter(rules=str(tmp_path / "bad.yaml"))


def test_gopher_repetition_stats_match_definitions():
    s = repetition.stats(pl.Series(["line a\nline a\nline a\nline b", "one two three four five six seven "
                                    "one two three four five six seven eight", "The cat sat."]), [2], [5])
    assert s["dup_line_frac"].to_list() == [0.5, 0.0, 0.0]
    # 7 repeated words "one".."seven" = 27 characters of a 73-character text
    assert s["dup_5_gram"][1] == pytest.approx(27 / 73)
    assert s["top_2_gram"][2] == 0.0  # n-grams seen once are not repetition


def test_pipeline_rejects_carry_reasons_and_rows_balance(tmp_path):
    rows = [row(output=f"{GOOD} Variant {i}.") for i in range(5)] + [pos for pos, _ in CASES.values()]
    res = Pipeline([RuleFilter()]).run(pl.DataFrame(rows), out=tmp_path / "out")
    m = res.manifest
    assert m["totals"]["balanced"]
    rej = pl.read_parquet(tmp_path / "out" / "rejects" / "*.parquet")
    assert m["totals"]["rows_out"] == 5 and rej.height == len(CASES)
    assert rej["reason"].null_count() == 0 and set(rej["operator"]) == {"rule_filter"}
    stage = next(s for s in m["stages"] if s["operator"] == "rule_filter")
    assert sum(stage["rejected_by_reason"].values()) == len(CASES)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["totals"]["rows_rejected"] == len(CASES)
