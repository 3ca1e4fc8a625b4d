"""Choices kept in the page's URL (``?task=jnli&gold=...&datasets=a&datasets=b``), so a reload or a shared
link opens the page as it was left. The URL is read only where a widget starts (its index or default);
after that the widget's own state leads and is written back to the URL on every run.

Every value is an option's id as text; a value the page no longer offers (a removed dataset) is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st


def url_index(param: str, ids: Sequence[str], default: int = 0) -> int:
    """The position of the URL's ``param`` among ``ids``, else ``default``."""
    wanted = st.query_params.get(param)
    return list(ids).index(wanted) if wanted in ids else default


def url_list(param: str, ids: Sequence[str], default: Sequence[str]) -> list[str]:
    """The URL's values of ``param`` that are among ``ids`` (in the URL's order), else ``default``."""
    if param not in st.query_params:
        return list(default)
    return [value for value in st.query_params.get_all(param) if value in ids]


def remember(param: str, value: str | Sequence[str]) -> None:
    """Write the choice into the URL (a list as repeated values; an empty list as one empty value, so that
    "none chosen" survives a reload), only when it changed."""
    values = [value] if isinstance(value, str) else list(value) or [""]
    if st.query_params.get_all(param) != values:
        st.query_params[param] = values if len(values) > 1 else values[0]


def forget(param: str) -> None:
    """Take a choice that no longer applies out of the URL."""
    if param in st.query_params:
        del st.query_params[param]
