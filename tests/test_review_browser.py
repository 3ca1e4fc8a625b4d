"""A reviewer in a real browser: three examples reviewed with the keyboard only, then a reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from japagen_core.review import events as ev
from tests.test_server import CHROMIUM, launch_chromium, server  # noqa: F401  (the server fixture)


@pytest.mark.browser
def test_review_three_examples_by_keyboard_only(jnli_review, project, server: str, tmp_path: Path):  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    _, run = jnli_review
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        # The queue holds the run's 48 examples: once real data exists, the demo's runs are not pre-selected.
        page.goto(f"{server}/review?reviewer=aiko&task=jnli")
        try:
            expect(page.get_by_text("Example 1 of 48")).to_be_visible(timeout=60_000)  # a cold start
        except AssertionError:
            page.screenshot(path=str(tmp_path / "failed-at-start.png"), full_page=True)
            raise
        expect(page.get_by_text("Keyboard:")).to_be_visible()
        idle = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')

        def press(key: str, shown: str) -> None:
            # A key pressed while the script reruns can land on widgets about to be replaced: wait for idle.
            expect(idle).to_have_count(1, timeout=30_000)
            page.evaluate("document.activeElement && document.activeElement.blur()")  # no text box has the key
            page.keyboard.press(key)
            try:
                expect(page.get_by_text(shown)).to_be_visible(timeout=30_000)
            except AssertionError:
                page.screenshot(path=str(tmp_path / f"failed-at-{key}.png"), full_page=True)
                raise

        page.get_by_role("heading", name="Review").click()  # focus the page, not a text box
        # Right after the first render a key can arrive before the shortcuts are bound: step forward with
        # J until the page reacts, then back with K (moving writes no event).
        first = page.get_by_text("Example 1 of 48")
        for _ in range(10):
            page.keyboard.press("J")
            try:
                expect(first).to_have_count(0, timeout=3_000)
                break
            except AssertionError:
                continue
        for _ in range(10):
            expect(idle).to_have_count(1, timeout=30_000)
            if first.count():
                break
            page.keyboard.press("K")
            page.wait_for_timeout(500)
        expect(first).to_be_visible(timeout=30_000)
        for key, shown in (("1", "Example 2 of 48"), ("M", "Example 3 of 48"), ("2", "Example 4 of 48")):
            press(key, shown)
        press("K", "Example 3 of 48")  # back to the third one
        page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        page.reload()  # nothing is lost on a reload, even actions not saved yet: the card sends them again
        expect(page.get_by_text("Example 1 of 48")).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("rv-pending")).to_have_text("all saved", timeout=30_000)
        browser.close()

    log = [e for e in ev.all_events(project, run) if e.reviewer == "aiko"]
    assert [(e.action, e.new_value) for e in log] == [
        ("relabel", "entailment"),
        ("flag", "mislabeled"),
        ("relabel", "contradiction"),
    ]
    assert len({(e.dataset_id, e.row_idx) for e in log}) == 3  # three different examples


@pytest.mark.browser
def test_a_click_on_a_confusion_cell_opens_its_examples(jnli_review, project, server: str, tmp_path: Path):  # noqa: F811
    """The drill-down is a chart: a click on the (neutral, entailment) cell opens one at a time review of
    exactly those pairs."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    from japagen_core.review import queue as q

    _, run = jnli_review
    wanted = q.queue_page(project, q.QueueFilter([run], assigned=["neutral"], predicted=["entailment"])).total
    assert wanted > 0
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{server}/review?reviewer=aiko&task=jnli")
        expect(page.get_by_text("Example 1 of 48")).to_be_visible(timeout=60_000)
        # Vega draws SVG here; each cell is a path whose accessible name holds its labels and count.
        cell = page.locator('path[aria-label*="assigned: neutral"][aria-label*="predicted: entailment"]')
        try:
            page.get_by_text("Drill-down", exact=True).click()
            expect(cell).to_have_count(1, timeout=30_000)
            cell.click()
            expect(page.get_by_text(f"Example 1 of {wanted}")).to_be_visible(timeout=30_000)
        except AssertionError:
            page.screenshot(path=str(tmp_path / "drill-down.png"), full_page=True)
            raise
        browser.close()
