"""Template files: loading, the Jinja sandbox, error messages, the plain fast path, draws, few-shot picks."""
from __future__ import annotations

import random
import textwrap

import numpy as np
import polars as pl
import pytest

from dataforge.errors import ConfigError
from dataforge import rand as draw
from dataforge.templates import fewshot, plain, sandbox
from dataforge.templates.spec import family_names, load_family

FAMILIES = ["sentiment", "topic", "nli", "extractive_qa", "summarization", "paraphrase", "multiple_choice", "imports"]


def write_family(tmp_path, templates: str, name="custom"):
    p = tmp_path / f"{name}.yaml"
    p.write_text(textwrap.dedent("""\
        family: custom
        task: classification
        fields:
          text: {column: text}
          label: {column: label, labels: {0: negative, 1: positive}}
        templates:
        """) + textwrap.indent(textwrap.dedent(templates), "  "))
    return p


def test_builtin_families_have_varied_templates():
    assert set(FAMILIES) <= set(family_names())
    for name in FAMILIES:
        fam = load_family(name)
        assert len(fam.templates) >= 5, name
        if name == "imports":  # formats of existing data: the instruction comes from the data
            continue
        srcs = [t.pieces["instruction"] for t in fam.templates]
        assert any("?" in s for s in srcs) and any("?" not in s for s in srcs), name  # questions and commands
        assert fam.inverted, f"{name} has no inverted templates"
        assert any(t.original_task for t in fam.templates)


def test_sandbox_refuses_dunder_access_naming_file_and_template(tmp_path):
    p = write_family(tmp_path, """\
        - id: evil
          instruction: "{{ ''.__class__.__mro__ }}"
          input: "{{ text }}"
          output: "{{ label }}"
        """)
    with pytest.raises(ConfigError) as e:
        load_family(str(p))
    msg = str(e.value)
    assert "custom.yaml" in msg and "evil" in msg and "unsafe" in msg


def test_sandbox_refuses_at_render_time_too():
    with pytest.raises(ConfigError, match="f.yaml: template 't'.*unsafe.*__"):  # refused at load...
        sandbox.compile_("{{ x.__class__.__subclasses__() }}", "f.yaml: template 't'")
    tpl = sandbox.env().from_string("{{ x.__class__.__subclasses__() }}")  # ...and at render time
    with pytest.raises(ConfigError, match="f.yaml: template 't'.*unsafe"):
        sandbox.render_rows(tpl, [{"x": "a"}], "f.yaml: template 't'")
    # and the environment really is the sandbox, with undefined names as errors
    with pytest.raises(ConfigError, match="undefined"):
        sandbox.render_rows(sandbox.compile_("{{ missing }}", "w"), [{}], "w")


def test_syntax_error_names_file_template_and_line(tmp_path):
    p = write_family(tmp_path, """\
        - id: fine
          instruction: "Is it positive?"
          input: "{{ text }}"
          output: "{{ label }}"
        - id: broken
          instruction: "Classify {% if text %}this"
          input: "{{ text }}"
          output: "{{ label }}"
        """)
    with pytest.raises(ConfigError) as e:
        load_family(str(p))
    msg = str(e.value)
    assert "custom.yaml:11" in msg and "'broken'" in msg and "instruction" in msg
    assert "file line 12" in msg  # the instruction is on the line after the id


def test_unknown_variable_and_verbalizer_mismatch_are_errors(tmp_path):
    p = write_family(tmp_path, """\
        - id: typo
          instruction: "Classify {{ txt }}"
          output: "{{ label }}"
        """)
    with pytest.raises(ConfigError, match="typo.*unknown variable.*txt"):
        load_family(str(p))
    p = write_family(tmp_path, """\
        - id: partial
          instruction: "Classify {{ text }}"
          output: "{{ label }}"
          labels: {0: bad}
        """, name="custom2")
    with pytest.raises(ConfigError, match="partial.*verbalizer"):
        load_family(str(p))


