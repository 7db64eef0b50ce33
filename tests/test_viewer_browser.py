"""`swegym view` in a real headless Chromium (Debian's chromium + chromedriver, through selenium).

Loads a run, filters, opens an episode, checks the diff and grades render, that markup injected in
an observation does not run, keyboard navigation, the theme toggle, and time to first render of
the episode list on a 10,000-episode store. Screenshots go to docs/img/viewer-*.png.
"""

from __future__ import annotations

import shutil
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swegym.viewer.server import ViewerConfig, ViewerServer, make_server
from test_viewer import big_run, small_run

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not (Path(CHROMEDRIVER).is_file() and Path(CHROMIUM).is_file()):
    pytest.skip(
        "browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="browser tests need selenium (the dev extra)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-extensions", "--no-first-run", "--window-size=1400,1000",
]  # fmt: skip


def _serve(runs: list[Path]) -> tuple[ViewerServer, str]:
    srv = make_server(ViewerConfig(runs=runs, port=0, n_boot=200))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.url.rstrip("/")


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console errors, CSP violations
    for flag in FLAGS:
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("viewer-browser")
    srv, url = _serve([small_run(root / "oracle-k2"), small_run(root / "second")])
    yield url
    srv.shutdown()
    srv.server_close()


def _wait(drv: Any, css: str, timeout: float = 10) -> Any:
    return WebDriverWait(drv, timeout).until(lambda d: d.find_element(By.CSS_SELECTOR, css))


def _open(drv: Any, url: str, marker: str) -> Any:
    drv.get(url)
    return _wait(drv, marker)


def _rows(drv: Any) -> list[Any]:
    return drv.find_elements(By.CSS_SELECTOR, "#episode-table tbody tr")


def _press(drv: Any, key: str) -> None:
    drv.find_element(By.TAG_NAME, "body").send_keys(key)


def _console_errors(drv: Any) -> list[str]:
    return [e["message"] for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def _set_theme(drv: Any, theme: str) -> None:
    if drv.execute_script("return document.documentElement.dataset.theme") != theme:
        drv.find_element(By.ID, "theme-toggle").click()


def test_list_filter_open_episode_diff_and_grades(driver: Any, site: str) -> None:
    _open(driver, f"{site}/episodes", "main[data-rendered] #episode-table")
    assert len(_rows(driver)) == 12
    _set_theme(driver, "light")
    driver.save_screenshot(str(IMG / "viewer-list.png"))
    Select(driver.find_element(By.NAME, "outcome")).select_by_value("resolved")
    WebDriverWait(driver, 10).until(lambda d: len(_rows(d)) == 4)
    assert "outcome=resolved" in driver.current_url  # the link holds the filter
    Select(driver.find_element(By.NAME, "run")).select_by_visible_text("oracle-k2")
    WebDriverWait(driver, 10).until(lambda d: len(_rows(d)) == 2 and "run=0" in d.current_url)
    # A shared link opens the same filtered view.
    _open(driver, driver.current_url, "main[data-rendered] #episode-table")
    assert len(_rows(driver)) == 2 and {r.text.count("resolved") for r in _rows(driver)} == {1}

    _rows(driver)[0].find_element(By.CSS_SELECTOR, "a").click()
    _wait(driver, "main[data-rendered] #episode-title")
    diff = driver.find_element(By.CSS_SELECTOR, "pre[data-diff]")
    assert diff.find_elements(By.CSS_SELECTOR, ".d-add") and diff.find_elements(By.CSS_SELECTOR, ".d-del")
    assert diff.find_elements(By.CSS_SELECTOR, ".d-add .t-com") and diff.find_elements(
        By.CSS_SELECTOR, ".t-kw"
    )
    grades = driver.find_elements(By.CSS_SELECTOR, "#grades tbody tr")
    assert len(grades) == 3 and "tests/test_calc.py::test_clamp_upper" in grades[0].text
    assert grades[0].find_element(By.CSS_SELECTOR, "td:nth-child(3)").text == "failed"  # before
    assert grades[0].find_element(By.CSS_SELECTOR, "td:nth-child(4)").text == "passed"  # after
    turns = driver.find_element(By.ID, "turns")
    assert turns.find_elements(By.CSS_SELECTOR, ".tool-execute_bash") and turns.find_elements(
        By.CSS_SELECTOR, ".tool-finish"
    )
    assert "900 prompt tok" in turns.text
    elided = turns.find_element(By.CSS_SELECTOR, "button.elided")  # 120 lines of pytest output, middle elided
    assert "lines elided" in elided.text and "test_case_60 PASSED" not in turns.text
    elided.click()
    assert "test_case_60 PASSED" in driver.find_element(By.ID, "turns").text
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(IMG / "viewer-episode.png"))
    driver.execute_script("document.getElementById('turns').scrollIntoView()")
    driver.save_screenshot(str(IMG / "viewer-conversation.png"))
    # No request left this server (assets ship in the package).
    origin = site.rstrip("/")
    names = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert names and all(n.startswith(origin) for n in names), names
    assert _console_errors(driver) == []


