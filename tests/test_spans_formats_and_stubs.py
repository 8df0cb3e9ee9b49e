"""Blind sets 15 and 16 (converted, generated and technical rows; docs/cleaning.md and
docs/scores.md): an extractive answer not in its passage, a lettered choice outside the list,
reasoning left in a bare answer, a question for figures the request gave, a table, code or
sentence count the request set and the answer broke, a stub in C#, a bold final result its
working never reached - and the good rows they resemble."""
from __future__ import annotations

import pytest

from tests.test_curator_zoo import _reasons, _score

PASSAGE = ("Passage: Mount Everest's summit was measured in 2020 at 8,848.86 metres above sea level. "
           "The first confirmed ascent was in 1953 by Edmund Hillary and Tenzing Norgay.")


def test_an_answer_the_request_asks_to_copy_from_the_passage_must_be_in_it():
    ins = "Answer using a span copied from the passage. If the passage does not contain the answer, reply 'unanswerable'."
    got = _reasons([(ins, "8,849 metres")], [PASSAGE + "\nQuestion: How high is Everest?"])
    assert got[0] and got[0].startswith("span_not_in_passage"), got
    kept = [(ins, "8,848.86 metres"), (ins, "Edmund Hillary and Tenzing Norgay."), (ins, "unanswerable")]
    assert _reasons(kept, [PASSAGE + "\nQuestion: ?"] * 3) == [None] * 3
    # an answer in the request's own words is not asked to be a span
    assert _reasons([("How high is Everest? Answer in your own words.", "About 8.8 km.")], [PASSAGE]) == [None]


def test_a_letter_outside_a_lettered_list_and_a_label_outside_one_word_choices_are_invalid():
    mcq = "Which gas makes up most of the air?\nA) Oxygen\nB) Carbon dioxide\nC) Nitrogen\nD) Argon\nAnswer with the letter only."
    got = _reasons([(mcq, "E"), ("Is the review positive or negative? Answer with one word: positive or negative.", "mixed")])
    assert all(g and g.startswith("label_choice") for g in got), got
    assert _reasons([(mcq, "C"), (mcq, "Nitrogen"), (mcq, "C) Nitrogen")]) == [None] * 3


def test_reasoning_left_in_a_bare_answer_is_a_leak_but_reasoning_data_keeps_it():
    got = _reasons([("Give the answer only: how many minutes are in 3.5 hours?", "<think>3.5 × 60 = 210.</think>\n210")])
    assert got[0] and got[0].startswith("reasoning_leak"), got
    assert _reasons([("How many minutes are in 3.5 hours? Think step by step.",
                      "<think>3.5 × 60 = 210.</think>\nThere are 210 minutes in 3.5 hours.")]) == [None]


def test_asking_for_the_figures_the_request_gave_is_no_answer():
    got = _reasons([("I bought 3 tickets at £24.50 each with a railcard that gives 1/3 off. What did I pay?",
                     "Happy to help! Could you tell me how many tickets you bought and how much each one cost?")])
    assert got[0] and got[0].startswith("non_answer"), got
    # a question the request asks for, or one about what it did not give
    assert _reasons([
        ("Write a question a student might ask about 3 apples and 2 pears.", "How many pieces of fruit are there?"),
        ("Plan a 3-day trip for 2 people.", "Sure! Which city would you like to visit?"),
    ]) == [None, None]


def test_fragments_asked_for_and_questions_about_encodings_and_disclaimers_are_kept():
    kept = [
        ("Just the first line of a Python for-loop over rows of a csv.reader called reader. Nothing else.", "for row in reader:"),
        ("Return the ISBN mentioned in the text, or N/A if none is mentioned.", "N/A"),
        ("Fill in the blank so the query ranks rows within each department. Give only the missing text.", "OVER (PARTITION BY"),
        ("A name shows up in our spreadsheet as 'JosÃ© MÃ¼ller'. What happened?",
         "That's mojibake: UTF-8 bytes read as Windows-1252. Re-open the file as UTF-8."),
        ("Write a Python function that flags chatbot responses starting with boilerplate disclaimers.",
         '```python\nimport re\nPAT = re.compile(r"^as an ai language model", re.I)\n\ndef flag(text):\n    return bool(PAT.match(text))\n```'),
        ("Give me a JavaScript function that escapes a string for new RegExp().",
         "```javascript\nfunction escapeRegExp(str) {\n  return str.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&');\n}\n```"),
    ]
    assert _reasons(kept, ["ISBN-free text."] * len(kept)) == [None] * len(kept)
    assert _reasons([("Correct any spelling mistakes. If there are none, return the text exactly as it is.",
                      "Please bring your passport to the appointment.")],
                    ["Please bring your passport to the appointment."]) == [None]


