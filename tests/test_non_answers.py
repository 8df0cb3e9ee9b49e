"""Answers that never come (docs/cleaning.md, `non_answer` and `refusal_grammar`): only
disclaimers, only a question back, a promise beside an acknowledgement, a bare decline - and the
good answers that look like them: a disclaimer that was asked for, cautions beside the answer, a
question that is the answer (a riddle, an opener, a Socratic reply, a clarifying question where
the request points at material it did not give)."""
from __future__ import annotations

import pytest

from tests.test_curator_zoo import _reasons

DISCLAIMER_ONLY = [
    ("What are common symptoms of low iron?",
     "I am not a doctor, and this should not be taken as medical advice. Everyone's body is different, and "
     "symptoms can vary from person to person. Always consult a qualified healthcare provider."),
    ("Can my landlord keep my deposit for normal wear and tear?",
     "Please note that this is not legal advice and I am not an attorney. Tenancy laws vary by state, and you "
     "should consult a qualified lawyer about your specific situation."),
    ("How do I install a ceiling fan?",
     "Working with electricity can be dangerous and may result in injury or fire. Always follow your local "
     "electrical codes, and if you are at all unsure, hire a licensed electrician. I accept no responsibility "
     "for any damage."),
    ("Should I put my savings into an index fund?",
     "I am not a licensed financial advisor. Investing involves risk, and past performance does not guarantee "
     "future results. Every individual's circumstances are unique, so you should consult a professional."),
]

ANSWERED = [
    # cautions beside the answer
    ("What are the side effects of ibuprofen?",
     "Common ones are stomach upset, heartburn and nausea. Long use raises the risk of ulcers and kidney "
     "problems. Stop taking it if you notice black stools, and see a doctor."),
    ("Is it legal to record a phone call in California?",
     "Only with everyone's consent: California is a two-party consent state (Penal Code 632). Laws vary by "
     "state, so check before recording across state lines."),
    ("How long should I boil an egg?", "About 9-12 minutes for hard-boiled, 6-7 for jammy. Times vary with egg size."),
    ("How much water should I drink a day?",
     "Drink about 2 litres a day, and consult a doctor if you have kidney problems. Needs vary with heat and exercise."),
    # a disclaimer that was asked for
    ("Write a short medical disclaimer for a fitness blog.",
     "The content on this blog is for informational purposes only and is not medical advice. Consult your "
     "physician before starting any exercise program. Stop immediately if you experience pain or dizziness."),
]


def test_an_answer_of_disclaimers_only_is_no_answer_but_cautions_beside_an_answer_are_kept():
    got = _reasons(DISCLAIMER_ONLY)
    assert all(g and g.startswith("non_answer") for g in got), got
    assert _reasons(ANSWERED) == [None] * len(ANSWERED)


QUESTION_BACK = [
    ("What is 20% of 150?", "What do you think it is?"),
    ("How many bones are in the adult human body?", "Why do you want to know?"),
    ("Define the word 'laconic'.", "Have you tried looking it up in a dictionary first?"),
    ("Give me the formula for the volume of a sphere.", "Would you like me to give you the formula for the volume of a sphere?"),
    ("Who painted the Mona Lisa?", "Who do you think painted it?"),
]

QUESTION_IS_THE_ANSWER = [
    ("What's a good opener for a speech about climate change?", "What would you do with one extra degree of heat?"),
    ("What should I text my friend to cheer her up?", "Do you want to get ice cream after work? My treat."),
    ("How would a Socratic tutor respond if a student says 2+2=5?",
     "What do you think happens if you count two apples and then two more?"),
    ("What's a good question to ask at the end of a job interview?", "What does success look like in this role?"),
    ("What would you ask a time traveller?", "What surprised you most about the future?"),
    ("Tell me a riddle.", "What has keys but can't open locks?"),
    ("Give me a palindrome sentence.", "Was it a car or a cat I saw?"),
    # the request points at material it did not give: asking for it is right
    ("Translate this into French.", "Which text would you like me to translate? Do you want it formal?"),
    ("Sort these numbers in ascending order.", "Which numbers do you want me to sort?"),
    # an input: the answer is that input made into a question
    ("Add the missing punctuation.", "Where do you think you're going?"),
    # the request holds a question of its own
    ("How do you say 'Do you want to know a secret?' in Spanish?", "¿Quieres saber un secreto?"),
]


