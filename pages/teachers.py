"""Teachers: fine-tune the generating LLM on a few gold examples (Kaddour & Liu), via OpenAI or LoRA locally."""

import streamlit as st

from app.components import (
    dataset_names,
    datasets_or_stop,
    gold_tasks_or_stop,
    insecure_http_confirmed,
    plain,
    show_error,
    writable,
)
from app.i18n import N_, shown_as, t, task_title
from app.resources import get_project
from japagen_core.errors import JapagenError
from japagen_core.generation.llm import resolve_api_key, sends_key_in_clear
from japagen_core.jobs import JobError, JobStore
from japagen_core.jobs.progress import Progress
from japagen_core.review.snapshots import list_snapshots
from japagen_core.settings import SECRETS_PATH
from japagen_core.teacher.openai_tune import DEFAULT_BASE_MODEL
from japagen_core.teacher.service import TeacherRequest, list_teachers, prepare, preview_frame, submit_teacher
from japagen_core.teacher.trainfile import TRAINING_PRICES

DATA_KINDS = {
    "gold-fewshot": N_("Gold few-shot (K per class)"),
    "gold-full": N_("All gold training data"),
    "snapshot": N_("A reviewed snapshot"),
}
PURPOSES = {
    "generate": N_("Generate examples (the gold text is the answer)"),
    "annotate": N_("Annotate texts (the gold label is the answer)"),
}
BACKENDS = {"openai": N_("OpenAI fine-tuning API"), "local": N_("Local model + LoRA (peft)")}
STATUS_ICONS = {
    "succeeded": ":material/check_circle:",
    "running": ":material/progress_activity:",
    "queued": ":material/schedule:",
    "failed": ":material/error:",
    "cancelled": ":material/cancel:",
}


def _label(options: dict[str, str]):
    return shown_as(lambda key: t(options[key]), list(options))


project = get_project()
st.title(t("Teachers"))
st.write(
    t(
        "Fine-tune the LLM that writes the data on a handful of gold examples before it generates (Kaddour & Liu): "
        "the same prompts the Generate page sends, with the gold text (or label) as the answer. A tuned teacher is "
        "then a choice on the Generate page, and every example it writes records it."
    )
)

datasets = datasets_or_stop(project)
tasks = gold_tasks_or_stop(
    project,
    datasets,
    t("A teacher is tuned on gold examples: import a gold split (or load the demo project on Home) first."),
)
task = st.selectbox(t("Task"), tasks, format_func=shown_as(task_title, tasks), key="te_task")
of_task = [d for d in datasets if d["task"] == task.name]
names = dataset_names(of_task)
purpose = st.radio(t("The teacher will"), list(PURPOSES), format_func=_label(PURPOSES), key="te_purpose",
                   horizontal=True)  # fmt: skip

# -- data ------------------------------------------------------------------------------------------------
st.subheader(t("Training data"))
kind = st.radio(t("From"), list(DATA_KINDS), format_func=_label(DATA_KINDS), key="te_kind", horizontal=True)
gold_dataset, data, seed = None, kind, 0
if kind in ("gold-fewshot", "gold-full"):
    gold = sorted((d for d in of_task if d["kind"] == "gold"), key=lambda d: (d["split"] != "train", d["is_demo"]))
    gold_dataset = st.selectbox(t("Gold split"), [d["id"] for d in gold], format_func=names.get, key="te_gold")
    if kind == "gold-fewshot":
        c1, c2 = st.columns(2)
        shots = c1.number_input(t("Examples per class (K)"), 1, 100_000, 5, key="te_shots")
        same = t("Seed s draws the same K examples as a student's gold few-shot run with seed s.")
        seed = int(c2.number_input(t("Seed of the draw"), 0, 1_000_000, 0, key="te_seed", help=same))
        data = f"gold-fewshot:{int(shots)}"
