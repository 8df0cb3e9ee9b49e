"""Splits by lineage: every row derived from one example (other templates' renderings of the
same raw row, augmented copies, evolved instructions) lands in the split of its lineage's root,
so no held-out row has a paraphrase in train (FLAN / PromptSource hold out by example)."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from dataforge.errors import ConfigError
from dataforge.io.shards import ShardSpec, assign_splits, lineage_keys, split_expr

ROOT = Path(__file__).resolve().parents[1]
HALF = {"train": 0.5, "validation": 0.5}


def _by_id(keys) -> dict[str, str]:
    """The split `split_expr` gives each key on its own (today's split by id)."""
    keys = list(keys)
    return dict(zip(keys, pl.DataFrame({"id": keys}).select(split_expr(HALF)).to_series()))


def _family(n: int = 120) -> tuple[pl.DataFrame, dict[str, str]]:
    """Rows of n raw source rows R{i} (not written): three template renderings t{i}_{0,1,2}, two
    augmented copies of t{i}_0, a two-round evol chain from t{i}_1 and a copy of a round-2 row
    (depth 3); plus n rows s{i} without a parent (null, "" or their own id). With each row's root."""
    ids, parents, root = [], [], {}

    def add(i, p, r):
        ids.append(i)
        parents.append(p)
        root[i] = r

    for i in range(n):
        r = f"R{i}"
        for t in range(3):
            add(f"t{i}_{t}", r, r)
        add(f"a{i}_0", f"t{i}_0", r)
        add(f"a{i}_1", f"t{i}_0", r)
        add(f"e{i}_1", f"t{i}_1", r)
        add(f"e{i}_2", f"e{i}_1", r)
        add(f"c{i}", f"e{i}_2", r)
        add(f"s{i}", [None, "", f"s{i}"][i % 3], f"s{i}")
    return pl.DataFrame({"id": ids, "parent_id": parents, "instruction": ids, "output": ["x"] * len(ids)}), root


def _parts(tmp_path: Path, df: pl.DataFrame, cuts: list[int] = (), name: str = "p") -> list[Path]:
    out, bounds = [], [0, *cuts, df.height]
    (tmp_path / name).mkdir(parents=True, exist_ok=True)
    for j, (a, b) in enumerate(zip(bounds, bounds[1:])):
        p = tmp_path / name / f"part-{j}.parquet"
        df.slice(a, b - a).write_parquet(p)
        out.append(p)
    return out


def _where(df: pl.DataFrame, split_of: list[pl.Series]) -> dict[str, str]:
    return dict(zip(df["id"], pl.concat(split_of)))


def test_a_raw_rows_renderings_copies_and_chains_share_one_split(tmp_path):
    df, root = _family()
    split_of, ex, st = assign_splits(_parts(tmp_path, df), ShardSpec(splits=HALF))
    where = _where(df, split_of)
    assert ex == {}
    # the split of the root, hashed as an id is: one split per raw example
    of_root = _by_id(set(root.values()))
    assert all(where[i] == of_root[r] for i, r in root.items())
    groups = {}
    for i, r in root.items():
        groups.setdefault(r, set()).add(where[i])
    assert all(len(s) == 1 for s in groups.values())
    # rows without a parent keep exactly the split of their own id
    own = _by_id(df["id"])
    assert all(where[i] == own[i] for i in where if i.startswith("s"))
    # split by own id, groups span both splits: the leak this prevents (so the test can fail)
    spans = [r for r in groups if r.startswith("R") and len({own[i] for i in root if root[i] == r}) > 1]
    assert len(spans) > 100  # (of 120: seven rows each)
    # the manifest's count: rows whose split is not their own id's, by (own id's split, lineage's)
    moved = {}
    for i in where:
        if where[i] != own[i]:
            moved.setdefault(own[i], {}).setdefault(where[i], 0)
            moved[own[i]][where[i]] += 1
    assert st["policy"] == "lineage" and st["rows_moved_by_lineage"] == moved and moved
    assert "rows_in_parent_loops" not in st


def test_split_by_id_is_the_old_assignment(tmp_path):
    df, _ = _family()
    split_of, _, st = assign_splits(_parts(tmp_path, df), ShardSpec(splits=HALF, split_by="id"))
    assert _where(df, split_of) == _by_id(df["id"])
    assert st == {"policy": "id"}
    # (and a run without parent ids at all is split by id under `lineage` too)
    plain = _parts(tmp_path, df.drop("parent_id"), name="plain")
    assert _where(df, assign_splits(plain, ShardSpec(splits=HALF))[0]) == _by_id(df["id"])


def test_splits_do_not_depend_on_how_rows_are_cut_into_parts(tmp_path):
    """Parents in a later part than their children, children in other parts than their
    siblings, a part without the parent_id column: the same split for every row."""
    df, _ = _family()
    one, _, st1 = assign_splits(_parts(tmp_path, df, name="one"), ShardSpec(splits=HALF))
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=7)
    three, _, st3 = assign_splits(_parts(tmp_path, shuffled, [200, 611], name="three"), ShardSpec(splits=HALF))
    assert _where(shuffled, three) == _where(df, one) and st3 == st1
    # rows without parents written without the column: nothing else changes
    kids = df.filter(~pl.col("id").str.starts_with("s"))
    loose = df.filter(pl.col("id").str.starts_with("s")).drop("parent_id")
    mixed = _parts(tmp_path, kids, name="mixed-a") + _parts(tmp_path, loose, name="mixed-b")
    got = dict(zip(pl.concat([kids["id"], loose["id"]]), pl.concat(assign_splits(mixed, ShardSpec(splits=HALF))[0])))
    assert got == _where(df, one)