def test_injected_markup_does_not_run(driver: Any, site: str) -> None:
    _open(
        driver,
        f"{site}/episodes?model=hostile%3Cb%3Emodel%3C%2Fb%3E&run=0",
        "main[data-rendered] #episode-table",
    )
    assert [r.text.count("hostile<b>model</b>") for r in _rows(driver)] == [1]
    _rows(driver)[0].find_element(By.CSS_SELECTOR, "a").click()
    _wait(driver, "main[data-rendered] #episode-title")
    # Show every elided middle and collapsed message (clicked in the page: the header is sticky).
    for el in driver.find_elements(By.CSS_SELECTOR, "button.elided, details summary"):
        driver.execute_script("arguments[0].click()", el)
    text = driver.find_element(By.ID, "app").text
    assert "<script>window.__pwned = 'script'</script>" in text and "<img src=x onerror=" in text
    # The markup is text: no element was made from it, and nothing it carried ran.
    app = driver.find_element(By.ID, "app")
    assert not app.find_elements(By.CSS_SELECTOR, "script, img, #evil-link, a[href^='javascript']")
    time.sleep(0.3)  # an <img onerror> would have fired by now
    assert driver.execute_script("return window.__pwned === undefined")
    assert driver.find_elements(By.ID, "episode-error")
    assert _console_errors(driver) == []  # not even a script the CSP had to block


def test_keyboard_navigation_between_episodes(driver: Any, site: str) -> None:
    # Both runs' episodes of one task: navigation follows this list across the runs.
    _open(driver, f"{site}/episodes?task=calc-1", "main[data-rendered] #episode-table")
    expected = [f"{r.get_attribute('data-run')}:{r.get_attribute('data-id')}" for r in _rows(driver)]
    assert len(expected) == 4 and len(set(expected)) == 4
    _press(driver, "j")
    _press(driver, "j")
    _press(driver, "k")
    assert "selected" in _rows(driver)[1].get_attribute("class")

    def at(pos: int) -> Any:
        # Read in one script: the old page stays in the DOM until the new one has rendered.
        js = (
            "const t = document.querySelector('main[data-rendered] #episode-title');"
            "return t && `${t.dataset.run}:${t.dataset.id}`"
        )
        return lambda d: f"pos={pos}" in d.current_url and d.execute_script(js) == expected[pos]

    _press(driver, "\n")
    WebDriverWait(driver, 10).until(at(1))
    _press(driver, "n")
    WebDriverWait(driver, 10).until(at(2))  # the second run's first episode of the task
    _press(driver, "n")
    WebDriverWait(driver, 10).until(at(3))
    _press(driver, "p")
    WebDriverWait(driver, 10).until(at(2))
    _press(driver, "u")
    WebDriverWait(driver, 10).until(
        lambda d: (
            "/episodes" in d.current_url
            and d.find_elements(By.CSS_SELECTOR, "main[data-rendered] #episode-table")
        )
    )
    assert "task=calc-1" in driver.current_url


def test_theme_toggle_persists_and_overview(driver: Any, site: str) -> None:
    _open(driver, f"{site}/", "main[data-rendered] .run")
    _set_theme(driver, "light")
    light = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    _press(driver, "t")
    assert driver.execute_script("return document.documentElement.dataset.theme") == "dark"
    dark = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert light != dark
    _open(driver, f"{site}/", "main[data-rendered] .run")
    assert driver.execute_script("return document.documentElement.dataset.theme") == "dark"
    run = driver.find_elements(By.CSS_SELECTOR, ".run")[0]
    assert run.find_elements(By.CSS_SELECTOR, "svg.chart polyline.curve")  # pass@k curve
    assert "best@k" in run.text and "fixture/calc" in run.text and "tampered" in run.text
    driver.save_screenshot(str(IMG / "viewer-overview-dark.png"))
    _set_theme(driver, "light")
    driver.save_screenshot(str(IMG / "viewer-overview.png"))


def test_compare_two_episodes_of_a_task(driver: Any, site: str) -> None:
    _open(driver, f"{site}/episodes?task=calc-1&run=0&sample=1", "main[data-rendered] #episode-table")
    _rows(driver)[0].find_element(By.CSS_SELECTOR, "a").click()
    _wait(driver, "main[data-rendered] #episode-title")
    links = driver.find_elements(By.CSS_SELECTOR, ".compare a")
    assert len(links) == 3  # the task's other sample here, and both in the second run
    links[0].click()
    cols = _wait(driver, "main[data-rendered] #compare").find_elements(By.CSS_SELECTOR, ".col")
    assert len(cols) == 2 and "tests_failed" in cols[0].text and "resolved" in cols[1].text
    assert all(c.find_elements(By.CSS_SELECTOR, "pre[data-diff]") for c in cols)
    driver.save_screenshot(str(IMG / "viewer-compare.png"))


def test_episode_list_of_10000_renders_within_a_second(driver: Any, tmp_path: Path) -> None:
    start = time.perf_counter()
    run = big_run(tmp_path / "big")
    written = time.perf_counter() - start
    srv, url = _serve([run])
    try:
        figures, totals = [], []
        for query in ("", "?sort=tokens&order=desc&outcome=resolved&turns_min=10"):
            tries = []
            for _ in range(3):  # the median of three loads: one figure is at the mercy of the machine
                table = _open(driver, f"{url}/episodes{query}", "main[data-rendered] #episode-table")
                main = driver.find_element(By.CSS_SELECTOR, "main[data-rendered]")
                tries.append(float(main.get_attribute("data-rendered")))
                assert len(_rows(driver)) == 50
            figures.append(statistics.median(tries))
            totals.append(int(table.get_attribute("data-total")))
        assert totals[0] == 10_000 and 50 < totals[1] < 2000
        print(
            f"\n10,000-episode store written in {written:.1f} s; episode list first render: "
            f"{figures[0]:.0f} ms unfiltered, {figures[1]:.0f} ms filtered and sorted "
            "(since navigation start)"
        )
        assert max(figures) < 1000
    finally:
        srv.shutdown()
        srv.server_close()
