"""Word lists: edit a task's KADG word list, with versions, a diff, revert, a prompt preview and per-word
statistics of past runs. The logic is in japagen_core.review.word_lists; this page reads widgets and renders."""

import altair as alt
import pandas as pd
import streamlit as st

from app.components import chart_height, show_error
from app.resources import get_project
from japagen_core.errors import JapagenError
from japagen_core.generation.prompts import load_spec
from japagen_core.review.word_lists import (
    STATS_PER_WORD,
    ListVersion,
    WordListError,
    current_words,
    diff,
    list_versions,
    parse_lines,
    revert,
    save_words,
    task_lists,
    validate_words,
    word_stats,
)

# The session-state keys this page owns (widget keys are wl_* too).
RESULT = "wl_result"  # (list name, "success" | "error", headline, detail): the last save or revert, shown once
AUTHOR = "wl_author"
NOTE = "wl_note"
CONFIRM = "wl_revert_confirm"
REVIEWER = "reviewer"  # set by the Review page's sidebar; read here as the default author

project = get_project()
st.title("Word lists")
st.write(
    "KADG puts one word drawn from the task's word list into each prompt, for diversity. The list you save "
    "here is what the next generation uses, and every generated example records the list version it came from."
)

lists = task_lists(project)
if not lists:
    st.info(
        "No task has a KADG word list yet. A prompt spec (`prompts/<task>.yaml`) names one with "
        "`kadg: {text: ..., words: <name>}`, and its first version is the file `prompts/kadg/<name>.txt`.",
        icon=":material/list_alt:",
    )
    st.stop()
task = st.selectbox(
    "Task", [project.registry[n] for n in lists], format_func=lambda t: f"{t.title} — {t.title_ja}", key="wl_task"
)
name = lists[task.name]
shared = [project.registry[t].title for t, n in lists.items() if n == name and t != task.name]

try:
    current: ListVersion | None = current_words(project, name)
except JapagenError as exc:
    show_error(f"The word list {name!r} cannot be read; saving a new list here replaces it.", exc)
    current = None
versions = list_versions(project, name)

if current is not None:
    origin = "the shipped file" if current.version == 0 else f"saved {current.created_at:%Y-%m-%d %H:%M} UTC"
    st.caption(
        f"List `{name}` · version {current.version} ({origin}) · {len(current.words)} words · sha {current.sha}"
        + (f" · also used by {', '.join(shared)}" if shared else "")
    )


def _show_result() -> None:
    result = st.session_state.pop(RESULT, None)
    if not result or result[0] != name:
        return
    _, kind, headline, detail = result
    if kind == "success":
        st.success(headline, icon=":material/check_circle:")
    else:
        st.error(headline, icon=":material/error:")
    if detail:
        st.code(detail, language=None, wrap_lines=True)  # words are data: plain text


def _save(name: str, text_key: str, base: int | None) -> None:
    try:
        saved = save_words(
            project, name, parse_lines(st.session_state[text_key]), author=st.session_state.get(AUTHOR, ""),
            note=st.session_state.get(NOTE), expected_version=base,
        )  # fmt: skip
    except WordListError as exc:
        st.session_state[RESULT] = (name, "error", "Not saved: fix these words first.", "\n".join(exc.problems))
    except JapagenError as exc:
        st.session_state[RESULT] = (name, "error", "Not saved.", str(exc))
    else:
        st.session_state[NOTE] = ""
        headline = f"Saved version {saved.version} ({len(saved.words)} words). The next generation uses it."
        st.session_state[RESULT] = (name, "success", headline, None)


def _revert(name: str, version: int, base: int | None) -> None:
    st.session_state[CONFIRM] = False
    try:
        saved = revert(project, name, version, author=st.session_state.get(AUTHOR, ""), expected_version=base)
    except JapagenError as exc:
        st.session_state[RESULT] = (name, "error", "Not reverted.", str(exc))
    else:
        headline = f"Version {saved.version} now has the words of version {version}. The next generation uses it."
        st.session_state[RESULT] = (name, "success", headline, None)


if AUTHOR not in st.session_state and st.session_state.get(REVIEWER):
    st.session_state[AUTHOR] = st.session_state[REVIEWER]
base = current.version if current else None

# -- edit --------------------------------------------------------------------------------------------
st.subheader("Edit")
_show_result()
text_key = f"wl_words_{name}_{base}"  # a new key per version: after a save the editor shows the new list
text = st.text_area(
    "One word per line", "\n".join(current.words) if current else "", height=260, key=text_key,
    help="Add a line to add a word, delete a line to remove one. Empty lines, repeated words and spaces "
    "around a word are refused. The order matters too: it decides which word a seeded run draws.",
)  # fmt: skip
words = parse_lines(text)
problems = validate_words(words)
change = diff(current.words if current else (), words)
if problems:
    st.warning(f"{len(problems)} problem(s); nothing can be saved until they are fixed:", icon=":material/warning:")
    st.code("\n".join(problems), language=None, wrap_lines=True)
elif change.changed:
    st.caption(f"Changes to save ({len(words)} words):")
    st.code(change.as_text(), language=None, wrap_lines=True)
else:
    st.caption("No changes yet.")
left, right = st.columns(2)
author = left.text_input("Your name", key=AUTHOR, help="Recorded with the version (the Review page sets it too).")
right.text_input("Note (why this change)", key=NOTE)
st.button(
    "Save as a new version", type="primary", key="wl_save", on_click=_save, args=(name, text_key, base),
    disabled=bool(problems) or not change.changed or not author.strip(),
    help="Enter your name to save." if not author.strip() else None,
)  # fmt: skip

