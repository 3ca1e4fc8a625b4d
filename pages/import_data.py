"""Import gold data: upload a file or name a path; all or nothing."""

import dataclasses
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from app.components import show_error
from app.i18n import N_, shown_as, t, task_title, text_names
from app.resources import get_project
from japagen_core.datasets.importers import FORMATS, ImportOptions, checked_gold_path, guess_split, import_gold
from japagen_core.errors import JapagenError

SPLIT = "import_split"  # the split name's widget key; the page sets it from the file name
SPLIT_GUESSED_FOR = "import_split_guessed_for"  # the file name the split was last guessed from

project = get_project()
st.title(t("Import gold data"))
st.write(
    t(
        "JGLUE JSON Lines (JSTS, JNLI, MARC-ja), JCoLA (JSON Lines or TSV), the Livedoor News corpus "
        "(`ldcc-*.tar.gz` or its extracted folder) and any CSV / TSV / JSON Lines / Parquet file with a column "
        "mapping. A file with a problem is refused as a whole, with the line and the problem named."
    )
)
if project.read_only:
    st.info(t("Read-only demo: importing data is turned off here."), icon=":material/visibility:")
    st.stop()

tasks = list(project.registry.values())
task = st.selectbox(t("Task"), tasks, format_func=shown_as(task_title, tasks), key="import_task")
UPLOAD, PATH = N_("Upload a file"), N_("A path on this machine")
source_kind = st.radio(
    t("Source"), [UPLOAD, PATH], format_func=shown_as(t, [UPLOAD, PATH]), horizontal=True, key="import_source"
)
upload, path_text = None, ""
if source_kind == UPLOAD:
    upload = st.file_uploader(
        t("Gold file"),
        type=["jsonl", "json", "ndjson", "csv", "tsv", "txt", "parquet", "gz", "tgz"],
        key="import_upload",
    )
else:
    path_text = st.text_input(t("File or folder path"), key="import_path", placeholder="/data/jnli/valid-v1.3.json")

# The split follows the file's name (jnli_valid.json: valid) each time another file is chosen; typed over, it stays.
file_name = upload.name if upload is not None else path_text.strip()
guessed = guess_split(file_name) if file_name else None
if file_name and st.session_state.get(SPLIT_GUESSED_FOR) != file_name:
    st.session_state[SPLIT_GUESSED_FOR] = file_name
    if guessed:
        st.session_state[SPLIT] = guessed
st.session_state.setdefault(SPLIT, "train")
split = st.text_input(t("Split name"), help=t("e.g. train, valid, test"), key=SPLIT).strip()
if guessed:
    st.caption(t("Split guessed from the file name: {split}", split=guessed))

fmt = st.selectbox(
    t("Format"), [None, *FORMATS], format_func={None: t("auto (from the file name)"), **{f: f for f in FORMATS}}.get,
    key="import_format",
)  # fmt: skip
unlabeled = st.checkbox(
    t("Texts without labels (for LLM annotation)"),
    key="import_unlabeled",
    help=t("a label column, if any, is kept aside"),
)
options: dict = {"format": fmt, "unlabeled": unlabeled, "max_text_chars": project.settings.max_text_chars}

with st.expander(t("Field mapping (for generic CSV / JSONL / Parquet files)")):
    st.caption(t("Defaults are the task's native gold format; change them to match your file's column names."))
    default = task.gold_fields
    overrides = {}
    names = ["text"] + (["text_b"] if task.is_pair else []) + (["score"] if task.target == "score" else ["label"])
    shown = dict(zip(["text", "text_b"], text_names(task), strict=False)) | {"score": t("score"), "label": t("label")}
    cols = st.columns(len(names) + 1)
    for col, name in zip(cols, [*names, "id"], strict=True):
        value = col.text_input(
            t("{name} field", name=shown.get(name, name)),
            value=getattr(default, name) or "",
            key=f"import_field_{task.name}_{name}",
        ).strip()
        overrides[name] = value or None
    changed = dataclasses.replace(default, **overrides)
    options["fields"] = changed if changed != default else None  # None: the format's own fields

is_livedoor = options["format"] == "livedoor" or (
    options["format"] is None
    and (
        (upload is not None and upload.name.lower().endswith((".gz", ".tgz")))
        or (bool(path_text.strip()) and Path(path_text.strip()).expanduser().is_dir())
    )
)
if is_livedoor:
    st.subheader(t("Livedoor split"))
    sizes = st.radio(
        t("Split sizes"),
        ["ratio", "paper"],
        format_func={
            "ratio": t("The paper's proportions (4,375 : 625 : 1,475) of all articles"),
            "paper": t("The paper's exact sizes: 4,375 / 625 / 1,475 articles"),
        }.get,
        key="import_livedoor_sizes",
    )
    seed = st.number_input(t("Seed"), value=42, step=1, key="import_seed")
    st.caption(t("Split name `all` imports train, dev and test at once."))
    options.update(livedoor_sizes=sizes, seed=int(seed))


def show_progress(bar, stage: str, done: int, total: int) -> None:
    """The engine's progress as a bar: reading is the first half, checking the next 45%, writing the rest."""
    if stage == "read":
        bar.progress(0.45 * done / max(total, 1), text=t("{rows:,} rows read", rows=done))
    elif stage == "check":
        bar.progress(0.45 + 0.45 * done / max(total, 1), text=t("{done:,} of {total:,} rows checked", done=done,
                                                                 total=total))  # fmt: skip
    else:
        bar.progress(0.9, text=t("Writing {rows:,} rows to the store", rows=total))


ready = bool(split) and (upload is not None or bool(path_text.strip()))
if st.button(t("Import"), type="primary", disabled=not ready, key="import_go"):
    bar = st.progress(0.0, text=t("Reading and checking every row..."))
    progress = partial(show_progress, bar)
    try:
        if upload is not None:
            results = import_gold(
                project.db,
                task,
                split,
                data=upload.getvalue(),
                source_name=upload.name,
                options=ImportOptions(**options),
                progress=progress,
            )
        else:
            results = import_gold(
                project.db,
                task,
                split,
                path=checked_gold_path(path_text),
                options=ImportOptions(**options),
                progress=progress,
            )
    except JapagenError as exc:
        bar.empty()
        show_error(t("Nothing was imported: the file was refused."), exc)
    except OSError as exc:
        bar.empty()
        show_error(t("Nothing was imported: the file could not be read."), exc)
    else:
        bar.progress(1.0, text=t("{rows:,} rows imported", rows=sum(r.rows for r in results)))
        for r in results:
            if r.created:
                st.success(
                    t("Imported {rows:,} rows as `{id}`.", rows=r.rows, id=r.dataset_id), icon=":material/check_circle:"
                )
            else:
                st.info(t("This file was already imported as `{id}`; nothing changed.", id=r.dataset_id))
            counts = pd.DataFrame({t("label"): list(r.counts), t("rows"): list(r.counts.values())})
            st.dataframe(counts, hide_index=True)
            st.page_link(
                "../pages/browse.py", label=t("Browse {id}", id=r.dataset_id), query_params={"dataset": r.dataset_id}
            )
