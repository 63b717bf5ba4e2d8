"""Issue 27, Required 4: `cmteb-eval report RESULTS... --html FILE` writes one self-contained page,
checked in a real headless browser (Debian's chromium and chromedriver, driven by selenium): it loads
with no console error, sorting and filtering change the rows, and a screenshot is taken (into
$CMTEB_SCREENSHOT_DIR when set, e.g. docs/, else the test's temp folder).

The browser fixture installs chromium and chromium-driver with apt-get where it can (root on Debian,
as on CI machines); it skips, saying why, only where they cannot be installed."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cmteb_eval.cli import main
from test_reader_reports import RESULTS_REPO, write_run

CHROMIUM = ("chromium", "chromium-browser")
DRIVERS = ("chromedriver", "/usr/lib/chromium/chromedriver", "/usr/bin/chromedriver")


def _found() -> tuple[str | None, str | None]:
    browser = next((shutil.which(b) for b in CHROMIUM if shutil.which(b)), None)
    driver = next((shutil.which(d) or (d if Path(d).is_file() else None) for d in DRIVERS
                   if shutil.which(d) or Path(d).is_file()), None)
    return browser, driver


def _install() -> str:
    """Install Debian's chromium and chromium-driver; '' when done, else why not."""
    if not shutil.which("apt-get"):
        return "no apt-get on this machine"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "not root: run 'sudo apt-get install chromium chromium-driver'"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "chromium-driver"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:  # a fresh machine: the package lists first
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True, env=env, timeout=600)
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    return "" if done.returncode == 0 else f"apt-get install failed: {done.stderr[-300:]}"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extras: pip install .[test]")
    from selenium.webdriver.chrome.service import Service

    chromium, driver = _found()
    if not (chromium and driver):
        why = _install()
        chromium, driver = _found()
        if not (chromium and driver):
            pytest.skip(f"chromium and chromium-driver cannot be installed here ({why or 'not found after install'})")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    yield session
    session.quit()


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    out = tmp_path_factory.mktemp("page-runs")
    write_run(out, "model-a", {"STSB": 0.7, "LCQMC": 0.6, "Ocnli": 0.65}, items=True, seed=1)
    write_run(out, "model-b", {"STSB": 0.72, "LCQMC": 0.55, "Ocnli": 0.7}, items=True, seed=2)
    return out


def _page(tmp_path, capsys, *paths) -> Path:
    target = tmp_path / "page.html"
    assert main(["report", *map(str, paths), "--html", str(target)]) == 0
    assert capsys.readouterr().out == f"Wrote {target}\n"
    text = target.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", text)  # nothing fetched at view time
    return target


def _visible_rows(session):
    from selenium.webdriver.common.by import By

    rows = session.find_elements(By.CSS_SELECTOR, "#tasks tbody tr")
    return [r for r in rows if r.is_displayed()]


def _check_in_browser(session, page: Path, screenshot: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    session.get(page.as_uri())
    assert session.title
    errors = [entry for entry in session.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    assert session.find_elements(By.CSS_SELECTOR, "table[data-board]")  # a leaderboard
    assert session.find_elements(By.CSS_SELECTOR, "img[src^='data:image/png']")  # charts inline
    # sorting by Score: ascending, then descending
    score = next(th for th in session.find_elements(By.CSS_SELECTOR, "#tasks th") if th.text == "Score")
    score.click()
    up = [float(r.find_elements(By.TAG_NAME, "td")[5].text) for r in _visible_rows(session)]
    score.click()
    down = [float(r.find_elements(By.TAG_NAME, "td")[5].text) for r in _visible_rows(session)]
    assert up == sorted(up) and down == sorted(down, reverse=True) and up != down
    # filtering by type
    every = len(_visible_rows(session))
    Select(session.find_element(By.ID, "type-filter")).select_by_value("STS")
    shown = _visible_rows(session)
    assert 0 < len(shown) < every
    assert {r.find_elements(By.TAG_NAME, "td")[2].text for r in shown} == {"STS"}
    assert session.find_element(By.ID, "shown").text == str(len(shown))
    Select(session.find_element(By.ID, "type-filter")).select_by_value("")
    assert len(_visible_rows(session)) == every
    folder = Path(os.environ.get("CMTEB_SCREENSHOT_DIR") or page.parent)
    height = session.execute_script("return document.body.scrollHeight")
    session.set_window_size(1400, min(int(height) + 120, 4000))  # the whole page, as far as it goes
    assert session.save_screenshot(str(folder / screenshot))
    assert (folder / screenshot).stat().st_size > 10_000


def test_page_of_our_runs_in_a_real_browser(browser, ours, tmp_path, capsys):
    page = _page(tmp_path, capsys, ours)
    text = page.read_text(encoding="utf-8")
    assert "Comparisons with the first model" in text and "95% CI" in text  # per-item scores: tested
    assert "model-a" in text and "cosine_spearman" in text
    _check_in_browser(browser, page, "leaderboard_ours.png")


def test_page_of_the_results_repository_in_a_real_browser(browser, tmp_path, capsys):
    page = _page(tmp_path, capsys, RESULTS_REPO)
    text = page.read_text(encoding="utf-8")
    assert "NOT cmteb-eval" in text and "not cmteb-eval" in text  # foreign files named as such
    assert "72.22 (2/8)" in text  # bge-small-zh's C-MTEB STS: 2 of 8 tasks, with its count
    _check_in_browser(browser, page, "leaderboard_results_repo.png")
