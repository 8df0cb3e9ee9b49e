"""score_alignment on short answers: labels, spans, numbers and yes/no judged on their own
terms; inverted rows (text written for a label) are not judged as labels."""
from __future__ import annotations

import polars as pl
import pytest

from dataforge import op
from dataforge.ops.base import RunContext
from dataforge.score import answers as A

ROWS = [  # instruction, input, output, task, expected verdict (1 aligned, -1 misaligned, 0 unknown)
    ("Is the sentiment of this review positive or negative?", "A joy from start to end.", "positive", "sentiment", 1),
    ("Is the sentiment of this review positive or negative?", "A joy from start to end.", "Sports", "sentiment", -1),
    ("Does the premise entail the hypothesis? Answer yes or no.", "Premise: a dog runs. Hypothesis: an animal moves.", "yes", "nli", 1),
    ("Does the premise entail the hypothesis? Answer yes or no.", "Premise: a dog runs. Hypothesis: an animal moves.", "Denver Broncos", "nli", -1),
    ("Who won Super Bowl 50?", "The Denver Broncos defeated the Carolina Panthers to win Super Bowl 50.", "Denver Broncos", "extractive_qa", 1),
    ("What is 1200 plus 53?", "", "1253", "math", 1),
    ("How many legs does a spider have?", "", "eight", "open_qa", 1),  # a number written as a word
    ("Which section does this article belong in: World, Sports, Business or Sci/Tech?", "The striker scored twice.", "Sports", "topic", 1),
    ("Which section does this article belong in: World, Sports, Business or Sci/Tech?", "The striker scored twice.", "true", "topic", -1),
    ("Explain your reasoning first, then give the answer. Is the hypothesis true, false or undetermined?",
     "Premise: a dog runs. Hypothesis: a cat sleeps.",
     "a running dog says nothing about a cat .\nSo the answer is: undetermined", "nli", 1),
    ('Reply with a JSON object that has a single key, "sentiment". Is this review positive or negative?',
     "Dull.", '{"sentiment": "negative"}', "sentiment", 1),
    # a bare name to a closed-book who/where/which-city question; a word problem in any language
    # (two numbers given, a question closing it); a quantity asked in another language
    ("Who wrote Pride and Prejudice?", "", "Jane Austen.", "open_qa", 1),
    ("Ein Zug fährt 2 Stunden lang mit 80 km pro Stunde. Wie weit fährt er?", "", "160", "math", 1),
    ("¿Cuántos días tiene una semana?", "", "7", "open_qa", 1),
    ("In which year did the Berlin Wall fall?", "", "1989.", "open_qa", 1),
    # ... not a label read as a name inside a request for a story, nor a name for a question
    # about a given passage that the passage does not hold
    ("Write a story about two friends who were apart for years.", "", "Sports", "creative_writing", 0),
    ("Who is named in the passage?", "The striker scored twice.", "World", "extractive_qa", 0),
]


def frame(rows) -> pl.DataFrame:
    return pl.DataFrame({"id": [str(i) for i in range(len(rows))], "instruction": [r[0] for r in rows],
                         "input": [r[1] for r in rows], "output": [r[2] for r in rows], "task": [r[3] for r in rows],
                         "source": ["s"] * len(rows), "meta": ["{}"] * len(rows)})


def test_short_answer_verdicts():
    got = frame(ROWS).select(A.short_verdict().alias("v"))["v"].to_list()
    assert got == [r[4] for r in ROWS]


def test_long_answers_get_no_short_verdict_and_final_answers_are_found():
    df = frame([("Write a poem about rain.", "", "Rain on the roof, a soft and steady drum, all night long.", "creative_writing", 0)])
    assert df.select(A.short_verdict().alias("v"))["v"][0] is None
    fa = frame(ROWS).select(A.final_answer(A.load_yaml(A.ALIGNMENT)).alias("a"))["a"].to_list()
    assert fa[9] == "undetermined" and fa[10] == "negative"


def test_inverted_rows_are_not_judged_as_labels():
    o = op("score_alignment")
    rows = [("Write a one-sentence positive movie review.", "", "A warm, funny film that never drags.", "sentiment", 0)] * 3
    df = frame(rows).with_columns(meta=pl.lit('{"prompt_type": "inversion"}'))
    assert not any(df.select(o.check_failures()).to_series())
    gen = frame(rows).with_columns(task=pl.lit("text_generation"))
    assert not any(gen.select(o.check_failures()).to_series())


