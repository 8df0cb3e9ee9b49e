"""`normalize` decodes HTML entities, their broken forms and escaped markup; converted sample
rows keep none (AG News had 316 of 1,000 rows with `#39;`, `quot;`, `&lt;b&gt;`)."""
from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from dataforge import recipe
from dataforge.clean.html import decode_text
from dataforge.ops.base import create
from dataforge.ops.basic import Normalize

ROOT = Path(__file__).resolve().parents[1]
# independent of the decoder's own patterns: anything that still looks like an entity
LEFT = re.compile(r"&[a-zA-Z]{2,8};|&#x?[0-9a-fA-F]{1,6};|(?:^|\s)#\d{2,5};|\b(?:quot|amp|lt|gt|apos|nbsp);")


@pytest.mark.parametrize("raw,want", [
    ("Dell Inc. &lt;DELL.O&gt; said", "Dell Inc. <DELL.O> said"),
    ("Sony #146;s player", "Sony\u2019s player"),
    ("In  quot;helping them quot; now", 'In "helping them" now'),
    ("&lt;B&gt;Washington Post&lt;/B&gt;&lt;/FONT&gt;", "Washington Post"),
    ("Ericsson doesn #39;t feel", "Ericsson doesn't feel"),
    ("for the  #36;10 million", "for the $10 million"),
    ("#39;s first", "'s first"),
    ("tag.\n\nquot;VeriSign", "tag.\n\n\"VeriSign"),
    ("a &amp; b &eacute;t&#233; &#x41;", "a & b été A"),
    ("issue #12; stays", "issue #12; stays"),  # a control character is not text: left alone
    ("C# and F#; no entity", "C# and F#; no entity"),
    ("if (a < b && c > d) { x; }", "if (a < b && c > d) { x; }"),
])
def test_decode_text(raw, want):
    assert decode_text(raw) == want


def test_normalize_decodes_only_rows_with_entities():
    df = pl.DataFrame({"instruction": ["Tom  quot;Hi quot;", "plain   text", None], "input": ["", "&amp;", ""],
                       "output": ["x #39;s", "ok", "&lt;b&gt;bold&lt;/b&gt;"]})
    out = create("normalize", {}).process(df)
    assert out["instruction"].to_list() == ['Tom "Hi"', "plain text", None]
    assert out["input"].to_list() == ["", "&", ""] and out["output"].to_list() == ["x's", "ok", "bold"]
    kept = create("normalize", {"html": False}).process(df)
    assert kept["output"].to_list() == ["x #39;s", "ok", "&lt;b&gt;bold&lt;/b&gt;"]


def test_no_entity_left_in_any_converted_sample_row(tmp_path):
    doc = yaml.safe_load((ROOT / "rules" / "recipes" / "convert_nlp.yaml").read_text())
    for s in doc["sources"]:
        s["path"] = str(ROOT / s["path"])
        s["limit"] = 1000
    pipe = recipe.loads(yaml.safe_dump(doc), where="convert_nlp.yaml", base_dir=tmp_path)
    res = pipe.run(out=tmp_path / "out")
    rows = pl.concat([pl.read_parquet(p) for p in res.shards])
    assert rows.filter(pl.col("source") == "ag_news").height > 900
    bad = [t for c in ("instruction", "input", "output") for t in rows[c].drop_nulls() if LEFT.search(t)]
    assert bad == []
    # before normalize the same AG News rows did carry them: the check above is not vacuous
    raw = pl.read_ndjson(ROOT / "sample_data" / "ag_news.jsonl")
    text_cols = [c for c, t in raw.schema.items() if t == pl.Utf8]
    dirty = raw.filter(pl.any_horizontal(pl.col(c).str.contains(LEFT.pattern) for c in text_cols))
    assert dirty.height > 250


def test_no_input_markers_are_emptied_in_input_only():
    df = pl.DataFrame({"instruction": ["Name a fruit."] * 6 + ["Explain <noinput>."],
                       "input": ["<noinput>", " <No Input> ", '"<noinput>"', "`<no input>`.", "\\<noinput\\>",
                                 "<noinput> and more", None],
                       "output": ["Apple.", "Pear.", "Fig.", "Kiwi.", "Lime.", "Plum.", "<noinput>"]})
    out = Normalize().map(df)
    assert out["input"].to_list() == ["", "", "", "", "", "<noinput> and more", None]
    # an answer that is the marker is a defect for the placeholder rule, not an empty input
    assert out["output"].to_list()[-1] == "<noinput>" and out["instruction"][-1] == "Explain <noinput>."
    assert Normalize(no_input="").map(df)["input"][0] == "<noinput>"
