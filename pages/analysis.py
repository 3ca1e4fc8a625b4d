"""Analysis: how close synthetic data is to gold, how diverse it is, and whether its labels are right."""

import altair as alt
import pandas as pd
import streamlit as st

from app.components import dataset_names, datasets_or_stop, label_text, show_error, writable
from app.i18n import shown_as, t, task_title
from app.resources import get_project
from japagen_core.analysis import PAIR_TEXTS, AnalysisConfig, latest_results
from japagen_core.errors import JapagenError
from japagen_core.jobs.runner import submit_analysis
from japagen_core.metrics.tokenizers import KINDS

project = get_project()
st.title(t("Analysis"))
st.write(
    t(
        "Compare datasets with a gold split, as in the paper's Table 2 and Figure 2: diversity (Self-BLEU), "
        "closeness of the token distribution (weighted Jaccard), and label correctness (a classifier trained on "
        "gold)."
    )
)

datasets = datasets_or_stop(project)
gold_tasks = [
    t for t in project.registry.values() if any(d["task"] == t.name and d["kind"] == "gold" for d in datasets)
]
if not gold_tasks:
    st.info(t("Analyses compare with a gold split: import one (or load the demo project on Home) first."))
    st.page_link("../pages/import_data.py", label=t("Import data"), icon=":material/upload_file:")
    st.stop()
task = st.selectbox(t("Task"), gold_tasks, format_func=shown_as(task_title, gold_tasks), key="an_task")
of_task = [d for d in datasets if d["task"] == task.name]
names = dataset_names(of_task)
gold = [d["id"] for d in of_task if d["kind"] == "gold"]
left, right = st.columns(2)
reference = left.selectbox(t("Gold split to compare with"), gold, format_func=names.get, key="an_reference")
# Train on a gold split other than the one compared with (a "train" split first): the gold row of the table
# must not be the classifier's own training data.
candidates = sorted((d for d in of_task if d["kind"] == "gold" and d["id"] != reference),
                    key=lambda d: (d["split"] != "train", d["is_demo"], -d["rows"]))  # fmt: skip
train_options = [None, *[d["id"] for d in candidates], reference]
train = right.selectbox(
    t("Gold split the classifier trains on"), train_options, format_func=shown_as(
        lambda i: t("(no label correctness)") if i is None else names[i], train_options
    ), index=1 if candidates else 0, key=f"an_train_{reference}",
)  # fmt: skip
if train == reference:
    right.caption(t("Trained on the split it is compared with: the gold row shows training accuracy."))
others = [d["id"] for d in of_task if d["id"] != reference]
compared = st.multiselect(
    t("Datasets to analyse"), others, default=[d["id"] for d in of_task if d["id"] not in (reference, train)
                                            and d["kind"] != "unlabeled"][:6],
    format_func=names.get, key=f"an_compared_{task.name}",
)  # fmt: skip

with st.expander(t("Protocol")):
    c1, c2, c3 = st.columns(3)
    per_label = c1.number_input(t("Texts per label (sample)"), 2, 1_000_000, 1000, key="an_per_label")
    seed = c2.number_input(t("Seed"), 0, 1_000_000, 0, key="an_seed")
    order = c3.number_input(t("BLEU n-gram order"), 1, 9, 4, key="an_order")
    tokenizer = c1.selectbox(
        t("Tokens"), KINDS, key="an_tokenizer", help=t("MeCab (unidic-lite) surface forms by default")
    )
    pair_texts = "each"
    PAIR_TEXT_NAMES = {"each": t("each sentence as its own text"), "first": t("the first sentence"),
                       "second": t("the second sentence")}  # fmt: skip
    if task.is_pair:
        pair_texts = c2.selectbox(
            t("Which text of a pair is scored"), PAIR_TEXTS, key="an_pair_texts", format_func=PAIR_TEXT_NAMES.get
        )
    st.caption(t("Self-BLEU grows with the number of texts, so compare scores only at the same sample size."))
if task.is_pair:
    scored = t("each sentence of a pair as its own text") if pair_texts == "each" else PAIR_TEXT_NAMES[pair_texts]
    st.caption(t("Scored text: {text}.", text=scored))

if writable(project) and st.button(t("Run the analysis"), type="primary", key="an_run"):
    try:
        cfg = AnalysisConfig(reference=reference, datasets=compared, train=train, per_label=int(per_label),
                             seed=int(seed), order=int(order), tokenizer=tokenizer, pair_texts=pair_texts)  # fmt: skip
        job = submit_analysis(project, cfg)
    except JapagenError as exc:
        show_error(t("The analysis could not start."), exc)
    else:
        st.success(t("Started job {id}; results appear here when it ends.", id=job.id))
        st.page_link("../pages/jobs.py", label=t("Follow it on Jobs"), icon=":material/monitoring:")

results = latest_results(project, [reference, *compared], reference)
if not results:
    st.info(t("No results yet for these datasets: run the analysis."))
    st.stop()


def percent(value):
    return None if value is None else round(100 * value, 2)


rows = []
for dataset_id in [reference, *compared]:
    bleu = results.get(("self_bleu", dataset_id), {})
    over = results.get(("overlap", dataset_id), {})
    corr = results.get(("correctness", dataset_id), {})
    rows.append({
        t("dataset"): names.get(dataset_id, dataset_id),
        "Self-BLEU": round(bleu["self_bleu"], 2) if bleu else None,
        t("texts scored"): bleu.get("texts"),
        t("weighted Jaccard"): round(over["weighted_jaccard"], 4) if over
        else (1.0 if dataset_id == reference else None),
        t("label correctness"): (percent(corr["overall"]) if corr.get("metric") == "accuracy"
                                 else round(corr["overall"], 3)) if corr else None,
        t("protocol"): bleu.get("signature", "").split("|sample:")[-1].split("|sacrebleu")[0] if bleu else None,
    })  # fmt: skip
