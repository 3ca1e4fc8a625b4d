"""The app shows data only to this machine, however it is started (issue 12, item 6a)."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from tests.test_server import _free_port

ROOT = Path(__file__).resolve().parent.parent
MAIN = str(ROOT / "app" / "main.py")
REFUSAL = "shows its data only to this machine"


def _listening(port: int) -> set[str]:
    """The local addresses listening on ``port``, from /proc/net/tcp{,6} (state 0A: LISTEN)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port and len(address) == width:
                raw = bytes.fromhex(address)
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))  # little-endian words
                found.add(str(ipaddress.ip_address(words)))
    return found


def _start(cwd: Path, port: int, *extra: str) -> subprocess.Popen:
    """`streamlit run /abs/path/app/main.py` from ``cwd``: no .streamlit/config.toml there."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("JAPAGEN_ALLOW_REMOTE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", MAIN, "--server.port", str(port), "--server.headless", "true", *extra],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"streamlit did not come up on port {port}")
            time.sleep(0.3)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.server
def test_started_from_another_folder_as_scripts_run_does_it_listens_on_loopback_only(home, tmp_path):
    port = _free_port()
    proc = _start(tmp_path, port, "--server.address", "127.0.0.1")  # what scripts/run passes
    try:
        assert _listening(port) == {"127.0.0.1"}
    finally:
        _stop(proc)
    assert "--server.address 127.0.0.1" in (ROOT / "scripts" / "run").read_text()


@pytest.mark.server
def test_started_from_another_folder_without_the_flag_it_listens_everywhere_so_the_app_must_refuse(home, tmp_path):
    port = _free_port()
    proc = _start(tmp_path, port)
    try:
        addresses = _listening(port)
    finally:
        _stop(proc)
    assert addresses & {"0.0.0.0", "::"}, addresses  # why the app itself checks (next test)


@pytest.fixture
def served_on():
    def set_address(address):
        streamlit_config.set_option("server.address", address)

    yield set_address
    streamlit_config.set_option("server.address", "127.0.0.1")


@pytest.mark.parametrize("address", [None, "", "0.0.0.0", "::", "192.168.1.5", "example.org"])
def test_the_app_shows_no_data_when_not_bound_to_loopback(home, served_on, monkeypatch, address):
    monkeypatch.delenv("JAPAGEN_ALLOW_REMOTE", raising=False)
    served_on(address)  # None: what `streamlit run` from a folder without config.toml gives
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] and REFUSAL in at.error[0].value
    shown = " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.title, *at.text])
    assert "Data:" not in shown and str(home) not in shown  # nothing past the refusal ran


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_addresses_show_the_app(home, served_on, monkeypatch, address):
    monkeypatch.delenv("JAPAGEN_ALLOW_REMOTE", raising=False)
    served_on(address)
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not at.exception and not any(REFUSAL in e.value for e in at.error)
    assert any(str(home) in c.value for c in at.caption)  # the sidebar's data folder: the app ran on


def test_an_explicit_opt_in_serves_other_machines(home, served_on, monkeypatch):
    monkeypatch.setenv("JAPAGEN_ALLOW_REMOTE", "1")
    served_on("0.0.0.0")
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not at.exception and not any(REFUSAL in e.value for e in at.error)
