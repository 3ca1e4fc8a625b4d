"""Review: read examples, catch mislabeled ones, relabel or flag them (every action is an event)."""

import pandas as pd
import streamlit as st

from app.components import dataset_names, datasets_or_stop, label_text, show_error
from app.resources import get_project
from app.review_ui import (
    FLAG_KEYS,
    FLAG_NAMES,
    NEXT_KEY,
    PREV_KEY,
    UNDO_KEY,
    UNFLAG_KEY,
    example_card,
    filters,
    history_table,
    legend,
    reviewer_name,
)
from japagen_core.errors import JapagenError
from japagen_core.review import events as ev
from japagen_core.review import queue as q
from japagen_core.review import snapshots as snap

MODES = ["One at a time", "Page", "Drill-down", "Export"]

project = get_project()
st.title("Review")
reviewer = reviewer_name()

datasets = [d for d in datasets_or_stop(project) if d["kind"] != "unlabeled" and d["task"] in project.registry]
if not datasets:
    st.info("Nothing to review yet. Generate a run, import gold data, or load the demo project on Home.")
    st.page_link("../pages/generate.py", label="Generate", icon=":material/auto_awesome:")
    st.page_link("../pages/home.py", label="Home", icon=":material/home:")
    st.stop()

task_names = list(dict.fromkeys(d["task"] for d in datasets))
wanted = st.query_params.get("task")
task_name = st.selectbox(
    "Task", task_names, index=task_names.index(wanted) if wanted in task_names else 0,
    format_func=lambda n: f"{project.registry[n].title} ({project.registry[n].title_ja})", key="rv_task",
)  # fmt: skip
st.query_params["task"] = task_name
task = project.registry[task_name]
candidates = [d for d in datasets if d["task"] == task_name]
names = dataset_names(candidates)
synthetic = [d["id"] for d in candidates if d["kind"] == "synthetic"]
chosen = st.multiselect(
    "Datasets", list(names), default=synthetic or [candidates[0]["id"]], format_func=names.get,
    key=f"rv_datasets_{task_name}", help="Synthetic runs, or gold splits. The queue spans all chosen.",
)  # fmt: skip
if not chosen:
    st.info("Choose at least one dataset.")
    st.stop()

sources = q.model_sources(project, chosen)
source = None
if sources:  # a fine-tuned model evaluated on these (gold) splits can drive the queue instead
    source = st.selectbox(
        "Predictions from", [None, *sources], key=f"rv_source_{task_name}",
        format_func=lambda s: "the newest label-correctness analysis" if s is None else f"model {sources[s]}",
    )  # fmt: skip
mode = st.segmented_control("View", MODES, default=MODES[0], key="rv_mode") or MODES[0]


def act(keys, action: ev.Action) -> int | None:
    """Apply a review action; say what happened. Returns the number of events written."""
    try:
        _, written = ev.apply(project, task, keys, action, reviewer=reviewer)
    except JapagenError as exc:  # shown on the next run (this may be a button callback)
        st.session_state["rv_error"] = ("That review action was not applied.", str(exc))
        return None
    st.session_state["rv_toast"] = (
        f"{action.action} → {len(keys)} example(s)" if written else "Nothing changed (it already was so)."
    )
    return written


def undo() -> None:
    try:
        undone = ev.undo_last(project, chosen, reviewer=reviewer)
    except JapagenError as exc:
        st.session_state["rv_error"] = ("Nothing was undone.", str(exc))
        return
    st.session_state["rv_toast"] = (
        f"Undid your last action ({undone[1]} event(s))." if undone else "You have nothing left to undo here."
    )


def need_reviewer() -> bool:
    if not reviewer:
        st.warning("Set your name as **Reviewer** in the sidebar to review: every action is recorded under it.")
    return bool(reviewer)


if toast := st.session_state.pop("rv_toast", None):
    st.toast(toast)
if error := st.session_state.pop("rv_error", None):
    show_error(error[0], JapagenError(error[1]))


# --- drill-down ---------------------------------------------------------------------------------------


