"""report.html and compare.html in a real browser: headless Debian Chromium driven by selenium.

Checks that every image decodes (``naturalWidth > 0``), every section is there and the page logs
no console error; saves screenshots into the test's temporary folder. The real report is that of
the shared kws_dscnn deployment (tests/report_deploys.py); the complete synthetic sample renders
every plot. ``EDGEFACT_UPDATE_SCREENSHOT=1`` also refreshes docs/img/report.png (the README's).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from report_deploys import ROOT, kws_deploy
from report_samples import factorized_sample, sample_report

from edgefact.report.compare import COMPARE_SECTIONS, load_variants, write_compare
from edgefact.report.render import HTML_SECTIONS, write_reports

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = [pytest.mark.skipif(not (Path(CHROMIUM).is_file() and Path(DRIVER).is_file()),
                                 reason="chromium / chromium-driver not installed (scripts/setup installs them)")]


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1500", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _check_page(driver, page: Path, sections: tuple[tuple[str, str], ...], shot: Path) -> dict:
    from selenium.webdriver.common.by import By

    driver.get(page.resolve().as_uri())
    state = driver.execute_script(
        "return {ready: document.readyState, images: Array.from(document.images).map("
        "i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}))}")
    assert state["ready"] == "complete"
    bad = [i for i in state["images"] if not i["complete"] or i["width"] <= 0]
    assert not bad, f"images that do not decode in {page.name}: {bad}"
    for sid, heading in sections:
        el = driver.find_element(By.ID, sid)
        assert heading in el.text, f"section {sid} of {page.name} lacks its heading"
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, f"console errors in {page.name}: {errors}"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    return state


def test_report_html_of_a_real_deployment(browser, tmp_path: Path) -> None:
    report, out = kws_deploy(2)
    page = tmp_path / "report.html"
    shutil.copyfile(out / "report.html", page)
    state = _check_page(browser, page, HTML_SECTIONS, tmp_path / "report.png")
    assert len(state["images"]) == 3  # per-layer count vs MACs, MACs per count, memory (no accuracy measured)
    from selenium.webdriver.common.by import By

    summary = browser.find_element(By.ID, "summary").text
    assert "bit-exact" in summary and "deployable" in summary
    assert "ef_depthwise_conv" in browser.find_element(By.ID, "layers").text
    if os.environ.get("EDGEFACT_UPDATE_SCREENSHOT") == "1":
        _save_small_png(tmp_path / "report.png", ROOT / "docs" / "img" / "report.png")


def test_report_html_with_every_plot(browser, tmp_path: Path) -> None:
    write_reports(sample_report(), tmp_path)
    state = _check_page(browser, tmp_path / "report.html", HTML_SECTIONS, tmp_path / "sample.png")
    assert len(state["images"]) == 4


def test_compare_html(browser, tmp_path: Path) -> None:
    dirs = []
    for name, r in (("base", sample_report()), ("lowrank", factorized_sample())):
        d = tmp_path / name
        d.mkdir()
        (d / "report.json").write_text(json.dumps(r))
        dirs.append(d)
    write_compare(load_variants(dirs), tmp_path / "cmp")
    state = _check_page(browser, tmp_path / "cmp" / "compare.html", COMPARE_SECTIONS, tmp_path / "compare.png")
    assert len(state["images"]) == 1
    from selenium.webdriver.common.by import By

    assert "2× CONV_2D" in browser.find_element(By.ID, "layers").text


def _save_small_png(src: Path, dst: Path) -> None:
    """The screenshot as a palette PNG (a few hundred KiB at most) for the README."""
    from PIL import Image

    dst.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as im:
        im.convert("RGB").quantize(colors=128).save(dst, optimize=True)
