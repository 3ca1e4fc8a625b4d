"""Analysis: how close synthetic data is to gold, how diverse it is, and whether its labels are right."""

import pandas as pd
import streamlit as st

from app.charts import chart_with_downloads, confusion_figure, overlap_figure
from app.components import dataset_names, datasets_or_stop, label_text, show_error, writable
from app.i18n import shown_as, t, task_title
from app.resources import get_project
from app.url_state import forget, remember, url_index, url_list
from japagen_core.analysis import PAIR_TEXTS, AnalysisConfig, correctness_summary, latest_results
from japagen_core.errors import JapagenError
from japagen_core.jobs.kinds import submit
from japagen_core.metrics.tokenizers import KINDS
from japagen_core.report.charts import overlap_parts
from japagen_core.training.store import list_models

project = get_project()
st.title(t("Analysis"))
st.write(
    t(
        "Compare datasets with a gold split, as in the paper's Table 2 and Figure 2: diversity (Self-BLEU), "
        "closeness of the token distribution (weighted Jaccard), and label correctness (a BERT fine-tuned on "
        "gold, as in the paper, or a quick estimate)."
    )
)

datasets = datasets_or_stop(project)
# Once there is real data, demo datasets are offered but never chosen by default.
real_data = any(not d["is_demo"] for d in datasets)
gold_tasks = [
    t for t in project.registry.values() if any(d["task"] == t.name and d["kind"] == "gold" for d in datasets)
]
gold_tasks.sort(key=lambda task: real_data and not any(
    d["task"] == task.name and not d["is_demo"] for d in datasets))  # fmt: skip
if not gold_tasks:
    st.info(t("Analyses compare with a gold split: import one (or load the demo project on Home) first."))
    st.page_link("../pages/import_data.py", label=t("Import data"), icon=":material/upload_file:")
    st.stop()
task = st.selectbox(
    t("Task"), gold_tasks, format_func=shown_as(task_title, gold_tasks), key="an_task",
    index=url_index("task", [g.name for g in gold_tasks]),
)  # fmt: skip
remember("task", task.name)  # task, gold splits, method and datasets stay in the URL: a reload keeps them
of_task = [d for d in datasets if d["task"] == task.name]
names = dataset_names(of_task)
gold = [d["id"] for d in sorted((d for d in of_task if d["kind"] == "gold"), key=lambda d: real_data and d["is_demo"])]
is_demo = {d["id"]: d["is_demo"] for d in of_task}
left, right = st.columns(2)
reference = left.selectbox(
    t("Gold split to compare with"), gold, format_func=names.get, key="an_reference", index=url_index("gold", gold)
)
remember("gold", reference)
models = [m for m in list_models(project, task=task.name)
          if m["kind"] == "finetune" and m["path"] and m["data_spec"] == "gold-full"]  # fmt: skip
QUICK = "quick"
methods = [*[m["id"] for m in reversed(models)], QUICK]  # a BERT fine-tuned on gold is the headline method
method = right.selectbox(
    t("Label correctness by"), methods, key=f"an_method_{task.name}", index=url_index("method", methods),
    format_func=shown_as(
        lambda m: t("quick estimate: TF-IDF + logistic regression, class-balanced") if m == QUICK
        else t("BERT fine-tuned on gold: {model}", model=m), methods),
    help=t("The paper scores labels with a BERT fine-tuned on gold data (train one on the Train page with gold "
           "data). The quick estimate is a fast stand-in; its numbers are not the paper's."),
)  # fmt: skip
remember("method", method)
train = None
if method == QUICK:
    # A "train" split first, real data before demo data; the one compared with is allowed (cross-validated).
    candidates = sorted((d for d in of_task if d["kind"] == "gold" and d["id"] != reference),
                        key=lambda d: (real_data and d["is_demo"], d["split"] != "train", -d["rows"]))  # fmt: skip
    usable = [d for d in candidates if not (real_data and d["is_demo"])]
    train_options = [None, *[d["id"] for d in candidates], reference]
    train = right.selectbox(
        t("Gold split the quick classifier trains on"), train_options, format_func=shown_as(
            lambda i: t("(no label correctness)") if i is None else names[i], train_options
        ), key=f"an_train_{reference}",
        index=url_index("train", [str(i) for i in train_options], default=1 if usable else len(train_options) - 1),
    )  # fmt: skip
    remember("train", str(train))  # "None": no label correctness
    if train == reference:
        right.caption(t("Trained on the split it is compared with: its own row is scored by 5-fold "
                        "cross-validation, never by training accuracy."))  # fmt: skip
