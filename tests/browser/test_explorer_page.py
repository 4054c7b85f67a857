"""The explorer page in a real browser: headless Chromium (Debian's), driven by selenium.

Checked: the page loads with no console error and fetches nothing; the right arrow key
moves to the next step that changed something (skipping the quiet ones); B shows the
picture before a step; clicking a listing line finds its node. Screenshots go to
tmp_path, and copies to /tmp/explorer_step*.png for a person to look at.

Without chromium, chromedriver or selenium the tests skip and say what to install;
under CI=true they fail instead (tests/_system.py).
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import symgraph as sg
from _system import require_program

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--window-size=1400,950",
]


def _require_selenium():
    try:
        import selenium  # noqa: F401
    except ImportError:
        message = "selenium is not installed; install with: pip install selenium (the dev extra)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: a missing tool is a failure, not a skip)")
        pytest.skip(message)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """One headless Chromium for the module, with a fresh profile."""
    _require_selenium()
    chromium = require_program("chromium")
    chromedriver = require_program("chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chromium
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(chromedriver))
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The explorer page of a small MLP's training step."""
    require_program("dot")
    sg.reset_default_graph()
    x = sg.Placeholder((None, 4), name="x")
    y = sg.Placeholder((None,), dtype="int64", name="y")
    net = sg.nn.Sequential(sg.nn.Linear(4, 8), sg.nn.Tanh(), sg.nn.Linear(8, 3))
    loss = sg.softmax_cross_entropy(net(x), y)
    train = sg.optim.SGD(lr=0.1).minimize(loss)
    feeds = {x: np.zeros((5, 4), "float32"), y: np.zeros(5, "int64")}
    steps = sg.explain([loss, train], feeds=feeds)
    path = tmp_path_factory.mktemp("page") / "explain.html"
    return steps, steps.save_html(path, title="an MLP, step by step")


def _errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _current(driver) -> int:
    return int(
        driver.execute_script("return document.querySelector('section.step.current').dataset.i")
    )


def _shot(driver, tmp_path, name):
    path = tmp_path / f"explorer_{name}.png"
    assert driver.save_screenshot(str(path))
    shutil.copyfile(path, f"/tmp/explorer_{name}.png")  # for a person to look at
    return path


def test_the_page_loads_cleanly_and_the_arrow_keys_step_through_it(driver, page, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    steps, path = page
    driver.get(f"file://{path}")
    assert driver.title == "an MLP, step by step"
    assert _errors(driver) == []
    # nothing is fetched: the page is one file
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert _current(driver) == 0
    visible = driver.execute_script(
        "return Array.from(document.querySelectorAll('section.step'))"
        ".filter(s => s.offsetParent !== null).length"
    )
    assert visible == 1  # one step shown at a time
    _shot(driver, tmp_path, "step0")

    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT)
    assert _current(driver) == 1
    link = driver.find_element(By.CSS_SELECTOR, "#steps .steplink.current")
    assert link.get_attribute("data-i") == "1"
    assert "gradients" in driver.find_element(By.ID, "where").text
    _shot(driver, tmp_path, "step1")

    # the right arrow skips the steps that changed nothing
    names = [s.name for s in steps]
    changed = [i for i, s in enumerate(steps) if i == 0 or s.report.changes]
    body.send_keys(Keys.ARROW_RIGHT)
    body.send_keys(Keys.ARROW_RIGHT)
    assert _current(driver) == changed[3], names
    assert changed[3] > changed[2] + 1  # quiet steps (prune, ...) lay between, skipped
    body.send_keys(Keys.ARROW_LEFT)
    assert _current(driver) == changed[2]
    assert _errors(driver) == []


def test_before_after_and_linking_listing_lines_to_nodes(driver, page, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    steps, path = page
    cse = [s.name for s in steps].index("cse")
    driver.get(f"file://{path}#cse")
    assert _current(driver) == cse
    section = driver.find_element(By.CSS_SELECTOR, "section.step.current")
    before = section.find_element(By.CSS_SELECTOR, ".svgbox.before")
    assert not before.is_displayed()
    driver.find_element(By.TAG_NAME, "body").send_keys("b")
    assert before.is_displayed()
    merged = before.find_elements(By.CSS_SELECTOR, "g.node.mark-merged:not(.legend)")
    assert len(merged) == sum(c.kind == "merged" for c in steps[cse].report.changes)
    _shot(driver, tmp_path, "step_before")

    driver.find_element(By.TAG_NAME, "body").send_keys("b")  # back to after
    line = section.find_element(By.CSS_SELECTOR, ".listing .line[data-n]")
    line.click()
    picked = section.find_elements(By.CSS_SELECTOR, ".svgbox.after g.node.picked")
    assert [g.get_attribute("data-n") for g in picked] == [line.get_attribute("data-n")]
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.END)
    assert _errors(driver) == []
