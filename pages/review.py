"""Review: read examples, catch mislabeled ones, relabel or flag them (every action is an event)."""

import pandas as pd
import streamlit as st

from app.components import dataset_names, datasets_or_stop, label_text, show_error
from app.i18n import N_, shown_as, t, task_title, text_names
from app.resources import get_project
from app.review_ui import (
    ACTION_NAMES,
    FLAG_KEYS,
    FLAG_NAMES,
    NEXT_KEY,
    PREV_KEY,
    UNDO_KEY,
    UNFLAG_KEY,
    example_card,
    filters,
    flag_name,
    history_table,
    legend,
    reviewer_name,
)
from japagen_core.errors import JapagenError
from japagen_core.review import events as ev
from japagen_core.review import queue as q
from japagen_core.review import snapshots as snap
from japagen_core.showcase import list_pins, pin, unpin

MODES = [N_("One at a time"), N_("Page"), N_("Drill-down"), N_("Export")]

project = get_project()
st.title(t("Review"))
reviewer = "" if project.read_only else reviewer_name()  # read-only: nothing is recorded, so no name is asked

datasets = [d for d in datasets_or_stop(project) if d["kind"] != "unlabeled" and d["task"] in project.registry]
if not datasets:
    st.info(t("Nothing to review yet. Generate a run, import gold data, or load the demo project on Home."))
    st.page_link("../pages/generate.py", label=t("Generate"), icon=":material/auto_awesome:")
    st.page_link("../pages/home.py", label=t("Home"), icon=":material/home:")
    st.stop()

task_names = list(dict.fromkeys(d["task"] for d in sorted(datasets, key=lambda d: d["is_demo"])))  # real first
wanted = st.query_params.get("task")
task_name = st.selectbox(
    t("Task"), task_names, index=task_names.index(wanted) if wanted in task_names else 0,
    format_func=shown_as(lambda n: task_title(project.registry[n]), task_names), key="rv_task",
)  # fmt: skip
st.query_params["task"] = task_name
task = project.registry[task_name]
candidates = [d for d in datasets if d["task"] == task_name]
names = dataset_names(candidates)
real_data = any(not d["is_demo"] for d in datasets)  # then demo datasets are never pre-selected
defaults = [d for d in candidates if not (real_data and d["is_demo"])] or candidates
synthetic = [d["id"] for d in defaults if d["kind"] == "synthetic"]
chosen = st.multiselect(
    t("Datasets"), list(names), default=synthetic or [defaults[0]["id"]], format_func=names.get,
    key=f"rv_datasets_{task_name}", help=t("Synthetic runs, or gold splits. The queue spans all chosen."),
)  # fmt: skip
if not chosen:
    st.info(t("Choose at least one dataset."))
    st.stop()

sources = q.model_sources(project, chosen)
source = None
if sources:  # a fine-tuned model evaluated on these (gold) splits can drive the queue instead
    source = st.selectbox(
        t("Predictions from"), [None, *sources], key=f"rv_source_{task_name}",
        format_func=shown_as(lambda s: t("the newest label-correctness analysis") if s is None
                             else t("model {model}", model=sources[s]), [None, *sources]),
    )  # fmt: skip
mode = st.segmented_control(t("View"), MODES, default=MODES[0], format_func=shown_as(t, MODES), key="rv_mode")
mode = mode or MODES[0]


def act(keys, action: ev.Action) -> int | None:
    """Apply a review action; say what happened. Returns the number of events written."""
    try:
        _, written = ev.apply(project, task, keys, action, reviewer=reviewer)
    except JapagenError as exc:  # shown on the next run (this may be a button callback)
        st.session_state["rv_error"] = (t("That review action was not applied."), str(exc))
        return None
    st.session_state["rv_toast"] = (
        t("{action} → {count} example(s)", action=t(ACTION_NAMES.get(action.action, action.action)), count=len(keys))
        if written
        else t("Nothing changed (it already was so).")
    )
    return written


