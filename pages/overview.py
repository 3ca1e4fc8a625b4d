"""Overview: the headline figures per task, the main charts and the jobs running now, for people who
want the results rather than the workings. The default page once there is data."""

import streamlit as st

from app.charts import chart_with_downloads, label_counts_figure, overlap_figure, scaling_figure
from app.components import datasets_or_stop, plain
from app.i18n import t, task_title
from app.resources import get_project
from japagen_core.report import gather, render_html
from japagen_core.report.charts import overlap_parts
from japagen_core.training.results import table1_frame

project = get_project()
st.title(t("Overview"))

if not datasets_or_stop(project):
    st.info(
        t("This read-only demo has no data to show.") if project.read_only
        else t("No data yet. Load the demo project on Home, or import gold data, to see results here.")
    )  # fmt: skip
    st.page_link("../pages/home.py", label=t("Home"), icon=":material/home:")
    st.stop()

with st.spinner(t("Gathering the results…")):
    data = gather(project, per_label=2)


def number(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


st.caption(
    t("One block per task. Diversity: Self-BLEU, lower is more diverse. Closeness to gold: weighted Jaccard "
      "of token frequencies, 1 is identical. Label correctness: how often a classifier trained on gold data "
      "agrees with the labels. Under each block: the dataset, split, method and n behind each figure.")
)  # fmt: skip
SOURCE_TITLES = {"self_bleu": t("Diversity (Self-BLEU)"), "weighted_jaccard": t("Closeness to gold"),
                 "label_correctness": t("Label correctness")}  # fmt: skip
for report in data.tasks:
    task, h = report.task, report.headline
    with st.container(border=True):
        st.subheader(plain(task_title(task)))
        if h.includes_demo:
            st.caption(t("DEMO · these figures count the hand-written demo data, not real results."))
        cols = st.columns(5)
        cols[0].metric(t("Synthetic examples"), f"{h.synthetic_rows:,}")
        cols[1].metric(
            t("Reviewed"), "–" if h.reviewed_share is None else f"{h.reviewed_share:.1%}",
            help=t("Share of synthetic examples a person has reviewed (flagged, relabeled or noted)."),
        )  # fmt: skip
        cols[2].metric(
            t("Diversity (Self-BLEU)"), number(h.self_bleu.value if h.self_bleu else None),
            help=t("Lower is more diverse: how much each text repeats the others."),
        )  # fmt: skip
        cols[3].metric(
            t("Closeness to gold"), number(h.weighted_jaccard.value if h.weighted_jaccard else None, 3),
            help=t("Weighted Jaccard of token frequencies against the gold data: 1 is the same distribution."),
        )  # fmt: skip
        correctness = h.label_correctness
        shown = "–"
        if correctness and correctness.value is not None:
            is_mse = correctness.detail.get("metric") == "mse"
            shown = f"{correctness.value:.3f} MSE" if is_mse else f"{correctness.value:.1%}"
        cols[4].metric(
            t("Label correctness"), shown,
            help=t("How often a classifier trained on gold data predicts the label the example carries."),
        )  # fmt: skip
        for key, source in h.sources.items():
            st.caption(t("{figure}: {source}", figure=SOURCE_TITLES[key], source=plain(source)))
        if h.best_score is not None and h.best_score.mean is not None:
            paper = " · ".join(f"{row}: {score:.2f}" for row, score in h.paper.items())
            st.text(
                t("Best model: {row}, {score} on gold {split} data ({dataset}).", row=h.best_row,
                  score=h.best_score.text(), split=h.best_eval_split or "?", dataset=h.best_score.eval_dataset or "?")
            )  # fmt: skip
            if paper:
                st.caption(t("The paper's results for this task: {paper}", paper=paper))
        else:
            st.caption(
                t("No model trained on this data.") if project.read_only
                else t("No model trained yet: the Train page fine-tunes one and the Results page compares it.")
            )  # fmt: skip
        counts = {d.name: d.counts for d in report.datasets if d.counts}
        if counts:
            with st.expander(t("Examples per label")):
                chart_with_downloads(
                    label_counts_figure(counts, task.label_names), f"{task.name}-labels", key=f"ov_labels_{task.name}"
                )
        overlaps = [(a.dataset_name, a.overlap.detail) for a in report.analyses if a.overlap and a.overlap.detail]
        if overlaps:
            with st.expander(t("Token overlap with gold (Figure 2)")):
                chart_with_downloads(
                    overlap_figure(overlap_parts(overlaps)), f"{task.name}-overlap", key=f"ov_overlap_{task.name}"
                )

st.subheader(t("Results (Table 1)"))
if data.table1 is None:
    st.info(
        t("No model results in this store.") if project.read_only
        else t("No results yet. Fine-tune a model on the Train page; its scores appear here and on Results.")
    )  # fmt: skip
else:
    st.dataframe(table1_frame(data.table1), hide_index=True)
    st.caption(t("Mean ± standard deviation over seeds; ★ marks the best own result per column."))
    st.page_link("../pages/results.py", label=t("All results and exports"), icon=":material/leaderboard:")
if not data.scaling.empty:
    titles = {r.task.name: r.task.title for r in data.tasks}
    chart_with_downloads(scaling_figure(data.scaling, titles), "scaling", key="ov_scaling")

st.subheader(t("Jobs running now"))
if data.jobs.active:
    for job in data.jobs.active:
        st.text(f"{job['kind']} · {job['task'] or ''} · {job['state']} · {job['message']}")
    st.page_link("../pages/jobs.py", label=t("Follow them on Jobs"), icon=":material/monitoring:")
else:
    st.caption(t("No job is running."))

st.divider()
left, right = st.columns(2)
left.page_link("../pages/showcase.py", label=t("Example cards"), icon=":material/style:")
right.download_button(
    t("Download the report (one HTML file)"), data=lambda: render_html(gather(project)).encode("utf-8"),
    file_name="japagen-report.html", mime="text/html", key="ov_report", on_click="ignore",
    icon=":material/download:", type="primary",
)  # fmt: skip
