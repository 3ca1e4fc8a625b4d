"""Settings, read once from the environment and passed explicitly from then on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from japagen_core import readonly

_PACKAGE_PARENT = Path(__file__).resolve().parent.parent
# Installed from a wheel, the app, the pages, the prompt specs and the Streamlit config are package data
# under site-packages/japagen_app/ (see pyproject.toml); in a checkout (or an editable install) they are
# beside japagen_core/. PROJECT_ROOT is the folder that holds app/, pages/ and prompts/ either way.
INSTALLED = (_PACKAGE_PARENT / "japagen_app" / "app" / "main.py").is_file()
PROJECT_ROOT = _PACKAGE_PARENT / "japagen_app" if INSTALLED else _PACKAGE_PARENT
# Where a relative default (./storage, .streamlit/secrets.toml) is anchored: the checkout, as before,
# or, for an installed japagen, the folder it is run from (as `streamlit run` itself does for secrets).
WORK_ROOT = Path.cwd() if INSTALLED else PROJECT_ROOT
# Streamlit's secrets file; japagen reads OPENAI_API_KEY from it when the environment has none.
SECRETS_PATH = WORK_ROOT / ".streamlit" / "secrets.toml"
# The shipped Streamlit config (address 127.0.0.1, headless, theme): `japagen app` passes it as flags.
STREAMLIT_CONFIG = PROJECT_ROOT / ("streamlit" if INSTALLED else ".streamlit") / "config.toml"
# The longest text (one field of one example) import accepts: JAPAGEN_MAX_TEXT_CHARS. The longest texts
# in the real gold data are far below it (JSTS/JNLI/JCoLA sentences: at most a few hundred characters;
# Livedoor News articles, the longest gold texts, run to a few thousand). 50,000 leaves room for any
# news article or long review while refusing a whole file pasted into one line.
DEFAULT_MAX_TEXT_CHARS = 50_000


@dataclass(frozen=True)
class Settings:
    """Where japagen keeps its data.

    home: the data directory (``JAPAGEN_HOME``, default ``./storage``: in the checkout, or, installed,
        in the folder japagen is run from).
    prompts_dir: prompt specs and user task definitions (``JAPAGEN_PROMPTS``, default the shipped
        ``prompts/``).
    read_only: the read-only demo mode (``JAPAGEN_READ_ONLY=1``): nothing may change data or start a job.
    max_text_chars: the longest text import accepts (``JAPAGEN_MAX_TEXT_CHARS``, default 50,000).
    """

    home: Path
    prompts_dir: Path
    read_only: bool = False
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS

    @property
    def db_path(self) -> Path:
        return self.home / "japagen.duckdb"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("JAPAGEN_HOME") or WORK_ROOT / "storage")
        prompts = Path(env.get("JAPAGEN_PROMPTS") or PROJECT_ROOT / "prompts")
        return cls(
            home=home.expanduser().resolve(),
            prompts_dir=prompts.expanduser().resolve(),
            read_only=readonly.flag_from_env(env),
            max_text_chars=_max_text_chars(env.get("JAPAGEN_MAX_TEXT_CHARS")),
        )


def _max_text_chars(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_MAX_TEXT_CHARS
    try:
        number = int(value.strip().replace("_", "").replace(",", ""))
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"JAPAGEN_MAX_TEXT_CHARS={value!r} must be a positive whole number of characters")
    return number
