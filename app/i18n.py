"""The UI language: English or Japanese, switched in the sidebar, English by default.

gettext style: the English text is the key, so pages stay readable; the Japanese catalog
(``app/locales/ja.py``) maps it to Japanese, and a text it lacks is shown in English.

    st.title(t("Browse"))
    st.caption(t("Showing {start:,}–{end:,} of {total:,} matching examples", start=1, end=50, total=total))

The template is translated first, then formatted, so the catalog holds templates with the same
``{placeholders}``. Data (example texts, dataset ids, file names, an engine's error message) is never
passed through ``t``. A literal that must stay as it is until shown (a module constant, an option value
a widget compares) is marked with ``N_`` and translated where it is shown: ``format_func=t``.

Owns the session-state key ``ui_lang`` and the query parameter ``lang`` (a reload keeps the language).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from app.locales.ja import MESSAGES as JA
from japagen_core.tasks import Label, Task

LANG_KEY = "ui_lang"
QUERY_PARAM = "lang"
DEFAULT = "en"
LANGUAGES = {"en": "English", "ja": "日本語"}
CATALOGS: dict[str, dict[str, str]] = {"en": {}, "ja": JA}


def N_(text: str) -> str:  # gettext's name for "mark only"
    """Mark ``text`` for translation without translating it now; ``t`` translates it where it is shown."""
    return text


def language() -> str:
    """The current UI language code: the sidebar choice, else the URL's ``lang``, else English."""
    lang = st.session_state.get(LANG_KEY) or st.query_params.get(QUERY_PARAM)
    return lang if lang in LANGUAGES else DEFAULT


def t(text: str, /, **fmt: object) -> str:
    """``text`` in the current language (English when the catalog lacks it), formatted with ``fmt``."""
    template = CATALOGS[language()].get(text) or text
    return template.format(**fmt) if fmt else template


def shown_as(fmt: Callable[[Any], str], options: Sequence[Any]) -> Callable[[Any], str]:
    """A widget's ``format_func`` that gives each option the text ``fmt`` gives it now, in this run's language.

    Streamlit tells options apart by their text, and may format an option again after the run (AppTest does,
    to send a widget's value back), where the session's language cannot be read: fixed texts keep every
    option and its text together.
    """
    texts = [fmt(option) for option in options]

    def format_func(option: Any) -> str:
        for known, text in zip(options, texts, strict=True):
            if known == option:
                return text
        # Not an option: the text a browser sent for one in the language before a switch. Streamlit then
        # resets the widget; _keep_choices has already put its choice back by value.
        raise ValueError(f"not one of the options: {option!r}")

    return format_func


def _keep_choices() -> None:
    """On a language switch, before the page runs: put every widget's choice back by its value.

    The browser sends a picker's choice as the text it showed, in the old language; the page's pickers
    now read in the new one and would not find it. Here, before the run, the old texts still decode.
    Buttons, checkboxes (bool), file uploads and table selections (None, dict, an upload) are left alone:
    their values are the same in every language, and some may not be set at all.
    """
    for key in list(st.session_state.keys()):
        value = st.session_state[key]
        if key == LANG_KEY or value is None or isinstance(value, (bool, dict)) or hasattr(value, "getvalue"):
            continue
        st.session_state[key] = value


def language_selector() -> None:
    """The English / 日本語 switch in the sidebar, kept in the URL. Call once per run, from app/main.py."""
    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = language()
    st.sidebar.radio(
        t("Language"),
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        key=LANG_KEY,
        horizontal=True,
        on_change=_keep_choices,
    )
    lang = language()
    if lang == DEFAULT:
        if QUERY_PARAM in st.query_params:
            del st.query_params[QUERY_PARAM]
    elif st.query_params.get(QUERY_PARAM) != lang:
        st.query_params[QUERY_PARAM] = lang


# -- task and label names: English with the Japanese name, or Japanese with the English one ----------------


def task_title(task: Task) -> str:
    """E.g. "JNLI (自然言語推論)" in English, "自然言語推論 (JNLI)" in Japanese."""
    if task.title_ja == task.title:
        return task.title
    if language() == "ja":
        return f"{task.title_ja} ({task.title})"
    return f"{task.title} ({task.title_ja})"


def label_title(task: Task, label: Label) -> str:
    """E.g. "entailment (含意)" in English, "含意" in Japanese.

    A numeric label (JSTS's grades 0-5) keeps its number in both languages, and a Japanese name that two
    labels of the task share gets the label's own name, so every label reads differently.
    """
    if label.display_ja == label.name:
        return label.name
    if language() != "ja" or label.name.isdigit():
        return f"{label.name} ({label.display_ja})"
    shared = sum(other.display_ja == label.display_ja for other in task.labels) > 1
    return f"{label.display_ja} ({label.name})" if shared else label.display_ja


# The names of the paper tasks' texts; a user task's own names are shown as they are.
TEXT_NAMES = [
    N_("review"), N_("sentence"), N_("sentence 1"), N_("sentence 2"), N_("premise"), N_("hypothesis"),
    N_("article"), N_("tweet"), N_("inquiry"),
]  # fmt: skip


def text_names(task: Task) -> list[str]:
    """The names of a task's texts (premise, hypothesis, ...) in the UI language."""
    return [t(name) for name in task.text_names]
