"""Cached resources. The project is cached per data directory and read-only flag, so tests pointing
JAPAGEN_HOME at a temporary folder (or switching JAPAGEN_READ_ONLY) get their own store."""

from __future__ import annotations

import os

import streamlit as st

from japagen_core import readonly
from japagen_core.project import Project
from japagen_core.settings import Settings


@st.cache_resource(show_spinner=False)
def _project_for(home: str, prompts: str, read_only: bool) -> Project:
    return Project.open(
        Settings.from_env(
            {"JAPAGEN_HOME": home, "JAPAGEN_PROMPTS": prompts, readonly.ENV_VAR: "1" if read_only else "0"}
        )
    )


def get_project() -> Project:
    return _project_for(
        os.environ.get("JAPAGEN_HOME", ""), os.environ.get("JAPAGEN_PROMPTS", ""), readonly.flag_from_env()
    )
