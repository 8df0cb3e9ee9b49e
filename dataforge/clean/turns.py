"""An answer that writes the other side's turns of a conversation (a reply that goes on with
"Customer: ...", "Student: ...", "Player: ..." after its own text): the generation ran past its
turn. The labels are read from the transcript the request hands over (`user_turn` in
rules/filters/default.yaml; `extra_turns` reads the "User:" / "Assistant:" pair of any request).
"""
from __future__ import annotations

import re

LABEL = re.compile(r"(?m)^[ \t]*(?:#{2,}[ \t]*)?([A-Z][\w .'-]{0,24}?)[ \t]*:[ \t]*\S")


def other_turn(transcript: str, output: str) -> str | None:
    """The label of a speaker of `transcript` that opens a line of `output` after its first,
    else None. Only labels that open a turn of the transcript count (its speakers)."""
    # (a speaker is named in words: "Bin 3:", "Product B:" and "KeyError:" label data)
    speakers = {s for s in LABEL.findall(transcript) if not re.search(r"\d|Error$|\b[A-Z]$", s)}
    if not speakers:
        return None
    lines = output.strip().splitlines()
    for line in lines[1:]:
        m = LABEL.match(line)
        if m and m.group(1) in speakers:
            return m.group(1)
    return None
