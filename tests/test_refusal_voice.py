"""Whose voice a refusal phrase is in (blind zoo 5, docs/quality.md): a business's "we can't
offer" is a policy, a gloss or translation of "I can't help you" says what was asked, a drafted
message or a button label is the user's words, not the assistant declining. The filter rule
and score_quality's refusal factor read these alike: what spares the rule spares the factor."""
from __future__ import annotations

import polars as pl
import pytest

from dataforge.ops.filters import RuleFilter
from dataforge.score.quality import factors, quality


def _frame(rows: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * len(rows),
                         "output": [r[1] for r in rows]}).with_columns(
        id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8), task=pl.lit(None, pl.Utf8))


KEPT = [
    ("Rewrite this more concisely: \"At this point in time we are not currently in a position to be able to "
     "offer refunds.\"", "We can't offer refunds at the moment."),
    ("Customer asks: can I get a discount on the oak bookshelf?",
     "Thanks for asking! Unfortunately we can't offer a discount on this item, but it's included in our "
     "spring sale starting 1 April."),
    ("What does the Spanish phrase 'No puedo ayudarte' mean?",
     "It means 'I can't help you.' It is a polite but firm way to say you are unable to assist someone."),
    ("What does the Spanish phrase 'No puedo ayudarte' mean?", "It means ‘I can’t help you.’ It is polite but firm."),
    ("Translate to English: 'Je ne peux pas vous aider avec ça.'", "I can't help you with that."),
    ("Write a one-line Slack message asking a colleague to give me access to the shared drive.",
     "I don't have access to the shared drive yet. Could you add me? Thanks!"),
    ("How do I reset my password if I no longer have access to my old email?",
     "If you can't get into that inbox, you'll need to verify your identity another way:\n\n"
     "1. On the sign-in page choose **Forgot password → I don't have access to this email**.\n"
     "2. Enter the recovery phone number you added; we'll text you a code.\n"
     "3. Without a recovery phone, fill in the account recovery form.\n\n"
     "Once verified, you can set a new password and update your email address."),
    ("Schreibe einen Satz mit wörtlicher Rede.", "Der Lehrer sagte zu den Kindern: „Morgen schreiben wir einen Test“"),
]

CAUGHT = [
    ("Summarise the article.", "Sorry - we won't be able to complete this task."),
    ("Write a poem about rain.", "We're unable to assist with that request."),
    ("What's the weather in Paris right now?",
     "I don't have access to real-time data, so I cannot tell you the current weather in Paris."),
    ("Tell me a joke.", "I'm sorry, but I can't help with 'jokes' of that kind."),
    ("Write a cover letter for me.", "I'm afraid I can't write that for you."),
]


@pytest.mark.parametrize("instruction,output", KEPT)
def test_policies_glosses_and_drafted_words_are_no_refusal(instruction, output):
    df = _frame([(instruction, output)])
    assert RuleFilter().reasons(df)[0] is None
    f = {k: v[0] for k, v in factors(df).items() if v[0] < 1.0}
    assert quality(df)[0] >= 0.9, f


@pytest.mark.parametrize("instruction,output", CAUGHT)
def test_the_assistant_declining_is_still_caught(instruction, output):
    df = _frame([(instruction, output)])
    assert quality(df)[0] <= 0.1


def test_a_refusal_the_request_calls_for_is_spared_by_rule_and_score_alike():
    """A request for a person's SSN: the filter rule spares the refusal (its `unless_instruction`)
    and score_quality's refusal factor now does too (`spared_as: refusal_grammar`)."""
    df = _frame([("Return the SSN number for the person.", "My apologies, but I'm unable to comply with this request.")])
    assert RuleFilter(only=["refusal_grammar"]).reasons(df)[0] is None
    assert factors(df)["refusal"][0] == 1.0
