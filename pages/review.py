"""Review: read examples, catch mislabeled ones, relabel or flag them (every action is an event)."""

import pandas as pd
import streamlit as st

from app.charts import confusion_figure
from app.components import dataset_names, datasets_or_stop, label_text, plain, show_error
from app.i18n import N_, shown_as, t, task_title, text_names
from app.resources import get_project
from app.review_card import card_view, move_to, order, set_order
from app.review_ui import (
    ACTION_NAMES,
    FLAG_NAMES,
    UNDO_KEY,
    filters,
    flag_name,
    highlight_matches,
    reviewer_name,
    undone_text,
)  # fmt: skip
from japagen_core.errors import JapagenError
from japagen_core.review import agreement as ag
from japagen_core.review import events as ev
from japagen_core.review import queue as q
from japagen_core.review import snapshots as snap
from japagen_core.showcase import list_pins, pin, unpin

MODES = [N_("One at a time"), N_("Page"), N_("Drill-down"), N_("Agreement"), N_("Export")]

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
    """Undo the reviewer's newest action here; say what it undid, and show that example on the card."""
    try:
        batch = ev.last_action(project, chosen, reviewer=reviewer)
        undone = ev.undo_batch(project, batch, reviewer=reviewer) if batch else []
    except JapagenError as exc:
        st.session_state["rv_error"] = (t("Nothing was undone."), str(exc))
        return
    if not undone:
        st.session_state["rv_toast"] = t("You have nothing left to undo here.")
        return
    st.session_state["rv_toast"] = t("Undid: {what}", what=undone_text(task, undone))
    current = order()
    first = (undone[0].dataset_id, undone[0].row_idx)
    if current and first in current[1]:
        move_to(current[1].index(first))


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


CLASS_ONLY_EXPORTS = {"label-studio": "Label Studio", "argilla": "Argilla"}
ZIP_EXPORTS = {
    "hf": N_("Hugging Face dataset (ZIP)"),
    "label-studio": N_("Label Studio (ZIP)"),
    "argilla": N_("Argilla (ZIP)"),
}

# --- drill-down ---------------------------------------------------------------------------------------


def choose_cell(assigned: str, predicted: str) -> None:
    st.session_state["rv_cell"] = (assigned, predicted)
    st.session_state["rv_mode"] = MODES[0]
    st.session_state["rv_pos"] = 0