def undo() -> None:
    try:
        undone = ev.undo_last(project, chosen, reviewer=reviewer)
    except JapagenError as exc:
        st.session_state["rv_error"] = (t("Nothing was undone."), str(exc))
        return
    st.session_state["rv_toast"] = (
        t("Undid your last action ({count} event(s)).", count=undone[1])
        if undone
        else t("You have nothing left to undo here.")
    )


def need_reviewer() -> bool:
    """Whether review actions can be offered: a reviewer name is set (and the store is writable)."""
    if project.read_only:
        return False
    if not reviewer:
        st.warning(t("Set your name as **Reviewer** in the sidebar to review: every action is recorded under it."))
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


def on_matrix_select(matrix: pd.DataFrame, key: str, names: dict[str, str]) -> None:
    """A click on a cell of the shown matrix (labels as shown; ``names`` maps them back)."""
    cells = st.session_state[key]["selection"]["cells"]
    if cells:
        row, column = cells[0]
        if column in names and 0 <= row < len(matrix):
            choose_cell(names[matrix.index[row]], names[column])


if mode == "Drill-down":
    counts = q.confusion(project, chosen, source)
    if counts.empty:
        st.info(
            t(
                "No classifier predictions for these datasets yet. Run an analysis with a gold training split "
                "(label correctness) on the Analysis page: its predictions drive the drill-down and the suspicion "
                "ranking."
            )
        )
        st.page_link("../pages/analysis.py", label=t("Analysis"), icon=":material/analytics:")
        st.stop()
    st.caption(
        t(
            "Rows: the label the data was given. Columns: what the gold-trained classifier predicts. "
            "Off the diagonal are the disagreements; click a cell to review exactly those examples."
        )
    )
    matrix = counts.pivot_table(index="assigned", columns="predicted", values="examples", fill_value=0, aggfunc="sum")
    order = [n for n in task.label_names if n in matrix.index or n in matrix.columns]
    matrix = matrix.reindex(index=order, columns=order, fill_value=0).astype(int)
    key = f"rv_matrix_{task_name}_{'|'.join(chosen)}"
    matrix_names = {label_text(task, n): n for n in order}
    shown = matrix.rename(index=lambda n: label_text(task, n), columns=lambda n: label_text(task, n))
    st.dataframe(
        shown.rename_axis(t("assigned ↓ / predicted →")),
        on_select=lambda: on_matrix_select(shown, key, matrix_names),
        selection_mode="single-cell",
        key=key,
    )
    cells = [(a, p, int(matrix.loc[a, p])) for a in matrix.index for p in matrix.columns if matrix.loc[a, p]]
    cells.sort(key=lambda c: (c[0] == c[1], -c[2]))  # disagreements first, biggest first
    left, right = st.columns([3, 1])
    cell = left.selectbox(
        t("Or choose a cell"),
        cells,
        format_func=shown_as(lambda c: f"{label_text(task, c[0])} → {label_text(task, c[1])} ({c[2]:,})", cells),
        key="rv_cell_choice",
    )
    right.button(t("Review these"), on_click=choose_cell, args=(cell[0], cell[1]), key="rv_cell_go", type="primary")
    st.stop()


# --- export -------------------------------------------------------------------------------------------

