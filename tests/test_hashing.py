"""Row hashes are the same whichever path computes them, and stay what they are across releases."""
import random

import numpy as np
import polars as pl
import pytest

from dataforge import hashing, rand
from dataforge.schema import content_id


def _texts(n=500, seed=3):
    rng = random.Random(seed)
    alphabet = "ab \x1f\x00\n\té中😀" + "".join(chr(c) for c in range(0x20, 0x7f))
    return [("".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 300)))) for _ in range(n)]


@pytest.fixture
def python_path(monkeypatch):
    monkeypatch.setenv("DATAFORGE_HASH_PLUGIN", "0")
    monkeypatch.setattr(hashing, "_plugin", None)
    yield
    monkeypatch.setattr(hashing, "_plugin", None)


def test_plugin_and_python_paths_agree(monkeypatch):
    texts = pl.Series("k", _texts())
    if not hashing._backend():
        pytest.skip("polars-hash does not work with this Polars: only the xxhash path exists")
    fast_hex, fast_u64 = hashing.hex_ids(texts).to_list(), hashing.u64(texts)
    monkeypatch.setattr(hashing, "_plugin", False)
    assert hashing.hex_ids(texts).to_list() == fast_hex
    assert np.array_equal(hashing.u64(texts), fast_u64)


def test_values_are_pinned(python_path):
    # XXH3's published values: a change here changes every row id and draw of every run
    assert hashing.backend_name() == "xxhash"
    assert hashing.hex_ids(pl.Series(["a"])).to_list() == ["a96faf705af16834e6c6"]
    assert hashing.u64(["a"]).tolist() == [16629034431890738719]
    ids = content_id(pl.DataFrame({"instruction": ["Say hi."], "input": [None], "output": ["Hi!"]}))
    assert len(ids[0]) == 20 and all(c in "0123456789abcdef" for c in ids[0])


def test_nulls_hash_like_empty_strings():
    assert hashing.hex_ids(pl.Series([None, ""], dtype=pl.Utf8)).n_unique() == 1
    a, b = hashing.u64(pl.Series([None, ""], dtype=pl.Utf8))
    assert a == b


def test_draws_do_not_depend_on_batching():
    ids = [f"row{i}" for i in range(1000)]
    whole = rand.uniform(rand.base(ids, 7), "p")
    parts = np.concatenate([rand.uniform(rand.base(ids[:300], 7), "p"), rand.uniform(rand.base(pl.Series(ids[300:]), 7), "p")])
    assert np.array_equal(whole, parts)
    assert 0.45 < whole.mean() < 0.55  # uniform, not degenerate
    assert not np.array_equal(whole, rand.uniform(rand.base(ids, 8), "p"))
