"""Who writes the data on the Generate page: a model behind an API, a local model run inside the job, or
a fine-tuned teacher. Owns its widget keys (``gen_writer_<task>``, ``gen_local_batch``) and, when a
teacher is chosen, fills in the page's Model and Base URL fields (``gen_model``, ``gen_base_url``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from app.components import in_code, plain
from app.i18n import t
from japagen_core.errors import JapagenError
from japagen_core.generation.llm import LLMConfig, resolve_api_key
from japagen_core.project import Project
from japagen_core.settings import SECRETS_PATH
from japagen_core.tasks import Task
from japagen_core.teacher.registry import Teacher
from japagen_core.teacher.service import list_teachers, run_fields

API, LOCAL = "api", "local"
MODEL_KEY, BASE_URL_KEY = "gen_model", "gen_base_url"


@dataclass(frozen=True)
class Writer:
    """The choice: what a run's config needs besides the LLM settings."""

    kind: str  # api, local, teacher
    teacher: Teacher | None = None
    run_fields: dict[str, Any] = field(default_factory=dict)  # RunConfig's backend, local and teacher

    @property
    def local(self) -> bool:
        return self.run_fields.get("backend") == "local"

    def check_key(self, base_url: str | None, *, allow_insecure_http: bool = False) -> None:
        """A run through an API needs a key (JapagenError says how to set one); a local run needs none."""
        if not self.local:
            resolve_api_key(base_url or None, allow_insecure_http=allow_insecure_http, secrets_path=SECRETS_PATH)


def _fill_in(project: Project, key: str, by_id: dict[str, Teacher]) -> None:
    """When the choice changes, put the teacher's model and endpoint into the page's fields."""
    choice = st.session_state[key]
    if choice in by_id:
        fields = run_fields(project, by_id[choice])
        st.session_state[MODEL_KEY] = fields["model"]
        st.session_state[BASE_URL_KEY] = fields["base_url"] or ""
    elif choice == API:
        st.session_state[MODEL_KEY] = LLMConfig().model


def teacher_picker(project: Project, task: Task) -> Writer:
    """The writer selectbox, with a line on what the choice means; returns the choice."""
    try:
        teachers = list_teachers(project, task=task.name, usable=True)
    except JapagenError:
        teachers = []
    by_id = {t.id: t for t in teachers}
    names = {API: t("A model behind an API (OpenAI, vLLM, Ollama, ...)"), LOCAL: t("A local model, run inside the job"),
             **{x.id: t("Teacher: {title}", title=x.title()) for x in teachers}}  # fmt: skip
    key = f"gen_writer_{task.name}"
    choice = st.selectbox(t("Who writes"), list(names), format_func=names.get, key=key,
                          on_change=_fill_in, args=(project, key, by_id),
                          help=t("Teachers are LLMs fine-tuned on gold examples on the Teachers page."))  # fmt: skip
    if choice == API:
        if not teachers:
            st.caption(t("No fine-tuned teacher for this task yet."))
            st.page_link("../pages/teachers.py", label=t("Tune a teacher"), icon=":material/school:")
        return Writer(API)
    if choice == LOCAL:
        batch = st.number_input(t("Sequences per batch"), 1, 4096, 16, key="gen_local_batch",
                                help=t("Answers the local model generates at once (more on a GPU)."))  # fmt: skip
        st.caption(
            t(
                "Put a local model folder (or a Hugging Face name in the local cache) into Model: it runs inside the "
                "job with transformers, on the GPU when there is one. Base URL is not used. It needs a chat model."
            )
        )
        return Writer(LOCAL, run_fields={"backend": "local", "local": {"batch_size": int(batch)}})
    teacher = by_id[choice]
    fields = run_fields(project, teacher)
    if teacher.backend == "local":
        adapter = Path(fields["local"]["adapter"])
        sha = str(teacher.meta.get("adapter_sha", ""))[:12]
        base, data = plain(teacher.base_model), plain(teacher.data_spec)
        st.caption(t("Local teacher: {base} with the LoRA adapter `{adapter}` (sha256 {sha}), tuned on {examples} "
                     "conversations ({data}). It runs inside the job; no key is needed.", base=base,
                     adapter=in_code(adapter), sha=sha, examples=teacher.examples, data=data))  # fmt: skip
    else:
        base, data = plain(teacher.base_model), plain(teacher.data_spec)
        st.caption(t("Fine-tuned `{model}` from {base}, tuned on {examples} conversations ({data}). Every example "
                     "records it.", model=in_code(teacher.model), base=base, examples=teacher.examples,
                     data=data))  # fmt: skip
    if st.session_state.get(MODEL_KEY) != fields["model"]:
        st.warning(
            t("Model differs from the teacher's ({model}): the run uses the Model field.", model=fields["model"])
        )
    extra = {k: v for k, v in fields.items() if k not in ("model", "base_url")}
    return Writer("teacher", teacher, extra)
