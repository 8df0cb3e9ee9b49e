"""A corpus of bad (and tricky but valid) inputs, generated at test time: nothing checked in.

Each Case writes its files into a folder and a recipe `r.yaml` that reads them with an empty
pipeline (rows pass through unchanged), and says what must happen:

- accept:     the run succeeds; the written (instruction, input, output) strings are exactly `good`
- quarantine: a row-level problem. By default the run stops with an error naming file:line;
              with `on_error: quarantine` it writes exactly `good` and rejects `rejected` rows,
              each reason matching `match` and naming file and line
- error:      a file- or recipe-level problem: both modes stop with an error matching
              `match` (file:line where one exists), no traceback and no shard written;
              `validate` fails too when `validate_fails`

Used by tests/test_bad_inputs.py; run this file to write the corpus into a folder and look.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

GOOD = [("Translate 'chat' to English.", "", "cat"), ("Sum 2 and 2.", "", "4"),
        ("Name a colour.", "", "Blue")]


@dataclass
class Case:
    name: str
    files: dict[str, bytes | Callable[[Path], None]]
    expect: str  # accept | quarantine | error
    good: list[tuple[str, str, str]] = field(default_factory=list)
    rejected: int = 0
    match: str = ""  # regex on the error message / on every reject reason + detail
    source: dict = field(default_factory=dict)  # extra source keys (map, format, ...)
    path: str = "data.jsonl"  # the source path, relative to the case folder
    recipe: str | None = None  # a whole recipe (recipe and rules-file cases)
    pipeline: str = "[]"
    output: str = "{report: false}"
    validate_fails: bool = False
    modes: tuple[str, ...] = ("fail", "quarantine")

    def write(self, root: Path, mode: str) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        for rel, content in self.files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if callable(content):
                content(p)
            else:
                p.write_bytes(content)
        r = root / "r.yaml"
        if self.recipe is not None:
            r.write_text(finish_recipe(self.recipe.replace("ON_ERROR", mode), root))
        else:
            src = {"name": "src", "path": str(root / self.path), "on_error": mode, **self.source}
            r.write_text(f"name: {self.name}\nsources:\n  - {json.dumps(src)}\n"
                         f"pipeline: {self.pipeline}\noutput: {self.output}\n")
        return r


# -- helpers ------------------------------------------------------------------------------

def jl(*rows) -> bytes:
    """JSONL from dicts (dumped) or raw strings (written as they are)."""
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                   for r in rows).encode("utf-8")


def rec(i, o, inp=""):
    d = {"instruction": i, "output": o}
    if inp:
        d["input"] = inp
    return d


G = [rec(i, o) for i, _, o in GOOD]


def row_bad(name: str, bad_line: str | dict, match: str, *, path="data.jsonl", source=None,
            before: list | None = None) -> Case:
    """A JSONL file: good rows, one bad row at line len(before)+1, good rows after."""
    before = G[:2] if before is None else before
    rows = before + [bad_line] + G[2:]
    return Case(name, {path: jl(*rows)}, "quarantine", good=GOOD, rejected=1, path=path,
                source=source or {}, match=match.replace("LINE", str(len(before) + 1)))


def parquet(table_fn) -> Callable[[Path], None]:
    def write(p: Path) -> None:
        import pyarrow.parquet as pq

        pq.write_table(table_fn(), p)
    return write


def _pa():
    import pyarrow as pa

    return pa


def recipe(body: str, src="data.jsonl") -> str:
    return body.replace("SRC", src)


BASE = """name: r
sources:
  - path: SRC
    on_error: ON_ERROR
