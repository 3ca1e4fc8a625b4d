"""The user guide's walk-through in a real browser, from an empty store to the results table. Its
screenshots are the guide's pictures: `JAPAGEN_SCREENSHOTS=docs/images/guide scripts/test -k guide`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_server import CHROMIUM, launch_chromium, server  # noqa: F401  (the server fixture)


@pytest.mark.browser
def test_walk_through_from_an_empty_store_to_the_results(server: str, tmp_path: Path):  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("JAPAGEN_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        idle = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')

        def visit(path: str, waits_for: str, name: str, *, full_page: bool = False) -> None:
            page.goto(f"{server}/{path}")
            expect(page.get_by_text(waits_for).first).to_be_visible(timeout=90_000)
            expect(idle).to_have_count(1, timeout=60_000)
            page.wait_for_timeout(500)  # charts finish drawing
            page.screenshot(path=str(shots / f"{name}.png"), full_page=full_page)

        visit("", "Your store is empty", "01-home-empty")
        page.get_by_role("button", name="Load demo project").click()
        expect(page.get_by_text("Tasks with data")).to_be_visible(timeout=90_000)
        page.screenshot(path=str(shots / "01-home-demo.png"))
        visit("overview", "Synthetic examples", "02-overview")  # the same link as on an empty store
        visit("browse", "examples by label", "03-browse")
        visit("generate", "Generate", "04-generate")
        visit("analysis", "Analysis", "05-analysis")
        visit("review?reviewer=guide&task=jnli", "Example 1 of", "06-review")
        page.get_by_text("Drill-down", exact=True).click()
        expect(page.get_by_text("click a cell")).to_be_visible(timeout=60_000)
        expect(idle).to_have_count(1, timeout=60_000)
        page.screenshot(path=str(shots / "07-drill-down.png"))
        visit("showcase", "Example cards", "08-example-cards")
        visit("results", "Results", "09-results")
        page.get_by_text("Show the paper's numbers for comparison").click()
        # The table's own row is the proof. Its cells are the grid's accessibility copy: attached but
        # never visible (the grid draws on a canvas), and in the DOM before the caption that also says
        # "(paper)", so a visible .first passed only when the grid had not built that copy yet.
        expect(
            page.get_by_role("gridcell", name="FINE-TUNING (paper)", exact=True, include_hidden=True).first
        ).to_be_attached(timeout=60_000)
        expect(idle).to_have_count(1, timeout=60_000)
        page.screenshot(path=str(shots / "09-results.png"))
        visit("overview?lang=ja", "合成事例", "10-overview-ja")
        browser.close()
    assert len(list(shots.glob("*.png"))) >= 10