else:
    right.caption(t("Rows the model trained on are left out of its scores (out of sample only)."))
    forget("train")
others = [d["id"] for d in of_task if d["id"] != reference]
compared = st.multiselect(
    t("Datasets to analyse"), others, default=url_list("datasets", others, [
        d["id"] for d in of_task if d["id"] not in (reference, train) and d["kind"] != "unlabeled"
        and not (real_data and d["is_demo"])][:6]),
    format_func=names.get, key=f"an_compared_{task.name}",
)  # fmt: skip
remember("datasets", compared)

PAIR_TEXT_NAMES = {"per-field": t("each sentence on its own (the paper's protocol)"),
                   "pooled": t("both sentences pooled (not the paper's protocol)")}  # fmt: skip
with st.expander(t("Protocol")):
    c1, c2, c3 = st.columns(3)
    per_label = c1.number_input(t("Texts per label (sample)"), 2, 1_000_000, 1000, key="an_per_label")
    seed = c2.number_input(t("Seed"), 0, 1_000_000, 0, key="an_seed")
    order = c3.number_input(t("BLEU n-gram order"), 1, 9, 4, key="an_order")
    tokenizer = c1.selectbox(
        t("Tokens"), KINDS, key="an_tokenizer", help=t("MeCab (unidic-lite) surface forms by default")
    )
    pair_texts = "per-field"
    if task.is_pair:
        pair_texts = c2.selectbox(
            t("Which texts of a pair are scored"), PAIR_TEXTS, key="an_pair_texts", format_func=PAIR_TEXT_NAMES.get
        )
    st.caption(t("Self-BLEU grows with the number of texts, so compare scores only at the same sample size."))
paper_protocol = int(per_label) == 1000 and int(seed) == 0 and int(order) == 4 and tokenizer == "surface"
group = t("grade") if task.target == "score" else t("label")
st.caption(
    t("Protocol: {n:,} texts per {group}, seed {seed}, BLEU-{order}.", n=int(per_label), group=group, seed=int(seed),
      order=int(order))
    + " "
    + (t("The headline figure is the first sentence; the second is shown beside it.")
       if task.is_pair and pair_texts == "per-field" else
       t("Both sentences pooled: not the paper's protocol, not comparable with its Table 2.") if task.is_pair else "")
    + " "
    + (t("This is the paper's protocol: on gold JNLI valid it gives 73.15 against the paper's 72.94 (Table 2).")
       if paper_protocol and pair_texts == "per-field" else "")
)  # fmt: skip

if writable(project) and st.button(t("Run the analysis"), type="primary", key="an_run"):
    try:
        cfg = AnalysisConfig(reference=reference, datasets=compared, train=train, per_label=int(per_label),
                             seed=int(seed), order=int(order), tokenizer=tokenizer, pair_texts=pair_texts,
                             method="quick" if method == QUICK else "bert",
                             model=None if method == QUICK else method)  # fmt: skip
        job = submit(project, "analysis", cfg)
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


def field_value(result: dict, key: str, field: str, digits: int):
    value = (result.get("fields") or {}).get(field, result if result.get("field", "text") == field else {}).get(key)
    return None if value is None else round(value, digits)