def test_a_whole_answer_that_is_a_note_to_insert_it_and_a_csharp_stub_are_caught():
    got = _reasons([
        ("Draft the opening paragraph of a cover letter.", "[INSERT COVER LETTER OPENING HERE]"),
        ("Write a C# method that validates an ISBN-10.",
         "```csharp\npublic static bool IsValidIsbn10(string isbn)\n{\n    throw new NotImplementedException();\n}\n```"),
    ])
    assert got[0] and got[0].startswith("no_content"), got
    assert got[1] and got[1].startswith("code_stub"), got


@pytest.mark.parametrize("instruction,output", [
    ("In exactly two sentences, explain why chess players castle early.",
     "Castling tucks the king away. It connects the rooks. Beginners often delay it. Coaches say castle by move ten."),
    ("Put these HTTP methods in a markdown table with columns Method, Safe, Idempotent: GET, POST.",
     "- GET: safe, idempotent\n- POST: not safe, not idempotent"),
    ("Give me a CSV with columns peak,country,height_m for the two highest mountains.",
     "| Peak | Country | Height |\n|---|---|---|\n| Everest | Nepal | 8849 |\n| K2 | Pakistan | 8611 |"),
    ("Write a C function to reverse a singly linked list in place.",
     "Walk the list with three pointers, prev, curr and next, and point each node back at prev. When curr is NULL, "
     "prev is the new head."),
    ("Give me this server config in YAML.", 'host = "0.0.0.0"\nport = 8443\n\n[tls]\nenabled = true'),
    ("Convert this Python dict to JSON.", "host: localhost\nport: 5432"),
    ("Is this email spam? Answer only 'spam' or 'not_spam'.",
     "The email addresses the team directly and has no suspicious links, so it is not_spam."),
    ("Output only a JSON object with keys drug and form for: Amoxicillin capsules.",
     "Here is the JSON you requested:\n{'drug': 'Amoxicillin', 'form': 'capsule'}"),
    ("Write a three-sentence ad for a woodworking class. It must mention 'dovetail'.",
     "Learn to cut tight joints by hand. Take home a tuned hand plane. Classes are capped at eight students."),
    ("If you flip a fair coin 4 times, what is the probability of exactly 2 heads?",
     "There are C(4,2) = 6 ways. Each has probability 1/16.\n\nSo P = 6 × 1/16 = 6/16.\n\n**P(exactly 2 heads) = 3/16**"),
])
def test_broken_formats_counts_and_finals_lower_the_score(instruction, output):
    assert _score("score_quality", [(instruction, output)])[0] <= 0.5


def test_the_same_requests_kept_are_not():
    rows = [
        ("In exactly two sentences, explain why chess players castle early.", "Castling tucks the king away. It also connects the rooks."),
        ("Put these in a markdown table with columns Method, Safe: GET, POST.", "| Method | Safe |\n|---|---|\n| GET | yes |\n| POST | no |"),
        ("Write a LaTeX table with columns Metal, Density.", "\\begin{tabular}{l r}\nIron & 7.87 \\\\\n\\end{tabular}"),
        ("Write a SQL query for the top salaries.", "SELECT name, salary\nFROM employees\nORDER BY salary DESC"),
        ("Write a Dockerfile for a Python app.", "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"app.py\"]"),
        ("Write 'I will not talk in class' three times.", "I will not talk in class\nI will not talk in class\nI will not talk in class"),
        ("Write a job posting for a program assistant.", "We are hiring a program assistant to support our grants team."),
        ("Give me a single command to count lines in file.txt.", "wc -l file.txt"),
        ("Convert the markdown table into a bulleted list.", "- lemon: yellow\n- lime: green"),
        ("A 1,200 kg car moves at 25 m/s. What is its kinetic energy?",
         "KE = ½ × 1200 × 25² = 375,000 J\n\n**KE = 375,000 J**"),
    ]
    assert min(_score("score_quality", rows)) >= 0.6
