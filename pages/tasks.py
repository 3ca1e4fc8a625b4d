"""Tasks: the registry, and how to define a task of your own."""

import pandas as pd
import streamlit as st

from app.resources import get_project

project = get_project()
st.title("Tasks")
st.write(
    "The six tasks of the JAPAGEN paper, plus tasks you define. A user task is a YAML file in "
    f"`{project.settings.prompts_dir / 'tasks'}` and works everywhere a paper task works."
)

for problem in project.registry.problems:
    st.error("A task file was skipped:", icon=":material/error:")
    st.code(problem, language=None, wrap_lines=True)

METRIC_NAMES = {"accuracy": "Accuracy", "spearman": "Spearman correlation", "mcc": "Matthews correlation (MCC)"}

for task in project.registry.values():
    origin = "paper task" if task.builtin else f"user task ({task.source})"
    with st.expander(f"{task.title} — {task.title_ja}", expanded=False):
        st.caption(f"`{task.name}` · {origin}")
        st.write(task.description)
        c1, c2, c3 = st.columns(3)
        c1.metric("Input", "sentence pair" if task.is_pair else "single text")
        c2.metric("Metric", METRIC_NAMES[task.metric])
        c3.metric("Max tokens", task.max_length)
        if task.target == "score":
            low, high = task.score_range
            st.write(f"Gold data carries a similarity score from {low} to {high}; the LLM generates the grades below.")
        labels = pd.DataFrame(
            [
                {"id": lb.id, "name": lb.name, "日本語": lb.display_ja, "description": lb.description}
                for lb in task.labels
            ]
        )
        st.dataframe(labels, hide_index=True, width="stretch")
        fields = {k: v for k, v in vars(task.gold_fields).items() if v}
        st.caption("Gold file fields: " + ", ".join(f"{k} ← `{v}`" for k, v in fields.items()))

with st.expander("Define your own task"):
    st.write("Copy this file to a new name in the tasks folder, edit it, and restart the app:")
    example = project.settings.prompts_dir / "tasks" / "customer_inquiry.yaml"
    if example.exists():
        st.code(example.read_text(encoding="utf-8"), language="yaml")
