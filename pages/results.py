"""Results: the paper's Table 1 over your runs, the Figure 3 scaling chart, each cell's runs, exports."""

import pandas as pd
import streamlit as st

from app.charts import chart_with_downloads, scaling_figure
from app.components import plain
from app.i18n import t, task_title
from app.resources import get_project
from japagen_core.errors import JapagenError
from japagen_core.jobs import JobStore
from japagen_core.training.results import EXPORTS, build_table1, scaling_points, table1_frame
from japagen_core.training.store import list_models

LABELS = {"markdown": "Markdown", "latex": "LaTeX", "csv": "CSV"}

project = get_project()
st.title(t("Results"))
st.write(
    t(
        "Every trained model and prompting run, measured on a gold split, in the layout of the paper's Table 1: "
        "mean ± standard deviation over seeds, ★ the best per column. Scores are x 100 (accuracy in %, Spearman "
        "and MCC)."
    )
)

models = list_models(project)
paper = st.toggle(t("Show the paper's numbers for comparison"), key="res_paper")
table = build_table1(models, project.registry, paper=paper)
if table.empty and not paper:
    if project.read_only:  # nothing can be trained here: no pointer to the Train page
        st.info(t("No model results in this store."))
        st.stop()
    st.info(
        t(
            "No results yet. Fine-tune a model or run the PROMPTING baseline on the Train page (or with "
            "`python -m japagen_core train ...`); each run's score on the gold split appears here when its job ends."
        )
    )
    st.page_link("../pages/train.py", label=t("Train"), icon=":material/model_training:")
    st.stop()

# The task columns keep the engine's headers (a selected cell names its column); the others are translated.
frame = table1_frame(table).rename(columns={"Method": t("Method"), "Setting": t("Setting"), "Avg.": t("Avg.")})
event = st.dataframe(
    frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-cell", key="res_table"
)
st.caption(
    t(
        "Rows follow from the training data: gold data gives FINE-TUNING, a synthetic snapshot JAPAGEN with its "
        "generation setting, the LLM labelling the test split PROMPTING. A cell shows the newest run of its row and "
        "task (a scaling series: its largest size); Avg. only when a row has every column. Select a cell to see its "
        "runs."
    )
    + (" " + t("Rows marked (paper) are the published numbers of Fujii & Katsumata.") if paper else "")
)
buttons = st.columns(len(EXPORTS))
for column, (name, (render, suffix, mime)) in zip(buttons, EXPORTS.items(), strict=True):
    column.download_button(
        t("Download {format}", format=LABELS[name]),
        render(table),
        file_name=f"table1.{suffix}",
        mime=mime,
        key=f"res_download_{name}",
    )

points = scaling_points(models, project.registry)
if not points.empty:
    st.subheader(t("Data scaling (Figure 3)"))
    titles = {name: task_title(project.registry[name]) for name in points["task"] if name in project.registry}
    chart_with_downloads(scaling_figure(points, titles), "scaling", key="res_scaling")
    st.caption(t("Mean over seeds with ± one standard deviation, per task and generation setting."))

own = [(i, t) for i, row in enumerate(table.rows) if not row.paper for t in table.tasks if row.cells[t].models]
if not own:
    st.stop()
st.subheader(t("Runs behind a cell"))
selected = event.selection.cells if event is not None else []
header_to_task = {h: t for t, h in table.headers.items()}
clicked = [(r, header_to_task[c]) for r, c in selected if c in header_to_task and (r, header_to_task[c]) in own]


def cell_label(cell: tuple[int, str]) -> str:
    row, task = table.rows[cell[0]], cell[1]
    return f"{row.block} · {row.title} · {table.headers[task]} — {row.cells[task].text()}"


if clicked:
    cell = clicked[0]
    st.caption(t("Selected in the table: {cell}", cell=plain(cell_label(cell))))
else:
    cell = st.selectbox(t("Cell"), own, format_func=cell_label, key="res_cell")
row = table.rows[cell[0]]
by_id = {m["id"]: m for m in models}
shown = [by_id[i] for i in row.cells[cell[1]].models]
st.dataframe(
    pd.DataFrame(
        {
            t("model"): [m["id"] for m in shown],
            t("seed"): [m["seed"] for m in shown],
            shown[0]["metric"]: [None if m["score"] is None else round(100 * m["score"], 2) for m in shown],
            t("trained on"): [m["data_spec"] for m in shown],
            t("snapshots"): [", ".join(map(str, m["train_snapshots"])) for m in shown],
            t("examples"): [m["train_examples"] for m in shown],
            t("evaluated on"): [
                t("{dataset} (snapshot {snapshot})", dataset=m["eval_dataset_id"], snapshot=m["eval_snapshot_id"])
                for m in shown
            ],
            t("model / LLM"): [m["base_model"] for m in shown],
        }
    ),
    hide_index=True,
    width="stretch",
)
if shown[0]["kind"] == "prompting":
    unparsable = [m["metrics"].get("unparsable", 0) for m in shown]
    st.caption(
        t("Answers that named no label (counted as wrong), per run: {counts}.", counts=", ".join(map(str, unparsable)))
    )
others = sorted(
    {m["run_id"] for m in models if (m["method"], m["setting"], m["task"]) == (row.method, row.setting, cell[1])}
    - {shown[0]["run_id"]}
)
if others:
    st.caption(t("Older runs of this row and task (not in the table):") + " " + plain(", ".join(others)))
chosen = st.selectbox(t("Model"), [m["id"] for m in shown], key=f"res_model_{cell[0]}_{cell[1]}")
model = by_id[chosen]
with st.expander(t("Settings and metrics")):
    st.json({"config": model["config"], "metrics": model["metrics"], "path": model["path"]}, expanded=2)
with st.expander(t("Job log")):
    try:
        log = JobStore(project.settings.jobs_dir).get(model["job_id"]).log_tail(60) if model["job_id"] else ""
    except JapagenError:
        log = ""
    st.code(log or t("(no log: the job folder is gone)"), language=None)
