"""The review card at annotator speed, in a real Chromium: 20 keys pressed as fast as a person can show
the next example within 150 ms (p95, keydown to the card's DOM, measured in the page), every action lands
in the store in order, undo goes back to the example it undid and says what; labels are not cut off at
1280 px, in English and in Japanese."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from japagen_core.review import events as ev
from tests.test_server import CHROMIUM, launch_chromium, server  # noqa: F401  (the server fixture)

# Records, for each key press, the time from keydown to the card showing another position or state.
MEASURE = """() => {
  window.__lat = [];
  const card = () => {
    for (const el of document.querySelectorAll('*')) {
      if (el.shadowRoot && el.shadowRoot.querySelector('[data-testid="rv-card"]'))
        return el.shadowRoot.querySelector('[data-testid="rv-card"]');
    }
    return document.querySelector('[data-testid="rv-card"]');
  };
  const found = card();
  window.__card = () => found;
  document.addEventListener('keydown', () => {
    const c = found;
    const before = c.getAttribute('data-position') + '|' + c.textContent;
    const t0 = performance.now();
    const seen = () => {
      const now = c.getAttribute('data-position') + '|' + c.textContent;
      if (now !== before) { window.__lat.push(performance.now() - t0); return; }
      if (performance.now() - t0 > 5000) { window.__lat.push(Infinity); return; }
      requestAnimationFrame(seen);
    };
    queueMicrotask(seen);
  }, true);
}"""


def _open(page, server: str, lang: str = "en"):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(f"{server}/review?reviewer=aiko&task=jnli&lang={lang}")
    card = page.get_by_test_id("rv-card")
    expect(card).to_be_visible(timeout=90_000)  # a cold start
    expect(page.get_by_test_id("rv-pending")).to_have_text("all saved" if lang == "en" else "保存済み", timeout=30_000)
    page.evaluate(MEASURE)
    return card


@pytest.mark.browser
def test_twenty_fast_keys_show_at_once_and_all_land_in_order(jnli_review, project, server: str, tmp_path: Path):  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    _, run = jnli_review
    keys = ["1", "M", "J", "2", "3", "K", "1", "J", "M", "2", "J", "1", "3", "K", "M", "2", "J", "1", "J", "3"]
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        card = _open(page, server)
        expect(card).to_contain_text("Example 1 of 48")
        expect(page.get_by_test_id("rv-progress")).to_have_text("0 of 48 reviewed")
        for key in keys:
            page.keyboard.press(key)
            page.wait_for_timeout(60)  # ~16 keys a second: faster than a person labels
        latencies = page.evaluate("window.__lat")
        expect(page.get_by_test_id("rv-pending")).to_have_text("all saved", timeout=60_000)
        page.screenshot(path=str(tmp_path / "after-20-keys.png"), full_page=True)
        shown = page.get_by_test_id("rv-progress").text_content()
        browser.close()

    assert len(latencies) == len(keys)
    ordered = sorted(latencies)
    p50, p95 = statistics.median(ordered), ordered[round(0.95 * (len(ordered) - 1))]
    print(f"\nreview key latency over {len(keys)} keys: p50 {p50:.1f} ms, p95 {p95:.1f} ms (max {ordered[-1]:.1f})")
    assert p95 < 150, f"p95 {p95:.0f} ms; all: {[round(x) for x in latencies]}"

    log = [e for e in ev.all_events(project, run) if e.reviewer == "aiko"]
    actions = [k for k in keys if k not in "JK"]
    assert len(log) == len(actions)  # every action landed (a relabel that agrees is recorded as confirmed)
    names = {"1": "entailment", "2": "contradiction", "3": "neutral", "M": "mislabeled"}
    assert [e.new_value for e in log] == [names[k] for k in actions]  # in the order pressed
    assert [e.id for e in log] == sorted(e.id for e in log)
    reviewed = len({(e.dataset_id, e.row_idx) for e in log})
    assert shown == f"{reviewed} of 48 reviewed"


@pytest.mark.browser
def test_undo_goes_back_to_the_example_and_says_what_it_undid(jnli_review, project, server: str, tmp_path: Path):  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    _, run = jnli_review
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        card = _open(page, server)
        page.keyboard.press("J")  # to example 2
        page.keyboard.press("2")  # relabel example 2, on to 3
        page.keyboard.press("M")  # flag example 3, on to 4
        expect(card).to_contain_text("Example 4 of 48")
        page.keyboard.press("Z")
        expect(card).to_contain_text("Example 3 of 48")
        message = page.get_by_test_id("rv-message")
        expect(message).to_contain_text("Undid on example 3: flagged as Mislabeled")
        page.keyboard.press("Z")
        expect(card).to_contain_text("Example 2 of 48")
        expect(message).to_contain_text("Undid on example 2: relabeled as contradiction")
        expect(page.get_by_test_id("rv-pending")).to_have_text("all saved", timeout=60_000)
        expect(page.get_by_test_id("rv-progress")).to_have_text("0 of 48 reviewed")  # what was undone does not count
        card.screenshot(path=str(tmp_path / "undo.png"))
        browser.close()
    log = [e for e in ev.all_events(project, run) if e.reviewer == "aiko"]
    assert [e.action for e in log] == ["relabel", "flag", "undo", "undo"]
    assert [e.undoes for e in log[2:]] == [log[1].id, log[0].id]
    assert all(s.flag is None and s.label is None for s in ev.states(project, [(run, 1), (run, 2)]).values())


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_label_and_value_reads_in_full_at_1280px(jnli_review, project, server: str, lang: str, tmp_path: Path):  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    with project.db.transaction() as con:
        matching = con.execute(
            "SELECT count(*) FROM examples WHERE dataset_id = ? AND (text LIKE '%駅%' OR text_b LIKE '%駅%')",
            [jnli_review[1]],
        ).fetchall()[0][0]
    assert matching > 1
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        card = _open(page, server, lang)
        card.screenshot(path=str(tmp_path / f"card-{lang}.png"))
        cut = card.evaluate(
            """c => [...c.querySelectorAll('.btn .name, .metric-value, .metric-name, [data-testid="rv-text"]')]
                 .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""
        )
        labels = card.evaluate(
            """c => [...c.querySelectorAll('[data-testid="rv-label"] .name')].map(e => e.textContent)"""
        )
        marked = []
        if lang == "en":
            search = page.get_by_label("Text contains")
            search.fill("駅")
            search.press("Enter")
            expect(page.get_by_test_id("rv-where")).to_have_text(f"Example 1 of {matching}", timeout=30_000)
            marked = card.evaluate("""c => [...c.querySelectorAll("mark")].map(e => e.textContent)""")
        browser.close()
    assert cut == []
    if lang == "en":
        assert marked == ["駅"]  # the search term, marked in the text (a <mark> of text nodes)
        assert labels == ["entailment (含意)", "contradiction (矛盾)", "neutral (中立)"]
    else:
        assert labels == ["含意", "矛盾", "中立"]