pipeline: []
output: {report: false}
"""


# -- the corpus -----------------------------------------------------------------------------

def cases() -> list[Case]:
    c: list[Case] = []
    F = r"data\.jsonl:LINE"
    # JSONL: text fields that are not text are row errors, never stringified
    for name, value, kind in [("number", 42, "number"), ("bool", True, "bool"), ("list", ["Translate", "this"], "list"),
                              ("object", {"a": 1}, "object"), ("float", 1.5, "number"), ("zero", 0, "number")]:
        c.append(row_bad(f"jsonl_output_{name}", {"instruction": "x", "output": value},
                         F + rf": wrong type: field 'output' must be text, got {kind}"))
    c.append(row_bad("jsonl_output_nan", '{"instruction": "x", "output": NaN}', F + r": wrong type: field 'output'.*NaN"))
    c.append(row_bad("jsonl_output_infinity", '{"instruction": "x", "output": -Infinity}',
                     F + r": wrong type: field 'output'.*Infinity"))
    c.append(row_bad("jsonl_instruction_number", {"instruction": 7, "output": "x"}, F + r": wrong type: field 'instruction'"))
    c.append(row_bad("jsonl_input_number", {"instruction": "x", "input": 3, "output": "y"}, F + r": wrong type: field 'input'"))
    c.append(row_bad("jsonl_system_list", {"instruction": "x", "system": ["a"], "output": "y"}, F + r": wrong type: field 'system'"))
    c.append(row_bad("jsonl_lang_number", {"instruction": "x", "lang": 1, "output": "y"}, F + r": wrong type: field 'lang'"))
    c.append(row_bad("jsonl_mapped_number", {"q": "x", "a": 7}, F + r": wrong type: field 'a' must be text",
                     source={"map": {"instruction": "q", "output": "a"}},
                     before=[{"q": i, "a": o} for i, _, o in GOOD[:2]]))
    c[-1].files["data.jsonl"] = jl(*([{"q": i, "a": o} for i, _, o in GOOD[:2]] + [{"q": "x", "a": 7}]
                                     + [{"q": GOOD[2][0], "a": GOOD[2][2]}]))
    c.append(row_bad("jsonl_extra_field_changes_type",
                     {"instruction": "x", "output": "y", "n": "text"}, F + r": wrong type: field 'n' is text .* but number at line 1",
                     before=[dict(g, n=1) for g in G[:2]]))
    c[-1].files["data.jsonl"] = jl(*([dict(g, n=1) for g in G[:2]] + [{"instruction": "x", "output": "y", "n": "t"}]
                                     + [dict(G[2], n=2)]))
    # JSONL: malformed and ambiguous lines
    c.append(row_bad("jsonl_duplicate_key", '{"instruction": "x", "output": "a", "output": "b"}',
                     F + r": duplicate key\(s\) \['output'\]"))
    c.append(row_bad("jsonl_nested_duplicate_key", '{"instruction": "x", "output": "a", "m": {"k": 1, "k": 2}}',
                     F + r": duplicate key\(s\) \['k'\]"))
    c.append(row_bad("jsonl_lone_surrogate", '{"instruction": "x", "output": "bad \\ud800 here"}',
                     F + r": invalid Unicode: a lone surrogate"))
    c.append(row_bad("jsonl_deeply_nested", '{"instruction": "x", "output": "y", "deep": ' + "[" * 100_000 + "]" * 100_000 + "}",
                     F + r": nested too deeply"))
    c.append(row_bad("jsonl_truncated_line", '{"instruction": "x", "out', F + r": malformed JSON"))
    c.append(row_bad("jsonl_array_line", "[1, 2]", F + r": expected a JSON object, got list"))
    c.append(row_bad("jsonl_string_line", '"just text"', F + r": expected a JSON object, got text"))
    c.append(row_bad("jsonl_trailing_garbage", '{"instruction": "x", "output": "y"} extra', F + r": malformed JSON: Extra data"))
    c.append(row_bad("jsonl_single_quotes", "{'instruction': 'x', 'output': 'y'}", F + r": malformed JSON"))
    c.append(row_bad("jsonl_missing_output", {"instruction": "x"}, F + r": field 'output' is missing|missing field: output"))
    c.append(row_bad("jsonl_null_instruction", {"instruction": None, "output": "y"},
                     F + r": field 'instruction' is missing|missing field: instruction"))
    bad_utf8 = jl(*G[:2]) + b'{"instruction": "caf\xe9", "output": "y"}\n' + jl(G[2])
    c.append(Case("jsonl_invalid_utf8", {"data.jsonl": bad_utf8}, "quarantine", good=GOOD, rejected=1,
                  match=r"data\.jsonl:3: not UTF-8 text"))
    # JSONL: valid but tricky; every string comes back byte-identical
    tricky = [("Tab\there, CR\r\nLF, quote \" and \\ backslash", "", "  spaces kept  "),
              ("Unicode: café, 日本語, emoji 😀, RTL שלום", "ctx with \u2028 line separator", "ok"),
              ("Numbers as text", "", "42"), ("Empty output is text", "", ""),
              ("JSON-looking text", '{"a": 1}', "[1, 2]"), ("NaN as text", "", "NaN")]
    c.append(Case("jsonl_tricky_strings", {"data.jsonl": jl(*[rec(i, o, inp) for i, inp, o in tricky])},
                  "accept", good=tricky))
    c.append(Case("jsonl_escaped_unicode", {"data.jsonl": b'{"instruction": "\\u00e9t\\u00e9", "output": "\\ud83d\\ude00"}\n'},
                  "accept", good=[("\u00e9t\u00e9", "", "\U0001F600")]))
    c.append(Case("jsonl_bom", {"data.jsonl": b"\xef\xbb\xbf" + jl(*G)}, "accept", good=GOOD))
    c.append(Case("jsonl_crlf", {"data.jsonl": jl(*G).replace(b"\n", b"\r\n")}, "accept", good=GOOD))
    c.append(Case("jsonl_blank_lines", {"data.jsonl": b"\n" + jl(G[0]) + b"\n  \n" + jl(*G[1:])}, "accept", good=GOOD))
    c.append(Case("jsonl_no_final_newline", {"data.jsonl": jl(*G).rstrip(b"\n")}, "accept", good=GOOD))
    c.append(Case("jsonl_empty_file", {"data.jsonl": b""}, "accept", good=[]))
    # steps that need columns: an empty file has none to check, and nothing to run (a warning)
    c.append(Case("jsonl_empty_file_with_steps", {"data.jsonl": b"\n\n"}, "accept", good=[],
                  pipeline="[normalize: {}, rule_filter: {}]"))
    c.append(Case("jsonl_null_input_and_system", {"data.jsonl": jl(*[dict(g, input=None, system=None) for g in G])},
                  "accept", good=GOOD))
    c.append(Case("jsonl_integer_ids", {"data.jsonl": jl(*[dict(g, id=n) for n, g in enumerate(G)])}, "accept", good=GOOD))
    big = [dict(g, id=n) for n, g in zip([1, 2, 12345678901234567890], G)]  # past Int64: an Int128 column
    c.append(Case("jsonl_integer_ids_past_int64", {"data.jsonl": jl(*big)}, "accept", good=GOOD))
    # a wrong encoding is the whole file's, not a row's: quarantining its "lines" would invent rows
    c.append(Case("jsonl_utf16", {"data.jsonl": jl(*G).decode().encode("utf-16")}, "error",
                  match=r"data\.jsonl: not UTF-8 text \(from its first bytes\); the file is UTF-16 text: convert it .*iconv -f UTF-16"))
    c.append(Case("jsonl_lone_cr_line_ends", {"data.jsonl": jl(*G).replace(b"\n", b"\r")}, "quarantine",
                  good=[], rejected=1, match=r"data\.jsonl:1: .*Extra data.*lone CR"))
    c.append(Case("jsonl_all_rows_bad", {"data.jsonl": jl(*[{"instruction": "x", "output": n} for n in range(3)])},
                  "quarantine", good=[], rejected=3, match=r"data\.jsonl:\d: wrong type: field 'output'"))

    # JSON files
    arr = b'[\n  {"instruction": "Translate \'chat\' to English.", "output": "cat"},\n  {"instruction": "Sum 2 and 2.", "output": "4"},\n'
    last = b'  {"instruction": "Name a colour.", "output": "Blue"}\n]\n'
    c.append(Case("json_array", {"data.json": arr + last}, "accept", good=GOOD, path="data.json"))
    c.append(Case("json_item_number_output", {"data.json": arr + b'  {"instruction": "x", "output": 5},\n' + last},
                  "quarantine", good=GOOD, rejected=1, path="data.json",
                  match=r"data\.json:4: (item 3: )?wrong type: field 'output' must be text, got number"))
    c.append(Case("json_item_not_object", {"data.json": arr + b'  "text",\n' + last}, "quarantine", good=GOOD, rejected=1,
                  path="data.json", match=r"data\.json:4: (item 3: )?expected a JSON object"))
    c.append(Case("json_item_duplicate_key", {"data.json": arr + b'  {"instruction": "x", "output": "a", "output": "b"},\n' + last},
                  "quarantine", good=GOOD, rejected=1, path="data.json", match=r"data\.json:4: (item 3: )?duplicate key"))
    c.append(Case("json_item_lone_surrogate", {"data.json": arr + b'  {"instruction": "x", "output": "\\udc00"},\n' + last},
                  "quarantine", good=GOOD, rejected=1, path="data.json", match=r"data\.json:4: (item 3: )?invalid Unicode"))
    c.append(Case("json_data_wrapper", {"data.json": b'{"data": ' + arr + last.rstrip() + b"}\n"}, "accept", good=GOOD,
                  path="data.json"))
    c.append(Case("json_data_plus_other_keys", {"data.json": b'{"version": 2, "data": ' + arr + last.rstrip() + b"}\n"},
                  "error", path="data.json", match=r"data\.json:1: a JSON object with a `data` array and other keys \['version'\]"))
    c.append(Case("json_one_record_object", {"data.json": json.dumps(G[0]).encode()}, "accept", good=GOOD[:1], path="data.json"))
    c.append(Case("json_malformed", {"data.json": arr + b'  {"instruction": "x" "output": "y"}\n]\n'}, "error",
                  path="data.json", match=r"data\.json:4: malformed JSON"))
    c.append(Case("json_truncated", {"data.json": arr}, "error", path="data.json", match=r"data\.json:\d+: malformed JSON"))
    c.append(Case("json_deeply_nested", {"data.json": b"[" * 100_000 + b"]" * 100_000}, "error", path="data.json",
                  match=r"data\.json:1: .*nested too deeply"))
    c.append(Case("json_trailing_garbage", {"data.json": arr + last + b"[]\n"}, "error", path="data.json",
                  match=r"data\.json:6: extra data"))
    c.append(Case("json_empty_array", {"data.json": b"[]\n"}, "accept", good=[], path="data.json"))
    c.append(Case("json_empty_file", {"data.json": b""}, "error", path="data.json", match=r"data\.json:1: empty file"))
    c.append(Case("json_not_utf8", {"data.json": b'[{"instruction": "\xff", "output": "y"}]'}, "error", path="data.json",
                  match=r"data\.json: not UTF-8"))

    # CSV / TSV: every field is text, exactly as written
    csv_ok = ('instruction,input,output\r\n"Translate \'chat\' to English.",,cat\r\n'
              '"Sum 2 and 2.",,4\r\n"Name a colour.",,Blue\r\n').encode()
    c.append(Case("csv_basic", {"data.csv": csv_ok}, "accept", good=GOOD, path="data.csv"))
    tricky_csv = [("Comma, inside", "", "quote \"q\" inside"), ("Multi\nline\nfield", "x", "0042"),
                  ("  padded  ", "", "TRUE"), ("Unicode é 😀", "", "null")]
    import csv as _csv
    import io as _io

    buf = _io.StringIO()
    w = _csv.writer(buf, lineterminator="\n")
    w.writerow(["instruction", "input", "output"])
    w.writerows(tricky_csv)
    c.append(Case("csv_quoting_and_types", {"data.csv": buf.getvalue().encode()}, "accept", good=tricky_csv, path="data.csv"))
    head = b"instruction,output\n"
    body = b"Translate 'chat' to English.,cat\nSum 2 and 2.,4\n"
    tail = b"Name a colour.,Blue\n"
    c.append(Case("csv_ragged_more", {"data.csv": head + body + b"x,y,z\n" + tail}, "quarantine", good=GOOD, rejected=1,
                  path="data.csv", match=r"data\.csv:4: ragged row: 3 fields, the header has 2"))
    c.append(Case("csv_ragged_fewer", {"data.csv": head + body + b"only one\n" + tail}, "quarantine", good=GOOD, rejected=1,
                  path="data.csv", match=r"data\.csv:4: ragged row: 1 fields"))
    c.append(Case("csv_line_after_multiline_field",
                  {"data.csv": head + b'"Translate \'chat\'\nto English.",cat\n' + b"a,b,c\n" + b"Sum 2 and 2.,4\n" + tail},
                  "quarantine", good=[("Translate 'chat'\nto English.", "", "cat")] + GOOD[1:], rejected=1,
                  path="data.csv", match=r"data\.csv:4: ragged row"))
    c.append(Case("csv_invalid_utf8", {"data.csv": head + body + b"caf\xe9,y\n" + tail}, "quarantine", good=GOOD, rejected=1,
                  path="data.csv", match=r"data\.csv:4: field 'instruction' is not UTF-8"))
    c.append(Case("csv_duplicate_header", {"data.csv": b"instruction,output,output\na,b,c\n"}, "error", path="data.csv",
                  match=r"data\.csv:1: duplicate column name\(s\) \['output'\]"))
    c.append(Case("csv_empty_header_name", {"data.csv": b"instruction,,output\na,b,c\n"}, "error", path="data.csv",
                  match=r"data\.csv:1: .*empty column name"))
    c.append(Case("csv_missing_output_column", {"data.csv": b"instruction,answer\na,b\n"}, "error", path="data.csv",
                  match=r"data\.csv: source 'src' has no 'output' column", validate_fails=True))
    c.append(Case("csv_empty_instruction_is_text", {"data.csv": head + b",empty instruction\n"}, "accept",
                  good=[("", "", "empty instruction")], path="data.csv"))
    c.append(Case("csv_bom_and_blank_lines", {"data.csv": b"\xef\xbb\xbf" + head + b"\n" + body + b"\n" + tail}, "accept",
                  good=GOOD, path="data.csv"))
    c.append(Case("csv_header_only", {"data.csv": head}, "accept", good=[], path="data.csv"))
    # no rows at all still gets its report (its figures have nothing to draw)
    c.append(Case("csv_header_only_with_report", {"data.csv": head}, "accept", good=[], path="data.csv",
                  output="{report: true}"))
    # a quote that never closes opens no quoted field: its lines are read with the quote as text
    c.append(Case("csv_unterminated_quote", {"data.csv": head + body + b'"never closed,x\n' + tail}, "accept",
                  good=GOOD[:2] + [('"never closed', "", "x")] + GOOD[2:], path="data.csv"))
    tsv_head = b"instruction\toutput\n"
    tsv_body = b"Translate 'chat' to English.\tcat\nSum 2 and 2.\t4\n"
    tsv_tail = b"Name a colour.\tBlue\n"
    c.append(Case("tsv_basic", {"data.tsv": tsv_head + tsv_body + tsv_tail}, "accept", good=GOOD, path="data.tsv"))
    c.append(Case("tsv_tab_inside_field", {"data.tsv": tsv_head + tsv_body + b"a\tb\tc\n" + tsv_tail}, "quarantine",
                  good=GOOD, rejected=1, path="data.tsv", match=r"data\.tsv:4: ragged row: 3 fields.*tab inside a field"))
    c.append(Case("tsv_quoted_tab", {"data.tsv": tsv_head + b'"a\tb"\tc\n'}, "accept", good=[("a\tb", "", "c")],
                  path="data.tsv"))
    c.append(Case("tsv_ragged_rows_under_quarantine",
                  {"data.tsv": tsv_head + b"x\n" + tsv_body + b"y\ty\ty\n" + tsv_tail}, "quarantine",
                  good=GOOD, rejected=2, path="data.tsv", match=r"data\.tsv:(2|5): ragged row"))

    # Parquet: the column type decides; a text column of another type is a row error per row
    pa = _pa
    c.append(Case("parquet_basic", {"data.parquet": parquet(lambda: pa().table(
        {"instruction": [g[0] for g in GOOD], "output": [g[2] for g in GOOD]}))}, "accept", good=GOOD, path="data.parquet"))
    c.append(Case("parquet_int64_output", {"data.parquet": parquet(lambda: pa().table(
        {"instruction": ["a", "b"], "output": pa().array([1, 2], pa().int64())}))}, "quarantine", good=[], rejected=2,
        path="data.parquet", match=r"data\.parquet:[12]: wrong type: field 'output' must be text, got Int64"))
    c.append(Case("parquet_bool_output", {"data.parquet": parquet(lambda: pa().table(
        {"instruction": ["a"], "output": [True]}))}, "quarantine", good=[], rejected=1, path="data.parquet",
        match=r"data\.parquet:1: wrong type: field 'output'.*Boolean"))
    c.append(Case("parquet_double_output_nan", {"data.parquet": parquet(lambda: pa().table(
        {"instruction": ["a"], "output": [float("nan")]}))}, "quarantine", good=[], rejected=1, path="data.parquet",
        match=r"data\.parquet:1: wrong type: field 'output'.*Float64"))
    c.append(Case("parquet_list_instruction", {"data.parquet": parquet(lambda: pa().table(
        {"instruction": [["a", "b"]], "output": ["y"]}))}, "quarantine", good=[], rejected=1, path="data.parquet",
        match=r"data\.parquet:1: wrong type: field 'instruction'.*List"))
    c.append(Case("parquet_null_output", {"data.parquet": parquet(lambda: pa().table(
        {"instruction": [g[0] for g in GOOD] + ["x"], "output": [g[2] for g in GOOD] + [None]}))},
        "quarantine", good=GOOD, rejected=1, path="data.parquet", match=r"data\.parquet:4: .*output"))
    c.append(Case("parquet_large_string", {"data.parquet": parquet(lambda: pa().table(
        {"instruction": pa().array([g[0] for g in GOOD], pa().large_string()),
         "output": pa().array([g[2] for g in GOOD], pa().large_string())}))}, "accept", good=GOOD, path="data.parquet"))
    # dictionary-encoded text (pandas categories, Parquet dictionaries) is text
    c.append(Case("parquet_dictionary_text", {"data.parquet": parquet(lambda: pa().table(
        {"instruction": pa().array([g[0] for g in GOOD]).dictionary_encode(),
         "output": pa().array([g[2] for g in GOOD]).dictionary_encode()}))}, "accept", good=GOOD, path="data.parquet"))
    c.append(Case("parquet_not_parquet", {"data.parquet": b"PAR1 but not really"}, "error", path="data.parquet",
                  match=r"data\.parquet: not a readable Parquet file"))
    c.append(Case("parquet_folder_one_part_int", {
        "pq/part-0.parquet": parquet(lambda: pa().table({"instruction": [g[0] for g in GOOD], "output": [g[2] for g in GOOD]})),
        "pq/part-1.parquet": parquet(lambda: pa().table({"instruction": ["x"], "output": pa().array([5], pa().int32())}))},
        "quarantine", good=GOOD, rejected=1, path="pq", match=r"part-1\.parquet:1: wrong type: field 'output'"))

    # Folders: decided by what they hold, never fewer rows than the files hold
    c.append(Case("folder_readme_beside_jsonl", {
        "d/README.md": b"# My data\n\nSome notes.\n", "d/a.jsonl": jl(*G[:1]), "d/b.jsonl": jl(*G[1:2]),
        "d/sub/c.jsonl": jl(*G[2:])}, "accept", good=GOOD, path="d"))
    c.append(Case("folder_readme_with_front_matter", {
        "d/README.md": b"---\nlicense: mit\n---\n# Data\n", "d/a.jsonl": jl(*G)}, "accept", good=GOOD, path="d"))
    c.append(Case("folder_mixed_formats", {"d/a.jsonl": jl(*G), "d/b.csv": csv_ok}, "error", path="d",
                  match=r"d: the folder holds files of several formats"))
    c.append(Case("folder_no_data", {"d/README.md": b"# nothing\n", "d/notes.txt": b"x"}, "error", path="d",
                  match=r"d: the folder holds no data files"))
    c.append(Case("folder_datasets_configs", {
        "d/README.md": b"---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/*.jsonl\n---\n",
        "d/data/train.jsonl": jl(*G)}, "accept", good=GOOD, path="d"))
    c.append(Case("glob_no_match", {"d/a.jsonl": jl(*G)}, "error", path="d/*.csv", match=r"no csv files found"))
    c.append(Case("file_not_found", {}, "error", path="missing.jsonl", match=r"missing\.jsonl: file not found"))

    # Recipes: errors name file:line and the valid choices; `validate` catches them
    R = r"r\.yaml:"
    def rc(name, body, match, **kw):
        c.append(Case(name, {"data.jsonl": jl(*G)}, "error", recipe=body.replace("SRC", "DATA"), match=match,
                      validate_fails=True, **kw))
    rc("recipe_duplicate_top_key", BASE + "seed: 1\nseed: 2\n", R + r"8: YAML error: duplicate key 'seed' \(first at line 7\)")
    rc("recipe_duplicate_step_key", BASE.replace("pipeline: []", "pipeline:\n  - op: length\n    min: 1\n    min: 2"),
       R + r"8: YAML error: duplicate key 'min' \(first at line 7\)")
    rc("recipe_unknown_top_key", BASE + "outputs: {}\n", R + r"7: unknown key\(s\) \['outputs'\]; allowed:")
    rc("recipe_unknown_source_key", BASE.replace("    on_error", "    colums: {}\n    on_error"),
       R + r"4: source 1: unknown key\(s\) \['colums'\]; allowed:")
    rc("recipe_unknown_output_key", BASE.replace("{report: false}", "{report: false, shard_mb: 3}"),
       R + r"6: output: unknown key\(s\) \['shard_mb'\]; allowed:")
    rc("recipe_unknown_operator", BASE.replace("pipeline: []", "pipeline:\n  - lenght: {}"),
       R + r"6: pipeline step 1.*unknown operator 'lenght'")
    rc("recipe_bad_parameter_type", BASE.replace("pipeline: []", "pipeline:\n  - length:\n      min: 'x'"),
       R + r"7: pipeline step 1 \('length'\).*parameter 'min' must be int")
    rc("recipe_unknown_parameter", BASE.replace("pipeline: []", "pipeline:\n  - op: length\n    bogus: 2"),
       R + r"7: pipeline step 1 \('length'\).*unknown parameter")
    rc("recipe_yaml_syntax", BASE.replace("pipeline: []", "pipeline: [\n  bad"), R + r"\d+: YAML error")
    rc("recipe_yaml_python_tag", BASE + "seed: !!python/object/apply:os.system ['echo pwned']\n",
       R + r"7: YAML error: could not determine a constructor")
    rc("recipe_not_a_mapping", "- a\n- b\n", R + r"1: a recipe is a YAML mapping")
    rc("recipe_seed_text", BASE + "seed: abc\n", R + r"7: seed must be an integer")
    rc("recipe_splits_sum", BASE.replace("{report: false}", "{report: false, splits: {train: 0.5, test: 0.2}}"),
       R + r"6: output: .*sum(ming)? to 1")
    rc("recipe_split_escapes_out", BASE.replace("{report: false}", "{report: false, splits: {'./../../../escaped': 1.0}}"),
       R + r"6: output: split name './../../../escaped' is not allowed")
    rc("recipe_split_with_slash", BASE.replace("{report: false}", "{report: false, splits: {'a/b': 1.0}}"),
       R + r"6: output: split name 'a/b' is not allowed")
    rc("recipe_export_format_escapes", BASE.replace("{report: false}", "{report: false, formats: ['text-../../../../etc/x']}"),
       R + r"6: output: formats: chat template name '\.\./.*' is not allowed")
    rc("recipe_unknown_export_format", BASE.replace("{report: false}", "{report: false, formats: [messages, parquetx]}"),
       R + r"6: output: formats: unknown export format 'parquetx'; valid choices: \[.*'alpaca'")
    rc("recipe_unknown_chat_template", BASE.replace("{report: false}", "{report: false, formats: [text-nope]}"),
       R + r"6: output: formats: no chat template 'nope'")
    rc("recipe_format_bad_option", BASE.replace("{report: false}", "{report: false, formats: [{text: {tokeniser: x}}]}"),
       R + r"6: output: formats: format 'text': unknown option")
    rc("recipe_set_number_for_text", BASE.replace("    on_error", "    set: {task: 5}\n    on_error"),
       R + r"\d: source 1: .*set task: must be text")
    rc("recipe_on_error_value", BASE.replace("on_error: ON_ERROR", "on_error: skip"),
       R + r"\d: source 1: .*on_error must be 'fail' or 'quarantine'")
    rc("recipe_limit_negative", BASE.replace("    on_error", "    limit: -1\n    on_error"), R + r"4: source 1: .*limit")
    rc("recipe_source_without_path", BASE.replace("  - path: SRC\n", "  - name: x\n"), R + r"3: source 1: needs `path`")
    rc("recipe_duplicate_source_names", BASE.replace("pipeline: []", "  - {name: a, path: SRC}\npipeline: []")
       .replace("  - path: SRC", "  - name: a\n    path: SRC"), R + r"2: source names must be unique")
    rc("recipe_compression", BASE.replace("{report: false}", "{report: false, compression: zip}"), R + r"6: output: compression")

    # Rules files and templates
    def fam(body: str) -> bytes:
        return ("family: custom\ntask: classification\nfields:\n  text: {column: text}\ntemplates:\n" + body).encode()

    conv = BASE.replace("SRC", "raw.jsonl").replace("pipeline: []", "pipeline:\n  - convert: {family: FAM}")
    raw = {"raw.jsonl": jl({"text": "hello"})}

    def tc(name, body, match):
        c.append(Case(name, {**raw, "fam.yaml": fam(body)}, "error", recipe=conv, match=match, validate_fails=True))
    tc("template_include", "  - id: t1\n    instruction: \"{% include 'x.j2' %}\"\n    output: \"{{ text }}\"\n",
       r"fam\.yaml:\d+: template 't1'.*`include` is not allowed")
    tc("template_recursion", "  - id: t1\n    instruction: \"{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}\"\n"
       "    output: \"{{ text }}\"\n", r"fam\.yaml:\d+: template 't1'.*recursion too deep")
    tc("template_oversized_range", "  - id: t1\n    instruction: \"{% for i in range(10**9) %}x{% endfor %}\"\n"
       "    output: \"{{ text }}\"\n", r"fam\.yaml:\d+: template 't1'.*Range too big")
    tc("template_mro", "  - id: t1\n    instruction: \"{{ text.__class__.__mro__ }}\"\n    output: \"{{ text }}\"\n",
       r"fam\.yaml:\d+: template 't1'.*unsafe")
    tc("template_duplicate_key", "  - id: t1\n    instruction: a\n    instruction: b\n    output: \"{{ text }}\"\n",
       r"fam\.yaml:8: YAML error: duplicate key 'instruction'")
    tc("template_syntax_error", "  - id: t1\n    instruction: \"{{ text \"\n    output: \"{{ text }}\"\n",
       r"fam\.yaml:\d+: template 't1'.*syntax error")
    c.append(Case("prompt_file_mro", {"data.jsonl": jl({"instruction": "x", "input": "", "output": ""}),
                                      "p.yaml": b"user: \"{{ instruction.__class__.__mro__ }}\"\n"}, "error",
                  recipe=BASE.replace("SRC", "DATA").replace("pipeline: []", "pipeline:\n  - respond: {prompt_file: PROMPT, llm: 'hf:/nonexistent'}"),
                  match=r"p\.yaml:1: `user`.*unsafe template refused by the sandbox", validate_fails=True))
    c.append(Case("prompt_file_include", {"data.jsonl": jl({"instruction": "x", "input": "", "output": ""}),
                                          "p.yaml": b"# a prompt\nuser: |\n  Hi\n  {% include 'other' %}\n"}, "error",
                  recipe=BASE.replace("SRC", "DATA").replace("pipeline: []", "pipeline:\n  - respond: {prompt_file: PROMPT, llm: 'hf:/nonexistent'}"),
                  match=r"p\.yaml:2: `user`.*`include` is not allowed", validate_fails=True))
    return c


def finish_recipe(text: str, root: Path) -> str:
    return (text.replace("DATA", str(root / "data.jsonl")).replace("FAM", str(root / "fam.yaml"))
            .replace("PROMPT", str(root / "p.yaml")).replace("raw.jsonl", str(root / "raw.jsonl")))


if __name__ == "__main__":  # write the corpus for a look: python tests/support/bad_inputs.py DIR
    out = Path(sys.argv[1])
    for case in cases():
        case.write(out / case.name, "fail")
    print(f"{len(cases())} cases in {out}")
