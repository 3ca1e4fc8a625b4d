"""Jobs: live progress of background runs, their logs, cancel and resume."""

import streamlit as st

from app.components import plain, show_error
from app.i18n import N_, t
from app.resources import get_project
from japagen_core.errors import JapagenError
from japagen_core.generation.run import CALL_STATS
from japagen_core.jobs import JobStore, kinds, resources
from japagen_core.jobs.progress import Progress

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
UNITS = {"examples": N_("examples"), "steps": N_("steps"), "texts": N_("texts"), "models": N_("models"),
         "answers": N_("answers")}  # fmt: skip


def _named(names: dict[str, str], value: str) -> str:
    return t(names[value]) if value in names else value


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    return t("{minutes} min {seconds} s", minutes=minutes, seconds=secs) if minutes else t("{seconds} s", seconds=secs)


LINKS = {  # what a finished job points to (jobs/kinds.py Link.kind) -> page, label, query parameter
    "dataset": ("../pages/browse.py", N_("Browse the result"), "dataset"),
    "run": ("../pages/results.py", N_("See the results"), None),
    "analysis": ("../pages/analysis.py", N_("See the analysis"), None),
    "teacher": ("../pages/teachers.py", N_("See the teacher"), None),
}
ICONS = {"dataset": ":material/table_view:", "run": ":material/leaderboard:", "analysis": ":material/analytics:",
         "teacher": ":material/school:"}  # fmt: skip


def _training_metrics(p: Progress) -> None:
    c = st.columns(5)
    c[0].metric(t("Model"), f"{p.get('run', 0)} / {p.get('runs', 0)}")
    c[1].metric(t("Step"), f"{p.get('step', 0):,} / {p.get('steps', 0):,}")
    c[2].metric(t("Loss"), f"{p.get('loss'):.4f}" if p.get("loss") is not None else "—")
    c[3].metric(t("Steps/s"), p.rate_per_s or 0)
    c[4].metric(t("Seed"), p.get("seed", "—"))


def _llm_metrics(job, p: Progress) -> None:
    c = st.columns(5)
    c[0].metric(t("Rate"), f"{p.rate_per_s or 0}/s")
    c[1].metric(t("ETA"), _duration(p.eta_s) if job.state == "running" else "—")
    c[2].metric(t("Failed answers"), f"{p.failed:,}")
    c[3].metric(t("Tokens"), f"{p.prompt_tokens + p.completion_tokens:,}")
    c[4].metric(t("Cost"), f"${p.cost_usd:.4f}" if p.cost_usd is not None else t("unknown"))
    if p.failures:
        failures = ", ".join(f"{plain(k)} {v}" for k, v in sorted(p.failures.items()))
        st.caption(t("Failures by reason:") + " " + failures)
    calls = {k: int(p.get(k) or 0) for k in CALL_STATS}
    if any(calls.values()):  # shown while they happen: a stalling server is visible before the job fails
        text = t("LLM calls: {retries} retries · {timeouts} timeouts · {connection_errors} connection errors · "
                 "{rate_limited} rate-limited (429) · {server_errors} server errors (5xx)", **calls)  # fmt: skip
        st.caption(text)
    if p.get("cut_off_calls"):
        st.caption(t("{count} call(s) were cut off by a stop: a provider may still bill them (their tokens are "
                     "unknown).", count=p.get("cut_off_calls")))  # fmt: skip


def _actions(job, buttons) -> None:
    if project.read_only:
        return
    if job.state in ("running", "queued") and buttons[0].button(t("Cancel"), key=f"cancel_{job.id}"):
        store.cancel(job)
        st.rerun()
    if job.state not in ("interrupted", "cancelled", "failed"):
        return
    reason = kinds.resumable(job)
    if reason is not None:  # Resume would fail the same way: say why instead of offering it
        st.caption(t("Resume would not help:") + " " + plain(reason))
    elif buttons[0].button(t("Resume"), key=f"resume_{job.id}"):
        try:
            store.start(job)
        except JapagenError as exc:
            show_error(t("The job could not resume."), exc)
        else:
            st.rerun()


def show_job(job) -> None:
    p = Progress.from_json(job.progress)
    try:
        kind = kinds.get_kind(job.kind)
    except JapagenError:  # a folder from another version: shown with what it says about itself
        kind = None
    task_name = plain(job.config.get("task") or "—")
    state = _named(STATE_NAMES, job.state)
    position = resources.position(store, job)
    if position is not None:
        state = t("queued, position {position}", position=position)
    title = f"{task_name} · {_named(KIND_NAMES, job.kind)} · {state}"
    with st.container(border=True):
        st.markdown(f"**{title}**")
        how = kinds.describe(job)
        st.caption((plain(how) + " · " if how else "") + f"`{job.id}` · "
                   + t("started {time} UTC", time=job.created_at[:19].replace("T", " ")))  # fmt: skip
        unit = _named(UNITS, p.unit)
        st.progress(p.fraction or 0.0, text=f"{p.done:,} / {p.target:,} {unit}")
        display = getattr(kind, "display", "steps")
        if display == "training":
            _training_metrics(p)
            if job.state == "running" and p.eta_s is not None:
                st.caption(t("ETA {duration}", duration=_duration(p.eta_s)))
        elif display == "llm":
            _llm_metrics(job, p)
        summary = kinds.summary(job)
        message = job.result.get("message") or p.message
        if job.state == "failed" and message:
            show_error(t("The job failed."), JapagenError(message))
        elif job.state == "succeeded" and summary.text:
            st.caption(plain(summary.text))
        elif message:
            st.caption(plain(message))
        buttons = st.columns(4)
        _actions(job, buttons)
        if job.state == "succeeded":
            for i, link in enumerate(summary.links[:3], start=1):
                page, label, param = LINKS.get(link.kind, (None, "", None))
                if page is not None:
                    params = {param: link.id} if param else None
                    buttons[i].page_link(page, label=t(label), icon=ICONS[link.kind], query_params=params)
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