def test_yaml_error_names_file_and_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("family: bad\ntemplates:\n  - id: x\n    instruction: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: YAML error"):
        load_family(str(p))


def test_plain_detection():
    assert plain.parse("Review: {{ text }}\n{{label|lower}}") == ["Review: ", ("text", ()), "\n", ("label", ("lower",))]
    for src in ("{% if a %}x{% endif %}", "{{ a | capitalize }}", "{{ a[0] }}", "{{ a.b }}", "{# c #}", "{{- a }}"):
        assert plain.parse(src) is None, src


def test_plain_path_matches_jinja_on_every_builtin_plain_template():
    rnd = random.Random(0)
    words = ["Alpha", "beta", "Gamma δ", "x\ny", "  padded ", "{not a var}", "100%"]
    for name in FAMILIES:
        fam = load_family(name)
        for t in fam.all_templates():
            for piece, parts in t.plain.items():
                if parts is None:
                    continue
                names = sorted(plain.names(parts))
                rows = [{n: rnd.choice(words) for n in names} for _ in range(20)]
                df = pl.DataFrame(rows, schema={n: pl.Utf8 for n in names}) if names else pl.DataFrame({"_": [0] * 20})
                fast = df.with_columns(plain.to_expr(parts).alias("o"))["o"].to_list()
                slow = sandbox.render_rows(sandbox.compile_(t.pieces[piece], t.where), rows or [{}] * 20, t.where)
                assert fast == slow, (t.key, piece)


def test_draws_depend_on_seed_and_id_not_position():
    ids = [f"row{i}" for i in range(500)]
    a = draw.uniform(draw.base(ids, 7), "template")
    perm = list(reversed(ids))
    b = draw.uniform(draw.base(perm, 7), "template")
    assert np.array_equal(a, b[::-1])
    c = draw.uniform(draw.base(ids, 8), "template")
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, draw.uniform(draw.base(ids, 7), "options"))  # purposes independent
    picks = draw.choose(draw.base(ids * 20, 1), "p", [0.7, 0.3, 0.0])
    assert set(np.unique(picks)) <= {0, 1}
    share = (draw.choose(draw.base([f"r{i}" for i in range(10_000)], 3), "p", [0.7, 0.3]) == 0).mean()
    assert 0.67 < share < 0.73


def test_few_shot_pick_never_the_row_itself_nor_its_duplicates():
    rng = np.random.default_rng(0)
    for trial in range(20):
        n = int(rng.integers(2, 60))
        keys = [f"k{int(x)}" for x in rng.integers(0, max(2, n // 2), n)]  # duplicates on purpose
        code = np.unique(keys, return_inverse=True)[1]
        valid = rng.random(n) < 0.7
        queries = np.arange(n)
        ex = fewshot.pick(queries, valid, fewshot.ring(draw.base(keys, trial)), code, 3)
        for q, row in zip(queries, ex):
            chosen = [int(x) for x in row if x != fewshot.NONE]
            assert q not in chosen
            assert all(code[c] != code[q] and valid[c] for c in chosen)
            assert len(set(chosen)) == len(chosen)
            possible = sum(1 for c in np.flatnonzero(valid) if code[c] != code[q])
            assert len(chosen) == min(3, possible)
        again = fewshot.pick(queries, valid, fewshot.ring(draw.base(keys, trial)), code, 3)
        assert np.array_equal(ex, again)


def test_templates_command_lists_families_templates_and_prompt_types(capsys):
    from dataforge.cli import main

    assert main(["templates"]) == 0
    out = capsys.readouterr().out
    for name in FAMILIES:
        assert name in out
    for p in ("zero_shot", "few_shot", "cot", "inversion", "review_question", "write_review", "json"):
        assert p in out
    assert main(["templates", "nli", "--show", "explain_relation"]) == 0
    assert "{{ rationale | capitalize }}" in capsys.readouterr().out
    assert main(["templates", "no_such_family"]) == 1
    assert "unknown template family" in capsys.readouterr().err
