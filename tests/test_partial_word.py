"""The truncated rule's cut inside a last word (dataforge/clean/partial_word.py): a text that
stops on the start of a frequent word, and on no word, was cut mid-word, whatever its layout."""
from __future__ import annotations

import polars as pl
import pytest

from dataforge.clean import rules as R
from dataforge.clean.partial_word import ends_inside_a_word


@pytest.fixture(scope="module")
def rule():
    rules, _ = R.load("default")
    return next(r for r in rules if r.name == "truncated")


def _cut(rule, texts: list[str]) -> list[bool]:
    return ends_inside_a_word(pl.Series(texts), rule.get("mid_word"), rule.get("known"),
                              rule.get("mid_word_english")).to_list()


CUT = [
    "People who slept less than six hours a night were about 1.6 times more likely to report sympt",
    "Pack light:\n- Sunscreen\n- Swimsuit if you're heading to the coast\n- Universal power adap",
    "To keep the package out of your system Python, make a virtual environment, then run:\n\npip install requ",
    "Bake for 25 minutes, until a skewer inserted in the middle comes out cle",
    "Water vapor rises, it cools and condenses into tiny droplets that form clo",
]
KEPT = [
    "The painting shows a swirling night sky over a quiet village, in bold blues and yellows",  # an inflection
    "Keep a note of every appointment and each symptom",  # the base of a frequent plural
    "n = PV / (RT) = (1.00 atm x 10.0 L) / (0.0821 x 298 K) = 0.409 mol",  # a unit after a number
    "omg the concert last night was amazing, we danced until 2am lol",  # a known informal word
    "Run the migration first, then restart the service and check the logs in the repo",  # a short form
    "The motto is carved above the door of the old library:\n\nDominus illuminatio mea",  # a Latin line
    "No hay mal que por bien no venga, dice el refrán que repetía mi abuela en la cocina",  # not English
    "Mix the flour, sugar and a pinch of salt; then fold in the honey-mus",  # a joined part is left alone
    "The correct label for this review is neg",  # short labels are judged by the rule's word count
]


def test_cut_words_are_found_and_words_are_not(rule):
    assert _cut(rule, CUT) == [True] * len(CUT)
    assert _cut(rule, KEPT[:-1]) == [False] * (len(KEPT) - 1)


def test_the_rule_names_the_cut_and_spares_what_is_asked_for(rule):
    df = pl.DataFrame({"instruction": ["Write a short note."] * 3 + ["Write a line that ends mid-word, cut off."],
                       "input": [""] * 4,
                       "output": [CUT[0], CUT[1], "Pos neg", CUT[0]]})
    got = R.reasons([rule], df).to_list()
    assert got[0].startswith("truncated: output ends mid-word") and "sympt" in got[0]
    assert got[1].startswith("truncated: output ends mid-word")
    assert got[2] is None  # two words: a label, not a cut
    assert got[3] is None  # the request asks for the cut


def test_word_lists_are_part_of_the_rules_digest(tmp_path):
    """A changed word list changes the digest, so checkpoints of the old rules are not reused."""
    src = R.RULES_DIR
    (tmp_path / "w.txt").write_text("# words\nalpha\n")
    (tmp_path / "r.yaml").write_text(
        f"rules:\n  - name: t\n    type: truncated\n    mid_word_wordlist: {src / 'frequent_words.txt'}\n"
        f"    known_wordlist: [{tmp_path / 'w.txt'}, {src.parent / 'synonyms' / 'en.tsv.gz'}]\n")
    rules, d1 = R.load(str(tmp_path / "r.yaml"))
    assert "alpha" in rules[0].get("known") and len(rules[0].get("mid_word")) > 20_000
    assert "dowry" in rules[0].get("known")  # a word of the WordNet table
    (tmp_path / "w.txt").write_text("# words\nalpha\nbeta\n")
    _, d2 = R.load(str(tmp_path / "r.yaml"))
    assert d1 != d2


def test_casual_register_and_names_with_digits_end_a_text(rule):
    """A short answer in chat register (an emoji after its first word, an emoticon, "idk") may
    drop its last mark, and a name of letters and digits ends a line as a number does; a
    dangling word still tells a cut, an emoji that only opens an announcement is no chat
    register, and flags and snake_case names cut inside still look whole, so they spare nothing."""
    outs = [
        "Honestly not sure yet, I have an assignment due Monday. Will tell you by Friday, idk",
        "Green bin is recycling, brown one is garden waste. Your turn this week :) Thx",
        "Had the best weekend ☕🥐 thanks for all the recommendations, the pastries were so good",
        "Most cases carry the same deletion, written F508del, or in older papers ΔF508",
        "Questions about orders or allergens? Send us a message or tag us @crumbandco",
        # still cuts
        "📢 Heads-up, everyone: the office is closed on Monday. For anything urgent in the server room, please contact",
        "Had the best weekend ☕🥐 thanks for all the recommendations, we should go back with",
        "Simplify both sides and collect the terms, then move the constants across: 5x",
        "The simplest option in a shell or CI job is to set the region once and export AWS_DEFAULT_REG",
        "You can delete it on the remote too, with a push that uses the delete option: git push origin --del",
    ]
    df = pl.DataFrame({"instruction": ["Reply to my friend."] * len(outs), "input": [""] * len(outs), "output": outs})
    got = R.reasons([rule], df).to_list()
    assert got[:5] == [None] * 5, got
    assert all(g and g.startswith("truncated") for g in got[5:]), got


def test_loaded_copies_share_their_word_lists():
    """`rules.load` hands out copies of its parse; a word list (tens of thousands of words) is
    shared by them rather than copied, while each copy's own parameters stay its own."""
    a = next(r for r in R.load("default")[0] if r.name == "truncated")
    b = next(r for r in R.load("default")[0] if r.name == "truncated")
    assert isinstance(a.get("mid_word"), R.WordList) and a.get("mid_word") is b.get("mid_word")
    a.params["min_words"] = 99
    assert b.get("min_words") != 99
