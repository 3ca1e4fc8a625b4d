"""Train: fine-tune BERT on synthetic, gold or mixed data, or run the PROMPTING baseline, as background jobs."""

from dataclasses import asdict, replace

import streamlit as st

from app.components import dataset_names, datasets_or_stop, gold_tasks_or_stop, label_text, plain, show_error, writable
from app.i18n import N_, shown_as, t, task_title
from app.resources import get_project
from japagen_core.errors import JapagenError
from japagen_core.jobs import JobStore, resources
from japagen_core.jobs.kinds import submit
from japagen_core.jobs.progress import Progress
from japagen_core.review.snapshots import list_snapshots
from japagen_core.training.config import DEFAULT_MODEL, DEFAULT_SEEDS, PRECISIONS, TrainConfig
from japagen_core.training.data import DEFAULT_SIZES, DataChoice
from japagen_core.training.plan import EVAL_SPLITS, TrainRequest, train_progress_line
from japagen_core.training.prompting import PROMPTING_LLM, PromptingRequest
from japagen_core.training.weights import check_model_available

DATA_KINDS = {
    "synthetic": N_("Synthetic data (JAPAGEN)"),
    "scaling": N_("Synthetic data, scaling series"),
    "gold-fewshot": N_("Gold few-shot"),
    "gold-full": N_("All gold training data"),
    "mix": N_("Mixture: gold + synthetic"),
}

project = get_project()
st.title(t("Train"))
st.write(
    t(
        "Fine-tune a BERT student on a reviewed snapshot of synthetic data, on gold data (the paper's baselines) or "
        "on a mixture, and measure it on a gold test split. Runs are background jobs; results land on the Results "
        "page."
    )
)

datasets = datasets_or_stop(project)
tasks = gold_tasks_or_stop(
    project, datasets, t("Training is measured on a gold split: import one (or load the demo project on Home) first.")
)
task = st.selectbox(t("Task"), tasks, format_func=shown_as(task_title, tasks), key="tr_task")
of_task = [d for d in datasets if d["task"] == task.name]
names = dataset_names(of_task)
gold = sorted((d for d in of_task if d["kind"] == "gold"), key=lambda d: (d["is_demo"], d["split"], d["id"]))
gold_ids = [d["id"] for d in gold]
synthetic = [d["id"] for d in of_task if d["kind"] == "synthetic"]


def _index(ids: list[str], splits) -> int:
    """The first dataset of the first split present, e.g. the test split for evaluation."""
    split_of = {d["id"]: d["split"] for d in of_task}
    for split in splits:
        for i, dataset_id in enumerate(ids):
            if split_of[dataset_id] == split:
                return i
    return 0


def pick_gold(label: str, key: str, splits, help_text: str | None = None) -> str:
    return st.selectbox(label, gold_ids, index=_index(gold_ids, splits), format_func=names.get, key=key, help=help_text)


def pick_synthetic(key: str) -> tuple[str, int | None, bool]:
    """A synthetic dataset and one of its snapshots (None: a new snapshot when the job is submitted)."""
    if not synthetic:
        st.info(t("No synthetic data for this task yet: generate some first."))
        st.page_link("../pages/generate.py", label=t("Generate"), icon=":material/auto_awesome:")
        st.stop()
    dataset_id = st.selectbox(t("Synthetic dataset"), synthetic, format_func=names.get, key=f"{key}_dataset")
    snapshots = list_snapshots(project, dataset_id)
    labels = {
        s.id: t(
            "snapshot {id} · {rows:,} rows · {relabeled} relabeled", id=s.id, rows=s.rows, relabeled=s.relabeled_rows
        )
        + " · "
        + (t("flagged left out") if s.exclude_flagged else t("{flagged} flagged kept", flagged=s.flagged_rows))
        + f" · {s.created_at:%Y-%m-%d %H:%M}"
        for s in snapshots
    }
    snapshot = st.selectbox(
        t("Reviewed snapshot"),
        [None, *labels],
        format_func={None: t("a new snapshot now"), **labels}.get,
        key=f"{key}_snapshot_{dataset_id}",
        help=t("Training reads a frozen snapshot, with the review's relabels applied."),
    )
    exclude = True
    if snapshot is None:
        exclude = st.checkbox(t("Leave flagged examples out"), value=True, key=f"{key}_exclude_{dataset_id}")
    counts = next(d["counts"] for d in of_task if d["id"] == dataset_id)
    st.caption(
        t("Examples per class:") + " " + ", ".join(f"{plain(label_text(task, k))} {v:,}" for k, v in counts.items())
    )
    return dataset_id, snapshot, exclude


