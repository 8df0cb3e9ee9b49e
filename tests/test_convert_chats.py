"""Chats (`messages`, ShareGPT `conversations`) through `convert: {family: imports}`.

A record is one exchange. Found on a new user's chat file: a chat that opens with the
assistant's greeting paired the greeting with the question after it, and a chat of several
exchanges lost its later turns without a trace. Now the greeting is dropped, the number of
user turns goes into meta (`chat_turns`), and `multi_turn: reject` rejects such chats with the
whole chat in the reject's detail.
"""
from __future__ import annotations

import json

import polars as pl

from tests.test_convert import _convert_file

GREETING_FIRST = {"messages": [{"role": "assistant", "content": "Hi! How can I help?"},
                               {"role": "user", "content": "Name a prime number."},
                               {"role": "assistant", "content": "Seven is a prime number."}]}
SYSTEM = {"messages": [{"role": "system", "content": "You are terse."},
                       {"role": "user", "content": "Give me two synonyms for happy."},
                       {"role": "assistant", "content": "Joyful and cheerful."}]}
TWO_EXCHANGES = {"conversations": [{"from": "human", "value": "Write a haiku about rain."},
                                   {"from": "gpt", "value": "Soft rain on the roof\nwhispers to the town\npuddles hold the sky"},
                                   {"from": "human", "value": "Now one about snow."},
                                   {"from": "gpt", "value": "White hush on the hills"}]}


def _meta(df: pl.DataFrame) -> list[dict]:
    return [json.loads(m) for m in df["meta"]]


def test_an_opening_greeting_is_not_the_answer_and_the_system_turn_stays(tmp_path):
    kept, rej = _convert_file(tmp_path, [GREETING_FIRST, SYSTEM], "imports")
    assert rej.height == 0
    rows = {r["instruction"]: r for r in kept.iter_rows(named=True)}
    assert rows["Name a prime number."]["output"] == "Seven is a prime number."
    assert rows["Give me two synonyms for happy."]["system"] == "You are terse."
    assert [m["chat_turns"] for m in _meta(kept)] == [1, 1]


def test_a_chat_of_several_exchanges_keeps_the_first_and_says_so(tmp_path):
    kept, rej = _convert_file(tmp_path, [TWO_EXCHANGES, SYSTEM], "imports")
    assert rej.height == 0 and kept.height == 2
    first = kept.filter(pl.col("instruction") == "Write a haiku about rain.")
    assert first["output"][0].startswith("Soft rain") and _meta(first)[0]["chat_turns"] == 2


def test_multi_turn_reject_keeps_the_whole_chat_in_the_reject(tmp_path):
    kept, rej = _convert_file(tmp_path, [TWO_EXCHANGES, SYSTEM, GREETING_FIRST], "imports", multi_turn="reject")
    assert kept.height == 2 and rej.height == 1
    assert rej["reason"][0].startswith("multi_turn: a chat of 2 user turns")
    raw = json.loads(rej["detail"][0])["raw"]
    assert [t["value"] for t in raw["conversations"]][-1] == "White hush on the hills"  # nothing lost


def test_chat_files_under_other_names_roles_and_content_parts(tmp_path):
    # found on a new user's chat files: content as a list of parts stopped the whole run with
    # a cast error; Gemini's `model` role, `human`/`bot` in `messages` and a `conversation`
    # column came out as "no_layout"
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is the boiling point of water?"},
                                                       {"type": "text", "text": "Answer in Celsius."}]},
                          {"role": "assistant", "content": [{"type": "text", "text": "100 degrees Celsius."}]}]}
    kept, rej = _convert_file(tmp_path / "parts", [parts], "imports")
    assert rej.height == 0 and kept["instruction"].to_list() == ["What is the boiling point of water?\n\nAnswer in Celsius."]
    assert kept["output"].to_list() == ["100 degrees Celsius."]
    roles = [{"messages": [{"role": "User", "content": "Say hello in German."}, {"role": "model", "content": "Hallo!"}]},
             {"messages": [{"role": "human", "content": "Capital of Italy?"}, {"role": "bot", "content": "Rome."}]}]
    kept, rej = _convert_file(tmp_path / "roles", roles, "imports")
    assert rej.height == 0 and sorted(kept["output"]) == ["Hallo!", "Rome."]
    named = [{"conversation": [{"from": "human", "value": "Name a fruit."}, {"from": "gpt", "value": "A pear."}]}]
    kept, rej = _convert_file(tmp_path / "named", named, "imports")
    assert rej.height == 0 and kept["output"].to_list() == ["A pear."]


def test_chats_written_as_one_text_are_split_into_turns(tmp_path):
    # Anthropic HH-RLHF's `chosen`, OpenAssistant-Guanaco's `text`, "<|user|>" markers
    hh = {"chosen": "\n\nHuman: What is a good name for a goldfish?\n\nAssistant: Bubbles is a classic."
                    "\n\nHuman: Another?\n\nAssistant: Goldie.",
          "rejected": "\n\nHuman: What is a good name for a goldfish?\n\nAssistant: No."}
    kept, rej = _convert_file(tmp_path / "hh", [hh], "imports")
    assert rej.height == 0 and kept["instruction"].to_list() == ["What is a good name for a goldfish?"]
    assert kept["output"].to_list() == ["Bubbles is a classic."] and _meta(kept)[0]["chat_turns"] == 2
    rows = [{"text": "### Human: What is 2+2?### Assistant: 4"},
            {"text": "<|system|>\nBe brief.\n<|user|>\nName a planet.\n<|assistant|>\nMars."},
            {"text": "Just a paragraph of prose, not a chat."}]
    kept, rej = _convert_file(tmp_path / "text", rows, "imports")
    got = {r["instruction"]: (r["output"], r["system"]) for r in kept.iter_rows(named=True)}
    assert got == {"What is 2+2?": ("4", None), "Name a planet.": ("Mars.", "Be brief.")}
    assert rej["reason"].str.starts_with("no_layout").to_list() == [True]


