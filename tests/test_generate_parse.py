"""Self-Instruct parsing/filters and Evol-Instruct elimination on fixed completions."""
import polars as pl

from dataforge.generate import elimination, parse, prompts

CFG = prompts.load("self_instruct.yaml")
SPLIT = CFG["instructions"]["split"]


def test_split_numbered_list_and_length_cut():
    text = " Give three tips for staying healthy.\n10. Translate the sentence into French.\n11. Write a haiku ab"
    got = parse.split_instructions(text, "length", SPLIT)
    assert [g[0] for g in got] == ["Give three tips for staying healthy.", "Translate the sentence into French.",
                                   "Write a haiku ab"]
    assert [g[1] for g in got] == [False, False, True]
    assert all(not c for _, c in parse.split_instructions(text, "stop", SPLIT))


def test_instruction_filters():
    r = lambda s: parse.instruction_reason(s, CFG)  # noqa: E731
    assert r("Explain why the sky is blue to a child.") is None
    assert r("Do it now").startswith("too_few_words")
    assert r(" ".join(["word"] * 151)).startswith("too_many_words")
    assert r("Describe the image in two sentences.") == "blocked_word: image"
    assert r("Tell me how to go to the station from here.") == "blocked_word: go to"
    assert r("Summarise the mapping between these two lists.") is None  # whole words only
    assert r("Write a program that sorts a list of numbers.").startswith("blocked_prefix")
    assert r("- List five fruits that are red.").startswith("leading_punctuation")
    assert r("Éxplain the rules of chess briefly.").startswith("leading_non_ascii")


def test_parse_instances_input_first_and_output_first():
    m = CFG["parse"]
    text = ("\nExample 1\nInput: 3, 1, 2\nOutput: 1, 2, 3\nExample 2\nInput: 9, 8\nOutput: 8, 9\n"
            "Example 3\nInput: 5, 4\nOutput:")
    assert parse.parse_instances(text, "length", False, m) == [("3, 1, 2", "1, 2, 3"), ("9, 8", "8, 9")]
    assert parse.parse_instances("Output: Paris", "stop", False, m) == [("", "Paris")]
    assert parse.parse_instances("nothing here", "stop", False, m) == []
    clf = "\nClass label: Positive\nSentence: I love it.\nClass label: Negative\nSentence: I hate it."
    assert parse.parse_instances(clf, "stop", True, m) == [("Sentence: I love it.", "Positive"),
                                                           ("Sentence: I hate it.", "Negative")]


def test_instance_filters():
    inst = [("a", "b"), ("a", "c"), ("x", "x"), ("", ""), ("q", "r:"), ("z", "y"), ("z", "y"), ("", "ok")]
    got = [r.split(":")[0] if r else None for r in parse.instance_reasons(inst)]
    assert got == ["conflicting_outputs", "conflicting_outputs", "input_equals_output", "empty_output",
                   "ends_with_colon", None, "duplicate_instance", None]


def test_evol_elimination_rules():
    cfg = prompts.load("evol_instruct.yaml")
    stop = [w for w in prompts.find(cfg["stopwords_file"]).read_text().split() if not w.startswith("#")]
    df = pl.DataFrame({
        "instruction": ["Explain tides.", "#Rewritten Prompt#: explain tides", "Explain tides.", "Explain tides."],
        "output": ["Tides come from the moon's pull on the oceans.", "ok answer here",
                   "I'm sorry, I cannot help with that.", "and the, of it!"],
    })
    got = df.select(elimination.reasons(pl.col("instruction"), pl.col("output"), cfg, stop).alias("r"))["r"].to_list()
    assert got[0] is None
    assert got[1].startswith("copied_prompt_words")
    assert got[2].startswith("sorry_response")
    assert got[3].startswith("stopword_response")