if mode == "Export":
    st.caption(
        t(
            "A snapshot freezes a dataset as reviewed: relabels applied, flagged examples kept or left out. "
            "Snapshots are numbered and never change; training refers to them."
        )
    )
    target = st.selectbox(t("Dataset"), chosen, format_func=names.get, key="rv_export_dataset")
    if not project.read_only:
        exclude = st.checkbox(t("Leave out flagged examples"), value=True, key="rv_export_exclude")
        if st.button(t("Create snapshot"), key="rv_snapshot", type="primary", disabled=not reviewer):
            try:
                made = snap.create_snapshot(project, target, exclude_flagged=exclude, created_by=reviewer)
            except JapagenError as exc:
                show_error(t("The snapshot was not made."), exc)
            else:
                st.success(
                    t(
                        "Snapshot {id}: {rows:,} rows, {relabeled:,} relabeled.",
                        id=made.id,
                        rows=made.rows,
                        relabeled=made.relabeled_rows,
                    )
                )
        if not reviewer:
            st.caption(t("Set your name as Reviewer in the sidebar to make a snapshot."))
    snapshots = snap.list_snapshots(project, target)
    if not snapshots:
        st.info(t("No snapshot of this dataset yet."))
        st.stop()
    st.dataframe(
        pd.DataFrame(
            {
                t("snapshot"): [s.id for s in snapshots],
                t("rows"): [s.rows for s in snapshots],
                t("relabeled"): [s.relabeled_rows for s in snapshots],
                t("flagged"): [s.flagged_rows for s in snapshots],
                t("flagged left out"): [s.exclude_flagged for s in snapshots],
                t("made by"): [s.created_by for s in snapshots],
                t("made at"): [s.created_at for s in snapshots],
            }
        ),
        hide_index=True,
    )
    picked = st.selectbox(t("Download snapshot"), [s.id for s in snapshots], key="rv_export_pick")
    columns = st.columns(3)
    for column, fmt, mime in zip(
        columns, snap.FORMATS, ["application/jsonl", "application/octet-stream", "text/csv"], strict=True
    ):
        column.download_button(
            fmt.upper() + (" " + t("(gold format)") if fmt == "jsonl" else ""),
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
        st.warning(t("No examples match these filters."))
        st.stop()
    if not page.analyses:
        st.caption(t("No classifier predictions yet: run label correctness on the Analysis page to rank by suspicion."))
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

    def toggle_pin(example: tuple[str, int], pinned: bool) -> None:
        try:
            if pinned:
                unpin(project, *example)
            else:
                pin(project, *example, pinned_by=reviewer)
        except JapagenError as exc:
            st.session_state["rv_error"] = (t("The card was not changed."), str(exc))

    def on_note() -> None:
        act([key], ev.Action("note", st.session_state.get("rv_note", "")))

    nav = st.columns([1, 1, 6])
    nav[0].button(t("Previous"), key="rv_prev", shortcut=PREV_KEY, on_click=move, args=(-1,), width="stretch")
    nav[1].button(t("Next"), key="rv_next", shortcut=NEXT_KEY, on_click=move, args=(1,), width="stretch")
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
            s1.number_input(t("Score"), float(low), float(high), step=0.1, key="rv_score")
            s2.button(
                t("Set score"), key="rv_set_score",
                on_click=lambda: on_action(ev.Action("relabel", float(st.session_state["rv_score"]), reason="review")),
            )  # fmt: skip
        flag_columns = st.columns(len(FLAG_KEYS) + 2)
        for column, (flag, shortcut) in zip(flag_columns, FLAG_KEYS.items(), strict=False):
            column.button(
                flag_name(flag), key=f"rv_flag_{flag}", shortcut=shortcut, width="stretch",
                on_click=on_action, args=(ev.Action("flag", flag),),
            )  # fmt: skip
        flag_columns[-2].button(
            t("Unflag"), key="rv_unflag", shortcut=UNFLAG_KEY, width="stretch", on_click=on_action,
            args=(ev.Action("unflag"),),
        )  # fmt: skip
        flag_columns[-1].button(t("Undo"), key="rv_undo", shortcut=UNDO_KEY, width="stretch", on_click=undo)
        legend(task)
        pinned = (key[0], key[1]) in {(p.dataset_id, p.row_idx) for p in list_pins(project, dataset_id=key[0])}
        st.button(
            t("Unpin") if pinned else t("Pin to showcase"), key="rv_pin", icon=":material/keep:",
            on_click=toggle_pin, args=(key, pinned),
            help=t("Pinned examples are shown first on the Example cards page and in the report."),
        )  # fmt: skip
        with st.form("rv_note_form", clear_on_submit=True, border=False):
            n1, n2 = st.columns([4, 1])
            n1.text_input(t("Note"), placeholder=t("why, for the record"), key="rv_note")
            n2.form_submit_button(t("Save note"), on_click=on_note)
    with st.expander(t("History of this example ({count} event(s))", count=int(row["events"]))):
        events = ev.history(project, *key)
        if events:
            st.dataframe(history_table(events), hide_index=True)
        else:
            st.caption(t("No review action yet."))
    st.stop()


# --- a page at a time, with selection and bulk actions ----------------------------------------------

size_col, page_col = st.columns(2)
page_size = size_col.selectbox(t("Rows per page"), [25, 50, 100], index=1, key="rv_page_size")
requested = int(st.session_state.get("rv_page", 1))
page = q.queue_page(project, qfilter, offset=(requested - 1) * page_size, limit=page_size)
if page.total == 0:
    st.warning(t("No examples match these filters."))
    st.stop()
pages = max(1, -(-page.total // page_size))
st.session_state["rv_page"] = page.offset // page_size + 1
page_number = page_col.number_input(t("Page (of {pages:,})", pages=pages), 1, pages, key="rv_page")
rows = page.rows
shown_names = text_names(task)
suspicion = t("suspicion")
table = pd.DataFrame(
    {
        t("dataset"): rows["dataset_id"],
        "#": rows["row_idx"],
        shown_names[0]: rows["text"],
        **({shown_names[1]: rows["text_b"]} if task.is_pair else {}),
        t("assigned"): [label_text(task, n) for n in rows["assigned"]],
        t("now"): [label_text(task, n) for n in rows["current"]],
        t("suggested"): [label_text(task, n) if n else None for n in rows["predicted"]],
        suspicion: rows["suspicion"],
        t("flag"): [flag_name(f) for f in rows["flag"]],
        t("KADG word"): rows["kadg_word"],
    }
)
selection = st.dataframe(
    table,
    hide_index=True,
    on_select="rerun",
    selection_mode="multi-row",
    key=f"rv_table_{page_number}_{page_size}_{hash(qfilter)}",
    column_config={suspicion: st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f")},
)
picked = [(rows["dataset_id"].iat[i], int(rows["row_idx"].iat[i])) for i in selection.selection.rows if i < len(rows)]
if project.read_only:
    st.caption(t("{total:,} matching examples.", total=page.total))
else:
    st.caption(
        t(
            "{total:,} matching examples. Select rows to act on them, or act on every matching row below.",
            total=page.total,
        )
    )

if need_reviewer():
    choices = [("flag", f) for f in FLAG_NAMES] + [("unflag", None)]
    if task.target == "class":
        choices = [("relabel", n) for n in task.label_names] + choices

    def describe(choice) -> str:
        action, value = choice
        if action == "relabel":
            return t("Relabel as {label}", label=label_text(task, value))
        return t("Flag as {flag}", flag=flag_name(value)) if action == "flag" else t("Unflag")

    a1, a2 = st.columns([3, 1])
    choice = a1.selectbox(t("Action"), choices, format_func=shown_as(describe, choices), key="rv_bulk_action")
    action = ev.Action(choice[0], choice[1], reason="bulk review" if not picked else "review")
    if a2.button(t("Apply to {count} selected", count=len(picked)), key="rv_apply_selected", disabled=not picked):
        act(picked, action)
        st.rerun()
    pending = st.session_state.get("rv_bulk_pending")
    if st.button(t("Apply to all {total:,} matching rows…", total=page.total), key="rv_bulk_all"):
        st.session_state["rv_bulk_pending"] = pending = (choice, page.total, qfilter)
    if pending and pending[2] == qfilter and pending[0] == choice:
        st.warning(
            t(
                "{action}: this changes **{count:,}** examples. Undo reverts it as one action.",
                action=describe(choice),
                count=pending[1],
            )
        )
        c1, c2 = st.columns(2)
        if c1.button(t("Yes, apply to {count:,} rows", count=pending[1]), key="rv_bulk_confirm", type="primary"):
            st.session_state.pop("rv_bulk_pending", None)
            act(q.queue_keys(project, qfilter), action)
            st.rerun()
        if c2.button(t("Cancel"), key="rv_bulk_cancel"):
            st.session_state.pop("rv_bulk_pending", None)
            st.rerun()
    if st.button(t("Undo my last action"), key="rv_undo_page", shortcut=UNDO_KEY):
        undo()
        st.rerun()
