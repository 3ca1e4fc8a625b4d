"""Real servers: `streamlit run` as the README starts it, and a browser driving it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")


def launch_chromium(playwright):
    """Debian's chromium, as GUIDE §8 says: never a downloaded browser."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-gpu"],
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(home: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""
                    pytest.fail(f"streamlit did not come up on {url}: {out}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.server
def test_the_app_serves_health_and_binds_to_localhost_only(server: str):
    with urllib.request.urlopen(f"{server}/_stcore/health", timeout=5) as response:
        assert response.read() == b"ok"
    port = int(server.rsplit(":", 1)[1])
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
    if out.returncode == 0 and out.stdout.strip():
        assert all("127.0.0.1:" in line for line in out.stdout.strip().splitlines()), out.stdout


def _demo_jnli_pairs_with(word: str) -> int:
    from japagen_core.demo import DEMO_DIR

    rows = [json.loads(line) for line in (DEMO_DIR / "jnli.jsonl").read_text(encoding="utf-8").splitlines()]
    return sum(word in r["sentence1"] + r["sentence2"] for r in rows)


@pytest.mark.browser
def test_a_newcomer_loads_the_demo_and_browses_jnli_pairs(server: str, tmp_path: Path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server)
        page.get_by_role("button", name="Load demo project").click()
        expect(page.get_by_text("Tasks with data")).to_be_visible(timeout=60_000)
        page.screenshot(path=str(tmp_path / "home.png"))

        page.get_by_role("link", name="Browse", exact=True).click()
        expect(page.get_by_text("examples by label")).to_be_visible(timeout=30_000)
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="jnli", exact=False).first.click()
        expect(page.get_by_text("JNLI (自然言語推論)")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Showing 1–36 of 36")).to_be_visible(timeout=30_000)
        # While a rerun renders, the previous dataset's widgets can still be on the page next to the new
        # ones (their keys differ per dataset): wait until only the new ones are left.
        expect(page.get_by_test_id("stDataFrame")).to_have_count(1, timeout=30_000)
        search = page.get_by_label("Text contains")
        expect(search).to_have_count(1, timeout=30_000)
        search.fill("犬")
        search.press("Enter")
        n = _demo_jnli_pairs_with("犬")
        expect(page.get_by_text(f"Showing 1–{n} of {n} matching examples")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(tmp_path / "browse.png"), full_page=True)
        shots = os.environ.get("JAPAGEN_SCREENSHOTS")
        if shots:  # the README's screenshot is taken here: JAPAGEN_SCREENSHOTS=docs/images scripts/test -k browser
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / "browse.png"))
        browser.close()
