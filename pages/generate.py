"""Generate: choose task, setting, model and counts; see the exact messages; dry-run one call; launch a job."""

import asyncio
import random
from dataclasses import asdict
from pathlib import Path

import streamlit as st

from app.api_key import key_statement
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
from japagen_core.generation.batch import batch_settings_dict
from japagen_core.generation.clean import clean_text
from japagen_core.generation.llm import (
    PAPER_DEFAULTS,
    PRICES,
    LLMConfig,
    OpenAIChatClient,
    resolve_api_key,
    sends_key_in_clear,
)
from japagen_core.generation.presets import import_official, kadg_words, preset_tasks
from japagen_core.generation.prompts import PRESETS, format_example
from japagen_core.generation.run import RunConfig, new_run_id
from japagen_core.generation.scale import PAPER_PER_LABEL, SECONDS_PER_CALL, estimate_run
from japagen_core.settings import SECRETS_PATH

SETTING_HELP = {
    "zero-shot": N_("Zero-shot: the task description and one instruction per label."),
    "few-shot": N_("Few-shot: one gold example of the label goes into each prompt (drawn at random, seeded)."),
    "kadg": N_("KADG: a random word from the task's word list goes into each prompt, for diversity."),
}
PRESET_HELP = {
    "japagen": N_("japagen's own prompts (prompts/<task>.yaml): rewritten from the paper; see the README for how."),
    "paper": N_("The JAPAGEN authors' prompt configs, word for word (imported from their config folder)."),
}
PAPER_MODEL_NOTE = N_("The paper used gpt-3.5-turbo-0613.")
FEWSHOT_DRAW_TEXT = {
    "per-run": N_("one per class for the whole run (the paper's)"),
    "per-call": N_("a new one for every call"),
}
PAIR_TEXT = {
    "paired": N_("a first sentence per pair, written for its label (the paper's)"),
    "contrastive": N_("one first sentence shared by all labels (contrastive)"),
}

project = get_project()
st.title(t("Generate"))
st.write(t("An LLM writes labelled training examples for a task. The run is a background job: follow it on Jobs."))

datasets = datasets_or_stop(project)
tasks = list(project.registry.values())
task = st.selectbox(t("Task"), tasks, format_func=shown_as(task_title, tasks), key="gen_task")
preset = st.radio(t("Prompts"), PRESETS, horizontal=True, key="gen_preset")
st.caption(t(PRESET_HELP[preset]))
imported = preset_tasks(project)
if not project.read_only:
    with st.expander(t("Import the authors' prompt configs (paper preset)"), expanded=preset == "paper" and
                     task.name not in imported):  # fmt: skip
        folder = st.text_input(t("Folder of the authors' configs (<task>.json, <task>*.json)"), key="gen_official_dir")
        if st.button(t("Import"), key="gen_official_import", disabled=not folder.strip()):
            try:
                result = import_official(project, Path(folder.strip()))
            except JapagenError as exc:
                show_error(t("The configs could not be imported."), exc)
            else:
                st.success(t("Imported a paper preset for {n} task(s).", n=len(result.specs)))
                st.code("\n".join(result.lines()), language=None, wrap_lines=True)  # plain text: file contents
                imported = preset_tasks(project)
if preset == "paper" and task.name not in imported:
    st.info(t("No paper preset for {task} yet: import the authors' configs above (or with "
              "`python -m japagen_core prompts import-official DIR`).", task=task_title(task)))  # fmt: skip
    st.stop()
spec = prompt_spec_or_stop(project, task, preset)

settings = ["zero-shot", "few-shot"] + (["kadg"] if spec.has_kadg else [])
setting = st.radio(t("Setting"), settings, horizontal=True, key="gen_setting", format_func=str.upper)
st.caption(t(SETTING_HELP[setting]))
fewshot_dataset, fewshot_draw, pair_protocol = None, "per-run", "paired"
if setting == "few-shot":
    fewshot_dataset = choose_dataset(
        t("Gold examples from"),
        [d for d in datasets if d["task"] == task.name and d["kind"] == "gold"],
        key="gen_fewshot",
        empty=t("Few-shot needs a gold {task} dataset to draw examples from: import one first.", task=task_title(task)),
    )
    fewshot_draw = st.radio(
        t("Few-shot examples"), ["per-run", "per-call"], horizontal=True, key="gen_fewshot_draw",
        format_func=shown_as(lambda v: t(FEWSHOT_DRAW_TEXT[v]), ["per-run", "per-call"]),
    )  # fmt: skip
if task.is_pair:
    pair_protocol = st.radio(
        t("Pairs"), ["paired", "contrastive"], horizontal=True, key="gen_pair_protocol",
        format_func=shown_as(lambda v: t(PAIR_TEXT[v]), ["paired", "contrastive"]),
    )  # fmt: skip
