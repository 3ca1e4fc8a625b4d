"""Jobs: live progress of background runs, their logs, cancel and resume."""

import streamlit as st

from app.components import plain, show_error
from app.i18n import N_, t
from app.resources import get_project
from japagen_core.errors import JapagenError
from japagen_core.generation.run import CALL_STATS
from japagen_core.jobs import JobStore

STATE_ICONS = {
    "running": ":material/progress_activity:",
    "queued": ":material/schedule:",
    "succeeded": ":material/check_circle:",
    "failed": ":material/error:",
    "cancelled": ":material/cancel:",
    "interrupted": ":material/pause_circle:",
}

project = get_project()
store = JobStore(project.settings.jobs_dir)
st.title(t("Jobs"))
st.write(
    t("Generation, annotation, analysis and training run in the background. They survive a reload and an app restart.")
)
KIND_NAMES = {
    "generate": N_("generate"), "annotate": N_("annotate"), "analysis": N_("analysis"), "train": N_("train"),
    "prompting": N_("prompting"), "teacher-tune-openai": N_("teacher tuning (OpenAI)"),
    "teacher-tune-local": N_("teacher tuning (LoRA)"),
}  # fmt: skip
STATE_NAMES = {
    "running": N_("running"), "queued": N_("queued"), "succeeded": N_("succeeded"), "failed": N_("failed"),
    "cancelled": N_("cancelled"), "interrupted": N_("interrupted"),
}  # fmt: skip
UNITS = {"examples": N_("examples"), "steps": N_("steps"), "texts": N_("texts")}


def _named(names: dict[str, str], value: str) -> str:
    return t(names[value]) if value in names else value


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    return t("{minutes} min {seconds} s", minutes=minutes, seconds=secs) if minutes else t("{seconds} s", seconds=secs)


def _how(job) -> str:
    c = job.config
    if job.kind == "generate":
        return c.get("setting", "") + (" · Batch API" if c.get("batch") else "")
    if job.kind == "train":
        models = len(c.get("seeds", [])) * len(c.get("sizes", []))
        return f"{c.get('data_spec', '')} · " + t("{count} model(s)", count=models)
    if job.kind == "prompting":
        return t(
            "{shots}-shot · {model} on {dataset}",
            shots=c.get("shots", 0),
            model=c.get("llm", {}).get("model", ""),
            dataset=c.get("eval_dataset", ""),
        )
    if job.kind == "analysis":
        return t("of {dataset}", dataset=c.get("reference", ""))
    if job.kind == "annotate":
        return t("labels {dataset}", dataset=c.get("source_dataset", ""))
    if job.kind.startswith("teacher-tune"):  # a teacher: which model, tuned on what
        return " · ".join(str(v) for v in (c.get("base_model"), c.get("data") or c.get("data_spec")) if v)
    return c.get("base_model", "") or ""


def _training_metrics(p: dict) -> None:
    c = st.columns(5)
    c[0].metric(t("Model"), f"{p.get('run', 0)} / {p.get('runs', 0)}")
    c[1].metric(t("Step"), f"{p.get('step', 0):,} / {p.get('steps', 0):,}")
    c[2].metric(t("Loss"), f"{p['loss']:.4f}" if p.get("loss") is not None else "—")
    c[3].metric(t("Steps/s"), p.get("rate_per_s", 0))
    c[4].metric(t("Seed"), p.get("seed", "—"))


def show_job(job) -> None:
    p = job.progress
    how = _how(job)
    task_name = plain(job.config.get("task", "?"))
    title = f"{task_name} · {_named(KIND_NAMES, job.kind)} · {how} · {_named(STATE_NAMES, job.state)}"
    with st.container(border=True):
        st.markdown(f"**{title}**")
        st.caption(f"`{job.id}` · " + t("started {time} UTC", time=job.created_at[:19].replace("T", " ")))
        target = max(int(p.get("target") or 0), 1)
        unit = _named(UNITS, p.get("unit", "examples"))
        st.progress(min(int(p.get("ok", 0)) / target, 1.0), text=f"{p.get('ok', 0):,} / {p.get('target', 0):,} {unit}")
        if job.kind == "train":
            _training_metrics(p)
            if job.state == "running" and p.get("eta_s") is not None:
                st.caption(t("ETA {duration}", duration=_duration(p["eta_s"])))
        else:
            c = st.columns(5)
            c[0].metric(t("Rate"), f"{p.get('rate_per_s', 0)}/s")
            c[1].metric(t("ETA"), _duration(p.get("eta_s")) if job.state == "running" else "—")
            c[2].metric(t("Failed answers"), f"{p.get('failed', 0):,}")
            c[3].metric(t("Tokens"), f"{p.get('prompt_tokens', 0) + p.get('completion_tokens', 0):,}")
            cost = p.get("cost_usd")
            c[4].metric(t("Cost"), f"${cost:.4f}" if cost is not None else t("unknown"))
        if p.get("failures"):
            failures = ", ".join(f"{plain(k)} {v}" for k, v in sorted(p["failures"].items()))
            st.caption(t("Failures by reason:") + " " + failures)
        calls = {k: int(p.get(k) or 0) for k in CALL_STATS}
        if any(calls.values()):  # shown while they happen: a stalling server is visible before the job fails
            text = t("LLM calls: {retries} retries · {timeouts} timeouts · {connection_errors} connection errors · "
                     "{rate_limited} rate-limited (429) · {server_errors} server errors (5xx)", **calls)  # fmt: skip
            st.caption(text)
        if p.get("cut_off_calls"):
            st.caption(t("{count} call(s) were cut off by a stop: a provider may still bill them (their tokens are "
                         "unknown).", count=p["cut_off_calls"]))  # fmt: skip
        message = job.result.get("message") or p.get("message")
        if job.state == "failed" and message:
            show_error(t("The job failed."), JapagenError(message))
        elif message:
            st.caption(plain(message))
        buttons = st.columns(4)
        if not project.read_only:
            if job.state in ("running", "queued") and buttons[0].button(t("Cancel"), key=f"cancel_{job.id}"):
                store.cancel(job)
                st.rerun()
            resumable = job.state in ("interrupted", "cancelled", "failed")
            if resumable and buttons[0].button(t("Resume"), key=f"resume_{job.id}"):
                try:
                    store.start(job)
                except JapagenError as exc:
                    show_error(t("The job could not resume."), exc)
                else:
                    st.rerun()
        if job.state == "succeeded" and job.result.get("dataset_id"):
            buttons[1].page_link(
                "../pages/browse.py", label=t("Browse the result"), query_params={"dataset": job.result["dataset_id"]}
            )
        if job.state == "succeeded" and job.kind in ("train", "prompting"):
            buttons[1].page_link("../pages/results.py", label=t("See the results"), icon=":material/leaderboard:")
        with st.expander(t("Log")):
            st.code(job.log_tail() or t("(empty)"), language=None)


@st.fragment(run_every=1.0)
def job_list() -> None:
    jobs = store.list()
    if not jobs:
        st.info(t("No jobs yet. Start one on the Generate page, or with `python -m japagen_core generate`."))
        st.page_link("../pages/generate.py", label=t("Generate"), icon=":material/auto_awesome:")
        return
    running = [j for j in jobs if j.state in ("running", "queued")]
    st.caption(t("{running} running · {total} in all · refreshes every second", running=len(running), total=len(jobs)))
    for job in jobs[:30]:
        show_job(job)


job_list()