# -- versions ----------------------------------------------------------------------------------------
st.subheader("Versions")
if not versions:
    st.info("No version yet: save the first one above.")
else:
    history = pd.DataFrame(
        {
            "version": [v.version for v in versions],
            "current": [v.version == base for v in versions],
            "words": [len(v.words) for v in versions],
            "sha": [v.sha for v in versions],
            "author": [v.author for v in versions],
            "note": [v.note or "" for v in versions],
            "saved at (UTC)": [v.created_at for v in versions],
        }
    ).iloc[::-1]
    st.dataframe(history, hide_index=True, width="stretch")
    by_number = {v.version: v for v in versions}
    numbers = list(by_number)
    if len(numbers) > 1:
        st.markdown("**Compare two versions**")
        left, right = st.columns(2)
        old = left.selectbox("From version", numbers, index=len(numbers) - 2, key=f"wl_diff_from_{name}")
        new = right.selectbox("To version", numbers, index=len(numbers) - 1, key=f"wl_diff_to_{name}")
        st.code(diff(by_number[old].words, by_number[new].words).as_text(), language=None, wrap_lines=True)

        st.markdown("**Revert**")
        others = [n for n in numbers if n != base]
        target = st.selectbox("Make this version current again", others[::-1], key=f"wl_revert_to_{name}")
        st.caption(f"What changes from the current version {base} to the words of version {target}:")
        st.code(diff(current.words if current else (), by_number[target].words).as_text(), language=None)
        confirmed = st.checkbox(
            f"I understand that generation runs started from now on use the words of version {target}", key=CONFIRM
        )
        st.button(
            f"Revert to version {target}", key="wl_revert", on_click=_revert, args=(name, target, base),
            disabled=not confirmed or not author.strip(),
            help="Adds a new version with those words; no version is deleted. Enter your name first.",
        )  # fmt: skip
    if current is not None:
        st.download_button(
            "Download the current list (.txt)", "".join(f"{w}\n" for w in current.words), f"{name}.txt",
            mime="text/plain", key="wl_download", help=f"To ship it as prompts/kadg/{name}.txt",
        )  # fmt: skip

if current is None:
    st.stop()

# -- prompt preview ----------------------------------------------------------------------------------
st.subheader("Prompt preview")
try:
    spec = load_spec(project.settings.prompts_dir, task)
except JapagenError as exc:
    show_error(f"No usable prompt spec for {task.title}.", exc)
    st.stop()
left, right = st.columns(2)
word = left.selectbox("Word", current.words, key=f"wl_preview_word_{name}")
label = right.selectbox(
    "Label", task.label_names, key="wl_preview_label", format_func=lambda n: task.label(n).display()
)
if task.is_pair:
    stages = [
        ("Stage 1: the first sentence (no label)", spec.first_messages(setting="kadg", word=word)),
        ("Stage 2: the second sentence for the label",
         spec.second_messages(label, "（1段目で生成された文）", setting="kadg", word=word)),
    ]  # fmt: skip
else:
    stages = [("One call", spec.single_messages(label, setting="kadg", word=word))]
for title, messages in stages:
    st.markdown(f"**{title}**")
    for message in messages:
        st.caption(message["role"])
        st.code(message["content"], language=None, wrap_lines=True)  # plain text, never Markdown

# -- per-word statistics -----------------------------------------------------------------------------
st.subheader("Per-word statistics of past runs")
try:
    with st.spinner("Counting and scoring..."):
        stats = word_stats(project, task.name, name)
except JapagenError as exc:
    show_error("The statistics cannot be computed right now.", exc)
    st.stop()
if not stats["examples"].any():
    st.info(
        f"No KADG run of {task.title} yet: per-word counts, Self-BLEU and label correctness appear here after one.",
        icon=":material/query_stats:",
    )
    st.page_link("../pages/generate.py", label="Generate with KADG", icon=":material/auto_awesome:")
    st.stop()
st.dataframe(
    stats,
    hide_index=True,
    width="stretch",
    column_config={
        "in current list": st.column_config.CheckboxColumn(),
        "Self-BLEU": st.column_config.NumberColumn(format="%.2f", help="Lower is more diverse"),
        "label correct": st.column_config.NumberColumn(
            format="percent", help="Share of the word's examples whose label the gold-trained classifier agrees with"
        ),
        "checked": st.column_config.NumberColumn(help="Examples with a prediction from a label-correctness analysis"),
    },
)
st.caption(
    f"Self-BLEU of a seeded sample of up to {STATS_PER_WORD} texts per word (lower is more diverse): "
    f"{stats.attrs.get('signature') or 'no word had two texts'}. Label correctness comes from each run's latest "
    "label-correctness analysis (run one on the Analysis page); empty where there is none."
)
chart = (
    alt.Chart(stats)
    .mark_bar()
    .encode(
        x=alt.X("examples:Q", title="examples"),
        y=alt.Y("word:N", sort=list(stats["word"]), title=None, axis=alt.Axis(labelOverlap=False, labelLimit=220)),
        color=alt.Color("in current list:N", title="in the current list"),
        tooltip=["word", "examples", "runs", "Self-BLEU", "label correct"],
    )
    .properties(height=chart_height(len(stats)))
)
st.altair_chart(chart, width="stretch")