def source(dataset_id: str, snapshot: int | None) -> dict:
    return {"snapshot": snapshot} if snapshot is not None else {"dataset": dataset_id}


finetune_tab, prompting_tab = st.tabs([t("Fine-tune BERT"), t("PROMPTING baseline")])

with finetune_tab:
    kind = st.radio(
        t("Training data"),
        list(DATA_KINDS),
        format_func={k: t(v) for k, v in DATA_KINDS.items()}.get,
        key="tr_kind",
        horizontal=True,
    )
    gold_split = None
    if kind in ("gold-fewshot", "gold-full", "mix"):
        gold_split = pick_gold(t("Gold training split"), "tr_gold", ("train",))
    if kind in ("synthetic", "scaling"):
        dataset_id, snapshot, exclude = pick_synthetic("tr_syn")
        sizes = []
        if kind == "scaling":
            sizes = st.multiselect(
                t("Examples per class"),
                DEFAULT_SIZES,
                default=list(DEFAULT_SIZES[:3]),
                key="tr_sizes",
                accept_new_options=True,
                help=t("One model per size and seed (Figure 3)."),
            )
        choice = {"kind": "synthetic", **source(dataset_id, snapshot), "sizes": sizes, "exclude_flagged": exclude}
    elif kind == "gold-fewshot":
        shots = st.number_input(
            t("Examples per class"), 1, 10_000, 5, key="tr_shots", help=t("The paper: 5, drawn per seed.")
        )
        choice = {"kind": "gold-fewshot", "gold_dataset": gold_split, "shots": int(shots)}
    elif kind == "gold-full":
        choice = {"kind": "gold-full", "gold_dataset": gold_split}
    else:
        c1, c2 = st.columns(2)
        fraction = c1.number_input(
            t("Share of the gold training data"),
            0.001,
            1.0,
            0.01,
            step=0.01,
            format="%.3f",
            key="tr_fraction",
            help=t("Per class, at least one example (Kaddour & Liu: 1%)."),
        )
        per_class = c2.number_input(t("Synthetic examples per class (0: all)"), 0, 1_000_000, 0, key="tr_syn_per_class")
        dataset_id, snapshot, exclude = pick_synthetic("tr_mix")
        choice = {
            "kind": "mix",
            **source(dataset_id, snapshot),
            "gold_dataset": gold_split,
            "gold_fraction": float(fraction),
            "synthetic_per_class": int(per_class) or None,
            "exclude_flagged": exclude,
        }
    eval_split = pick_gold(
        t("Evaluate on (gold)"), "tr_eval", EVAL_SPLITS, t("The paper evaluates on JGLUE's valid split.")
    )
    c1, c2, c3 = st.columns([3, 1, 1])
    model = c1.text_input(t("Model (Hugging Face name or local folder)"), DEFAULT_MODEL, key="tr_model")
    seeds = c2.number_input(t("Seeds"), 1, 100, DEFAULT_SEEDS, key="tr_seeds")
    epochs = c3.number_input(t("Epochs"), 0.1, 100.0, 4.0, step=1.0, key="tr_epochs")
    with st.expander(t("Hyperparameters (the paper's by default)")):
        h = st.columns(4)
        batch_size = h[0].number_input(t("Batch size"), 1, 4096, 32, key="tr_batch")
        lr = h[1].number_input(t("Learning rate"), 1e-7, 1e-2, 5e-5, format="%.1e", key="tr_lr")
        max_length = h[2].number_input(t("Max tokens"), 8, 8192, task.max_length, key=f"tr_max_length_{task.name}")
        precision = h[3].selectbox(
            t("Precision"), PRECISIONS, key="tr_precision", help=t("auto: bf16 (or fp16) on a GPU, fp32 on the CPU")
        )
        max_steps = h[0].number_input(t("Max steps per model (-1: all)"), -1, 10_000_000, -1, key="tr_max_steps")
        save_weights = h[1].checkbox(
            t("Keep the weights"),
            True,
            key="tr_save_weights",
            help=t(
                "About 440 MB per bert-base model; without them a model cannot be "
                "evaluated again, but its metrics and predictions stay."
            ),
        )
        st.caption(
            t(
                "AdamW (betas 0.9, 0.999), linear schedule with 10% warmup, label smoothing 0.1 for classes "
                "(none for a score), batches padded to their own longest example."
            )
        )
    st.caption(
        t(
            "Training runs in a background job on this machine: on its GPU when there is one, else on the CPU (slow "
            "for bert-base). The model's weights and tokenizer must be on this machine, in a local folder or the "
            "Hugging Face cache: Start checks that first."
        )
    )
    if writable(project) and st.button(t("Start training"), type="primary", key="tr_start"):
        try:
            config = TrainConfig(
                model=model.strip(),
                epochs=float(epochs),
                batch_size=int(batch_size),
                learning_rate=float(lr),
                max_length=int(max_length),
                precision=precision,
                max_steps=int(max_steps),
                save_weights=save_weights,
            )
            request = TrainRequest(
                task.name, DataChoice(**choice), eval_dataset=eval_split, seeds=int(seeds), train=config
            )
            if problem := check_model_available(config.model):  # before any snapshot or job
                raise JapagenError(problem)
            job = submit(project, "train", request)
        except ValueError:
            show_error(t("The training job could not start."), JapagenError("examples per class must be whole numbers"))
        except JapagenError as exc:
            show_error(t("The training job could not start."), exc)
        else:
            models = len(job.config["seeds"]) * len(job.config["sizes"])
            st.success(t("Started job {id}: {count} model(s).", id=job.id, count=models))
            st.page_link("../pages/jobs.py", label=t("Follow it on Jobs"), icon=":material/monitoring:")

