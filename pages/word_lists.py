"""Word lists: edit a task's KADG word list, with versions, a diff, revert, a prompt preview and per-word
statistics of past runs. The logic is in japagen_core.review.word_lists; this page reads widgets and renders."""

import altair as alt
import pandas as pd
import streamlit as st

from app.components import chart_height, label_text, prompt_spec_or_stop, show_error
from app.i18n import shown_as, t, task_title
from app.resources import get_project
from japagen_core.errors import JapagenError
from japagen_core.report.charts import count_axis
from japagen_core.review.word_lists import (
    STATS_PER_WORD,
    ListVersion,
    WordListError,
    compare_pair,
    current_words,
    diff,
    list_versions,
    parse_lines,
    revert,
    revert_choices,
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
st.title(t("Word lists"))
st.write(
    t(
        "KADG puts one word drawn from the task's word list into each prompt, for diversity. The list you save "
        "here is what the next generation uses, and every generated example records the list version it came from."
    )
)

lists = task_lists(project)
if not lists:
    st.info(
        t(
            "No task has a KADG word list yet. A prompt spec (`prompts/<task>.yaml`) names one with "
            "`kadg: {text: ..., words: <name>}`, and its first version is the file `prompts/kadg/<name>.txt`."
        ),
        icon=":material/list_alt:",
    )
    st.stop()
tasks = [project.registry[n] for n in lists]
task = st.selectbox(t("Task"), tasks, format_func=shown_as(task_title, tasks), key="wl_task")
name = lists[task.name]
shared = [task_title(project.registry[other]) for other, n in lists.items() if n == name and other != task.name]

try:
    current: ListVersion | None = current_words(project, name)
except JapagenError as exc:
    if project.read_only:
        show_error(t("The word list {name!r} cannot be read.", name=name), exc)
    else:
        show_error(t("The word list {name!r} cannot be read; saving a new list here replaces it.", name=name), exc)
    current = None
versions = list_versions(project, name)

if current is not None:
    if current.version == 0:
        origin = t("the shipped file")
    else:
        origin = t("saved {time} UTC", time=f"{current.created_at:%Y-%m-%d %H:%M}")
    st.caption(
        t(
            "List `{name}` · version {version} ({origin}) · {count} words · sha {sha}",
            name=name,
            version=current.version,
            origin=origin,
            count=len(current.words),
            sha=current.sha,
        )
        + (" · " + t("also used by {tasks}", tasks=", ".join(shared)) if shared else "")
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
        st.session_state[RESULT] = (name, "error", t("Not saved: fix these words first."), "\n".join(exc.problems))
    except JapagenError as exc:
        st.session_state[RESULT] = (name, "error", t("Not saved."), str(exc))
    else:
        st.session_state[NOTE] = ""
        headline = t(
            "Saved version {version} ({count} words). The next generation uses it.",
            version=saved.version,
            count=len(saved.words),
        )
        st.session_state[RESULT] = (name, "success", headline, None)


def _revert(name: str, version: int, base: int | None) -> None:
    st.session_state[CONFIRM] = False
    try:
        saved = revert(project, name, version, author=st.session_state.get(AUTHOR, ""), expected_version=base)
    except JapagenError as exc:
        st.session_state[RESULT] = (name, "error", t("Not reverted."), str(exc))
    else:
        headline = t(
            "Version {new} now has the words of version {old}. The next generation uses it.",
            new=saved.version,
            old=version,
        )
        st.session_state[RESULT] = (name, "success", headline, None)


if AUTHOR not in st.session_state and st.session_state.get(REVIEWER):
    st.session_state[AUTHOR] = st.session_state[REVIEWER]
base = current.version if current else None

# -- edit (read-only: the current list as plain text) ------------------------------------------------
author = ""
if project.read_only:
    st.subheader(t("Current list"))
    st.code("\n".join(current.words) if current else "", language=None)  # words are data: plain text
else:
    st.subheader(t("Edit"))
    _show_result()
    text_key = f"wl_words_{name}_{base}"  # a new key per version: after a save the editor shows the new list
    text = st.text_area(
        t("One word per line"), "\n".join(current.words) if current else "", height=260, key=text_key,
        help=t("Add a line to add a word, delete a line to remove one. Empty lines, repeated words and spaces "
               "around a word are refused. The order matters too: it decides which word a seeded run draws."),
    )  # fmt: skip
    words = parse_lines(text)
    problems = validate_words(words)
    change = diff(current.words if current else (), words)
    if problems:
        st.warning(
            t("{count} problem(s); nothing can be saved until they are fixed:", count=len(problems)),
            icon=":material/warning:",
        )
        st.code("\n".join(problems), language=None, wrap_lines=True)
    elif change.changed:
        st.caption(t("Changes to save ({count} words):", count=len(words)))
        st.code(change.as_text(), language=None, wrap_lines=True)
    else:
        st.caption(t("No changes yet."))
    left, right = st.columns(2)
    author = left.text_input(
        t("Your name"), key=AUTHOR, help=t("Recorded with the version (the Review page sets it too).")
    )
    right.text_input(t("Note (why this change)"), key=NOTE)
    st.button(
        t("Save as a new version"), type="primary", key="wl_save", on_click=_save, args=(name, text_key, base),
        disabled=bool(problems) or not change.changed or not author.strip(),
        help=t("Enter your name to save.") if not author.strip() else None,
    )  # fmt: skip

# -- versions ----------------------------------------------------------------------------------------
st.subheader(t("Versions"))
if not versions:
    st.info(t("No version yet: save the first one above."))
else:
    history = pd.DataFrame(
        {
            t("version"): [v.version for v in versions],
            t("current"): [v.version == base for v in versions],
            t("words"): [len(v.words) for v in versions],
            "sha": [v.sha for v in versions],
            t("author"): [v.author for v in versions],
            t("note"): [v.note or "" for v in versions],
            t("saved at (UTC)"): [  # version 0 was never saved here: it is the file the list ships as
                t("the shipped file") if v.created_at is None else f"{v.created_at:%Y-%m-%d %H:%M}" for v in versions
            ],
        }
    ).iloc[::-1]
    st.dataframe(history, hide_index=True, width="stretch")
    by_number = {v.version: v for v in versions}
    numbers = list(by_number)
    pair = compare_pair(versions)
    if pair is not None:
        st.markdown(f"**{t('Compare two versions')}**")
        left, right = st.columns(2)
        newest = numbers[-1]  # keyed on the newest version: after a save the comparison starts on it again
        old = left.selectbox(
            t("From version"), numbers, index=numbers.index(pair[0]), key=f"wl_diff_from_{name}_{newest}"
        )
        new = right.selectbox(t("To version"), numbers, index=numbers.index(pair[1]), key=f"wl_diff_to_{name}_{newest}")
        st.code(diff(by_number[old].words, by_number[new].words).as_text(), language=None, wrap_lines=True)

    targets = revert_choices(versions, current)
    if len(numbers) > 1 and not project.read_only and not targets:
        st.markdown(f"**{t('Revert')}**")
        st.caption(t("Every older version has the words of the current one: there is nothing to revert to."))
    elif len(numbers) > 1 and not project.read_only:
        st.markdown(f"**{t('Revert')}**")
        target = st.selectbox(t("Make this version current again"), targets, key=f"wl_revert_to_{name}_{base}")
        st.caption(
            t(
                "What changes from the current version {base} to the words of version {target}:",
                base=base,
                target=target,
            )
        )
        st.code(diff(current.words if current else (), by_number[target].words).as_text(), language=None)
        confirmed = st.checkbox(
            t("I understand that generation runs started from now on use the words of version {target}", target=target),
            key=CONFIRM,
        )
        st.button(
            t("Revert to version {target}", target=target), key="wl_revert", on_click=_revert,
            args=(name, target, base), disabled=not confirmed or not author.strip(),
            help=t("Adds a new version with those words; no version is deleted. Enter your name first."),
        )  # fmt: skip
    if current is not None:
        st.download_button(
            t("Download the current list (.txt)"), "".join(f"{w}\n" for w in current.words), f"{name}.txt",
            mime="text/plain", key="wl_download", help=t("To ship it as prompts/kadg/{name}.txt", name=name),
        )  # fmt: skip

if current is None:
    st.stop()

# -- prompt preview ----------------------------------------------------------------------------------
st.subheader(t("Prompt preview"))
spec = prompt_spec_or_stop(project, task)
left, right = st.columns(2)
word = left.selectbox(t("Word"), current.words, key=f"wl_preview_word_{name}")
label = right.selectbox(
    t("Label"),
    task.label_names,
    key="wl_preview_label",
    format_func=shown_as(lambda n: label_text(task, n), task.label_names),
)
if task.is_pair:
    stages = [
        (t("Stage 1: the first sentence (no label)"), spec.first_messages(setting="kadg", word=word)),
        (t("Stage 2: the second sentence for the label"),
         spec.second_messages(label, "（1段目で生成された文）", setting="kadg", word=word)),
    ]  # fmt: skip
else:
    stages = [(t("One call"), spec.single_messages(label, setting="kadg", word=word))]
for title, messages in stages:
    st.markdown(f"**{title}**")
    for message in messages:
        st.caption(message["role"])
        st.code(message["content"], language=None, wrap_lines=True)  # plain text, never Markdown

# -- per-word statistics -----------------------------------------------------------------------------
st.subheader(t("Per-word statistics of past runs"))
try:
    with st.spinner(t("Counting and scoring...")):
        stats = word_stats(project, task.name, name)
except JapagenError as exc:
    show_error(t("The statistics cannot be computed right now."), exc)
    st.stop()
if not stats["examples"].any():
    st.info(
        t(
            "No KADG run of {task} yet: per-word counts, Self-BLEU and label correctness appear here after one.",
            task=task_title(task),
        ),
        icon=":material/query_stats:",
    )
    if not project.read_only:
        st.page_link("../pages/generate.py", label=t("Generate with KADG"), icon=":material/auto_awesome:")
    st.stop()
STAT_HEADERS = {  # the engine's columns (STATS_COLUMNS); Self-BLEU reads the same in both languages
    "word": t("word"), "in current list": t("in current list"), "examples": t("examples"), "runs": t("runs"),
    "texts scored": t("texts scored"), "label correct": t("label correct"), "checked": t("checked"),
}  # fmt: skip
st.dataframe(
    stats.rename(columns=STAT_HEADERS),
    hide_index=True,
    width="stretch",
    column_config={
        STAT_HEADERS["in current list"]: st.column_config.CheckboxColumn(),
        "Self-BLEU": st.column_config.NumberColumn(format="%.2f", help=t("Lower is more diverse")),
        STAT_HEADERS["label correct"]: st.column_config.NumberColumn(
            format="percent",
            help=t("Share of the word's examples whose label the gold-trained classifier agrees with"),
        ),
        STAT_HEADERS["checked"]: st.column_config.NumberColumn(
            help=t("Examples with a prediction from a label-correctness analysis")
        ),
    },
)
st.caption(
    t(
        "Self-BLEU of a seeded sample of up to {count} texts per word (lower is more diverse): {signature}. "
        "Label correctness comes from each run's latest label-correctness analysis (run one on the Analysis page); "
        "empty where there is none.",
        count=STATS_PER_WORD,
        signature=stats.attrs.get("signature") or t("no word had two texts"),
    )
)
chart = (
    alt.Chart(stats)
    .mark_bar()
    .encode(
        x=alt.X("examples:Q", title=t("examples"), axis=count_axis()),
        y=alt.Y("word:N", sort=list(stats["word"]), title=None, axis=alt.Axis(labelOverlap=False, labelLimit=220)),
        color=alt.Color("in current list:N", title=t("in the current list")),
        tooltip=[
            alt.Tooltip("word:N", title=t("word")),
            alt.Tooltip("examples:Q", title=t("examples")),
            alt.Tooltip("runs:Q", title=t("runs")),
            alt.Tooltip("Self-BLEU:Q", format=".2f"),
            alt.Tooltip("label correct:Q", title=t("label correct"), format=".0%"),
        ],
    )
    .properties(height=chart_height(len(stats)))
)
st.altair_chart(chart, width="stretch")
