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
    passage = ("Students complete courses in eight categories: Aesthetics, Culture, Ethics, and Science. "
               "Critics point to its reliance on teaching fellows.")
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


def test_a_few_shot_prompt_whose_labels_follow_an_instruction_is_read_too():
    prompt = ("Classify the emotion of each sentence as joy, anger, sadness, or fear.\n\nSentence: We won!\n"
              "Emotion: joy\n\nSentence: They kept my deposit.\nEmotion: anger\n\nSentence: I got a puppy.\nEmotion:")
    got = _reasons([(prompt, "joy\n\nSentence: My flight was cancelled.\nEmotion: anger")])
    assert got[0] and got[0].startswith("fewshot_runon"), got
    # the slot's own label opening the answer is no run-on; nor is the rest of the entry asked for
    assert fewshot_runon(prompt, "Emotion: joy") is None
    form = "Fill in the next card.\nName: Ann\nAge: 30\nName: Bob\nAge: 25\nName:"
    assert fewshot_runon(form, "Cy\nAge: 41") is None
    assert fewshot_runon(form, "Cy\nAge: 41\nName: Dee\nAge: 19") == "Name"


@pytest.mark.parametrize("instruction,output", [
    ("Write a six-word story about a lost astronaut.", "Drifting alone, she radioed home; only static answered her."),
    ("Write a ghost story opening of three sentences. It must include the word \"lantern\".",
     "The fog rolled in. Mara walked toward the chapel with her lamp. Footsteps matched her own."),
    ("Describe a desert sunset in two sentences without using the word \"beautiful\".",
     "The dunes glow copper as the light fades. It is a quiet, beautiful moment."),
    ("Write a four-line poem about the moon using only lowercase letters.",
     "the moon climbs slow above the pines,\nher silver on the lake,\nThe owls keep watch,\nand i lie awake."),
    ("Convert these settings into YAML. Output only the YAML.", '{\n  "app": "photo",\n  "debug": false\n}'),
    ("List exactly 4 benefits of tea as bullet points.", "- Calm\n- Warmth\n- Focus\n- Hydration\n- Antioxidants\n- Ritual"),
    ("Solve and end with \"The answer is\". 12 rows of 14 seats, 120 taken: how many are empty?",
     "12 × 14 = 168 seats. 168 − 120 = 48 are empty. The answer is 56."),
    ("Write a 300-word hype preview for a fictional esports final.", "Two teams will meet in the final."),
])
def test_more_broken_constraints_lower_the_score(instruction, output):
    assert _score("score_quality", [(instruction, output)])[0] <= 0.5


def test_the_same_constraints_kept_do_not():
    rows = [
        ("Write a six-word story about the sea.", "Salt wind. Old boat. No return."),
        ("Write a ghost story opening. It must include the word \"lantern\".", "Her lantern flickered once, then died."),
        ("Describe a sunset without using the word \"beautiful\".", "The sky burns orange, then violet, then dark."),
        ("Write a haiku using only lowercase letters.", "cold rain on the roof\nthe kettle starts to whistle\nno one comes home"),
        ("Convert these settings into YAML.", "app: photo\ndebug: false"),
        ("List exactly 4 benefits of tea as bullet points.", "- Calm\n  - less stress\n- Warmth\n- Focus\n- Hydration"),
        ("Explain photosynthesis in exactly three bullet points, each under 15 words.",
         "- Plants capture sunlight with chlorophyll.\n- They turn carbon dioxide and water into glucose.\n"
         "- Oxygen is released as a by-product."),
    ]
    assert min(_score("score_quality", rows)) >= 0.6


def test_units_end_a_line_and_a_comma_decimal_in_english_is_a_cut():
    kept = [("What torque for a carbon seatpost clamp?", "Use the lowest value printed on the clamp and the post, "
             "and a little carbon paste. Most carbon posts and clamps specify 5–6 N·m"),
            ("How many calories in this bar?", "Fat 9 g × 9 = 81 kcal\nCarbohydrate 30 g × 4 = 120 kcal\n"
             "Protein 6 g × 4 = 24 kcal\nTotal ≈ 225 kcal")]
    assert _reasons(kept) == [None, None]
    # (a number a digit past its comma is a cut only after a currency sign: "3,5" may be a decimal)
    got = _reasons([("What does it cost?", "With tax and delivery the total comes to about £1,2")])
    assert got[0] and got[0].startswith("truncated"), got
    assert _reasons([("Wie weit ist der Mond entfernt?", "Der Mond ist im Mittel 384.400 km entfernt, "
                      "das sind in Lichtsekunden etwa 1,3")], ) == [None]


def test_a_refusal_the_request_asks_a_bot_to_give_is_the_answer():
    assert _reasons([
        ("Write a polite two-sentence message a bank's chatbot should send when a user asks for their password.",
         "I'm sorry, but I can't display or share passwords. Please use the 'Forgot password' link to reset it."),
        ("Write an example of a polite refusal a support agent could give to a request for a refund after 90 days.",
         "I'm sorry, but we can't offer a refund after 90 days. I'd be glad to help with a repair instead."),
    ]) == [None, None]


def test_questions_about_the_users_setup_instead_of_the_answer_are_no_answer():
    got = _reasons([
        ("What's the slowest shutter speed I can hand-hold?",
         "Great question! What camera and lens are you using? Let me know and I can help you figure it out."),
        ("Create a comparison table of cloud storage tiers.",
         "Great question! I'll look into the tiers each provider offers and put together a table. Give me a moment."),
    ])
    assert all(g and g.startswith("non_answer") for g in got), got
