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
