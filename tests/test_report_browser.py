"""Open the report in real headless Chromium: every section rendered, no broken image, a clean
console, and a screenshot kept in test-artifacts/. Skips (saying how to install) without Chromium."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest


SECTIONS = ("warnings", "summary", "funnel", "breakdown", "rejects", "tokens", "scores", "examples", "context",
            "lengths", "coverage", "text_stats", "verb_noun", "duplicates", "diversity", "embedding", "sample")
# the visible part of each table (clipped by scrolling ancestors); any two that are not nested must not meet
OVERLAPS = """
function visible(el) {
  var r = el.getBoundingClientRect(), box = {l: r.left, t: r.top, r: r.right, b: r.bottom};
  for (var p = el.parentElement; p; p = p.parentElement) {
    var cs = getComputedStyle(p);
    if (cs.overflowX !== 'visible' || cs.overflowY !== 'visible') {
      var q = p.getBoundingClientRect();
      box = {l: Math.max(box.l, q.left), t: Math.max(box.t, q.top), r: Math.min(box.r, q.right), b: Math.min(box.b, q.bottom)};
    }
  }
  return box;
}
var ts = Array.from(document.querySelectorAll('table')).filter(function (t) {
  return t.checkVisibility ? t.checkVisibility() : t.offsetParent !== null; });  // not inside a closed <details>
var boxes = ts.map(visible), bad = [];
for (var i = 0; i < ts.length; i++) for (var j = i + 1; j < ts.length; j++) {
  if (ts[i].contains(ts[j]) || ts[j].contains(ts[i])) continue;
  var a = boxes[i], b = boxes[j];
  var w = Math.min(a.r, b.r) - Math.max(a.l, b.l), h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
  if (w > 1 && h > 1) bad.push([ts[i].className + '@' + ts[i].closest('section').id, ts[j].className + '@' + ts[j].closest('section').id, w, h]);
}
// text that spills out of its cell (a long URL) draws over the next table even when the boxes do not meet
ts.forEach(function (t) { Array.from(t.querySelectorAll('td, th')).forEach(function (c) {
  if (c.scrollWidth > c.clientWidth + 2) bad.push(['spill', t.className + '@' + t.closest('section').id, c.textContent.slice(0, 60)]);
}); });
return {tables: ts.length, overlaps: bad, scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth};
"""
INSTALL = "sudo apt-get update && sudo apt-get install -y chromium chromium-driver  (or scripts/install_chromium.sh)"


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip(f"headless Chromium not installed; install it with: {INSTALL}")
    return browser, driver


@pytest.fixture
def driver(tmp_path):
    browser, driver_path = _chromium()
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    yield d
    d.quit()


def _check(driver, page: Path, shot: Path, width: int = 1400) -> None:
    driver.set_window_size(width, 1000)
    driver.get(page.resolve().as_uri())
    for sid in SECTIONS:
        el = driver.find_element("id", sid)
        assert el.get_attribute("data-status") == "ok", f"section {sid}: {el.text[:200]}"
        assert el.is_displayed() and el.size["height"] > 40, sid
    images = driver.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(images) >= 8
    broken = [alt for alt, complete, w, h in images if not complete or w == 0 or h == 0]
    assert not broken, f"broken images: {broken}"
    # nothing outside the file was requested
    remote = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('data:'))")
    assert remote == []
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    lay = driver.execute_script(OVERLAPS)
    assert lay["tables"] > 10 and not lay["overlaps"], lay["overlaps"]
    assert lay["scrollWidth"] <= lay["width"] + 1, f"page wider than the window at {width}px: {lay}"
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(width, min(height + 100, 12000))
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A run with planted problems and long unbreakable URLs (which once made compare mode's tables overlap)."""
    from tests.support.planted_run import build_planted_run

    root = tmp_path_factory.mktemp("planted")
    return (build_planted_run(root / "a", links=True, metrics=True),
            build_planted_run(root / "b", links=True, limit=80, report=False))


@pytest.mark.slow
def test_report_renders_in_chromium(driver, planted, artifacts_dir):
    from dataforge.report import build_report

    out, other = planted
    for width in (1400, 800):
        _check(driver, out / "report" / "index.html", artifacts_dir / f"report-{width}.png", width)
    compare = build_report(out, compare=other)
    for width in (1400, 800):
        _check(driver, compare, artifacts_dir / f"report-compare-{width}.png", width)


@pytest.mark.slow
def test_planted_rule_eating_a_source_shows_in_chromium(driver, planted):
    from selenium.webdriver.common.by import By

    from tests.support.planted_run import EATEN

    out = planted[0]
    driver.set_window_size(1400, 1000)
    driver.get((out / "report" / "index.html").resolve().as_uri())
    # the warning is the first section, and names the rule and the source
    first = driver.find_element(By.CSS_SELECTOR, "main section")
    assert first.get_attribute("id") == "warnings"
    items = first.find_elements(By.CSS_SELECTOR, f'li[data-rule="eats_source"][data-value="{EATEN}"]')
    assert len(items) == 1 and items[0].is_displayed() and "eats_source" in items[0].text
    # the breakdown row is there, its share in red
    row = driver.find_element(By.CSS_SELECTOR, f'#breakdown table[data-dim="source"] tr[data-rule="eats_source"][data-value="{EATEN}"]')
    share = row.find_elements(By.TAG_NAME, "td")[-1]
    assert "share-hi" in share.get_attribute("class") and share.text.endswith("%")
    # rows in context: each dropped duplicate beside its kept row, a derived row beside its parent
    assert driver.find_elements(By.CSS_SELECTOR, "#context .dup-pair") and driver.find_elements(By.CSS_SELECTOR, "#context .parent-pair")
    # the sample table filters and sorts in the page
    block = driver.find_element(By.CSS_SELECTOR, ".sample-block")
    n_all = len(block.find_elements(By.CSS_SELECTOR, "tbody tr"))
    block.find_element(By.CSS_SELECTOR, "select.status").send_keys("rejected")
    rows = block.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert 0 < len(rows) < n_all and all(r.find_elements(By.TAG_NAME, "td")[0].text == "rejected" for r in rows)
    block.find_element(By.CSS_SELECTOR, "select.status").send_keys("kept")
    block.find_element(By.CSS_SELECTOR, 'th[data-k="score_words"]').click()
    vals = driver.execute_script(
        "var b = document.querySelector('.sample-block'); var i = Array.from(b.querySelectorAll('th')).findIndex(t => t.dataset.k === 'score_words');"
        "return Array.from(b.querySelectorAll('tbody tr')).map(r => r.children[i].textContent).filter(x => x).map(Number);")
    assert len(vals) > 10 and vals == sorted(vals)
    # the embedding map is drawn per source and per task, each point with its instruction as hover text
    maps = driver.find_elements(By.CSS_SELECTOR, "#embedding svg.map")
    assert [m.get_attribute("data-key") for m in maps] == ["source", "task"]
    titles = driver.execute_script("return Array.from(document.querySelectorAll('#embedding svg.map[data-key=source] title')).map(t => t.textContent)")
    import json

    doc = json.loads((out / "report.json").read_text())
    assert len(titles) == len(doc["embedding"]["points"]) > 50
    assert sum(p["text"] in t and len(p["text"]) > 15 for p, t in zip(doc["embedding"]["points"], titles)) == len(titles)
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors


def test_skip_message_names_the_install_command(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium chromium-driver"):
        _chromium()