def choose_cell(assigned: str, predicted: str) -> None:
    st.session_state["rv_cell"] = (assigned, predicted)
    st.session_state["rv_mode"] = MODES[0]
    st.session_state["rv_pos"] = 0


def on_matrix_select(matrix: pd.DataFrame, key: str) -> None:
    cells = st.session_state[key]["selection"]["cells"]
    if cells:
        row, column = cells[0]
        if column in matrix.columns and 0 <= row < len(matrix):
            choose_cell(matrix.index[row], column)


if mode == "Drill-down":
    counts = q.confusion(project, chosen, source)
    if counts.empty:
        st.info(
            "No classifier predictions for these datasets yet. Run an analysis with a gold training split "
            "(label correctness) on the Analysis page: its predictions drive the drill-down and the suspicion ranking."
        )
        st.page_link("../pages/analysis.py", label="Analysis", icon=":material/analytics:")
        st.stop()
    st.caption(
        "Rows: the label the data was given. Columns: what the gold-trained classifier predicts. "
        "Off the diagonal are the disagreements; click a cell to review exactly those examples."
    )
    matrix = counts.pivot_table(index="assigned", columns="predicted", values="examples", fill_value=0, aggfunc="sum")
    order = [n for n in task.label_names if n in matrix.index or n in matrix.columns]
    matrix = matrix.reindex(index=order, columns=order, fill_value=0).astype(int)
    key = f"rv_matrix_{task_name}_{'|'.join(chosen)}"
    st.dataframe(
        matrix.rename_axis("assigned ↓ / predicted →"),
        on_select=lambda: on_matrix_select(matrix, key),
        selection_mode="single-cell",
        key=key,
    )
    cells = [(a, p, int(matrix.loc[a, p])) for a in matrix.index for p in matrix.columns if matrix.loc[a, p]]
    cells.sort(key=lambda c: (c[0] == c[1], -c[2]))  # disagreements first, biggest first
    left, right = st.columns([3, 1])
    cell = left.selectbox(
        "Or choose a cell",
        cells,
        format_func=lambda c: f"{label_text(task, c[0])} → {label_text(task, c[1])} ({c[2]:,})",
        key="rv_cell_choice",
    )
    right.button("Review these", on_click=choose_cell, args=(cell[0], cell[1]), key="rv_cell_go", type="primary")
    st.stop()


# --- export -------------------------------------------------------------------------------------------

if mode == "Export":
    st.caption(
        "A snapshot freezes a dataset as reviewed: relabels applied, flagged examples kept or left out. "
        "Snapshots are numbered and never change; training refers to them."
    )
    target = st.selectbox("Dataset", chosen, format_func=names.get, key="rv_export_dataset")
    exclude = st.checkbox("Leave out flagged examples", value=True, key="rv_export_exclude")
    if st.button("Create snapshot", key="rv_snapshot", type="primary", disabled=not reviewer):
        try:
            made = snap.create_snapshot(project, target, exclude_flagged=exclude, created_by=reviewer)
        except JapagenError as exc:
            show_error("The snapshot was not made.", exc)
        else:
            st.success(f"Snapshot {made.id}: {made.rows:,} rows, {made.relabeled_rows:,} relabeled.")
    if not reviewer:
        st.caption("Set your name as Reviewer in the sidebar to make a snapshot.")
    snapshots = snap.list_snapshots(project, target)
    if not snapshots:
        st.info("No snapshot of this dataset yet.")
        st.stop()
    st.dataframe(
        pd.DataFrame(
            {
                "snapshot": [s.id for s in snapshots],
                "rows": [s.rows for s in snapshots],
                "relabeled": [s.relabeled_rows for s in snapshots],
                "flagged": [s.flagged_rows for s in snapshots],
                "flagged left out": [s.exclude_flagged for s in snapshots],
                "made by": [s.created_by for s in snapshots],
                "made at": [s.created_at for s in snapshots],
            }
        ),
        hide_index=True,
    )
    picked = st.selectbox("Download snapshot", [s.id for s in snapshots], key="rv_export_pick")
    columns = st.columns(3)
    for column, fmt, mime in zip(
        columns, snap.FORMATS, ["application/jsonl", "application/octet-stream", "text/csv"], strict=True
    ):
        column.download_button(
            f"{fmt.upper()}" + (" (gold format)" if fmt == "jsonl" else ""),
            data=lambda fmt=fmt: snap.export_bytes(project, picked, fmt),
            file_name=f"{target}-snapshot-{picked}.{fmt}",
            mime=mime,
            key=f"rv_download_{fmt}",
            on_click="ignore",
        )
    st.stop()