@pytest.mark.browser
def test_actions_not_saved_yet_survive_a_reload(jnli_review, project, server: str):  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    _, run = jnli_review
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        _open(page, server)
        for key in ["1", "2", "M", "3", "1"]:
            page.keyboard.press(key)
        page.reload()  # at once: most of these are still on their way
        expect(page.get_by_test_id("rv-card")).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("rv-pending")).to_have_text("all saved", timeout=60_000)
        browser.close()
    log = [e for e in ev.all_events(project, run) if e.reviewer == "aiko"]
    assert [e.new_value for e in log] == ["entailment", "contradiction", "mislabeled", "neutral", "entailment"]


@pytest.mark.browser
def test_a_whole_jnli_queue_is_labelled_by_keyboard_in_well_under_two_minutes(jnli_review, project, server: str):  # noqa: F811
    """The issue's annotator check: label every example of the queue (48 JNLI pairs here) by keyboard at a
    person's pace (a key every 250 ms, reading included it would be slower), and every label is saved."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    import time

    from playwright.sync_api import expect, sync_playwright

    _, run = jnli_review
    keys = ["1", "2", "3"] * 16  # one label per example: each press moves to the next
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        _open(page, server)
        started = time.monotonic()
        for key in keys:
            page.keyboard.press(key)
            page.wait_for_timeout(250)
        expect(page.get_by_test_id("rv-pending")).to_have_text("all saved", timeout=60_000)
        took = time.monotonic() - started
        expect(page.get_by_test_id("rv-progress")).to_have_text("48 of 48 reviewed")
        browser.close()
    print(f"\n48 examples labelled by keyboard and saved in {took:.1f} s")
    assert took < 120
    log = [e for e in ev.all_events(project, run) if e.reviewer == "aiko"]
    names = {"1": "entailment", "2": "contradiction", "3": "neutral"}
    assert [e.new_value for e in log] == [names[k] for k in keys]
    assert len({(e.dataset_id, e.row_idx) for e in log}) == 48


@pytest.mark.browser
def test_a_jsts_pair_is_scored_with_a_digit_key(project, server: str):  # noqa: F811
    """On a score task the digits set the score: 4 then 2 score the first two pairs of the queue."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    from japagen_core.review import queue as q
    from tests.review_data import make_jsts_run

    run = make_jsts_run(project)
    first, second = q.queue_order(project, q.QueueFilter([run]))[:2]
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(f"{server}/review?reviewer=aiko&task=jsts")
        expect(page.get_by_test_id("rv-card")).to_be_visible(timeout=90_000)
        expect(page.get_by_test_id("rv-pending")).to_have_text("all saved", timeout=30_000)
        page.keyboard.press("4")
        expect(page.get_by_test_id("rv-message")).to_have_text("Example 1: scored 4.00.", timeout=5_000)
        page.keyboard.press("2")
        expect(page.get_by_test_id("rv-pending")).to_have_text("all saved", timeout=30_000)
        browser.close()
    found = ev.states(project, [first, second])
    assert (found[first].score, found[second].score) == (4.0, 2.0)
