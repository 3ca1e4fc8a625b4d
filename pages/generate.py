"""Generate: choose task, setting, model and counts; see the exact messages; dry-run one call; launch a job."""

import asyncio
import random
from dataclasses import asdict

import streamlit as st

from app.components import (
    choose_dataset,
    datasets_or_stop,
    insecure_http_confirmed,
    label_text,
    launch,
    plain,
    prompt_spec_or_stop,
    show_error,
    writable,
)
from app.i18n import N_, shown_as, t, task_title
from app.resources import get_project
from app.teacher_picker import teacher_picker
from japagen_core.errors import JapagenError
from japagen_core.generation.clean import clean_text
from japagen_core.generation.llm import (
    PRICES,
    LLMConfig,
    OpenAIChatClient,
    cost_usd,
    is_local,
    resolve_api_key,
    sends_key_in_clear,
)
from japagen_core.generation.prompts import format_example
from japagen_core.generation.run import RunConfig, new_run_id
from japagen_core.review.word_lists import current_words
from japagen_core.settings import SECRETS_PATH

SETTING_HELP = {
    "zero-shot": N_("Zero-shot: the task description and one instruction per label."),
    "few-shot": N_("Few-shot: one gold example of the label goes into each prompt (drawn at random, seeded)."),
    "kadg": N_("KADG: a random word from the task's word list goes into each prompt, for diversity."),
}

project = get_project()
st.title(t("Generate"))
st.write(t("An LLM writes labelled training examples for a task. The run is a background job: follow it on Jobs."))

datasets = datasets_or_stop(project)
tasks = list(project.registry.values())
task = st.selectbox(t("Task"), tasks, format_func=shown_as(task_title, tasks), key="gen_task")
spec = prompt_spec_or_stop(project, task)

settings = ["zero-shot", "few-shot"] + (["kadg"] if spec.kadg_text or spec.kadg_labels else [])
setting = st.radio(t("Setting"), settings, horizontal=True, key="gen_setting", format_func=str.upper)
st.caption(t(SETTING_HELP[setting]))
fewshot_dataset = None
if setting == "few-shot":
    fewshot_dataset = choose_dataset(
        t("Gold examples from"),
        [d for d in datasets if d["task"] == task.name and d["kind"] == "gold"],
        key="gen_fewshot",
        empty=t("Few-shot needs a gold {task} dataset to draw examples from: import one first.", task=task_title(task)),
    )
per_label = st.number_input(t("Examples per label (M)"), 1, 1_000_000, 50, key="gen_per_label")

st.subheader(t("Model and endpoint"))
writer = teacher_picker(project, task)  # an API model, a local model, or a fine-tuned teacher (fills in Model)
left, right = st.columns(2)
model = left.text_input(t("Model"), value=LLMConfig().model, key="gen_model").strip()
base_url = right.text_input(
    t("Base URL (empty: OpenAI)"),
    key="gen_base_url",
    placeholder=t("http://127.0.0.1:8000/v1 for vLLM / Ollama / llama.cpp"),
).strip()
allow_http = not writer.local and insecure_http_confirmed(base_url, "gen_allow_http")
key_error = None
try:
    writer.check_key(base_url or None, allow_insecure_http=allow_http)  # a local model needs no key
    if is_local(base_url):
        st.caption(t("API key: a dummy key (local server). It is read when the job starts and never stored."))
    else:
        st.caption(t("API key: configured (environment or secrets). It is read when the job starts and never stored."))
except JapagenError as exc:
    key_error = exc
    if not project.read_only and not sends_key_in_clear(base_url):
        st.warning(
            t(
                "No API key is configured, so nothing can be sent yet. Set `OPENAI_API_KEY` in the environment "
                "(or in `.streamlit/secrets.toml`) and restart, or point the base URL at a local server."
            ),
            icon=":material/key:",
        )

with st.expander(t("Sampling and throughput")):
    c1, c2, c3, c4 = st.columns(4)
    temperature = c1.number_input(t("Temperature"), 0.0, 2.0, 1.2, 0.1, key="gen_temperature")
    top_p = c2.number_input(t("Top-p"), 0.01, 1.0, 1.0, 0.05, key="gen_top_p")
    frequency_penalty = c3.number_input(t("Frequency penalty"), -2.0, 2.0, 0.02, 0.01, key="gen_freq")
    max_tokens = c4.number_input(t("Max tokens"), 1, 8192, 500, key="gen_max_tokens")
    c1, c2, c3, c4 = st.columns(4)
    n = c1.number_input(t("Choices per call (n)"), 1, 20, 5, key="gen_n")
    concurrency = c2.number_input(t("Concurrent requests"), 1, 256, 8, key="gen_concurrency")
    rpm = c3.number_input(t("Requests per minute (0: no limit)"), 0, 100_000, 0, key="gen_rpm")
    list_mode = c4.checkbox(t("Numbered list instead of n"), key="gen_list_mode", help=t("for servers that ignore n"))
    st.caption(
        t("Defaults are the paper's: temperature 1.2, top-p 1.0, frequency penalty 0.02, 500 tokens, 5 per call.")
    )

try:
    llm = LLMConfig(
        model=model or "?", base_url=base_url or None, temperature=temperature, top_p=top_p,
        frequency_penalty=frequency_penalty, max_tokens=int(max_tokens), n=int(n), concurrency=int(concurrency),
        requests_per_minute=int(rpm), allow_insecure_http=allow_http,
    )  # fmt: skip
except JapagenError as exc:
    show_error(t("These settings are not valid."), exc)
    st.stop()