# --- the queue ----------------------------------------------------------------------------------------

qfilter = filters(task, chosen, q.kadg_words(project, chosen), task_name, source)
if st.session_state.get("rv_last_filter") != qfilter:
    st.session_state["rv_last_filter"] = qfilter
    st.session_state["rv_pos"] = 0
    st.session_state["rv_page"] = 1

if mode == "One at a time":
    position = int(st.session_state.get("rv_pos", 0))
    page = q.queue_page(project, qfilter, offset=position, limit=1)
    if page.total == 0:
        st.warning("No examples match these filters.")
        st.stop()
    if not page.analyses:
        st.caption("No classifier predictions yet: run label correctness on the Analysis page to rank by suspicion.")
    position = page.offset
    st.session_state["rv_pos"] = position
    row = page.rows.iloc[0]
    key = (row["dataset_id"], int(row["row_idx"]))
    example_card(task, row, position, page.total)

    def move(step: int) -> None:
        st.session_state["rv_pos"] = max(0, min(page.total - 1, position + step))

    def on_action(action: ev.Action) -> None:
        """A button callback (one run per key press): act, then advance to the next example unless
        the action took this one out of the queue (the next one has slid into its place)."""
        if act([key], action) is None:
            return
        again = q.queue_page(project, qfilter, offset=position, limit=1).rows
        if len(again) and (again["dataset_id"].iat[0], int(again["row_idx"].iat[0])) == key:
            move(1)

    def on_note() -> None:
        act([key], ev.Action("note", st.session_state.get("rv_note", "")))

    nav = st.columns([1, 1, 6])
    nav[0].button("Previous", key="rv_prev", shortcut=PREV_KEY, on_click=move, args=(-1,), width="stretch")
    nav[1].button("Next", key="rv_next", shortcut=NEXT_KEY, on_click=move, args=(1,), width="stretch")
    if need_reviewer():
        if task.target == "class":
            label_columns = st.columns(len(task.label_names[:9]))
            for i, (column, name) in enumerate(zip(label_columns, task.label_names[:9], strict=False), start=1):
                column.button(
                    label_text(task, name), key=f"rv_label_{i}", shortcut=str(i), width="stretch",
                    on_click=on_action, args=(ev.Action("relabel", name, reason="review"),),
                )  # fmt: skip
        else:
            s1, s2 = st.columns([2, 1])
            low, high = task.score_range or (0.0, 5.0)
            s1.number_input("Score", float(low), float(high), step=0.1, key="rv_score")
            s2.button(
                "Set score", key="rv_set_score",
                on_click=lambda: on_action(ev.Action("relabel", float(st.session_state["rv_score"]), reason="review")),
            )  # fmt: skip
        flag_columns = st.columns(len(FLAG_KEYS) + 2)
        for column, (flag, shortcut) in zip(flag_columns, FLAG_KEYS.items(), strict=False):
            column.button(
                FLAG_NAMES[flag], key=f"rv_flag_{flag}", shortcut=shortcut, width="stretch",
                on_click=on_action, args=(ev.Action("flag", flag),),
            )  # fmt: skip
        flag_columns[-2].button(
            "Unflag", key="rv_unflag", shortcut=UNFLAG_KEY, width="stretch", on_click=on_action,
            args=(ev.Action("unflag"),),
        )  # fmt: skip
        flag_columns[-1].button("Undo", key="rv_undo", shortcut=UNDO_KEY, width="stretch", on_click=undo)
        legend(task)
        with st.form("rv_note_form", clear_on_submit=True, border=False):
            n1, n2 = st.columns([4, 1])
            n1.text_input("Note", placeholder="why, for the record", key="rv_note")
            n2.form_submit_button("Save note", on_click=on_note)
    with st.expander(f"History of this example ({int(row['events'])} event(s))"):
        events = ev.history(project, *key)
        if events:
            st.dataframe(history_table(events), hide_index=True)
        else:
            st.caption("No review action yet.")
    st.stop()


