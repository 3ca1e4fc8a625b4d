"""Settings, read once from the environment and passed explicitly from then on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from japagen_core import readonly

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Streamlit's secrets file; japagen reads OPENAI_API_KEY from it when the environment has none.
SECRETS_PATH = PROJECT_ROOT / ".streamlit" / "secrets.toml"


@dataclass(frozen=True)
class Settings:
    """Where japagen keeps its data.

    home: the data directory (``JAPAGEN_HOME``, default ``./storage`` in the project).
    prompts_dir: prompt specs and user task definitions (``JAPAGEN_PROMPTS``, default ``./prompts``).
    read_only: the read-only demo mode (``JAPAGEN_READ_ONLY=1``): nothing may change data or start a job.
    """

    home: Path
    prompts_dir: Path
    read_only: bool = False

    @property
    def db_path(self) -> Path:
        return self.home / "japagen.duckdb"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("JAPAGEN_HOME") or PROJECT_ROOT / "storage")
        prompts = Path(env.get("JAPAGEN_PROMPTS") or PROJECT_ROOT / "prompts")
        return cls(
            home=home.expanduser().resolve(),
            prompts_dir=prompts.expanduser().resolve(),
            read_only=readonly.flag_from_env(env),
        )