@pytest.mark.slow
def test_short_answers_score_on_their_own_terms(tmp_path):
    o = op("score_alignment").bind(RunContext(out=tmp_path))
    o.ensure_setup()
    s = o.process(frame(ROWS))["score_alignment"].to_list()
    good = [v for v, r in zip(s, ROWS) if r[4] == 1]
    bad = [v for v, r in zip(s, ROWS) if r[4] == -1]
    assert min(good) >= 0.75 and max(bad) <= 0.3, s


def test_a_label_written_as_a_template_sentence_passes_as_the_bare_label_does(tmp_path):
    # converted AG News rows whose template verbalises the label in a sentence: the sentence is
    # one of its set's answers, and its few words say as little to embeddings as the label
    labels = ["World", "Sports", "Business", "Sci/Tech"]
    rows = [("What is this news article mainly about?", f"Headline number {i} about markets and teams.",
             f"The article is mainly about {labels[i % 4]}.", "topic") for i in range(40)]
    rows.append(("What is this news article mainly about?", "Stocks fell sharply on Monday.",
                 "I think that you should really consider the weather today.", "topic"))
    df = pl.DataFrame({"id": [str(i) for i in range(len(rows))], "instruction": [r[0] for r in rows],
                       "input": [r[1] for r in rows], "output": [r[2] for r in rows], "task": [r[3] for r in rows],
                       "source": ["ag_news"] * len(rows), "meta": ["{}"] * len(rows)})
    o = op("score_alignment").bind(RunContext(out=tmp_path))
    o.ensure_setup()
    s = o.process(df)["score_alignment"].to_list()
    assert min(s[:40]) >= 0.75 and s[40] < 0.75, (min(s[:40]), s[40])


def test_a_yes_no_question_after_a_lead_in_or_in_the_input_takes_a_bare_yes():
    passage = "The Sun is the star at the center of the Solar System."
    rows = [("Based on the following passage, is the sun a star?", passage, "yes", "closed_qa", 1),
            ("Read the passage. Is the sun a star?", passage, "No", "closed_qa", 1),
            ("Answer the question.", "Is the sun a star?", "yes", "open_qa", 1),
            ("Read the passage. Is the sun a star?", passage, "Perhaps", "closed_qa", -1),
            # an instruction with its own question: a question at the end of a passage is not it
            ("What is this passage about?", "Stars burn hydrogen. Is the sun a star?", "yes", "closed_qa", 0),
            ("Based on the passage, name the star at the center.", passage, "yes", "closed_qa", 0)]
    assert frame(rows).select(A.short_verdict().alias("v"))["v"].to_list() == [r[4] for r in rows]


def test_a_list_answer_is_aligned_when_every_item_is_offered():
    ins = "List every topic this headline is about, separated by commas. Possible topics: politics, sports, health, science."
    rows = [(ins, "Hospital waiting lists reach record high.", "health, politics", "topic"),
            (ins, "Hospital waiting lists reach record high.", "health and politics", "topic"),
            (ins, "Hospital waiting lists reach record high.", "health, football", "topic"),
            ("Name a colour.", "", "red, green", "open_qa")]
    df = frame(rows)
    listed = A.list_in_prompt(df)
    assert listed.to_list() == [True, True, False, False]
    v = df.select(A.short_verdict(listed=pl.lit(listed)).alias("v"))["v"].to_list()
    assert v == [1, 1, -1, 0]  # "Possible topics:" offers a set: football is none of it


def test_free_text_answers_of_a_multiple_choice_set_form_no_label_set():
    o = op("score_alignment")
    mc = [("Answer this question in a few words.", q, a, "multiple_choice") for q, a in
          [("Which tool measures mass?", "a balance"), ("Which planet is red?", "Mars"),
           ("Which gas do plants take in?", "carbon dioxide"), ("Which organ pumps blood?", "the heart")]]
    assert not any(frame(mc).select(o.check_failures()).to_series())
    # letters are a set: an answer outside it still fails the label check
    letters = [("Pick the letter.", f"Q{i}", a, "multiple_choice") for i, a in enumerate("ABCDABCDABCDABCDABCDx")]
    assert frame(letters).select(o.check_failures()).to_series().to_list() == [False] * 20 + [True]
