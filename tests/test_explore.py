"""`dataforge explore`: lazy queries over a run's shards and rejects, the JSON API, the CLI.

Every answer is checked against the same selection computed eagerly from the Parquet files."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from dataforge.explore import Query, Run
from tests.support.planted_run import build_planted_run

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from dataforge.explore.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    return build_planted_run(tmp_path_factory.mktemp("explore") / "out", report=False)


def everything(out: Path) -> pl.DataFrame:
    """Kept rows (split from the shard name) and rejected rows, read whole: the reference."""
    kept = [pl.read_parquet(p).with_columns(pl.lit(p.name.split("-")[0]).alias("split"), pl.lit("kept").alias("status"))
            for p in sorted((out / "data").glob("*.parquet"))]
    rej = pl.read_parquet(out / "rejects" / "*.parquet").with_columns(pl.lit("rejected").alias("status"))
    return pl.concat(kept + [rej], how="diagonal_relaxed")


def test_filter_sort_search_page_sequence(planted):
    run, ref = Run(planted), everything(planted)
    # 1. filter: one source, one split, a score range
    q = Query(source=["alpaca"], split=["train"], scores={"score_inst": (0.1, 0.5)}, limit=7)
    want = ref.filter((pl.col("source") == "alpaca") & (pl.col("split") == "train")
                      & pl.col("score_inst").is_between(0.1, 0.5))
    res = run.page(q)
    assert res["total"] == want.height > 7 and len(res["rows"]) == 7
    # 2. sort by a score, descending: the page is the top of the sorted reference
    q.sort, q.desc = "score_inst", True
    res = run.page(q)
    top = want.sort(["score_inst", "id"], descending=[True, False]).head(7)
    assert len(set(top["score_inst"])) > 1
    assert [r["id"] for r in res["rows"]] == top["id"].to_list()
    # 3. search (case-insensitive) on top
    q.q = "WRITE"
    hit = want.filter(pl.any_horizontal([pl.col(f).str.contains("(?i)write") for f in ("instruction", "input", "output")]))
    res = run.page(q)
    assert res["total"] == hit.height > 0
    # 4. next page
    q.offset = 7
    res2 = run.page(q)
    sorted_hit = hit.sort(["score_inst", "id"], descending=[True, False])
    assert [r["id"] for r in res2["rows"]] == sorted_hit["id"].to_list()[7:14]
    assert all(r["instruction"] for r in res2["rows"])  # full rows, not only the keys


def test_rejects_by_rule_and_status(planted):
    run, ref = Run(planted), everything(planted)
    res = run.page(Query(status="rejected", rule=["eats_source"], limit=500))
    want = ref.filter(pl.col("reason").str.starts_with("eats_source"))
    assert res["total"] == want.height and {r["status"] for r in res["rows"]} == {"rejected"}
    assert {r["source"] for r in res["rows"]} == {"seed_tasks"}
    kept = run.page(Query(status="kept", task=["brainstorming"], limit=1))
    assert kept["total"] == ref.filter((pl.col("status") == "kept") & (pl.col("task") == "brainstorming")).height
    info = run.info()
    assert {f["value"] for f in info["facets"]["rule"]} == {"eats_source", "duplicate_exact", "not_selected"}
    assert set(info["scores"]) == {"score_inst", "score_words"}


def test_a_row_opens_with_its_parent_and_its_duplicate_cluster(planted):
    run, ref = Run(planted), everything(planted)
    child = ref.filter(pl.col("parent_id").is_not_null() & (pl.col("status") == "kept")).row(0, named=True)
    got = run.row(child["id"], "kept")
    assert got["parent"]["id"] == child["parent_id"] and got["parent"]["output"].upper() == child["output"]
    # the parent lists the child among its derived rows
    assert child["id"] in [c["id"] for c in run.row(child["parent_id"])["children"]]
    # a dropped copy opens with the row kept in its place, and the kept row with its copies
    kept_ids = set(ref.filter(pl.col("status") == "kept")["id"])
    dups = ref.filter(pl.col("reason").str.starts_with("duplicate_exact")).to_dicts()
    dup = next(d for d in dups if json.loads(d["detail"])["kept_id"] in kept_ids)
    kept_id = json.loads(dup["detail"])["kept_id"]
    got = run.row(dup["id"], "rejected")
    assert got["row"]["status"] == "rejected"
    assert got["cluster"]["kept"]["id"] == kept_id and got["cluster"]["kept"]["status"] == "kept"
    assert dup["id"] in [m["id"] for m in got["cluster"]["members"]]
    assert dup["id"] in [m["id"] for m in run.row(kept_id, "kept")["cluster"]["members"]]
    # a copy whose kept row a later stage removed still names it
    gone = [d for d in dups if json.loads(d["detail"])["kept_id"] not in kept_ids]
    assert gone  # select_t_half removed some of the rows dedup kept
    k = run.row(gone[0]["id"], "rejected")["cluster"]["kept"]
    assert k["id"] == json.loads(gone[0]["detail"])["kept_id"] and k["status"] == "rejected"
    assert not k["reason"].startswith("duplicate")
    assert isinstance(got["row"]["meta"], (dict, type(None)))


def test_http_api_and_export(planted):
    client = TestClient(create_app(planted))
    assert "dataforge explore" in client.get("/").text
    ref = everything(planted)
    params = {"source": "alpaca,shout", "sort": "score_words", "desc": "0", "q": "the", "limit": 5, "offset": 5,
              "score_inst_min": 0.1}
    res = client.get("/api/rows", params=params).json()
    want = (ref.filter(pl.col("source").is_in(["alpaca", "shout"]) & (pl.col("score_inst") >= 0.1)
                       & pl.any_horizontal([pl.col(f).str.contains("(?i)the") for f in ("instruction", "input", "output")]))
            .sort(["score_words", "id"]))
    assert res["total"] == want.height and [r["id"] for r in res["rows"]] == want["id"].to_list()[5:10]
    exp = client.get("/api/export", params={k: v for k, v in params.items() if k not in ("limit", "offset")})
    assert exp.status_code == 200 and "attachment" in exp.headers["content-disposition"]
    lines = [json.loads(x) for x in exp.text.splitlines()]
    assert [r["id"] for r in lines] == want["id"].to_list()
    row = client.get(f"/api/row/{lines[0]['id']}", params={"status": lines[0]["status"]}).json()
    assert row["row"]["id"] == lines[0]["id"]
    bad = client.get("/api/rows", params={"sort": "nope"})
    assert bad.status_code == 400 and "cannot sort" in bad.json()["error"]
    assert client.get("/api/rows", params={"score_words_min": "x"}).status_code == 400
    assert client.get("/api/row/nope").status_code == 400


def test_compare_serves_two_runs(planted, tmp_path):
    other = build_planted_run(tmp_path / "b", limit=60, report=False)
    client = TestClient(create_app(planted, other))
    runs = client.get("/api/runs").json()
    assert [r["key"] for r in runs] == ["a", "b"]
    a = client.get("/api/rows", params={"run": "a", "source": "alpaca"}).json()["total"]
    b = client.get("/api/rows", params={"run": "b", "source": "alpaca"}).json()["total"]
    assert b < a
    assert client.get("/api/rows", params={"run": "c"}).status_code == 400


def test_cli_prints_its_url_and_binds_localhost(planted):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-m", "dataforge.cli", "explore", str(planted), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line
        import httpx

        for _ in range(100):
            try:
                r = httpx.get(f"http://127.0.0.1:{m.group(1)}/api/info", timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["label"] == "planted"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
