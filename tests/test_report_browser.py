"""Open the report in real headless Chromium: every section rendered, no broken image, a clean
console, and a screenshot kept in test-artifacts/. Skips (saying how to install) without Chromium."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.test_report import SAMPLE, build_rich_run

SECTIONS = ("summary", "funnel", "rejects", "scores", "examples", "lengths", "coverage",
            "duplicates", "diversity", "embedding")
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


def _check(driver, page: Path, shot: Path) -> None:
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
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, min(height + 100, 12000))
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


@pytest.mark.slow
def test_report_renders_in_chromium(driver, tmp_path, artifacts_dir):
    out = build_rich_run(tmp_path / "rich", SAMPLE)
    _check(driver, out / "report" / "index.html", artifacts_dir / "report.png")

    other = build_rich_run(tmp_path / "small", SAMPLE, limit=120)
    from dataforge.report import build_report

    _check(driver, build_report(out, compare=other), artifacts_dir / "report-compare.png")


def test_skip_message_names_the_install_command(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium chromium-driver"):
        _chromium()