# -- the exact messages ---------------------------------------------------------------------------------
st.subheader(t("What will be sent"))
label = st.selectbox(t("Preview for label"), task.label_names, key="gen_preview_label",
                     format_func=shown_as(lambda name: label_text(task, name), task.label_names))  # fmt: skip
if st.button(t("Draw another word / example"), key="gen_resample"):
    st.session_state["gen_seed"] = random.randrange(1_000_000)
rng = random.Random(st.session_state.get("gen_seed", 0))
word = None
if setting == "kadg" and spec.kadg_words:
    try:
        words = current_words(project, spec.kadg_words)  # what a run started now would use
    except JapagenError as exc:
        show_error(t("The KADG word list cannot be used."), exc)
        st.stop()
    word = rng.choice(words.words)
    st.caption(
        t(
            "KADG word list `{name}`, version {version} ({count} words); drawn:",
            name=words.name,
            version=words.version,
            count=len(words.words),
        )
    )
    st.text(word)  # plain text: a word is data
    label_link = t("See the word list") if project.read_only else t("Edit the word list")
    st.page_link("../pages/word_lists.py", label=label_link, icon=":material/list_alt:")
example = None
if setting == "few-shot":
    page = project.browse(fewshot_dataset, labels=[label], limit=200)
    if page.total == 0:
        st.warning(t("The gold dataset has no example of {label}.", label=plain(label_text(task, label))))
        st.stop()
    row = page.rows.iloc[rng.randrange(len(page.rows))]
    example = format_example(task, row["text"], row["text_b"] if task.is_pair else None)
if task.is_pair:
    stages = [
        (t("Stage 1: the first sentence (no label)"), spec.first_messages(setting=setting, word=word)),
        (t("Stage 2: the second sentence for the label"), spec.second_messages(
            label, "（1段目で生成された文）", setting=setting, word=word, example=example)),
    ]  # fmt: skip
else:
    stages = [(t("One call"), spec.single_messages(label, setting=setting, word=word, example=example))]
for title, messages in stages:
    st.markdown(f"**{title}**")
    for message in messages:
        st.caption(message["role"])
        st.code(message["content"], language=None, wrap_lines=True)  # plain text, never Markdown
st.caption(t("Prompt spec {file}, version {version}.", file=plain(spec.path.name), version=plain(spec.version)))

# -- cost -----------------------------------------------------------------------------------------------
labels = len(task.labels)
calls_per = -(-int(per_label) // int(n))
calls = calls_per + int(per_label) * labels if task.is_pair else calls_per * labels
prompt_chars = sum(len(m["content"]) for _, ms in stages for m in ms) // len(stages)
prompt_tokens, typical_out = calls * prompt_chars, int(per_label) * labels * min(int(max_tokens), 120)
upper = cost_usd(model, prompt_tokens, int(per_label) * labels * int(max_tokens))
typical = cost_usd(model, prompt_tokens, typical_out)
st.subheader(t("Before you launch") if not project.read_only else t("What a run would take"))
c1, c2, c3 = st.columns(3)
c1.metric(t("Examples"), f"{int(per_label) * labels:,}")
c2.metric(t("API calls (about)"), f"{calls:,}")
c3.metric(t("Estimated cost"), f"${typical:,.2f}" if typical is not None else t("unknown"))
if upper is not None:
    st.caption(
        t(
            "About {prompt_tokens:,} prompt tokens (1 per Japanese character) and ~120 output tokens per example; "
            "at most ${upper:,.2f} if every answer used all {max_tokens} tokens. Prices known for: {models}.",
            prompt_tokens=prompt_tokens,
            upper=upper,
            max_tokens=int(max_tokens),
            models=", ".join(PRICES),
        )
    )
else:
    st.caption(
        t(
            "No price is known for `{model}` (a local model costs nothing); tokens are counted as the job runs.",
            model=model,
        )
    )

if not writable(project):
    st.stop()
left, right = st.columns(2)
if left.button(t("Dry run: send one call"), disabled=key_error is not None or writer.local, key="gen_dry_run"):
    first_messages = stages[0][1]

    async def one_call():  # a short timeout and one retry: the page waits for it
        key = resolve_api_key(llm.base_url, allow_insecure_http=llm.allow_insecure_http, secrets_path=SECRETS_PATH)
        client = OpenAIChatClient(llm, key)
        try:
            return await client.complete(first_messages, n=1)
        finally:
            await client.close()

    try:
        with st.spinner(t("Calling the model...")):
            completion = asyncio.run(one_call())
    except JapagenError as exc:
        show_error(t("The dry run failed."), exc)
    else:
        raw = completion.texts[0] if completion.texts else ""
        text, reason = clean_text(raw, task)
        st.caption(
            t(
                "Answer ({prompt} prompt + {completion} completion tokens):",
                prompt=completion.prompt_tokens,
                completion=completion.completion_tokens,
            )
        )
        st.code(raw or t("(empty)"), language=None, wrap_lines=True)
        if reason:
            st.warning(t("This answer would be recorded as a failure: {reason}.", reason=reason))
        else:
            st.caption(t("Cleaned:"))
            st.code(text, language=None, wrap_lines=True)

if right.button(t("Launch"), type="primary", disabled=key_error is not None or not model, key="gen_launch"):
    launch(project, lambda: RunConfig(
        mode="generate", task=task.name, run_id=new_run_id(task.name, setting), llm=asdict(llm),
        setting=setting, per_label=int(per_label), seed=random.randrange(1_000_000),
        fewshot_dataset=fewshot_dataset, list_mode=list_mode, **writer.run_fields,
    ))  # fmt: skip