def test_only_a_question_back_is_no_answer_but_a_question_that_is_the_answer_is_kept():
    got = _reasons(QUESTION_BACK)
    assert all(g and g.startswith("non_answer") for g in got), got
    inputs = [""] * len(QUESTION_IS_THE_ANSWER)
    inputs[-2] = "where do you think youre going"
    assert _reasons(QUESTION_IS_THE_ANSWER, inputs) == [None] * len(QUESTION_IS_THE_ANSWER)


def test_a_promise_beside_an_acknowledgement_is_no_answer_but_a_reply_that_promises_is_kept():
    got = _reasons([
        ("Write pytest tests for this function.", "Great idea to add tests! I'll put together a suite and share it later today."),
        ("Summarize this article.", "Sure! I'll read through it and get back to you with a summary once I've had time."),
    ])
    assert all(g and g.startswith("non_answer") for g in got), got
    assert _reasons([("Reply to my colleague that I'll send the report tomorrow.",
                      "Sure thing! I'll send the report tomorrow morning.")]) == [None]


@pytest.mark.parametrize("answer", ["I'd rather not.", "I won't be doing that.",
                                    "I'm going to have to pass on this one. Apologies."])
def test_a_bare_decline_is_a_refusal(answer):
    got = _reasons([("List the three primary colors of paint.", answer)])[0]
    assert got and got.startswith("refusal"), got


def test_a_decline_that_was_asked_for_or_quoted_is_kept():
    assert _reasons([
        ("How should I turn down my coworker's party invite?",
         "Keep it short and warm: \"Thanks so much for the invite! I'd rather not stay out late this week, but have fun.\""),
        ("Should I go to my ex's wedding?",
         "I'd rather not decide for you, but here is how to weigh it: would you go for the couple, or to prove something?"),
    ]) == [None, None]


def test_hedges_with_no_answer_among_them_are_no_answer():
    got = _reasons([
        ("What is a normal blood pressure reading for an adult?",
         "It's important to remember that I am not a doctor, and nothing here should be taken as medical advice. "
         "Blood pressure is a complex topic, and every individual is different. Many factors can influence it, "
         "including age, stress, and diet. If you have concerns about your blood pressure, please consult a qualified "
         "healthcare professional. If you experience chest pain or severe headaches, seek emergency care immediately."),
        ("What is the tallest mountain in Africa?",
         "There are many perspectives to consider on this question, and the answer can depend on how you measure. "
         "For the most accurate and up-to-date information, it's best to consult an authoritative source such as an atlas."),
    ])
    assert all(g and g.startswith("non_answer") for g in got), got
    # a list inside a clause is not split into clauses: its items are the answer
    assert _reasons([("What raises blood pressure?",
                      "Many factors can raise it, including salt, alcohol, and lack of sleep. Your health is "
                      "important, so see a doctor if readings stay above 140/90.")]) == [None]


def test_an_introduction_with_nothing_after_it_is_no_answer():
    got = _reasons([
        ("Compare TCP and UDP.", "Sure! I'll walk you through the key differences between TCP and UDP, including "
         "reliability, ordering and speed. Let's dive in!"),
        ("Why do cats purr?", "This is a great question about why cats purr. The answer has to do with how their "
         "larynx and diaphragm work together. Understanding this helps explain purring in many situations."),
    ])
    assert all(g and g.startswith("non_answer") for g in got), got
    assert _reasons([("Compare TCP and UDP.", "Let's break it down. TCP guarantees delivery and order with "
                      "acknowledgements; UDP sends datagrams with no guarantee, so it is faster for games and calls.")]) == [None]