def test_lineage_keys_deep_chains_dropped_parents_loops_and_repeated_ids():
    n = 300  # a chain much deeper than any pipeline makes: still resolved to its root
    ids = [f"n{i}" for i in range(n)] + ["x", "y", "z", "w", "k", "k", "orphan"]
    parents = ["ROOT"] + [f"n{i - 1}" for i in range(1, n)] + ["y", "z", "x", "x", "n5", "n9", "gone"]
    keys, looped = lineage_keys(pl.Series(ids), pl.Series(parents))
    got = dict(zip(ids[:n], keys[:n]))
    assert set(got.values()) == {"ROOT"}
    tail = keys[n:].to_list()
    # x -> y -> z -> x loops: no root, own ids (and w, whose parent is in the loop)
    assert tail[:4] == ["x", "y", "z", "w"] and looped == 4
    assert tail[4:6] == ["ROOT", "ROOT"]  # an id written twice: each row by its own parent
    assert tail[6] == "gone"  # a parent not written (a dropped duplicate): the parent's id
    assert lineage_keys(pl.Series(["a"]), None)[0].to_list() == ["a"]


def test_copies_of_a_dropped_rendering_keep_their_raw_rows_split(tmp_path):
    """A filter dropped rendering t{i}_0 after an augmenter copied it: the copy (and the copy of
    the copy) still carries the rendering's family and source_row, and lands with t{i}_1, the
    raw row's written rendering. With no rendering written, copies key by the raw row; an
    exploded instance (`R#k`) is consistent with its raw row's id; a loop keeps its own ids."""
    n, rows = 200, []

    def meta(src, **more):
        return json.dumps({"family": "f", "template": "t", "source_row": src, **more})

    for i in range(n):
        r = f"R{i}"
        rows.append((f"t{i}_1", r, meta(r)))                                     # written rendering
        rows.append((f"a{i}", f"t{i}_0", meta(r, augmenter="eda")))               # its parent dropped
        rows.append((f"b{i}", f"a{i}", meta(r, earlier={"augmenter": "eda"})))    # copy of the copy
        rows.append((f"c{i}", f"u{i}_0", meta(f"Q{i}", augmenter="eda")))         # no rendering of Q{i}
        rows.append((f"x{i}", f"X{i}", meta(f"X{i}#1")))                           # an instance of X{i}
        rows.append((f"y{i}", f"v{i}", meta(f"X{i}#1", augmenter="eda")))         # copy of a dropped one
    rows += [("L1", "L2", meta("Z")), ("L2", "L1", meta("Z"))]
    df = pl.DataFrame(rows, schema=["id", "parent_id", "meta"], orient="row")
    where = _where(df, assign_splits(_parts(tmp_path, df, [337]), ShardSpec(splits=HALF))[0])
    raw = _by_id([f"R{i}" for i in range(n)] + [f"Q{i}" for i in range(n)] + [f"X{i}" for i in range(n)])
    for i in range(n):
        assert where[f"a{i}"] == where[f"b{i}"] == where[f"t{i}_1"] == raw[f"R{i}"]
        assert where[f"c{i}"] == raw[f"Q{i}"] and where[f"y{i}"] == where[f"x{i}"] == raw[f"X{i}"]
    own = _by_id(["L1", "L2"])
    assert where["L1"] == own["L1"] and where["L2"] == own["L2"]
    # before: a copy was keyed by the dropped rendering's id, so some left their raw row's split
    by_parent = _by_id([f"t{i}_0" for i in range(n)])
    assert any(by_parent[f"t{i}_0"] != raw[f"R{i}"] for i in range(n))


