"""The language switch in a real browser: the one place a picker's choice travels as the text it shows,
so a switch must keep every choice (AppTest sends values, not texts, and cannot show this)."""

from __future__ import annotations

import pytest

from japagen_core.demo import load_demo
from tests.test_server import CHROMIUM, launch_chromium, server  # noqa: F401  (the server fixture)


@pytest.mark.browser
def test_switching_the_language_keeps_the_choices_of_the_page(project, server: str):  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    load_demo(project.db, project.registry)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        idle = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
        boxes = page.locator('[data-testid="stSelectbox"] input[role=combobox]')

        def settle() -> None:
            page.wait_for_timeout(500)
            expect(idle).to_have_count(1, timeout=60_000)

        page.goto(f"{server}/generate")
        expect(page.get_by_role("heading", name="Generate")).to_be_visible(timeout=60_000)  # a cold start
        settle()
        boxes.first.click()
        page.get_by_role("option", name="JNLI (自然言語推論)").click()
        settle()
        page.get_by_text("KADG", exact=True).click()
        settle()
        expect(boxes.last).to_have_value("entailment (含意)")

        page.get_by_text("日本語", exact=True).click()
        expect(page.get_by_role("heading", name="生成")).to_be_visible(timeout=30_000)
        settle()
        expect(boxes.first).to_have_value("自然言語推論 (JNLI)")  # the same task, in Japanese
        expect(boxes.last).to_have_value("含意")
        expect(page.get_by_text("KADG の単語リスト")).to_be_visible()  # the setting stayed too
        assert "lang=ja" in page.url

        page.get_by_text("English", exact=True).click()
        expect(page.get_by_role("heading", name="Generate")).to_be_visible(timeout=30_000)
        settle()
        expect(boxes.first).to_have_value("JNLI (自然言語推論)")
        browser.close()
