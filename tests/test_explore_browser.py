"""`dataforge explore` in real headless Chromium: a filter + sort + search + page sequence through
the page's controls, then a derived row opens with its parent and a dropped copy with its kept row."""
from __future__ import annotations

import json
import threading
import time

import polars as pl
import pytest

from tests.support.planted_run import build_planted_run
from tests.test_report_browser import driver  # noqa: F401  (the Chromium fixture)

pytest.importorskip("uvicorn")


@pytest.fixture
def server(tmp_path):
    import socket

    import uvicorn

    from dataforge.explore.app import create_app

    out = build_planted_run(tmp_path / "out", report=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(create_app(out), log_level="warning"))
    t = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield out, f"http://127.0.0.1:{sock.getsockname()[1]}/"
    srv.should_exit = True
    t.join(timeout=10)


def _wait(driver, cond, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: cond(d))


def _rows(driver):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#rows tbody tr')).map(r => [r.dataset.id, r.dataset.status])")


@pytest.mark.slow
def test_explore_page_sequence_and_row_context(driver, server):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    out, url = server
    data = pl.read_parquet(out / "data" / "*.parquet")
    driver.set_window_size(1400, 1000)
    driver.get(url)
    _wait(driver, lambda d: d.find_element(By.ID, "total").text.startswith("rows"))
    # filter (source), sort (a score, ascending), search, then the next page
    Select(driver.find_element(By.ID, "status")).select_by_value("kept")
    Select(driver.find_element(By.ID, "source")).select_by_value("alpaca")
    Select(driver.find_element(By.ID, "sort")).select_by_value("score_inst")
    driver.find_element(By.ID, "desc").click()  # ascending
    driver.find_element(By.ID, "q").send_keys("the")
    driver.find_element(By.ID, "apply").click()
    want = (data.filter((pl.col("source") == "alpaca") & pl.any_horizontal(
        [pl.col(f).str.contains("(?i)the") for f in ("instruction", "input", "output")]))
        .sort(["score_inst", "id"]))
    assert want.height > 50
    _wait(driver, lambda d: d.find_element(By.ID, "total").text.endswith(f"of {want.height}"))
    assert [i for i, _ in _rows(driver)] == want["id"].to_list()[:50]
    driver.find_element(By.ID, "next").click()
    _wait(driver, lambda d: d.find_element(By.ID, "total").text.startswith("rows 51"))
    assert [i for i, _ in _rows(driver)] == want["id"].to_list()[50:100]
    assert "source=alpaca" in driver.find_element(By.ID, "export").get_attribute("href")

    # a derived row opens with its parent
    Select(driver.find_element(By.ID, "source")).select_by_value("shout")
    driver.find_element(By.ID, "q").clear()
    driver.find_element(By.ID, "apply").click()
    _wait(driver, lambda d: d.execute_script(
        "var r = document.querySelectorAll('#rows tbody tr');"
        "return r.length > 0 && Array.from(r).every(x => x.children[1].textContent === 'shout');"))
    child_id = _rows(driver)[0][0]
    driver.find_element(By.CSS_SELECTOR, f'#rows tbody tr[data-id="{child_id}"]').click()
    parent = _wait(driver, lambda d: d.execute_script(
        "var p = document.getElementById('detail-parent'); return p && [p.dataset.id, p.textContent];"))
    assert parent[0] == data.filter(pl.col("id") == child_id)["parent_id"][0]
    assert "instruction:" in parent[1]

    # a dropped copy opens with the row kept in its place
    rej = pl.read_parquet(out / "rejects" / "*.parquet")
    kept_ids = set(data["id"])
    dup = next(r for r in rej.filter(pl.col("reason").str.starts_with("duplicate")).to_dicts()
               if json.loads(r["detail"])["kept_id"] in kept_ids)
    Select(driver.find_element(By.ID, "status")).select_by_value("rejected")
    Select(driver.find_element(By.ID, "source")).select_by_value(dup["source"])
    Select(driver.find_element(By.ID, "rule")).select_by_value("duplicate_exact")
    driver.find_element(By.ID, "apply").click()
    _wait(driver, lambda d: any(i == dup["id"] for i, _ in _rows(d)))
    driver.find_element(By.CSS_SELECTOR, f'#rows tbody tr[data-id="{dup["id"]}"]').click()
    kept = _wait(driver, lambda d: d.execute_script(
        "var k = document.getElementById('detail-kept'); var r = document.getElementById('detail-row');"
        f"return k && r && r.dataset.id === '{dup['id']}' && k.dataset.id && [k.dataset.id, k.dataset.status];"))
    assert kept == [json.loads(dup["detail"])["kept_id"], "kept"]
    members = driver.execute_script("return Array.from(document.querySelectorAll('#detail .member')).map(e => e.dataset.id)")
    assert dup["id"] in members
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
