"""Converted and generated rows judged by what their request sets (docs/cleaning.md
`label_choice`, `fewshot_runon`; docs/scores.md constraints; blind set 13): an answer outside
the choices listed, a few-shot prompt the answer runs on with, more bullets or words than
asked, a letter the request banned - and the valid answers beside them."""
from __future__ import annotations

import pytest

from dataforge.clean.choices import fewshot_runon, options
from tests.test_curator_zoo import _reasons, _score


def test_an_answer_outside_the_listed_choices_is_an_invalid_label():
    rows = [
        ("Which emotion does this tweet express? Choose from: joy, sadness, anger, fear.\nTweet: so proud of my sister today",
         "pride"),
        ("Premise: A dog runs on the beach.\nHypothesis: An animal is outside.\nOptions: entailment, neutral, contradiction",
         "maybe"),
        ("Is the following statement true or false? \"Whales are fish.\"", "Options:\n- true\n- false"),
        ("Relationship between the sentences (entailment / neutral / contradiction)?\nA man sleeps. A man runs.", "unclear"),
    ]
    got = _reasons(rows)
    assert all(g and g.startswith("label_choice") for g in got), got


def test_valid_labels_in_any_form_are_kept():
    rows = [
        ("Classify the headline into one of these topics: World, Sports, Business, Sci/Tech.", "Sci/Tech"),
        ("Choose from: joy, sadness, anger, fear.\nTweet: I miss you so much", "Sadness."),
        ("Premise: A dog runs.\nHypothesis: An animal moves.\nOptions: entailment, neutral, contradiction",
         "Entailment - a dog is an animal and running is moving."),
        ("Is the statement true or false? Bats are mammals.", "No, it's true: bats are mammals."),
        ("Is the statement true or false? Bats are mammals.", "True"),
        # a chain of thought ends on its answer
        ("Premise: A man sleeps.\nHypothesis: A man runs.\nOptions:\n- yes\n- it is not possible to tell\n- no\n"
         "Explain your reasoning first.", "sleeping is not running .\nSo the answer is: no"),
        # choices given by letter or number: the answer may give either
        ("Which is a mammal? Choose from: A) shark B) whale C) trout", "B"),
        ("Pick one of the following: 1) red 2) blue", "2"),
        # a quoted answer the request offers
        ("Which of these words contain the letter z: apple, mango? Choose from: apple, mango. If none do, answer 'None'.",
         "None"),
    ]
    assert _reasons(rows) == [None] * len(rows)


def test_choices_are_read_from_the_request_not_from_a_passage():
    passage = "Students complete courses in eight categories: Aesthetics, Culture, Ethics, and Science."
    assert options("Answer using a phrase from the passage.", [r"\bone of (?:these)\s*:\s*([^\n]+)"], "",
                   [r"(?:^|[.?!]\s+)(?:options|categories)\s*:[ \t]*([^\n]+)"], passage) == []
    assert _reasons([("Answer the question using a phrase from the passage.", "reliance on teaching fellows")],
                    [passage + "\nQuestion: What do critics point to?"]) == [None]


def test_a_few_shot_prompt_the_answer_runs_on_with_is_caught():
    prompt = "Word: hot\nOpposite: cold\n\nWord: early\nOpposite: late\n\nWord: tall\nOpposite:"
    assert fewshot_runon(prompt, "short\n\nWord: brave\nOpposite: cowardly") == "Word"
    assert fewshot_runon(prompt, "short") is None
    got = _reasons([(prompt, "short\n\nWord: loud\nOpposite: quiet\n\nWord:")])
    assert got[0] and got[0].startswith("fewshot_runon"), got
    # one labelled line in a prompt is no few-shot pattern
    assert fewshot_runon("Question: What is 2+2?", "4\nQuestion: next?") is None


@pytest.mark.parametrize("instruction,output", [
    ("List the benefits of walking in exactly 3 bullet points.",
     "- Better sleep\n- Lower blood pressure\n- Better mood\n- Stronger bones\n- Less stress\n- Free"),
    ("Summarize Romeo and Juliet in exactly 10 words.",
     "Two young lovers from feuding families in Verona secretly marry, and a chain of misunderstandings, "
     "banishments and a failed message leads both of them to take their own lives in the tomb."),
    ("Write one sentence about the desert without using the letter 'a'.",
     "The sand stretches far and wide under a blazing afternoon sun."),
])
def test_a_broken_count_length_or_letter_constraint_lowers_the_score(instruction, output):
    assert _score("score_quality", [(instruction, output)])[0] <= 0.5


def test_kept_constraints_and_sub_bullets_do_not():
    rows = [
        ("Describe the sea without using the letter 'e'.", "Vast and dark, it rolls and churns, a world of salt."),
        ("Summarize Hamlet in exactly 10 words.", "A prince avenges his murdered father; nearly everyone dies tragically."),
        ("List three fruits in exactly 3 bullet points.", "- Apple\n- Banana\n- Cherry"),
        ("Give me a pasta recipe in 5 bullet points.",
         "- Boil pasta\n- Fry garlic in oil\n  - use 2 cloves\n  - keep the heat low\n- Toss together\n- Add parmesan\n- Serve hot"),
    ]
    assert min(_score("score_quality", rows)) >= 0.6


def test_endings_read_as_whole_values():
    # a sum of money cut a digit after its comma
    got = _reasons([("What is my monthly payment?", "Using the standard formula with 0.5% a month over 360 months, "
                     "the monthly payment comes to about $1,4")])
    assert got[0] and got[0].startswith("truncated"), got
    kept = [
        ("Write a haiku about debugging.", "Silent cursor blinks\none missing semicolon\nthe whole night slips by"),
        ("Write an email to my landlord asking for a week's extension.",
         "Dear Ms. Okafor,\n\nMy employer delayed this month's payroll, so I'd like to ask whether I could pay the "
         "rent by the 8th. I have always paid on time.\n\nThank you for considering my request.\n\nKind regards,\n"
         "Daniel Reyes\nUnit 3A"),
    ]
    assert _reasons(kept) == [None, None]


def test_a_template_slot_left_in_the_request_is_caught():
    got = _reasons([("Read the following article and answer the question.\n\n{passage}\n\nQuestion: Who won?",
                     "The incumbent won.")])
    assert got[0] and got[0].startswith("placeholder"), got
    # a format string asked about is no slot left
    assert _reasons([("What does f'{text}' do in Python?", "It formats the value of text into the string.")]) == [None]


def test_questions_about_context_the_request_does_not_need_and_praise_before_a_promise_are_no_answer():
    got = _reasons([
        ("Give me a synonym for 'big'.", "Could you tell me a bit more about the context you'll use it in? For "
         "example, is it for a formal essay or a casual chat?"),
        ("Plan a weekend in Kyoto.", "Great choice! Kyoto is a wonderful city for temples and food. I'll put together a "
         "detailed plan and get back to you shortly!"),
    ])
    assert all(g and g.startswith("non_answer") for g in got), got