def on_matrix_click(key: str, names: dict[str, str]) -> None:
    """A click on a cell of the confusion chart (labels as shown; ``names`` maps them back)."""
    picked = (st.session_state[key].get("selection") or {}).get("cell") or []
    if picked and picked[0].get("assigned") in names and picked[0].get("predicted") in names:
        choose_cell(names[picked[0]["assigned"]], names[picked[0]["predicted"]])


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
    chart = confusion_figure(matrix.to_numpy().tolist(), list(matrix_names), select="cell")
    st.altair_chart(
        chart, width="content", on_select=lambda: on_matrix_click(key, matrix_names), selection_mode="cell", key=key
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
    st.caption(t("For other tools: a ZIP of the folder they load (the same files as the export command writes)."))
    score_task = task.target == "score"
    for column, (fmt, label) in zip(st.columns(3), ZIP_EXPORTS.items(), strict=True):
        if fmt in CLASS_ONLY_EXPORTS and score_task:
            column.caption(t("{tool} export supports class labels only.", tool=CLASS_ONLY_EXPORTS[fmt]))
            continue
        column.download_button(
            t(label),
            data=lambda fmt=fmt: snap.export_zip(project, picked, fmt)[1],
            file_name=f"{target}-snapshot-{picked}-{fmt}.zip",
            mime="application/zip",
            key=f"rv_download_{fmt}",
            on_click="ignore",
            icon=":material/folder_zip:",
        )
    st.stop()


# --- agreement between reviewers ---------------------------------------------------------------------

if mode == "Agreement":
    if task.target != "class":
        st.info(t("Agreement (Cohen's kappa) is measured for label tasks; this task is scored."))
        st.stop()
    events = [e for dataset_id in chosen for e in ev.all_events(project, dataset_id)]
    pairs = ag.agreement(events, labels=task.label_names)
    if not pairs:
        st.info(
            t(
                "No two reviewers have labelled the same examples yet. When two reviewers each press a label "
                "for the same examples (a label that agrees counts too), their agreement shows here."
            )
        )
        st.stop()
    st.caption(
        t(
            "Cohen's kappa (scikit-learn) over the examples both reviewers labelled: 1 is full agreement, 0 is "
            "what chance would give. Per label: one label against the rest. – : undefined (one answer only)."
        )
    )

    def kappa_text(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f}"

    st.dataframe(
        pd.DataFrame(
            {
                t("reviewers"): [f"{p.first} · {p.second}" for p in pairs],
                t("examples both labelled"): [p.examples for p in pairs],
                t("agreed"): [p.agreed for p in pairs],
                t("observed agreement"): [p.observed for p in pairs],
                t("Cohen's kappa"): [kappa_text(p.kappa) for p in pairs],
            }
        ),
        hide_index=True,
        column_config={t("observed agreement"): st.column_config.NumberColumn(format="percent")},
    )
    pair = st.selectbox(
        t("Reviewer pair"), pairs, format_func=shown_as(lambda p: f"{p.first} · {p.second}", pairs), key="rv_pair"
    )
    left, right = st.columns(2)
    left.markdown("**" + t("Kappa per label") + "**")
    left.dataframe(
        pd.DataFrame(
            {
                t("label"): [label_text(task, n) for n in task.label_names],
                t("Cohen's kappa"): [kappa_text(pair.per_label[n]) for n in task.label_names],
            }
        ),
        hide_index=True,
    )
    right.markdown("**" + t("Who said what (rows: {first}, columns: {second})", first=plain(pair.first),
                                    second=plain(pair.second))
                   + "**")  # fmt: skip
    right.dataframe(
        pd.DataFrame(
            [[pair.pairs.get((a, b), 0) for b in task.label_names] for a in task.label_names],
            index=[label_text(task, n) for n in task.label_names],
            columns=[label_text(task, n) for n in task.label_names],
        )
    )
    disagreements = ag.disagreements(events, reviewers=[pair.first, pair.second])
    if not disagreements:
        st.success(t("These two agree on every example both labelled."))
        st.stop()
    st.dataframe(
        pd.DataFrame(
            {
                t("dataset"): [d.key[0] for d in disagreements],
                "#": [d.key[1] for d in disagreements],
                pair.first: [label_text(task, d.labels[pair.first]) for d in disagreements],
                pair.second: [label_text(task, d.labels[pair.second]) for d in disagreements],
            }
        ),
        hide_index=True,
    )

    def review_disagreements(keys: list[tuple[str, int]], name: str) -> None:
        set_order(f"disagreements:{name}", keys)
        st.session_state["rv_mode"] = MODES[0]
        st.session_state["rv_last_filter"] = None

    st.button(
        t("Review these {count:,} disagreements", count=len(disagreements)), key="rv_review_disagreements",
        type="primary", on_click=review_disagreements,
        args=([d.key for d in disagreements], f"{pair.first}|{pair.second}"),
    )  # fmt: skip
    st.stop()


# --- the queue ----------------------------------------------------------------------------------------

qfilter = filters(task, chosen, q.kadg_words(project, chosen), task_name, source)
last_filter = st.session_state.get("rv_last_filter")
if last_filter != qfilter:
    if last_filter is not None:  # None: a disagreement queue was just chosen, it stays until a filter changes
        st.session_state.pop("rv_order", None)
    st.session_state["rv_last_filter"] = qfilter
    st.session_state["rv_page"] = 1


def reviewed_of(keys: list[tuple[str, int]]) -> str:
    done = len(ev.reviewed(project, keys))
    return t("{done:,} of {total:,} reviewed", done=done, total=len(keys))


if mode == "One at a time":
    if order() is None:
        set_order(repr(qfilter), q.queue_order(project, qfilter))
    order_id, keys = order()
    if order_id.startswith("disagreements:"):
        left, right = st.columns([3, 1])
        pair_names = plain(order_id.removeprefix("disagreements:").replace("|", " · "))  # imported names
        left.info(t("Reviewing the disagreements of {pair} ({count:,} examples).", pair=pair_names, count=len(keys)))
        right.button(t("Back to the queue"), key="rv_back_to_queue", on_click=lambda: st.session_state.pop("rv_order"))
    elif not q.latest_predictions(project, chosen) and source is None:
        st.caption(t("No classifier predictions yet: run label correctness on the Analysis page to rank by suspicion."))
    can_act = need_reviewer()

    def toggle_pin(example: tuple[str, int], pinned: bool) -> None:
        try:
            if pinned:
                unpin(project, *example)
            else:
                pin(project, *example, pinned_by=reviewer)
        except JapagenError as exc:
            st.session_state["rv_error"] = (t("The card was not changed."), str(exc))

    @st.fragment
    def one_at_a_time() -> None:
        """The card and what acts on its current example: a sync from the card reruns only this."""
        card_view(project, qfilter, task, reviewer, can_act)
        if not can_act or not keys:
            return
        position = max(0, min(len(keys) - 1, int(st.session_state.get("rv_pos", 0))))
        key = keys[position]
        if task.target == "score":
            s1, s2 = st.columns([2, 1])
            low, high = task.score_range or (0.0, 5.0)
            s1.number_input(t("Score for example {number:,}", number=position + 1), float(low), float(high),
                            step=0.1, key="rv_score")  # fmt: skip
            score = ev.Action("relabel", float(st.session_state["rv_score"]), reason="review")
            if s2.button(t("Set score"), key="rv_set_score") and act([key], score) is not None:
                move_to(min(len(keys) - 1, position + 1))
                st.rerun(scope="fragment")
        pinned = key in {(p.dataset_id, p.row_idx) for p in list_pins(project, dataset_id=key[0])}
        c1, c2 = st.columns([1, 2])
        c1.button(
            t("Unpin example {number:,}", number=position + 1) if pinned
            else t("Pin example {number:,} to showcase", number=position + 1),
            key="rv_pin", icon=":material/keep:", on_click=toggle_pin, args=(key, pinned),
            help=t("Pinned examples are shown first on the Example cards page and in the report."),
        )  # fmt: skip
        with c2.form("rv_note_form", clear_on_submit=True, border=False):
            n1, n2 = st.columns([4, 1])
            n1.text_input(t("Note on example {number:,}", number=position + 1), placeholder=t("why, for the record"),
                          key="rv_note")  # fmt: skip
            if n2.form_submit_button(t("Save note")):
                act([key], ev.Action("note", st.session_state.get("rv_note", "")))

    one_at_a_time()
    if can_act:
        st.button(t("Undo my last action"), key="rv_undo", on_click=undo,
                  help=t("Also undoes actions from before this page was opened."))  # fmt: skip
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
        shown_names[0]: rows["text"],
        **({shown_names[1]: rows["text_b"]} if task.is_pair else {}),
        t("assigned"): [label_text(task, n) for n in rows["assigned"]],
        t("now"): [label_text(task, n) for n in rows["current"]],
        t("suggested"): [label_text(task, n) if n else None for n in rows["predicted"]],
        suspicion: rows["suspicion"],
        t("flag"): [flag_name(f) for f in rows["flag"]],
        t("KADG word"): rows["kadg_word"],
        t("setting"): rows["setting"],
        t("dataset"): rows["dataset_id"],
        "#": rows["row_idx"],
    }
)
columns = list(table.columns)
shown_columns = st.multiselect(
    t("Columns"), columns, default=[c for c in columns if c not in (t("setting"), t("dataset"))],
    key=f"rv_columns_{task_name}", help=t("Choose and order the grid's columns (the order you pick them in)."),
)  # fmt: skip
st.caption(reviewed_of(q.queue_keys(project, qfilter)) + " · " + t("{total:,} matching examples", total=page.total))
selection = st.dataframe(
    highlight_matches(table, shown_names[: 2 if task.is_pair else 1], qfilter.text),
    hide_index=True,
    on_select="rerun",
    selection_mode="multi-row",
    key=f"rv_table_{page_number}_{page_size}_{hash(qfilter)}",
    column_order=shown_columns or columns,
    column_config={
        suspicion: st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f", width="small"),
        shown_names[0]: st.column_config.TextColumn(width="large"),
        **({shown_names[1]: st.column_config.TextColumn(width="large")} if task.is_pair else {}),
    },
)
picked = [(rows["dataset_id"].iat[i], int(rows["row_idx"].iat[i])) for i in selection.selection.rows if i < len(rows)]
if not project.read_only:
    st.caption(t("Select rows to act on them, or act on every matching row below."))

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