# --- a page at a time, with selection and bulk actions ----------------------------------------------

size_col, page_col = st.columns(2)
page_size = size_col.selectbox("Rows per page", [25, 50, 100], index=1, key="rv_page_size")
requested = int(st.session_state.get("rv_page", 1))
page = q.queue_page(project, qfilter, offset=(requested - 1) * page_size, limit=page_size)
if page.total == 0:
    st.warning("No examples match these filters.")
    st.stop()
pages = max(1, -(-page.total // page_size))
st.session_state["rv_page"] = page.offset // page_size + 1
page_number = page_col.number_input(f"Page (of {pages:,})", 1, pages, key="rv_page")
rows = page.rows
table = pd.DataFrame(
    {
        "dataset": rows["dataset_id"],
        "#": rows["row_idx"],
        task.text_names[0]: rows["text"],
        **({task.text_names[1]: rows["text_b"]} if task.is_pair else {}),
        "assigned": [label_text(task, n) for n in rows["assigned"]],
        "now": [label_text(task, n) for n in rows["current"]],
        "suggested": [label_text(task, n) if n else None for n in rows["predicted"]],
        "suspicion": rows["suspicion"],
        "flag": [FLAG_NAMES.get(f) for f in rows["flag"]],
        "KADG word": rows["kadg_word"],
    }
)
selection = st.dataframe(
    table,
    hide_index=True,
    on_select="rerun",
    selection_mode="multi-row",
    key=f"rv_table_{page_number}_{page_size}_{hash(qfilter)}",
    column_config={"suspicion": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f")},
)
picked = [(rows["dataset_id"].iat[i], int(rows["row_idx"].iat[i])) for i in selection.selection.rows if i < len(rows)]
st.caption(f"{page.total:,} matching examples. Select rows to act on them, or act on every matching row below.")

if need_reviewer():
    choices = [("flag", f) for f in FLAG_NAMES] + [("unflag", None)]
    if task.target == "class":
        choices = [("relabel", n) for n in task.label_names] + choices

    def describe(choice) -> str:
        action, value = choice
        if action == "relabel":
            return f"Relabel as {label_text(task, value)}"
        return f"Flag as {FLAG_NAMES[value]}" if action == "flag" else "Unflag"

    a1, a2 = st.columns([3, 1])
    choice = a1.selectbox("Action", choices, format_func=describe, key="rv_bulk_action")
    action = ev.Action(choice[0], choice[1], reason="bulk review" if not picked else "review")
    if a2.button(f"Apply to {len(picked)} selected", key="rv_apply_selected", disabled=not picked):
        act(picked, action)
        st.rerun()
    pending = st.session_state.get("rv_bulk_pending")
    if st.button(f"Apply to all {page.total:,} matching rows…", key="rv_bulk_all"):
        st.session_state["rv_bulk_pending"] = pending = (choice, page.total, qfilter)
    if pending and pending[2] == qfilter and pending[0] == choice:
        st.warning(f"{describe(choice)}: this changes **{pending[1]:,}** examples. Undo reverts it as one action.")
        c1, c2 = st.columns(2)
        if c1.button(f"Yes, apply to {pending[1]:,} rows", key="rv_bulk_confirm", type="primary"):
            st.session_state.pop("rv_bulk_pending", None)
            act(q.queue_keys(project, qfilter), action)
            st.rerun()
        if c2.button("Cancel", key="rv_bulk_cancel"):
            st.session_state.pop("rv_bulk_pending", None)
            st.rerun()
    if st.button("Undo my last action", key="rv_undo_page", shortcut=UNDO_KEY):
        undo()
        st.rerun()