FIELD_TITLES = {"text": t("first sentence"), "text_b": t("second sentence"), "pooled": t("pooled")}
rows = []
for dataset_id in [reference, *compared]:
    bleu = results.get(("self_bleu", dataset_id), {})
    over = results.get(("overlap", dataset_id), {})
    corr = correctness_summary(results[("correctness", dataset_id)]) if ("correctness", dataset_id) in results else {}
    row = {t("dataset"): names.get(dataset_id, dataset_id)}
    for field in (bleu.get("fields") or {bleu.get("field", "text"): bleu}) if bleu else ["text"]:
        suffix = f" ({FIELD_TITLES.get(field, field)})" if task.is_pair else ""
        row["Self-BLEU" + suffix] = field_value(bleu, "self_bleu", field, 2)
        row[t("weighted Jaccard") + suffix] = field_value(over, "weighted_jaccard", field, 4) if over else (
            1.0 if dataset_id == reference else None)  # fmt: skip
    row[t("texts scored")] = bleu.get("texts")
    row[t("label correctness")] = (percent(corr.get("accuracy")) if "mse" not in corr else round(corr["mse"], 3)
                                   ) if corr else None  # fmt: skip
    row[t("balanced accuracy")] = percent(corr.get("balanced_accuracy")) if corr else None
    row[t("correctness method")] = (
        (t("BERT") if corr.get("method") == "bert" else t("quick estimate")) if corr else None
    )
    row[t("trained on")] = names.get(corr.get("trained_on"), corr.get("trained_on")) if corr else None
    row[t("scored out of sample")] = (t("5-fold cross-validated") if corr.get("cross_validated") else
                                      t("unseen rows")) if corr else None  # fmt: skip
    row[t("degenerate")] = (t("DEGENERATE") if corr.get("degenerate") else "") if corr else None
    row[t("n")] = corr.get("n") if corr else None
    row[t("demo")] = "DEMO" if is_demo.get(dataset_id) else ""
    rows.append(row)
st.subheader(t("Diversity and label correctness (Table 2)"))
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
corrs = [r for k, r in results.items() if k[0] == "correctness"]
metric = next((r.get("metric") for r in corrs), "accuracy")
st.caption(
    t(
        "Self-BLEU: lower means more diverse texts. Weighted Jaccard: 1.0 means the same token distribution as "
        "the gold split, 0 nothing in common."
    )
    + " "
    + (t("Label correctness: the share (%) of examples whose label the gold-trained classifier agrees with; "
         "higher is better. Balanced accuracy averages the recall of each label; 'degenerate' means some label's "
         "recall is below 5%, so the accuracy says little.")
       if metric == "accuracy" else t("Label correctness: mean squared error of the gold-trained model's score; "
                                      "lower is better."))
)  # fmt: skip
if any(r.get("method", "quick") == "quick" for r in corrs):
    st.caption(t("Quick estimate (TF-IDF + logistic regression, class-balanced): not the paper's BERT; its numbers "
                 "are not comparable with Table 2's label correctness."))  # fmt: skip

parts = [(names.get(d, d), results[("overlap", d)]) for d in compared if results.get(("overlap", d))]
if parts:
    st.subheader(t("Token overlap with gold (Figure 2)"))
    chart_with_downloads(overlap_figure(overlap_parts(parts)), f"{task.name}-overlap", key="an_overlap")
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
    (t("recall (%)") if corr.get("metric") == "accuracy" else t("label correctness (MSE)")): pd.Series(
        corr.get("per_label", {}), dtype=float) * (100 if corr.get("metric") == "accuracy" else 1),
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
    chart_with_downloads(
        confusion_figure(corr["confusion"], labels), f"{task.name}-confusion", key="an_confusion", width="content"
    )
    st.caption(
        t(
            "Confusion matrix: rows are the labels the examples carry, columns what the gold-trained classifier "
            "predicts; the diagonal is agreement, off-diagonal cells are candidate mislabels."
        )
    )
    st.page_link("../pages/review.py", label=t("Review these candidate mislabels"), icon=":material/rate_review:")
for key, result in ((k, r) for k, r in results.items() if k[1] == chosen):
    st.caption(f"{key[0]}: `{result.get('signature', '')}` · {result.get('created_at', '')[:19]}")
