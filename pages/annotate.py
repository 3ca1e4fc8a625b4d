"""Annotate: an LLM labels the texts of an imported dataset (Kaddour & Liu's Y|X), as a background job."""

import random
from dataclasses import asdict

import streamlit as st

from app.api_key import key_statement
from app.components import (
    choose_dataset,
    datasets_or_stop,
    insecure_http_confirmed,
    launch,
    prompt_spec_or_stop,
    writable,
)
from app.i18n import shown_as, t, task_title
from app.resources import get_project
from japagen_core.errors import JapagenError
from japagen_core.generation.llm import LLMConfig, resolve_api_key, sends_key_in_clear
from japagen_core.generation.run import RunConfig, new_run_id
from japagen_core.settings import SECRETS_PATH

project = get_project()
st.title(t("Annotate"))
st.write(
    t(
        "The LLM labels texts you already have: import them with **Import data** (tick *texts without labels*, "
        "or use a gold split to measure agreement). Low temperature suits labelling; answers that name no label "
        "are kept with their raw text."
    )
)

datasets = datasets_or_stop(project)
tasks = list(project.registry.values())
task = st.selectbox(t("Task"), tasks, format_func=shown_as(task_title, tasks), key="ann_task")
candidates = [d for d in datasets if d["task"] == task.name and d["kind"] in ("unlabeled", "gold")]
dataset_id = choose_dataset(
    t("Texts to label"),
    candidates,
    key="ann_dataset",
    empty=t(
        "No {task} texts yet. Import some on the Import data page (tick “texts without labels”).",
        task=task_title(task),
    ),
)
spec = prompt_spec_or_stop(project, task)

left, right = st.columns(2)
model = left.text_input(t("Model"), value=LLMConfig().model, key="ann_model").strip()
base_url = right.text_input(t("Base URL (empty: OpenAI)"), key="ann_base_url").strip()
c1, c2 = st.columns(2)
temperature = c1.number_input(t("Temperature"), 0.0, 2.0, 0.1, 0.1, key="ann_temperature")
concurrency = c2.number_input(t("Concurrent requests"), 1, 256, 8, key="ann_concurrency")
allow_http = insecure_http_confirmed(base_url, "ann_allow_http")
key_missing = False
try:
    resolve_api_key(base_url or None, allow_insecure_http=allow_http, secrets_path=SECRETS_PATH)
    if not project.read_only:  # a read-only demo sends nothing: no word about keys
        st.caption(key_statement(base_url))
except JapagenError:
    key_missing = True
    if not project.read_only and not sends_key_in_clear(base_url):
        st.warning(t("No API key is configured: set OPENAI_API_KEY, or point the base URL at a local server."))

first = project.browse(dataset_id, limit=1).rows.iloc[0]
messages = spec.annotate_messages(task, first["text"], first["text_b"] if task.is_pair else None)
st.subheader(t("What will be sent (for the first text)"))
for message in messages:
    st.caption(message["role"])
    st.code(message["content"], language=None, wrap_lines=True)

rows = next(d["rows"] for d in candidates if d["id"] == dataset_id)
st.metric(t("API calls"), f"{rows:,}")
if writable(project) and st.button(t("Launch"), type="primary", disabled=key_missing or not model, key="ann_launch"):
    launch(project, lambda: RunConfig(
        mode="annotate", task=task.name, run_id=new_run_id(task.name, "annotated"), seed=random.randrange(1_000_000),
        llm=asdict(LLMConfig(model=model, base_url=base_url or None, temperature=temperature, n=1,
                             concurrency=int(concurrency), allow_insecure_http=allow_http)),
        source_dataset=dataset_id,
    ))  # fmt: skip