else:
    snapshots = [s for s in list_snapshots(project) if s.task == task.name]
    if not snapshots:
        st.info(t("No snapshot of this task yet: make one on the Review page (Export), or use gold data."))
        st.stop()
    labels = {
        s.id: t("snapshot {id} of {dataset} · {rows:,} rows · {created}", id=s.id, dataset=s.dataset_id, rows=s.rows,
                created=f"{s.created_at:%Y-%m-%d %H:%M}")
        for s in snapshots
    }  # fmt: skip
    data = f"snapshot:{st.selectbox(t('Snapshot'), list(labels), format_func=labels.get, key='te_snapshot')}"

# -- backend ---------------------------------------------------------------------------------------------
st.subheader(t("Model"))
backend = st.radio(t("Tune with"), list(BACKENDS), format_func=_label(BACKENDS), key="te_backend", horizontal=True)
openai_settings, lora, base_url, allow_http = {}, {}, None, False
if backend == "openai":
    c1, c2, c3 = st.columns([3, 3, 1])
    base_model = c1.selectbox(t("Base model"), list(TRAINING_PRICES), key="te_base", accept_new_options=True,
                              index=list(TRAINING_PRICES).index(DEFAULT_BASE_MODEL))  # fmt: skip
    base_url = c2.text_input(t("Base URL (empty: OpenAI)"), key="te_base_url").strip() or None
    n_epochs = c3.number_input(t("Epochs"), 1, 50, 3, key="te_epochs")
    allow_http = insecure_http_confirmed(base_url, "te_allow_http")
    openai_settings = {"n_epochs": int(n_epochs), "seed": seed}
else:
    base_model = st.text_input(t("Local model folder (or Hugging Face name in the cache)"), key="te_local_model")
    base_model = base_model.strip()
    c = st.columns(6)
    lora = {
        "r": int(c[0].number_input(t("LoRA r"), 1, 1024, 8, key="te_r")),
        "alpha": int(c[1].number_input(t("LoRA alpha"), 1, 4096, 16, key="te_alpha")),
        "epochs": float(c[2].number_input(t("Epochs"), 0.1, 1000.0, 3.0, key="te_lora_epochs")),
        "learning_rate": float(c[3].number_input(t("Learning rate"), 1e-6, 0.5, 2e-4, format="%.1e", key="te_lr")),
        "batch_size": int(c[4].number_input(t("Batch size"), 1, 1024, 4, key="te_batch")),
        "max_length": int(c[5].number_input(t("Max tokens"), 16, 32768, 512, key="te_max_length")),
        "seed": seed,
    }
    st.caption(
        t("LoRA runs in a background job on this machine: on its GPU when there is one (bf16), else on the CPU.")
    )
    if not base_model:
        st.info(t("Give the folder of a local chat model (config, weights, tokenizer with a chat template)."))
        st.stop()

request = TeacherRequest(task=task.name, backend=backend, base_model=base_model, data=data, purpose=purpose,
                         gold_dataset=gold_dataset, base_url=base_url, seed=seed, openai=openai_settings,
                         lora=lora, allow_insecure_http=allow_http)  # fmt: skip
try:
    prepared = prepare(project, request)
except JapagenError as exc:
    show_error(t("This teacher cannot be tuned with these settings."), exc)
    st.stop()

# -- before launch ---------------------------------------------------------------------------------------
st.subheader(t("Before you launch"))
c = st.columns(4)
c[0].metric(t("Conversations"), f"{len(prepared.file.records):,}")
c[1].metric(t("Tokens per epoch (estimate)"), f"{prepared.tokens:,}")
c[2].metric(t("Training tokens (estimate)"), f"{prepared.trained_tokens:,}")
cost = prepared.cost_usd
cost_text = t("unknown") if cost is None else f"${cost:,.2f}"
c[3].metric(t("Estimated cost"), t("free (local)") if backend == "local" else cost_text)
st.caption(
    t(
        "Token counts are estimates without a tokenizer: about 1 token per Japanese character, 4 ASCII characters "
        "per token and 4 per message."
    )
)
if backend == "openai":
    st.caption(t("Cost: training tokens x the price per 1M training tokens ({models} known).",
                 models=", ".join(TRAINING_PRICES)))  # fmt: skip
