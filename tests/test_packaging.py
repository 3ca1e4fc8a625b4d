"""The installable package: the wheel carries the engine, the app, the prompt specs and the
`japagen` entry point; `japagen app` starts the UI on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest

from japagen_core import launch
from japagen_core.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """Build the wheel from a copy of the checkout (pip writes build/ and *.egg-info into the source)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "japagen_core", "app", "pages", "prompts", ".streamlit"):
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "secrets.toml"))
        else:
            shutil.copy(path, src / name)
    (src / ".streamlit" / "secrets.toml").write_text('OPENAI_API_KEY = "sk-never-shipped"\n')
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("japagen-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_engine_app_pages_prompts_and_word_lists(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    packages = [p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "japagen_core").rglob("__init__.py")]
    for package in packages:  # every engine package (a new one must be listed in pyproject.toml)
        assert f"{package}/__init__.py" in names, package
    for module in (ROOT / "japagen_core").rglob("*.py"):
        assert module.relative_to(ROOT).as_posix() in names
    for folder, pattern in (("app", "*.py"), ("app", "*.js"), ("app", "*.css"), ("pages", "*.py"), ("prompts", "*.yaml"),
                            ("prompts/kadg", "*.txt")):  # fmt: skip
        files = sorted((ROOT / folder).glob(pattern))
        assert files, folder
        for path in files:
            assert f"japagen_app/{folder}/{path.name}" in names, path
    assert "japagen_app/prompts/tasks/customer_inquiry.yaml" in names
    assert "japagen_app/app/locales/__init__.py" in names
    assert "japagen_app/streamlit/config.toml" in names
    assert not [n for n in names if n.endswith("secrets.toml")], "a secrets file must never ship"
    demo = sorted(p.name for p in (ROOT / "japagen_core" / "demo" / "data").glob("*.jsonl"))
    assert demo and all(f"japagen_core/demo/data/{name}" in names for name in demo)


def test_the_wheel_declares_the_console_script_and_the_pinned_dependencies(wheel: zipfile.ZipFile):
    entry_points = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    assert "japagen = japagen_core.cli:main" in wheel.read(entry_points).decode()
    metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    requires = {
        line.removeprefix("Requires-Dist: ").strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    }
    pins = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    pins = [p for p in pins if p and not p.startswith("-")]
    assert pins and all(pin in requires for pin in pins), sorted(set(pins) - requires)


def test_pyproject_and_requirements_agree():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert [p for p in pins if p] == [d for d in declared if "==" in d]


# --- japagen app ---------------------------------------------------------------------------------


def _parse(*argv: str):
    return build_parser().parse_args(["app", *argv])


def test_app_arguments():
    args = _parse()
    assert (args.port, args.read_only, args.project) == (None, False, False)
    args = _parse("--port", "8600", "--read-only")
    assert (args.port, args.read_only) == (8600, True)


@pytest.mark.parametrize("argv", [["--port", "x"], ["--port"], ["--host", "0.0.0.0"]])
def test_app_refuses_bad_arguments_in_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _parse(*argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_app_command_binds_localhost_with_the_shipped_config(tmp_path: Path):
    command = launch.app_command(port=8600)
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert Path(command[4]) == ROOT / "app" / "main.py"
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags["--server.address"] == "127.0.0.1"
    assert flags["--server.port"] == "8600"
    assert flags["--server.headless"] == "true"
    assert flags["--theme.primaryColor"] == "#c0392b"  # from .streamlit/config.toml
    assert flags["--browser.gatherUsageStats"] == "false"
    assert command.count("--server.address") == 1
    # a config that asks for another address is overridden: japagen only ever binds 127.0.0.1
    config = tmp_path / "config.toml"
    config.write_text('[server]\naddress = "0.0.0.0"\nport = 9000\n')
    flags = launch.app_command(config=config)[5:]
    assert flags == ["--server.port", "9000", "--server.address", "127.0.0.1", "--server.headless", "true"]


def test_app_command_refuses_a_bad_port_and_a_missing_entry(tmp_path: Path):
    with pytest.raises(launch.LaunchError, match="--port 0 is not a TCP port"):
        launch.app_command(port=0)
    with pytest.raises(launch.LaunchError, match=r"entry script .* is missing"):
        launch.app_command(root=tmp_path)


def test_read_only_reaches_the_app_process():
    assert launch.app_environment(read_only=True, environ={})["JAPAGEN_READ_ONLY"] == "1"
    assert "JAPAGEN_READ_ONLY" not in launch.app_environment(read_only=False, environ={})


@pytest.mark.server
def test_japagen_app_serves_health_on_localhost_from_another_folder(tmp_path: Path):
    from tests.test_server import _free_port

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAPAGEN_HOME": str(tmp_path / "store")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "japagen_core", "app", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    assert response.read() == b"ok"
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"japagen app did not come up: {proc.stdout.read().decode(errors='replace')}")
                time.sleep(0.3)
        out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            assert all("127.0.0.1:" in line for line in out.stdout.strip().splitlines()), out.stdout
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=15)
