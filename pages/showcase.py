"""Example cards (like the paper's Table 3): per task and label a few synthetic examples with where
they came from, pinned by a reviewer or drawn at random."""

import streamlit as st

from app.components import datasets_or_stop, label_text, plain, show_error, writable
from app.i18n import shown_as, t, task_title
from app.resources import get_project
from japagen_core.errors import JapagenError
from japagen_core.showcase import example_cards, pin, unpin

project = get_project()
st.title(t("Example cards"))
st.caption(t("A few examples per label, with the setting, KADG word and model that made them. Pinned cards come "
             "first; the rest are drawn at random (draw again for others)."))  # fmt: skip

datasets = datasets_or_stop(project)
# Tasks with synthetic data first: their cards are what this page is for (real data before the demo's).
ordered = sorted(datasets, key=lambda d: (d["kind"] != "synthetic", d["is_demo"]))
task_names = list(dict.fromkeys(d["task"] for d in ordered if d["task"] in project.registry))
if not task_names:
    st.info(t("No data yet. Load the demo project on Home, or generate a run."))
    st.page_link("../pages/home.py", label=t("Home"), icon=":material/home:")
    st.stop()

left, middle, right = st.columns([3, 1, 1])
task_name = left.selectbox(
    t("Task"), task_names, key="sc_task",
    format_func=shown_as(lambda n: task_title(project.registry[n]), task_names),
)  # fmt: skip
task = project.registry[task_name]
per_label = middle.number_input(t("Per label"), 1, 10, 3, key="sc_per_label")
if right.button(t("Draw again"), key="sc_redraw", icon=":material/shuffle:"):
    st.session_state["sc_seed"] = st.session_state.get("sc_seed", 0) + 1
seed = st.session_state.get("sc_seed", 0)

cards = example_cards(project, task, per_label=int(per_label), seed=seed)
if not cards:
    st.info(t("This task has no examples to show yet."))
    st.stop()
if all(c.kind != "synthetic" for c in cards):
    st.caption(t("No synthetic data for this task yet: these cards show gold examples."))

can_pin = writable(project)
reviewer = st.session_state.get("reviewer", "")
for label in dict.fromkeys(c.label for c in cards):
    st.subheader(plain(label_text(task, label)))
    group = [c for c in cards if c.label == label]
    columns = st.columns(min(3, len(group)))
    for i, card in enumerate(group):
        with columns[i % len(columns)].container(border=True):
            names = task.text_names
            st.caption(plain(names[0]))
            st.text(card.text)
            if card.text_b is not None and len(names) > 1:
                st.caption(plain(names[1]))
                st.text(card.text_b)
            facts = [f"{t('setting')}: {plain(card.setting or '–')}"]
            if card.kadg_word:
                facts.append(f"{t('KADG word')}: {plain(card.kadg_word)}")
            facts.append(f"{t('model')}: {plain(card.model or '–')}")
            if card.relabeled:
                facts.append(t("relabeled from {label}", label=plain(label_text(task, card.assigned))))
            st.caption(" · ".join(facts))
            if card.pinned:
                st.caption(t("Pinned by {name}", name=plain(card.pinned_by or "?")))
            if can_pin and card.kind == "synthetic":
                key = f"sc_pin_{card.dataset_id}_{card.row_idx}"
                try:
                    if card.pinned and st.button(t("Unpin"), key=key, icon=":material/keep_off:"):
                        unpin(project, card.dataset_id, card.row_idx)
                        st.rerun()
                    elif not card.pinned and st.button(t("Pin to showcase"), key=key, icon=":material/keep:",
                                                       disabled=not reviewer):  # fmt: skip
                        pin(project, card.dataset_id, card.row_idx, pinned_by=reviewer)
                        st.rerun()
                except JapagenError as exc:
                    show_error(t("The card was not changed."), exc)
if can_pin and not reviewer:
    st.caption(t("Set your name as Reviewer on the Review page to pin cards."))