answers = ", ".join(f"{k} {v}" for k, v in prepared.file.answers_per_label().items())
st.caption(t("Answers per label: {answers}", answers=answers))
with st.expander(t("The first conversations of the training file")):
    for number, group in preview_frame(prepared, limit=3).groupby("conversation"):
        st.markdown(t("**Conversation {number}**", number=number))
        for role, content in zip(group["role"], group["content"], strict=True):
            st.caption(role)
            st.code(content, language=None, wrap_lines=True)  # plain text, never Markdown
st.download_button(t("Download the training file (JSON Lines)"), prepared.file.data,
                   file_name=f"teacher-{task.name}.jsonl", mime="application/jsonl", key="te_download")  # fmt: skip

key_error = None
if backend == "openai":
    try:
        resolve_api_key(base_url, allow_insecure_http=allow_http, secrets_path=SECRETS_PATH)
    except JapagenError as exc:
        key_error = exc
        if not project.read_only and not sends_key_in_clear(base_url):  # a read-only demo tunes nothing
            st.warning(t("No API key is configured: set OPENAI_API_KEY (or .streamlit/secrets.toml) and restart."),
                   icon=":material/key:")  # fmt: skip
if writable(project) and st.button(t("Start fine-tuning"), type="primary", key="te_launch",
                                   disabled=key_error is not None):  # fmt: skip
    try:
        teacher, job = submit_teacher(project, request)
    except JapagenError as exc:
        show_error(t("The tuning job could not start."), exc)
    else:
        st.success(t("Started job {job} for teacher {teacher}. It runs in the background.", job=job.id,
                     teacher=teacher.id))  # fmt: skip
        st.page_link("../pages/jobs.py", label=t("Follow it on Jobs"), icon=":material/monitoring:")


# -- registered teachers ---------------------------------------------------------------------------------
def _job(store: JobStore, teacher):
    """The tuning job of a teacher still at work (None once it ended, or when its folder is gone)."""
    if not teacher.job_id or teacher.status not in ("queued", "running"):
        return None
    try:
        return store.get(teacher.job_id)
    except JobError:
        return None


@st.fragment(run_every=2.0)
def registered() -> None:
    found = list_teachers(project, task=task.name)
    st.subheader(t("Teachers of this task"))
    if not found:
        st.caption(t("None yet."))
        return
    store = JobStore(project.settings.jobs_dir)
    for teacher in found:
        with st.container(border=True):
            st.markdown(f"{STATUS_ICONS.get(teacher.status, '')} **{plain(teacher.id)}** · {t(teacher.status)}")
            st.caption(t("{backend} · {base} · {purpose} · {data} · {examples} conversations · {created}",
                         backend=teacher.backend, base=plain(teacher.base_model), purpose=teacher.purpose,
                         data=plain(teacher.data_spec), examples=teacher.examples,
                         created=f"{teacher.created_at:%Y-%m-%d %H:%M}"))  # fmt: skip
            if teacher.model:
                st.code(teacher.model, language=None)
            if teacher.message and teacher.status == "failed":
                show_error(t("Tuning failed."), JapagenError(teacher.message))
            job = _job(store, teacher)
            if job is not None:
                p = Progress.from_json(job.progress)
                st.progress(p.fraction or 0.0, text=str(p.message or job.state))
                events = p.get("events") or []
                if events:
                    st.code("\n".join(f"[{e['level']}] {e['message']}" for e in events[-8:]), language=None)
                if not project.read_only and st.button(t("Cancel"), key=f"te_cancel_{teacher.id}"):
                    store.cancel(job)
                    st.rerun()
            if teacher.usable:
                st.page_link("../pages/generate.py", label=t("Generate with it"), icon=":material/auto_awesome:")


registered()
