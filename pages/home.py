"""Home: what is in the store and what to do next; on an empty store, one click loads the demo."""

import pandas as pd
import streamlit as st

from app.components import DEMO_NOTE, datasets_or_stop, kind_name, label_text, show_error
from app.i18n import t
from app.resources import get_project
from japagen_core.demo import load_demo, remove_demo
from japagen_core.errors import JapagenError

project = get_project()
st.title("japagen")
st.write(
    t(
        "Build Japanese text classifiers from LLM-generated training data (JAPAGEN): import gold data, "
        "generate labelled examples with an LLM, review them, and fine-tune a small BERT on them."
    )
)

datasets = datasets_or_stop(project)

if not datasets:
    st.subheader(t("Your store is empty"))
    if project.read_only:
        st.write(t("This read-only demo has no data to show."))
        st.stop()
    st.write(
        t(
            "Load the demo project to see every page with data (a few dozen hand-written rows per task), "
            "or import your own gold data."
        )
    )
    left, right = st.columns(2)
    if left.button(t("Load demo project"), type="primary", icon=":material/science:", key="home_load_demo"):
        try:
            with st.spinner(t("Loading the demo project...")):
                load_demo(project.db, project.registry)
        except JapagenError as exc:
            show_error(t("The demo project could not be loaded."), exc)
        else:
            st.rerun()
    right.page_link("../pages/import_data.py", label=t("Import gold data"), icon=":material/upload_file:")
    st.stop()

frame = pd.DataFrame(datasets)
c1, c2, c3 = st.columns(3)
c1.metric(t("Datasets"), len(frame))
c2.metric(t("Examples"), f"{int(frame['rows'].sum()):,}")
c3.metric(t("Tasks with data"), frame["task"].nunique())
st.page_link("../pages/overview.py", label=t("See the results per task on the Overview"), icon=":material/dashboard:")


def remove_demo_and_rerun() -> None:
    try:
        remove_demo(project.db)
    except JapagenError as exc:
        show_error(t("The demo data could not be removed."), exc)
    else:
        st.rerun()


if frame["is_demo"].any():
    st.info(t(DEMO_NOTE) + " " + t("Demo datasets are marked DEMO."), icon=":material/science:")
    if (~frame["is_demo"]).any() and not project.read_only:  # the first real import is in: offer to clean up
        st.warning(
            t("You have your own data now. The demo datasets are never chosen by default, but you can remove them "
              "so that no demo row remains in counts, lists and reports."),
            icon=":material/cleaning_services:",
        )  # fmt: skip
        if st.button(t("Remove the demo data now"), key="home_remove_demo_now"):
            remove_demo_and_rerun()

st.subheader(t("In the store"))
table = frame.assign(
    demo=frame["is_demo"].map({True: "DEMO", False: ""}),
    kind=frame["kind"].map(kind_name),
    labels=[
        ", ".join(
            f"{label_text(project.registry[task], k) if task in project.registry else k} {v:,}" for k, v in c.items()
        )
        for task, c in zip(frame["task"], frame["counts"], strict=True)
    ],
)[["demo", "task", "split", "kind", "rows", "labels", "name", "id"]]
HEADERS = {
    "demo": t("demo"), "task": t("task"), "split": t("split"), "kind": t("kind"), "rows": t("rows"),
    "labels": t("labels"), "name": t("name"), "id": "id",
}  # fmt: skip
st.dataframe(table.rename(columns=HEADERS), hide_index=True, width="stretch")

st.subheader(t("Next steps"))
st.page_link("../pages/browse.py", label=t("Browse examples: filter by label and text"), icon=":material/table_rows:")
if not project.read_only:
    st.page_link(
        "../pages/import_data.py",
        label=t("Import gold data: JGLUE, JCoLA, Livedoor, CSV/JSONL/Parquet"),
        icon=":material/upload_file:",
    )
st.page_link(
    "../pages/tasks.py", label=t("See the tasks and their labels, or define your own"), icon=":material/category:"
)
st.page_link("../pages/generate.py", label=t("Generate labelled examples with an LLM"), icon=":material/auto_awesome:")
st.page_link(
    "../pages/analysis.py",
    label=t("Analyse diversity, closeness to gold, label correctness"),
    icon=":material/analytics:",
)

if frame["is_demo"].any() and not project.read_only:
    with st.expander(t("Remove the demo data")):
        st.write(t("This deletes the {count} demo datasets. Your own data stays.", count=int(frame["is_demo"].sum())))
        if st.button(t("Remove demo data"), key="home_remove_demo"):
            remove_demo_and_rerun()