def test_tool_calls_and_images_in_the_first_exchange_are_rejected_with_their_reason(tmp_path):
    tool = {"messages": [{"role": "user", "content": "What is 7 times 8?"},
                         {"role": "assistant", "content": None,
                          "tool_calls": [{"type": "function", "function": {"name": "calc", "arguments": "{}"}}]},
                         {"role": "tool", "content": "56"},
                         {"role": "assistant", "content": "7 times 8 is 56."}]}
    later = {"messages": [{"role": "user", "content": "Hi, what can you do?"},
                          {"role": "assistant", "content": "I can answer questions.", "tool_calls": None},
                          {"role": "user", "content": "What is 7 times 8?"},
                          {"role": "assistant", "content": None,
                           "tool_calls": [{"type": "function", "function": {"name": "calc", "arguments": "{}"}}]}]}
    kept, rej = _convert_file(tmp_path / "tools", [tool, later], "imports")
    assert kept["instruction"].to_list() == ["Hi, what can you do?"]  # tools only after the first exchange
    assert rej["reason"].str.starts_with("tool_use:").to_list() == [True]
    image = {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is in this picture?"},
                                                       {"type": "image_url", "text": None}]},
                          {"role": "assistant", "content": [{"type": "text", "text": "A cat on a sofa."}]}]}
    text = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Name a colour."}]},
                         {"role": "assistant", "content": [{"type": "text", "text": "Teal."}]}]}
    kept, rej = _convert_file(tmp_path / "images", [image, text], "imports")
    assert kept["output"].to_list() == ["Teal."]
    assert rej["reason"].str.starts_with("multimodal:").to_list() == [True]


def test_a_file_mixing_text_content_and_content_parts_names_the_odd_rows(tmp_path):
    # Polars cannot hold `content` as text in one row and a list in another: the rows unlike
    # most are row errors naming line and path (quarantinable), not a failure of the file
    from dataforge.errors import InputError
    from dataforge.io import read

    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi?"}]},
                          {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]}]}
    plain = {"messages": [{"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": "Pear."}]}
    p = tmp_path / "mixed.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in [parts, plain, plain]))
    try:
        list(read.iter_batches(str(p)))
        raise AssertionError("no error")
    except InputError as e:
        assert "mixed.jsonl:1: wrong type: field 'messages[].content' is list here but text in most rows" in str(e)
    b = list(read.iter_batches(str(p), on_error="quarantine"))
    assert sum(x.rows.height for x in b) == 2 and [x["line"] for x in b[0].bad] == [1]
    assert b[0].lines == [2, 3]


def test_records_written_in_the_alpaca_prompt_format_are_read(tmp_path):
    # many Hub datasets carry a `text` column with the whole Alpaca prompt
    pre = "Below is an instruction that describes a task. Write a response that appropriately completes the request."
    rows = [{"text": f"{pre}\n\n### Instruction:\nGive three tips for staying healthy.\n\n### Response:\n"
                     "1. Eat well.\n2. Sleep.\n3. Move."},
            {"text": f"{pre}\n\n### Instruction:\nSummarize the text.\n\n### Input:\nThe cat sat on the mat all day."
                     "\n\n### Response:\nA cat spent the day on a mat."},
            {"text": "### Human: What is 2+2?### Assistant: 4"},
            {"text": "### Instruction:\nA heading and nothing after it."}]
    kept, rej = _convert_file(tmp_path, rows, "imports")
    got = {r["instruction"]: (r["input"], r["output"]) for r in kept.iter_rows(named=True)}
    assert got == {"Give three tips for staying healthy.": ("", "1. Eat well.\n2. Sleep.\n3. Move."),
                   "Summarize the text.": ("The cat sat on the mat all day.", "A cat spent the day on a mat."),
                   "What is 2+2?": ("", "4")}
    assert rej["reason"].str.starts_with("no_layout").to_list() == [True]


def test_a_source_of_one_text_column_is_told_about_imports(tmp_path):
    from dataforge.errors import SchemaError
    from dataforge.io.source import Source
    from dataforge.pipeline import Pipeline
    import pytest

    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps({"text": "### Instruction:\nSay hi.\n\n### Response:\nHi."}) + "\n")
    with pytest.raises(SchemaError, match=r"if `text` holds whole chats .* add `convert: \{family: imports\}`"):
        Pipeline([]).run([Source(name="t", path=str(p))], out=tmp_path / "out")
    c = tmp_path / "c.jsonl"
    c.write_text(json.dumps({"conversation": [{"role": "user", "content": "Hi"},
                                              {"role": "assistant", "content": "Hello"}]}) + "\n")
    with pytest.raises(SchemaError, match=r"add `convert: \{family: imports\}`, which reads this layout"):
        Pipeline([]).run([Source(name="c", path=str(c))], out=tmp_path / "out2")


def test_a_chat_without_an_answer_is_rejected_saying_what_a_chat_needs(tmp_path):
    rows = [{"messages": [{"role": "user", "content": "Only a question, never answered."}]},
            {"messages": [{"role": "user", "content": "Name a planet."}, {"role": "assistant", "content": "Mars."}]}]
    kept, rej = _convert_file(tmp_path / "c", rows, "imports")
    assert kept["output"].to_list() == ["Mars."]
    assert rej["reason"].to_list() == [
        "no_layout: no template of family 'imports' finds its fields in the row; a chat needs a user turn "
        "followed by an assistant turn with text (the answer to learn)"]
