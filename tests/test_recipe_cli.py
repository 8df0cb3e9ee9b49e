import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dataforge import recipe
from dataforge.cli import main
from dataforge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

RECIPE = """
name: tiny
seed: 3
sources:
  - name: alpaca
    path: sample_data/alpaca.jsonl
    limit: 300
    set: {task: open_qa}
pipeline:
  - normalize: {}
  - op: length
    name: long_enough
    field: output
    min: 100
output:
  splits: {train: 0.9, test: 0.1}
  report: false
"""


def write(tmp_path, text=RECIPE):
    p = tmp_path / "r.yaml"
    p.write_text(text)
    return p


def test_recipe_loads_into_pipeline(tmp_path):
    pipe = recipe.load(write(tmp_path))
    assert [o.name for o in pipe.ops] == ["normalize", "length"]
    assert pipe.names == ["normalize", "long_enough"] and pipe.seed == 3
    assert pipe.sources[0].path.endswith("sample_data/alpaca.jsonl")  # resolved from the recipe's parents
    res = pipe.run(out=tmp_path / "o")
    assert res.manifest["totals"]["rows_in"] == 300
    assert res.manifest["stages"][-1]["name"] == "long_enough"


@pytest.mark.parametrize("text,match", [
    ("pipeline: [{lenght: {}}]", "unknown operator 'lenght'"),
    ("pipeline: [{length: {min: 'x'}}]", "parameter 'min' must be int"),
    ("pipeline: [{op: length, min: 1, bogus: 2}]", "unknown parameter"),
    ("sources: [{path: a.jsonl, colums: {}}]", "unknown key\\(s\\) \\['colums'\\]"),
    ("pipeline:\n  - normalize: {}\n   bad: [", r"r\.yaml:\d+: YAML error"),
    ("outputs: {}", "unknown key"),
])
def test_recipe_errors_are_clear(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        recipe.load(write(tmp_path, text))


@pytest.mark.parametrize("body,line,match", [
    ("  split_by: banana", 3, "output: split_by must be one of"),
    ("  formats: [foo]", 3, "output: formats: unknown export format 'foo'"),
    ("  report:\n    sample_rows: x", 4, "output.report.sample_rows: expected int"),
    ("  report:\n    bogus: 1", 4, r"output.report: unknown key\(s\) \['bogus'\]"),
])
def test_output_errors_name_their_line_once(body, line, match):
    """A bad `output:` value names the recipe's file and line once (it was prefixed twice)."""
    with pytest.raises(ConfigError) as e:
        recipe.loads(f"pipeline: []\noutput:\n{body}\n")
    assert str(e.value).startswith(f"<recipe>:{line}: ") and str(e.value).count("<recipe>") == 1
    assert re.search(match, str(e.value))


def test_yaml_is_loaded_safely(tmp_path):
    with pytest.raises(ConfigError, match="YAML error"):
        recipe.load(write(tmp_path, "seed: !!python/object/apply:os.system ['echo pwned']\n"))


def test_cli_run_validate_ops(tmp_path, capsys):
    r = write(tmp_path)
    assert main(["validate", str(r)]) == 0
    assert "ok (1 source(s), 2 step(s))" in capsys.readouterr().out
    out = tmp_path / "o"
    assert main(["run", str(r), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"shards:   {out / 'data'}" in printed and "rejects:" in printed
    assert main(["run", str(r), "-o", str(out)]) == 0
    assert "reused 2 finished stage(s)" in capsys.readouterr().out
    assert main(["ops"]) == 0
    listing = capsys.readouterr().out
    assert "length" in listing and "min: int = 1" in listing


def test_cli_errors_are_one_line_not_tracebacks(tmp_path):
    r = write(tmp_path, RECIPE.replace("alpaca.jsonl", "missing.jsonl"))
    p = subprocess.run([sys.executable, "-m", "dataforge.cli", "run", str(r), "-o", str(tmp_path / "o")],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr and "missing.jsonl: file not found" in p.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "rules" / "recipes").glob("*.yaml")))
def test_every_shipped_recipe_validates(name):
    assert main(["validate", str(ROOT / "rules" / "recipes" / name)]) == 0


def test_operators_doc_is_current():
    """docs/operators.md is generated from the registry; regenerate with `dataforge ops --markdown`."""
    from dataforge.commands.ops import describe

    doc = (ROOT / "docs" / "operators.md").read_text()
    assert doc.strip() == describe(markdown=True).strip(), "run: dataforge ops --markdown > docs/operators.md"


def test_kept_columns_nothing_has_are_warned_at_validate_and_run(tmp_path, capsys, caplog):
    text = RECIPE.replace("    set: {task: open_qa}\n", "    set: {task: open_qa}\n    keep: [nope, instructoin]\n") \
        .replace("  report: false\n", "  report: false\n  keep_columns: [nope2]\n")
    r = write(tmp_path, text)
    assert main(["validate", str(r)]) == 0
    out = capsys.readouterr().out
    assert "2 step(s), 3 warning(s))" in out
    assert "warning: source 'alpaca': keep 'nope': no field 'nope'" in out
    assert "(did you mean 'instruction'?)" in out
    assert "warning: output keep_columns 'nope2': no source or step has a column 'nope2'" in out
    with caplog.at_level("WARNING"):
        assert main(["run", str(r), "-o", str(tmp_path / "o")]) == 0
    assert "keep_columns 'nope2'" in caplog.text
