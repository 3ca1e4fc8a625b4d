"""A reviewer in a real browser: three examples reviewed with the keyboard only, then a reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from japagen_core.review import events as ev
from tests.test_server import CHROMIUM, server  # noqa: F401  (the server fixture)


@pytest.mark.browser
def test_review_three_examples_by_keyboard_only(jnli_review, project, server: str, tmp_path: Path):  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    _, run = jnli_review
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-gpu"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{server}/review?reviewer=aiko&task=jnli")
        expect(page.get_by_text("Example 1 of 48")).to_be_visible(timeout=60_000)  # a cold start
        expect(page.get_by_text("Keyboard:")).to_be_visible()
        page.get_by_role("heading", name="Review").click()  # focus the page, not a text box
        for key, shown in (("1", "Example 2 of 48"), ("M", "Example 3 of 48"), ("2", "Example 4 of 48")):
            page.keyboard.press(key)
            expect(page.get_by_text(shown)).to_be_visible(timeout=30_000)
        page.keyboard.press("K")  # back to the third one
        expect(page.get_by_text("Example 3 of 48")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        page.reload()  # nothing is lost on a reload
        expect(page.get_by_text("Example 1 of 48")).to_be_visible(timeout=30_000)
        browser.close()

    log = [e for e in ev.all_events(project, run) if e.reviewer == "aiko"]
    assert [(e.action, e.new_value) for e in log] == [
        ("relabel", "entailment"),
        ("flag", "mislabeled"),
        ("relabel", "contradiction"),
    ]
    assert len({(e.dataset_id, e.row_idx) for e in log}) == 3  # three different examples
