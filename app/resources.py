"""Cached resources. The project is cached per data directory and read-only flag, so tests pointing
JAPAGEN_HOME at a temporary folder (or switching JAPAGEN_READ_ONLY) get their own store."""

from __future__ import annotations

import os
import threading

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app.i18n import t
from japagen_core import readonly
from japagen_core.project import Project
from japagen_core.settings import Settings
from japagen_core.storage.db import KEEP_OPEN_SECONDS
from japagen_core.storage.textindex import TextIndexCache


@st.cache_resource(show_spinner=False)
def _text_indexes() -> TextIndexCache:
    """Every session's in-memory search indexes, kept across reruns (keys carry the store path and the
    dataset's version, so a changed dataset gets a fresh index)."""
    return TextIndexCache(capacity=4)


@st.cache_resource(show_spinner=False)
def _project_for(home: str, prompts: str, read_only: bool) -> Project:
    project = Project.open(
        Settings.from_env(
            {"JAPAGEN_HOME": home, "JAPAGEN_PROMPTS": prompts, readonly.ENV_VAR: "1" if read_only else "0"}
        )
    )
    project.text_indexes = _text_indexes()
    project.db.on_wait = _show_wait
    # A rerun runs several short transactions: keep the file open between them (given up at once when
    # a job or the CLI asks for it; storage/db.py says why this keeps the single-writer rule).
    project.db.keep_open = KEEP_OPEN_SECONDS
    return project


_waits = threading.local()


def _show_wait(seconds: float | None) -> None:
    """While another process holds the store, say so where the page is being drawn (instead of a blank
    page), in one placeholder per script run that each report updates."""
    ctx = get_script_run_ctx()
    if ctx is None:  # not in a script run (a cached resource being built elsewhere): nothing to draw on
        return
    if seconds is None:  # the wait is over
        if getattr(_waits, "ctx", None) is ctx:
            _waits.slot.empty()
        return
    if getattr(_waits, "ctx", None) is not ctx:
        _waits.ctx, _waits.slot = ctx, st.empty()
    _waits.slot.info(
        t(
            "Waiting for the store ({seconds} s): another process (an import or a job saving its results) "
            "is writing to it.",
            seconds=f"{seconds:.0f}",
        )
    )


def get_project() -> Project:
    return _project_for(
        os.environ.get("JAPAGEN_HOME", ""), os.environ.get("JAPAGEN_PROMPTS", ""), readonly.flag_from_env()
    )
