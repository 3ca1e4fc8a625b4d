"""Small UI pieces shared by pages. Data text is always rendered as plain text, never as HTML."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import altair as alt
import pandas as pd
import streamlit as st

from app.i18n import N_, label_title, t, task_title
from japagen_core.errors import JapagenError
from japagen_core.generation.llm import sends_key_in_clear
from japagen_core.generation.presets import load_preset_spec
from japagen_core.generation.prompts import PromptSpec
from japagen_core.jobs.kinds import submit
from japagen_core.project import Project
from japagen_core.report.charts import category_scale, count_axis
from japagen_core.tasks import Task

DEMO_NOTE = N_("Demo data: a few dozen hand-written examples for trying japagen, not real gold data.")
READ_ONLY_NOTE = N_("Read-only demo: browsing, charts and reports only")
KIND_NAMES = {"gold": N_("gold"), "synthetic": N_("synthetic"), "unlabeled": N_("unlabeled")}


# What Markdown (with Streamlit's extensions: :emoji:, :color[...], $math$) reads as markup anywhere in a line:
# links and images need "[", HTML and autolinks "<", emphasis "*" "_" "~", code "`", math "$", directives ":".
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>~$:|&])")
# ... and at the start of a line: headings, quotes, lists, rules.
_MARKDOWN_LINE_START = re.compile(r"^(\s*|\s*\d+)((?<!\d)[#>+=-]|(?<=\d)[.)])", re.MULTILINE)


def plain(text: object) -> str:
    """``text`` (from data: a text, a KADG word, a name) escaped so that a Markdown element (st.markdown,
    st.caption, st.subheader, a widget label) shows it literally: ``![w](http://host/x.png)`` stays those
    characters and fetches nothing. Wherever data is formatted into Markdown, pass it through here; st.text
    and st.code show text as it is and need nothing. Characters that are markup only next to others
    ("(", "!", ".") are left alone, so names read the same in the page's source as on screen."""
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", str(text))
    return _MARKDOWN_LINE_START.sub(r"\1\\\2", escaped)


def in_code(text: object) -> str:
    """``text`` for a Markdown code span (`...`): inside one only a backtick is special, and it would end it."""
    return str(text).replace("`", "ˋ")


def kind_name(kind: str) -> str:
    """A dataset kind (gold, synthetic, unlabeled) in the UI language."""
    return t(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


def dataset_title(dataset: dict[str, Any]) -> str:
    demo = "DEMO · " if dataset["is_demo"] else ""
    rows = t("{rows:,} rows", rows=dataset["rows"])
    return f"{demo}{dataset['task']} · {dataset['split']} · {kind_name(dataset['kind'])} · {rows} — {dataset['id']}"


def label_text(task: Task, name: str | None) -> str:
    if name is None:
        return ""
    try:
        return label_title(task, task.label(name))
    except Exception:
        return name


def label_count_chart(task: Task, counts: dict[str, int]) -> alt.Chart:
    frame = pd.DataFrame({"label": [label_text(task, k) for k in counts], "rows": list(counts.values())})
    order = list(frame["label"])
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("rows:Q", title=t("examples"), axis=count_axis()),
            y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=220)),
            color=alt.Color("label:N", sort=order, legend=None, scale=category_scale(order)),  # the report's colours
            tooltip=[alt.Tooltip("label:N", title=t("label")), alt.Tooltip("rows:Q", title=t("examples"))],
        )
    )


def chart_height(n_bars: int) -> int:
    return 60 + 34 * n_bars


def datasets_or_stop(project: Project) -> list[dict[str, Any]]:
    """Every dataset; when the store cannot be read (locked too long, damaged), say so and stop."""
    try:
        return project.datasets()
    except JapagenError as exc:
        show_error(t("The data store cannot be read right now."), exc)
        st.stop()


def insecure_http_confirmed(base_url: str | None, key: str) -> bool:
    """For a plain-http base URL on another machine, a checkbox the user must tick before the API key may
    be sent there (it would travel unencrypted); True when ticked. Other URLs need no confirmation: False."""
    if not sends_key_in_clear(base_url):
        return False
    host = urlparse(base_url).hostname or ""
    st.warning(t("This base URL is plain http on another machine: the API key would travel unencrypted."),
               icon=":material/lock_open:")  # fmt: skip
    return st.checkbox(t("Send the API key unencrypted to {host} anyway", host=plain(host)), key=key)


def show_error(headline: str, exc: Exception) -> None:
    """An error for people: a headline, then the message as plain text (it may quote file contents)."""
    st.error(headline, icon=":material/error:")
    st.code(str(exc), language=None, wrap_lines=True)


def dataset_names(datasets: list[dict[str, Any]]) -> dict[str, str]:
    """A display name per dataset id, unique: Streamlit widgets tell options apart by what they show."""
    base = {
        d["id"]: ("DEMO · " if d["is_demo"] else "") + f"{d['name']} ({kind_name(d['kind'])}, {d['rows']:,})"
        for d in datasets
    }
    seen: dict[str, int] = {}
    for name in base.values():
        seen[name] = seen.get(name, 0) + 1
    return {i: name if seen[name] == 1 else f"{name} · {i}" for i, name in base.items()}


def choose_dataset(label: str, candidates: list[dict[str, Any]], *, key: str, empty: str) -> str:
    """A dataset picker; with no candidates, say what to import and stop the page."""
    if not candidates:
        st.info(empty)
        st.page_link("../pages/import_data.py", label=t("Import data"), icon=":material/upload_file:")
        st.stop()
    names = dataset_names(candidates)
    return st.selectbox(label, list(names), format_func=names.get, key=key)


def launch(project: Project, make_config) -> None:
    """Build a run's config and start its job; say where to follow it, or why it did not start."""
    try:
        config = make_config()
        job = submit(project, config.mode, config)
    except JapagenError as exc:
        show_error(t("The job could not start."), exc)
    else:
        st.success(t("Started job {id}. It runs in the background; you can close this page.", id=job.id))
        st.page_link("../pages/jobs.py", label=t("Follow it on Jobs"), icon=":material/monitoring:")


def demo_notice() -> None:
    st.info(t(DEMO_NOTE), icon=":material/science:")


def read_only_notice(project: Project) -> None:
    """In the read-only demo mode, say so in the sidebar (pages hide what would change data or start a job)."""
    if project.read_only:
        st.sidebar.info(t(READ_ONLY_NOTE), icon=":material/visibility:")


def writable(project: Project) -> bool:
    """Whether to offer a control that changes data or starts a job; in read-only mode say why it is missing."""
    if project.read_only:
        st.caption(t("Read-only demo: starting jobs and changing data are turned off."))
    return not project.read_only


def prompt_spec_or_stop(project: Project, task: Task, preset: str = "japagen") -> PromptSpec:
    """The task's prompt spec (japagen's file, or an imported preset); when it is broken or missing, say what
    is wrong and stop the page."""
    try:
        return load_preset_spec(project, task, preset)
    except JapagenError as exc:
        show_error(t("No usable prompt spec for {task}.", task=task_title(task)), exc)
        st.stop()


def gold_tasks_or_stop(project: Project, datasets: list[dict[str, Any]], empty: str) -> list[Task]:
    """Tasks that have a gold split; with none, show ``empty`` (already translated) and stop the page."""
    tasks = [x for x in project.registry.values() if any(d["task"] == x.name and d["kind"] == "gold" for d in datasets)]
    if not tasks:
        st.info(empty)
        st.page_link("../pages/import_data.py", label=t("Import data"), icon=":material/upload_file:")
        st.stop()
    return tasks