with prompting_tab:
    st.write(
        t(
            "The LLM itself labels the gold evaluation split — zero-shot, or with gold examples of every class in the "
            "prompt — through the task's annotation prompt. Answers that name no label count as wrong and are shown."
        )
    )
    c1, c2 = st.columns(2)
    shots = c1.radio(
        t("Setting"), [0, 5], format_func=lambda k: "zero-shot" if k == 0 else "few-shot", key="pr_shots",
        horizontal=True,
    )  # fmt: skip
    pr_seeds = c2.number_input(t("Seeds (runs)"), 1, 100, DEFAULT_SEEDS, key="pr_seeds")
    fewshot_split = None
    if shots:
        shots = st.number_input(t("Examples per class in the prompt"), 1, 100, 5, key="pr_k")
        fewshot_split = pick_gold(t("Few-shot examples from (gold)"), "pr_fewshot", ("train",))
    pr_eval = pick_gold(t("Evaluate on (gold)"), "pr_eval", EVAL_SPLITS)
    c1, c2, c3 = st.columns([2, 2, 1])
    llm_model = c1.text_input("LLM", PROMPTING_LLM.model, key="pr_model")
    base_url = c2.text_input(t("Base URL (empty: OpenAI)"), "", key="pr_base_url")
    temperature = c3.number_input(t("Temperature"), 0.0, 2.0, PROMPTING_LLM.temperature, key="pr_temperature")
    rows = next(d["rows"] for d in of_task if d["id"] == pr_eval)
    st.caption(
        t(
            "About {calls:,} calls ({rows:,} examples x {runs} runs).",
            calls=rows * int(pr_seeds),
            rows=rows,
            runs=int(pr_seeds),
        )
    )
    if writable(project) and st.button(t("Start the baseline"), type="primary", key="pr_start"):
        try:
            llm = replace(
                PROMPTING_LLM,
                model=llm_model.strip(),
                base_url=base_url.strip() or None,
                temperature=float(temperature),
            )
            request = PromptingRequest(
                task.name,
                shots=int(shots),
                eval_dataset=pr_eval,
                fewshot_dataset=fewshot_split,
                seeds=int(pr_seeds),
                llm=asdict(llm),
            )
            job = submit(project, "prompting", request)
        except JapagenError as exc:
            show_error(t("The baseline could not start."), exc)
        else:
            st.success(t("Started job {id}.", id=job.id))
            st.page_link("../pages/jobs.py", label=t("Follow it on Jobs"), icon=":material/monitoring:")


@st.fragment(run_every=2.0)
def recent_jobs() -> None:
    store = JobStore(project.settings.jobs_dir)
    jobs = [j for j in store.list() if j.kind in ("train", "prompting")][:5]
    if not jobs:
        return
    st.subheader(t("Recent runs"))
    for job in jobs:
        p = Progress.from_json(job.progress)
        position = resources.position(store, job)
        if position is not None:
            line = t("queued, position {position}", position=position)
        elif job.kind == "train":
            line = train_progress_line(p.flat())
        else:
            line = t("{ok:,}/{target:,} answered", ok=p.done, target=p.target)
        st.progress(
            p.fraction or 0.0,
            text=f"{job.config.get('task')} · {job.kind} · {job.state} — {line if job.progress else t('starting')}",
        )
    jobs_link = t("All jobs and logs") if project.read_only else t("All jobs, logs and cancel")
    st.page_link("../pages/jobs.py", label=jobs_link, icon=":material/monitoring:")
    if any(j.state == "succeeded" for j in jobs):
        st.page_link("../pages/results.py", label=t("Results"), icon=":material/leaderboard:")


recent_jobs()
