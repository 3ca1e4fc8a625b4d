"""Jobs: live progress of background runs, their logs, cancel and resume."""

import streamlit as st

from app.components import show_error
from app.resources import get_project
from japagen_core.errors import JapagenError
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
st.title("Jobs")
st.write(
    "Generation, annotation, analysis and training run in the background. They survive a reload and an app restart."
)


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _how(job) -> str:
    c = job.config
    if job.kind == "generate":
        return c.get("setting", "")
    if job.kind == "train":
        return f"{c.get('data_spec', '')} · {len(c.get('seeds', [])) * len(c.get('sizes', []))} model(s)"
    if job.kind == "prompting":
        return f"{c.get('shots', 0)}-shot · {c.get('llm', {}).get('model', '')} on {c.get('eval_dataset', '')}"
    if job.kind == "analysis":
        return f"of {c.get('reference', '')}"
    return f"labels {c.get('source_dataset', '')}"


def _training_metrics(p: dict) -> None:
    c = st.columns(5)
    c[0].metric("Model", f"{p.get('run', 0)} / {p.get('runs', 0)}")
    c[1].metric("Step", f"{p.get('step', 0):,} / {p.get('steps', 0):,}")
    c[2].metric("Loss", f"{p['loss']:.4f}" if p.get("loss") is not None else "—")
    c[3].metric("Steps/s", p.get("rate_per_s", 0))
    c[4].metric("Seed", p.get("seed", "—"))


def show_job(job) -> None:
    p = job.progress
    how = _how(job)
    title = f"{job.config.get('task', '?')} · {job.kind} · {how} · {job.state}"
    with st.container(border=True):
        st.markdown(f"**{title}**")
        st.caption(f"`{job.id}` · started {job.created_at[:19].replace('T', ' ')} UTC")
        target = max(int(p.get("target") or 0), 1)
        unit = p.get("unit", "examples")
        st.progress(min(int(p.get("ok", 0)) / target, 1.0), text=f"{p.get('ok', 0):,} / {p.get('target', 0):,} {unit}")
        if job.kind == "train":
            _training_metrics(p)
            if job.state == "running" and p.get("eta_s") is not None:
                st.caption(f"ETA {_duration(p['eta_s'])}")
        else:
            c = st.columns(5)
            c[0].metric("Rate", f"{p.get('rate_per_s', 0)}/s")
            c[1].metric("ETA", _duration(p.get("eta_s")) if job.state == "running" else "—")
            c[2].metric("Failed answers", f"{p.get('failed', 0):,}")
            c[3].metric("Tokens", f"{p.get('prompt_tokens', 0) + p.get('completion_tokens', 0):,}")
            cost = p.get("cost_usd")
            c[4].metric("Cost", f"${cost:.4f}" if cost is not None else "unknown")
        if p.get("failures"):
            st.caption("Failures by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(p["failures"].items())))
        message = job.result.get("message") or p.get("message")
        if job.state == "failed" and message:
            show_error("The job failed.", JapagenError(message))
        elif message:
            st.caption(message)
        buttons = st.columns(4)
        if job.state in ("running", "queued") and buttons[0].button("Cancel", key=f"cancel_{job.id}"):
            store.cancel(job)
            st.rerun()
        if job.state in ("interrupted", "cancelled", "failed") and buttons[0].button("Resume", key=f"resume_{job.id}"):
            try:
                store.start(job)
            except JapagenError as exc:
                show_error("The job could not resume.", exc)
            else:
                st.rerun()
        if job.state == "succeeded" and job.result.get("dataset_id"):
            buttons[1].page_link(
                "../pages/browse.py", label="Browse the result", query_params={"dataset": job.result["dataset_id"]}
            )
        if job.state == "succeeded" and job.kind in ("train", "prompting"):
            buttons[1].page_link("../pages/results.py", label="See the results", icon=":material/leaderboard:")
        with st.expander("Log"):
            st.code(job.log_tail() or "(empty)", language=None)


@st.fragment(run_every=1.0)
def job_list() -> None:
    jobs = store.list()
    if not jobs:
        st.info("No jobs yet. Start one on the Generate page, or with `python -m japagen_core generate`.")
        st.page_link("../pages/generate.py", label="Generate", icon=":material/auto_awesome:")
        return
    running = [j for j in jobs if j.state in ("running", "queued")]
    st.caption(f"{len(running)} running · {len(jobs)} in all · refreshes every second")
    for job in jobs[:30]:
        show_job(job)


job_list()
