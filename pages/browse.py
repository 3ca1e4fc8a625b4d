"""Browse: one dataset at a time, filtered by label and text, a page at a time."""

import json
import math

import pandas as pd
import streamlit as st

from app.components import (
    chart_height,
    dataset_title,
    datasets_or_stop,
    demo_notice,
    label_count_chart,
    label_text,
    plain,
)
from app.i18n import shown_as, t, task_title, text_names
from app.resources import get_project

project = get_project()
st.title(t("Browse"))

datasets = datasets_or_stop(project)
if not datasets:
    st.info(t("No datasets yet. Load the demo project on the Home page, or import gold data."))
    st.page_link("../pages/home.py", label=t("Home"), icon=":material/home:")
    st.page_link("../pages/import_data.py", label=t("Import gold data"), icon=":material/upload_file:")
    st.stop()

by_id = {d["id"]: d for d in datasets}
ids = list(by_id)
wanted = st.query_params.get("dataset")
dataset_id = st.selectbox(
    t("Dataset"),
    ids,
    index=ids.index(wanted) if wanted in by_id else 0,
    format_func=shown_as(lambda i: dataset_title(by_id[i]), ids),
    key="browse_dataset",
)
st.query_params["dataset"] = dataset_id
dataset = by_id[dataset_id]
task = project.registry.get(dataset["task"])
if task is None:
    st.error(
        t(
            "This dataset belongs to the task {task!r}, which is not defined any more "
            "(a user task file was removed or is broken: see the Tasks page).",
            task=dataset["task"],
        ),
        icon=":material/error:",
    )
    st.stop()
if dataset["is_demo"]:
    demo_notice()

left, right = st.columns([3, 2])
with right:
    st.caption(t("{task} · {rows:,} examples by label", task=task_title(task), rows=dataset["rows"]))
    st.altair_chart(
        label_count_chart(task, dataset["counts"]), width="stretch", height=chart_height(len(dataset["counts"]))
    )
with left:
    labels = st.multiselect(
        t("Labels"),
        task.label_names,
        format_func=shown_as(lambda name: label_text(task, name), task.label_names),
        placeholder=t("All labels"),
        key=f"browse_labels_{dataset_id}",
    )
    query = st.text_input(t("Text contains"), key=f"browse_query_{dataset_id}", placeholder=t("e.g. 犬"))
    size_col, page_col = st.columns(2)
    page_size = size_col.selectbox(t("Rows per page"), [25, 50, 100, 200], index=1, key="browse_page_size")

page_key = f"browse_page_{dataset_id}"
filters_key = f"browse_filters_{dataset_id}"
if st.session_state.get(filters_key) != (labels, query, page_size):  # new filters start at page 1
    st.session_state[filters_key] = (labels, query, page_size)
    st.session_state[page_key] = 1
requested = int(st.session_state.get(page_key, 1))
result = project.browse(
    dataset_id, labels=labels or None, query=query or None, offset=(requested - 1) * page_size, limit=page_size
)
pages = max(1, math.ceil(result.total / page_size))
st.session_state[page_key] = result.offset // page_size + 1
page = page_col.number_input(t("Page (of {pages:,})", pages=pages), 1, pages, key=page_key)

if result.total == 0:
    st.warning(t("No examples match these filters."))
    st.stop()

start = result.offset + 1
st.caption(
    t(
        "Showing {start:,}–{end:,} of {total:,} matching examples",
        start=start,
        end=start + len(result.rows) - 1,
        total=result.total,
    )
)

rows = result.rows
table = pd.DataFrame({"#": rows["row_idx"]})
if task.target == "score":
    table[t("score")] = rows["score"]
if rows["label"].notna().any() or task.target == "class":
    table[t("label")] = [label_text(task, name) for name in rows["label"].where(rows["label"].notna(), None)]
names = text_names(task)
table[names[0]] = rows["text"]
if task.is_pair:
    table[names[1]] = rows["text_b"]
if dataset["kind"] == "synthetic":  # where each example came from
    provenance = rows["provenance"].map(lambda p: json.loads(p) if p else {})
    for column, key in (
        (t("KADG word"), "kadg_word"),
        (t("setting"), "setting"),
        (t("model"), "model"),
        (t("prompt"), "prompt_version"),
    ):
        values = provenance.map(lambda p, key=key: p.get(key))
        if values.notna().any():
            table[column] = values
    table[t("duplicate of")] = rows["duplicate_of"].astype("Int64")
else:
    table[t("source id")] = rows["source_id"]
selection = st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=min(38 + 35 * len(table), 740),
    column_config={
        "#": st.column_config.NumberColumn(width="small"),
        **{name: st.column_config.TextColumn(name, width="large") for name in names},
    },
    on_select="rerun",
    selection_mode="single-row",
    # The page and filters are part of the key: a selection never outlives the rows it was made on.
    key=f"browse_table_{dataset_id}_{page}_{page_size}_{'|'.join(labels)}_{query}",
)
st.caption(t("Select a row to read it in full."))
chosen = [i for i in (selection.selection.rows if selection else []) if i < len(rows)]
if chosen:
    example = rows.iloc[chosen[0]]
    with st.container(border=True):
        heading = t("Example #{row}", row=example["row_idx"])
        st.markdown(f"**{heading}** · {plain(label_text(task, example['label']) or example['score'])}")
        columns = st.columns(2) if task.is_pair else [st.container()]
        for column, name, field in zip(columns, names, ("text", "text_b"), strict=False):
            column.caption(plain(name))
            column.text(example[field])  # plain text: data is never rendered as Markdown or HTML
        if example["provenance"]:
            with st.expander(t("Provenance")):
                st.json(json.loads(example["provenance"]))
