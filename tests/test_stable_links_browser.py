"""Shared links keep working: `/` is Home and `/overview` is the Overview, on an empty and on a full store."""

from __future__ import annotations

from pathlib import Path

import pytest

from japagen_core.demo import load_demo
from tests.test_server import CHROMIUM, launch_chromium, server  # noqa: F401  (the server fixture)


@pytest.mark.browser
def test_home_and_overview_links_open_on_an_empty_and_on_a_full_store(project, server: str, tmp_path: Path):  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        idle = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')

        def opens(path: str, heading: str, shows: str, name: str, *, lands_on: str | None = None) -> None:
            page.goto(f"{server}/{path}")
            try:
                expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=90_000)
                expect(page.get_by_text(shows).first).to_be_visible(timeout=60_000)
                expect(idle).to_have_count(1, timeout=60_000)
                expect(page.get_by_text("Page not found")).to_have_count(0)
            except AssertionError:
                page.screenshot(path=str(tmp_path / f"failed-{name}.png"), full_page=True)
                raise
            landed = path if lands_on is None else lands_on  # by default: no redirect to another address
            expect(page).to_have_url(f"{server}/{landed}".rstrip("/") + ("/" if not landed else ""))

        opens("", "japagen", "Your store is empty", "home-empty")
        opens("overview", "Overview", "No data yet", "overview-empty")
        load_demo(project.db, project.registry, analyse=False)  # the same server, now with data
        opens("", "japagen", "In the store", "home-full")
        opens("overview", "Overview", "Synthetic examples", "overview-full")
        opens("home", "japagen", "In the store", "home-old-address", lands_on="")  # where Home was with data
        browser.close()