paper_scale = st.checkbox(
    t("Paper scale: {count:,} per label with the paper's sampling", count=PAPER_PER_LABEL), key="gen_paper_scale"
)
if paper_scale:
    per_label = PAPER_PER_LABEL
    st.caption(t("The paper's sampling: temperature 1.2, top-p 1.0, frequency penalty 0.02, 500 tokens, 5 per call."))
else:
    per_label = st.number_input(t("Examples per label (M)"), 1, 1_000_000, 50, key="gen_per_label")

st.subheader(t("Model and endpoint"))
writer = teacher_picker(project, task)  # an API model, a local model, or a fine-tuned teacher (fills in Model)
left, right = st.columns(2)
model = left.text_input(t("Model"), value=LLMConfig().model, key="gen_model", help=t(PAPER_MODEL_NOTE)).strip()
left.caption(t(PAPER_MODEL_NOTE))
base_url = right.text_input(
    t("Base URL (empty: OpenAI)"),
    key="gen_base_url",
    placeholder=t("http://127.0.0.1:8000/v1 for vLLM / Ollama / llama.cpp"),
).strip()
use_batch = (
    st.checkbox(
        t("OpenAI Batch API: half the price, answers within 24 h a round (pair tasks: two rounds)"),
        key="gen_batch",
        disabled=writer.local,
    )
    and not writer.local
)
allow_http = not writer.local and insecure_http_confirmed(base_url, "gen_allow_http")
key_error = None
try:
    writer.check_key(base_url or None, allow_insecure_http=allow_http)  # a local model needs no key
    if not project.read_only:  # a read-only demo sends nothing: no word about keys
        st.caption(key_statement(base_url, local_model=writer.local))
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

if paper_scale:  # the paper's sampling whatever the fields above say
    temperature, top_p, frequency_penalty = (PAPER_DEFAULTS[k] for k in ("temperature", "top_p", "frequency_penalty"))
    max_tokens, n = PAPER_DEFAULTS["max_tokens"], PAPER_DEFAULTS["n"]
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
words = None
if setting == "kadg":
    try:
        words = kadg_words(project, spec)  # what a run started now would use
    except JapagenError as exc:
        show_error(t("The KADG word list cannot be used."), exc)
        st.stop()
if words is not None:
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
    if spec.kadg_words:  # (the paper preset's words are the authors' list, edited in their config)
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
st.caption(t("Prompt spec {file} ({preset} preset), version {version}.", file=plain(spec.path.name), preset=preset,
             version=plain(spec.version)))  # fmt: skip

# -- cost -----------------------------------------------------------------------------------------------
prompt_chars = sum(len(m["content"]) for _, ms in stages for m in ms) // len(stages)
estimate = estimate_run(
    task, int(per_label), llm, batch=use_batch, prompt_chars=prompt_chars, pair_protocol=pair_protocol
)
st.subheader(t("Before you launch") if not project.read_only else t("What a run would take"))
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("Examples"), f"{estimate.examples:,}")
c2.metric(t("API calls (about)"), f"{estimate.calls:,}")
c3.metric(t("Estimated cost"), f"${estimate.cost_usd:,.2f}" if estimate.cost_usd is not None else t("unknown"))
c4.metric(
    t("Time (about)"),
    t("up to {hours:,.0f} h", hours=estimate.hours) if use_batch else t("{hours:,.1f} h", hours=estimate.hours),
)
if estimate.cost_usd is not None:
    st.caption(
        t(
            "About {prompt_tokens:,} prompt tokens (1 per Japanese character) and ~120 output tokens per example; "
            "at most ${upper:,.2f} if every answer used all {max_tokens} tokens. Prices known for: {models}.",
            prompt_tokens=estimate.prompt_tokens,
            upper=estimate.cost_usd_upper,
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
if use_batch:
    st.caption(
        t(
            "Batch API: half the synchronous price (${sync:,.2f} synchronously); {rounds} round(s) of at most 24 h "
            "each, usually much less. The job follows its batches on Jobs; a job that is stopped or killed "
            "follows the same batches when resumed and pays for nothing twice.",
            sync=estimate.cost_usd_sync or 0.0,
            rounds=estimate.rounds,
        )
    )
else:
    st.caption(
        t(
            "Time at about {seconds:.0f} s per call with {concurrency} concurrent requests "
            "(and the requests-per-minute limit).",
            seconds=SECONDS_PER_CALL,
            concurrency=int(concurrency),
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
        fewshot_dataset=fewshot_dataset, list_mode=list_mode, preset=preset, pair_protocol=pair_protocol,
        fewshot_draw=fewshot_draw, batch=batch_settings_dict() if use_batch else {}, **writer.run_fields,
    ))  # fmt: skip
