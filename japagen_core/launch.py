"""`japagen app`: start the Streamlit UI from a checkout or an installed package.

The engine never imports streamlit: the app runs as ``python -m streamlit run <app/main.py>`` in a
child process, with the shipped ``.streamlit/config.toml`` passed as command-line flags (so the
address, headless mode and theme hold from any folder, not only from the checkout where Streamlit
would find the file by itself). The address is always 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

from japagen_core.errors import JapagenError
from japagen_core.readonly import ENV_VAR as READ_ONLY_VAR
from japagen_core.settings import PROJECT_ROOT, STREAMLIT_CONFIG

ADDRESS = "127.0.0.1"


class LaunchError(JapagenError):
    """The app cannot be started (a missing file, a bad port)."""


def entry_script(root: Path = PROJECT_ROOT) -> Path:
    script = root / "app" / "main.py"
    if not script.is_file():
        raise LaunchError(f"the app's entry script {script} is missing (a broken install?)")
    return script


def config_flags(config: Path = STREAMLIT_CONFIG) -> list[str]:
    """``[section] key = value`` of a Streamlit config file as ``--section.key value`` flags."""
    if not config.is_file():
        return []
    try:
        sections = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LaunchError(f"{config}: {exc}") from None
    flags = []
    for section, values in sections.items():
        for key, value in (values or {}).items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags += [f"--{section}.{key}", text]
    return flags


def app_command(*, port: int | None = None, config: Path = STREAMLIT_CONFIG, root: Path = PROJECT_ROOT) -> list[str]:
    """The argv that serves the app on 127.0.0.1 (``port``: the config's, 8501, when None)."""
    if port is not None and not 1 <= port <= 65535:
        raise LaunchError(f"--port {port} is not a TCP port (1-65535)")
    flags = config_flags(config)
    overrides = {"--server.address": ADDRESS, "--server.headless": "true"}
    if port is not None:
        overrides["--server.port"] = str(port)
    for name, value in overrides.items():  # the last value of a flag wins in Streamlit; keep one of each
        while name in flags:
            i = flags.index(name)
            del flags[i : i + 2]
        flags += [name, value]
    return [sys.executable, "-m", "streamlit", "run", str(entry_script(root)), *flags]


def app_environment(*, read_only: bool, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    if read_only:
        env[READ_ONLY_VAR] = "1"
    return env


def run_app(*, port: int | None = None, read_only: bool = False) -> int:
    """Serve the app until it is stopped (Ctrl-C); returns Streamlit's exit status."""
    command = app_command(port=port)
    proc = subprocess.Popen(command, env=app_environment(read_only=read_only))
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the child too (same process group): let it finish
        return proc.wait()
