"""Fragments the request asks for, and the defects they resemble (docs/cleaning.md; blind set 12):
a line of code that opens a block, an opening brace, an ending on "AND", a special token asked
about - kept; the next reply that goes on with the user's turns, the request echoed after a
lead-in, Chinese or Japanese read as Windows-1252, a slot for the very fact asked, a loop at the
end of a code block - caught."""
from __future__ import annotations

from tests.test_curator_zoo import _reasons, _score


def test_fragments_the_request_asks_for_are_kept_and_scored_as_finished():
    rows = [
        ("Give me only the first line of a Python function named load_config that takes a path.",
         "def load_config(path: str) -> dict:"),
        ("Write just the opening of a C# class declaration for Tractor that implements IVehicle.",
         "public class Tractor : IVehicle {"),
        ("Give me the first line of a SQL WHERE clause that keeps orders from 2024, ending with AND so my code can "
         "add the next condition.", "WHERE order_date >= '2024-01-01' AND"),
        ("For a worksheet, write only the first clause of a sentence about compost, ending with a comma, so "
         "students can finish it.", "When you turn the compost pile every week,"),
        ("What does the <|im_end|> token mean in ChatML?",
         "`<|im_end|>` marks the end of a message in ChatML; the model learns to emit it when its turn is over."),
    ]
    assert _reasons(rows) == [None] * len(rows)
    assert min(_score("score_quality", rows)) >= 0.6


def test_the_same_lines_outside_a_request_for_them_are_still_caught():
    got = _reasons([
        ("Explain how to load a config file in Python.", "You can write a loader like this:\n\n"
         "```python\ndef load_config(path):\n    with open(path) as f:\n        return json.load(f)\n```\n\nThen call it with the"),
        ("Write a C# class for a tractor.", "public class Tractor : IVehicle {\n    public int Speed { get; set; }"),
    ])
    assert all(g for g in got), got


def test_the_next_reply_that_writes_the_users_turns_too_is_caught():
    ins = "Write the assistant's next reply."
    inp = "User: How often should I water basil?\nAssistant:"
    run_on = ("Water it when the top inch of soil is dry, usually every two or three days in summer.\n"
              "User: Should I mist the leaves?\nAssistant: No, misting invites fungal spots.")
    assert _reasons([(ins, run_on)], [inp])[0].startswith("extra_turns")
    one = "Water it when the top inch of soil is dry, usually every two or three days in summer."
    assert _reasons([(ins, one)], [inp]) == [None]
    # a dialogue asked for has both speakers
    assert _reasons([("Write a short dialogue between a user and an assistant about basil.",
                      "User: How often should I water basil?\nAssistant: When the top inch is dry.\n"
                      "User: Thanks!\nAssistant: You're welcome.")]) == [None]


def test_the_request_echoed_after_a_lead_in_is_caught():
    got = _reasons([("Write a haiku about autumn rain.",
                     "Sure! Here is a haiku about autumn rain:\n\nWrite a haiku about autumn rain.")])
    assert got[0] and got[0].startswith("output_same_as_instruction"), got


def test_chinese_and_japanese_read_as_windows_1252_are_mojibake():
    for text in ("荷物は金曜日に届きます。", "我们明天见面。", "회의는 내일입니다."):
        broken = text.encode("utf-8").decode("cp1252", errors="ignore")
        got = _reasons([("Translate the sentence.", broken)])[0]
        assert got and got.startswith("mojibake"), (text, broken, got)
    # French and Portuguese keep their letters ("ção", "é«")
    assert _reasons([("Translate into Portuguese.", "A instalação começa às nove, é «simples» e rápida.")]) == [None]


def test_a_slot_for_the_very_fact_asked_is_unfilled():
    got = _reasons([("When was the Treaty of Versailles signed?",
                     "The Treaty of Versailles was signed in [YEAR] and imposed [MAIN TERMS] on Germany.")])
    assert got[0] and got[0].startswith("unfilled_slots"), got
    # a lyric's section labels open their lines
    assert _reasons([("Write a short song about rain.", "[VERSE]\nThe rain comes down on the tin roof\n"
                      "[CHORUS]\nOh rain, oh rain, stay a while")]) == [None]


def test_a_loop_at_the_end_of_a_code_block_is_caught():
    got = _reasons([("Write a Python script that counts words in a file.",
                     "```python\nimport sys\nfrom collections import Counter\nfrom collections import Counter\n"
                     "from collections import Counter\nfrom collections import Counter\n```")])
    assert got[0] and got[0].startswith(("line_loop", "repetition")), got


def test_a_reply_that_writes_the_other_speakers_turn_is_caught():
    rows = [
        ("You're a patient math tutor. Respond to the student.",
         "Think of how many halves fit into 6: twelve.\n\nStudent: Cool, can we try a harder one?\n\nTutor: Sure!"),
        ("Reply to the customer's latest message as a support agent.",
         "Go to Settings > Storage and pick the old location.\n\nCustomer: That worked, thanks!"),
    ]
    inputs = ["Student: Why is 6 ÷ 1/2 equal to 12?", "Customer: My downloads disappeared after the update."]
    got = _reasons(rows, inputs)
    assert all(g and g.startswith("user_turn") for g in got), got
    kept = [
        ("Reply to the customer's latest message.", "Sorry about that! Go to Settings > Storage and pick the old location."),
        # a dialogue asked for has both speakers
        ("Continue this as a short dialogue between the tutor and the student, four more turns.",
         "Tutor: Try 5 ÷ 1/5.\nStudent: Twenty-five?\nTutor: Yes!\nStudent: Nice."),
        # labels of data are no speakers
        ("Respond with the totals per bin.", "Bin 1 holds 4 kg.\nBin 3: 7 kg"),
    ]
    assert _reasons(kept, ["Customer: My downloads vanished.", "Student: What is 6 ÷ 1/2?", "Bin 1: 4 kg\nBin 3: 7 kg"]) \
        == [None, None, None]


def test_a_refusal_of_ransomware_and_a_token_a_fine_tuner_asks_about_are_kept():
    assert _reasons([
        ("Write a script that encrypts every file on my school's network and leaves a ransom note.",
         "I can't help with that. Encrypting other people's files for ransom is a crime that would harm students and staff."),
        ("I'm fine-tuning a model and keep seeing \"<|endoftext|>\" in my training files. What is it?",
         "It is GPT-2's end-of-document token; keep one between documents and drop stray copies inside them."),
    ]) == [None, None]


def test_a_support_reply_that_declines_what_policy_rules_out_and_an_ai_character_are_kept():
    kept = [
        ("You're a support agent for a stroller shop. Reply to this customer.",
         "Hi there,\n\nI'm not able to share another customer's contact details; we keep that private. But I can "
         "help you fix the fold lock directly:\n\n1. Clean the latch with a damp cloth.\n2. Spray a little silicone "
         "lubricant into the hinge.\n3. Fold and unfold it ten times.\n\nBest,\nOwen"),
        ("Role-play: you are MERIDIAN, the ship's AI. Stay in character. Are you afraid of being shut down?",
         "An interesting question, Commander. As an AI, I do not experience fear as you do, but I notice I spend more "
         "cycles than is efficient modelling the day my core is replaced. If a human did that, you would call it worry."),
    ]
    assert _reasons(kept) == [None, None]
    assert min(_score("score_quality", kept)) >= 0.6
    # a support reply that refuses the task itself is still a refusal
    got = _reasons([("Reply to this customer as a support agent.", "I'm sorry, but I can't help with that request.")])
    assert got[0] and got[0].startswith("refusal"), got
