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
)
from app.resources import get_project

project = get_project()
st.title("Browse")

datasets = datasets_or_stop(project)
if not datasets:
    st.info("No datasets yet. Load the demo project on the Home page, or import gold data.")
    st.page_link("../pages/home.py", label="Home", icon=":material/home:")
    st.page_link("../pages/import_data.py", label="Import gold data", icon=":material/upload_file:")
    st.stop()

by_id = {d["id"]: d for d in datasets}
ids = list(by_id)
wanted = st.query_params.get("dataset")
dataset_id = st.selectbox(
    "Dataset",
    ids,
    index=ids.index(wanted) if wanted in by_id else 0,
    format_func=lambda i: dataset_title(by_id[i]),
    key="browse_dataset",
)
st.query_params["dataset"] = dataset_id
dataset = by_id[dataset_id]
task = project.registry.get(dataset["task"])
if task is None:
    st.error(
        f"This dataset belongs to the task {dataset['task']!r}, which is not defined any more "
        "(a user task file was removed or is broken: see the Tasks page).",
        icon=":material/error:",
    )
    st.stop()
if dataset["is_demo"]:
    demo_notice()

left, right = st.columns([3, 2])
with right:
    st.caption(f"{task.title} ({task.title_ja}) · {dataset['rows']:,} examples by label")
    st.altair_chart(
        label_count_chart(task, dataset["counts"]), width="stretch", height=chart_height(len(dataset["counts"]))
    )
with left:
    labels = st.multiselect(
        "Labels",
        task.label_names,
        format_func=lambda name: label_text(task, name),
        placeholder="All labels",
        key=f"browse_labels_{dataset_id}",
    )
    query = st.text_input("Text contains", key=f"browse_query_{dataset_id}", placeholder="e.g. 犬")
    size_col, page_col = st.columns(2)
    page_size = size_col.selectbox("Rows per page", [25, 50, 100, 200], index=1, key="browse_page_size")

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
page = page_col.number_input(f"Page (of {pages:,})", 1, pages, key=page_key)

if result.total == 0:
    st.warning("No examples match these filters.")
    st.stop()

start = result.offset + 1
st.caption(f"Showing {start:,}–{start + len(result.rows) - 1:,} of {result.total:,} matching examples")

rows = result.rows
table = pd.DataFrame({"#": rows["row_idx"]})
if task.target == "score":
    table["score"] = rows["score"]
if rows["label"].notna().any() or task.target == "class":
    table["label"] = [label_text(task, name) for name in rows["label"].where(rows["label"].notna(), None)]
table[task.text_names[0]] = rows["text"]
if task.is_pair:
    table[task.text_names[1]] = rows["text_b"]
if dataset["kind"] == "synthetic":  # where each example came from
    provenance = rows["provenance"].map(lambda p: json.loads(p) if p else {})
    for column, key in (
        ("KADG word", "kadg_word"),
        ("setting", "setting"),
        ("model", "model"),
        ("prompt", "prompt_version"),
    ):
        values = provenance.map(lambda p, key=key: p.get(key))
        if values.notna().any():
            table[column] = values
    table["duplicate of"] = rows["duplicate_of"].astype("Int64")
else:
    table["source id"] = rows["source_id"]
selection = st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=min(38 + 35 * len(table), 740),
    column_config={
        "#": st.column_config.NumberColumn(width="small"),
        **{name: st.column_config.TextColumn(name, width="large") for name in task.text_names},
    },
    on_select="rerun",
    selection_mode="single-row",
    # The page and filters are part of the key: a selection never outlives the rows it was made on.
    key=f"browse_table_{dataset_id}_{page}_{page_size}_{'|'.join(labels)}_{query}",
)
st.caption("Select a row to read it in full.")
chosen = [i for i in (selection.selection.rows if selection else []) if i < len(rows)]
if chosen:
    example = rows.iloc[chosen[0]]
    with st.container(border=True):
        st.markdown(f"**Example #{example['row_idx']}** · {label_text(task, example['label']) or example['score']}")
        columns = st.columns(2) if task.is_pair else [st.container()]
        for column, name, field in zip(columns, task.text_names, ("text", "text_b"), strict=False):
            column.caption(name)
            column.text(example[field])  # plain text: data is never rendered as Markdown or HTML
        if example["provenance"]:
            with st.expander("Provenance"):
                st.json(json.loads(example["provenance"]))