st.subheader(t("Diversity and label correctness (Table 2)"))
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
metric = next((r.get("metric") for k, r in results.items() if k[0] == "correctness"), "accuracy")
st.caption(
    t(
        "Self-BLEU: lower means more diverse texts. Weighted Jaccard: 1.0 means the same token distribution as "
        "the gold split, 0 nothing in common."
    )
    + " "
    + (t("Label correctness: the share (%) of examples whose label the gold-trained classifier agrees with; "
         "higher is better.")
       if metric == "accuracy" else t("Label correctness: mean squared error of the gold-trained model's score; "
                                      "lower is better."))
)  # fmt: skip

parts = []
for dataset_id in compared:
    over = results.get(("overlap", dataset_id))
    if over:
        label = names.get(dataset_id, dataset_id)
        parts += [
            {"dataset": label, "part": t("only in gold"), "share": over["only_gold_mass"]},
            {"dataset": label, "part": t("in both"), "share": over["both_synthetic_mass"]},
            {"dataset": label, "part": t("only in this set"), "share": over["only_synthetic_mass"]},
        ]
if parts:
    st.subheader(t("Token overlap with gold (Figure 2)"))
    share = t("share of its tokens")
    chart = (
        alt.Chart(pd.DataFrame(parts))
        .mark_bar()
        .encode(
            y=alt.Y("dataset:N", title=None, axis=alt.Axis(labelLimit=360)),
            x=alt.X("share:Q", title=share, axis=alt.Axis(format="%")),
            color=alt.Color("part:N", title=None),
            yOffset="part:N",
            tooltip=[
                alt.Tooltip("dataset:N", title=t("dataset")),
                alt.Tooltip("part:N", title=t("part")),
                alt.Tooltip("share:Q", title=share, format=".1%"),
            ],
        )
        .properties(height=alt.Step(18))
    )
    st.altair_chart(chart, width="stretch")
    st.caption(
        t(
            "'Only in gold': the share of gold's tokens this set never uses (what it misses); 'in both': the share "
            "of this set's tokens gold uses too; 'only in this set': the share gold never uses (what it invents). "
            "Shorter 'only' bars mean closer to gold."
        )
    )

st.subheader(t("Drill down"))
chosen = st.selectbox(t("Dataset"), [reference, *compared], format_func=names.get, key="an_drill")
bleu = results.get(("self_bleu", chosen), {})
over = results.get(("overlap", chosen), {})
corr = results.get(("correctness", chosen), {})
per_label = pd.DataFrame({
    "Self-BLEU": pd.Series(bleu.get("per_label", {}), dtype=float),
    t("weighted Jaccard"): pd.Series(over.get("per_label", {}), dtype=float),
    t("label correctness"): pd.Series(corr.get("per_label", {}), dtype=float) * (100 if corr.get("metric") ==
                                                                                 "accuracy" else 1),
})  # fmt: skip
if not per_label.empty:
    per_label.index = [label_text(task, name) for name in per_label.index]
    st.dataframe(per_label.rename_axis(t("label")).reset_index(), hide_index=True, width="stretch")
if bleu.get("per_kadg_word"):
    st.caption(t("Self-BLEU per KADG word (lower: the word led to more varied texts)"))
    words = pd.Series(bleu["per_kadg_word"], dtype=float).rename("Self-BLEU").rename_axis(t("KADG word"))
    st.dataframe(words.reset_index(), hide_index=True)
if over.get("over_represented"):
    c1, c2 = st.columns(2)
    columns = [t("token"), t("gold share"), t("this set's share")]
    c1.caption(t("Over-represented tokens (more frequent than in gold)"))
    c1.dataframe(pd.DataFrame(over["over_represented"], columns=columns), hide_index=True)
    c2.caption(t("Under-represented tokens (rarer than in gold)"))
    c2.dataframe(pd.DataFrame(over["under_represented"], columns=columns), hide_index=True)
if corr.get("confusion"):
    labels = [label_text(task, name) for name in corr["labels"]]
    cells = pd.DataFrame(
        [{"assigned": a, "predicted": p, "examples": corr["confusion"][i][j]}
         for i, a in enumerate(labels) for j, p in enumerate(labels)]
    )  # fmt: skip
    base = alt.Chart(cells).encode(
        x=alt.X("predicted:N", sort=labels, title=t("predicted")),
        y=alt.Y("assigned:N", sort=labels, title=t("assigned")),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("examples:Q", scale=alt.Scale(scheme="reds"), title=t("examples")),
        tooltip=[
            alt.Tooltip("assigned:N", title=t("assigned")),
            alt.Tooltip("predicted:N", title=t("predicted")),
            alt.Tooltip("examples:Q", title=t("examples")),
        ],
    )
    st.altair_chart(heat + base.mark_text().encode(text="examples:Q"), width="stretch")
    st.caption(
        t(
            "Confusion matrix: rows are the labels the examples carry, columns what the gold-trained classifier "
            "predicts; the diagonal is agreement, off-diagonal cells are candidate mislabels."
        )
    )
    st.page_link("../pages/review.py", label=t("Review these candidate mislabels"), icon=":material/rate_review:")
for key, result in ((k, r) for k, r in results.items() if k[1] == chosen):
    st.caption(f"{key[0]}: `{result.get('signature', '')}` · {result.get('created_at', '')[:19]}")
