"""Tasks: the registry, and how to define a task of your own."""

import pandas as pd
import streamlit as st

from app.components import in_code, plain
from app.i18n import t, task_title
from app.resources import get_project

project = get_project()
st.title(t("Tasks"))
st.write(
    t(
        "The six tasks of the JAPAGEN paper, plus tasks you define. A user task is a YAML file in "
        "`{folder}` and works everywhere a paper task works.",
        folder=project.settings.prompts_dir / "tasks",
    )
)

for problem in project.registry.problems:
    st.error(t("A task file was skipped:"), icon=":material/error:")
    st.code(problem, language=None, wrap_lines=True)

METRIC_NAMES = {
    "accuracy": t("Accuracy"), "spearman": t("Spearman correlation"), "mcc": t("Matthews correlation (MCC)")
}  # fmt: skip

for task in project.registry.values():
    origin = t("paper task") if task.builtin else t("user task ({source})", source=plain(task.source))
    with st.expander(plain(task_title(task)), expanded=False):
        st.caption(f"`{in_code(task.name)}` · {origin}")
        st.text(task.description)
        c1, c2, c3 = st.columns(3)
        c1.metric(t("Input"), t("sentence pair") if task.is_pair else t("single text"))
        c2.metric(t("Metric"), METRIC_NAMES[task.metric])
        c3.metric(t("Max tokens"), task.max_length)
        if task.target == "score":
            low, high = task.score_range
            st.write(
                t(
                    "Gold data carries a similarity score from {low} to {high}; the LLM generates the grades below.",
                    low=low,
                    high=high,
                )
            )
        labels = pd.DataFrame(
            [
                {
                    "id": lb.id,
                    t("name"): lb.name,
                    t("Japanese name"): lb.display_ja,
                    t("description"): lb.description,
                }
                for lb in task.labels
            ]
        )
        st.dataframe(labels, hide_index=True, width="stretch")
        fields = {k: v for k, v in vars(task.gold_fields).items() if v}
        st.caption(t("Gold file fields:") + " " + ", ".join(f"{k} ← `{in_code(v)}`" for k, v in fields.items()))

with st.expander(t("Define your own task")):
    st.write(t("Copy this file to a new name in the tasks folder, edit it, and restart the app:"))
    example = project.settings.prompts_dir / "tasks" / "customer_inquiry.yaml"
    if example.exists():
        st.code(example.read_text(encoding="utf-8"), language="yaml")