def _shown_parts(tmp_path: Path, n: int = 400):
    """Raw rows S{i} rendered once each (r{i}, meta family f / source_row S{i}); every even row
    shows the next raw row as a few-shot exemplar; each r{i} has an evolved child v{i} whose meta
    names no family or source row (only its parent_id ties it to r{i})."""
    rows = []
    for i in range(n):
        m = {"family": "f", "source_row": f"S{i}",
             "exemplars": [f"S{(i + 1) % n}"] if i % 2 == 0 else None}
        rows.append((f"r{i}", f"S{i}", json.dumps(m)))
        rows.append((f"v{i}", f"r{i}", json.dumps({"evol": 1})))
    df = pl.DataFrame(rows, schema=["id", "parent_id", "meta"], orient="row")
    return df, _parts(tmp_path, df, [333])


def test_rows_shown_as_exemplars_take_their_lineage_to_train(tmp_path):
    df, parts = _shown_parts(tmp_path)
    spec = ShardSpec(splits=HALF)
    split_of, ex, _ = assign_splits(parts, spec)
    where = _where(df, split_of)
    before = _where(df, assign_splits(parts, ShardSpec(splits=HALF, exemplar_split="hash"))[0])
    shown = {f"r{i}" for i in range(1, 400, 2)}
    kids = {f"v{i}" for i in range(1, 400, 2)}
    assert all(where[i] == "train" for i in shown | kids)
    assert any(before[i] == "validation" for i in kids)  # without lineage they stayed held out
    assert all(where[i] == before[i] for i in where if i not in shown | kids)  # nothing else moved
    assert ex["rows_to_train"] == {"validation": sum(before[i] == "validation" for i in shown | kids)}
    assert ex["cross_split_uses"] == 0 < ex["cross_split_uses_by_hash"]
    # by id, the old rule: the exemplar row moves, its child stays where its own id puts it
    by_id, _, _ = assign_splits(parts, ShardSpec(splits=HALF, split_by="id"))
    old = _where(df, by_id)
    own = _by_id(df["id"])
    assert all(old[i] == "train" for i in shown) and all(old[i] == own[i] for i in kids)


def test_split_by_is_validated_and_read_from_the_recipe(tmp_path):
    from dataforge import recipe

    with pytest.raises(ConfigError, match="split_by must be one of"):
        ShardSpec(splits=HALF, split_by="source")
    text = "sources: [{path: x.jsonl}]\noutput:\n  splits: {train: 0.5, validation: 0.5}\n  split_by: %s\n"
    assert recipe.loads(text % "id", base_dir=tmp_path).output.shards.split_by == "id"
    assert recipe.loads(text.replace("  split_by: %s\n", ""), base_dir=tmp_path).output.shards.split_by == "lineage"
    with pytest.raises(ConfigError, match=r"<recipe>:4: output: split_by must be one of"):
        recipe.loads(text % "bogus", base_dir=tmp_path)


RECIPE = """
name: lineage
seed: 5
batch_size: 60
sources:
  - name: rt
    path: {path}
pipeline:
  - convert: {{family: sentiment, templates: all, prompt_types: {{zero_shot: 0.6, few_shot: 0.4}}, k: 1}}
  - eda: {{actions: [swap], min_similarity: null, per_row: 2}}
output:
  splits: {{train: 0.5, validation: 0.5}}
  report: false
"""


def test_a_converted_and_augmented_run_holds_out_whole_examples(tmp_path):
    from dataforge import recipe

    rows = [json.loads(x) for x in (ROOT / "sample_data" / "rt_polarity.jsonl").read_text().splitlines()[:40]]
    (tmp_path / "rt.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    res = recipe.loads(RECIPE.format(path=tmp_path / "rt.jsonl")).run(out=tmp_path / "out")
    df = pl.concat([pl.read_parquet(tmp_path / "out" / "data" / s["path"]).with_columns(pl.lit(s["split"]).alias("s"))
                    for s in res.manifest["shards"]])
    parent = dict(zip(df["id"], df["parent_id"]))
    assert any(p in parent for p in parent.values())  # augmented copies of written rows

    def root(i):
        while parent.get(i) and parent[i] != i:
            i = parent[i]
        return i

    where = dict(zip(df["id"], df["s"]))
    groups = {}
    for i in where:
        groups.setdefault(root(i), set()).add(where[i])
    assert len(groups) == 40 and all(len(s) == 1 for s in groups.values())
    assert set().union(*groups.values()) == {"train", "validation"}
    own = _by_id(df["id"])
    assert any(len({own[i] for i in where if root(i) == r}) > 1 for r in groups)  # by id: a leak
    m = res.manifest
    assert m["split_by"]["policy"] == "lineage" and m["split_by"]["rows_moved_by_lineage"]
    assert m["exemplar_splits"]["cross_split_uses"] == 0
