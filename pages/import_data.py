"""Import gold data: upload a file or name a path; all or nothing."""

import dataclasses
from pathlib import Path

import pandas as pd
import streamlit as st

from app.components import show_error
from app.resources import get_project
from japagen_core.datasets.importers import FORMATS, ImportOptions, import_gold
from japagen_core.errors import JapagenError

project = get_project()
st.title("Import gold data")
st.write(
    "JGLUE JSON Lines (JSTS, JNLI, MARC-ja), JCoLA (JSON Lines or TSV), the Livedoor News corpus "
    "(`ldcc-*.tar.gz` or its extracted folder) and any CSV / TSV / JSON Lines / Parquet file with a column "
    "mapping. A file with a problem is refused as a whole, with the line and the problem named."
)

tasks = list(project.registry.values())
task = st.selectbox("Task", tasks, format_func=lambda t: f"{t.title} — {t.title_ja}", key="import_task")
split = st.text_input("Split name", value="train", help="e.g. train, valid, test", key="import_split").strip()

source_kind = st.radio("Source", ["Upload a file", "A path on this machine"], horizontal=True, key="import_source")
upload, path_text = None, ""
if source_kind == "Upload a file":
    upload = st.file_uploader(
        "Gold file", type=["jsonl", "json", "ndjson", "csv", "tsv", "txt", "parquet", "gz", "tgz"], key="import_upload"
    )
else:
    path_text = st.text_input("File or folder path", key="import_path", placeholder="/data/jnli/valid-v1.3.json")

fmt = st.selectbox("Format", ["auto (from the file name)", *FORMATS], key="import_format")
unlabeled = st.checkbox(
    "Texts without labels (for LLM annotation)", key="import_unlabeled", help="a label column, if any, is kept aside"
)
options: dict = {"format": None if fmt.startswith("auto") else fmt, "unlabeled": unlabeled}

with st.expander("Field mapping (for generic CSV / JSONL / Parquet files)"):
    st.caption("Defaults are the task's native gold format; change them to match your file's column names.")
    default = task.gold_fields
    overrides = {}
    names = ["text"] + (["text_b"] if task.is_pair else []) + (["score"] if task.target == "score" else ["label"])
    cols = st.columns(len(names) + 1)
    for col, name in zip(cols, [*names, "id"], strict=True):
        value = col.text_input(
            f"{name} field", value=getattr(default, name) or "", key=f"import_field_{task.name}_{name}"
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
    st.subheader("Livedoor split")
    sizes = st.radio(
        "Split sizes",
        ["ratio", "paper"],
        format_func={
            "ratio": "The paper's proportions (4,375 : 625 : 1,475) of all articles",
            "paper": "The paper's exact sizes: 4,375 / 625 / 1,475 articles",
        }.get,
        key="import_livedoor_sizes",
    )
    seed = st.number_input("Seed", value=42, step=1, key="import_seed")
    st.caption("Split name `all` imports train, dev and test at once.")
    options.update(livedoor_sizes=sizes, seed=int(seed))

ready = bool(split) and (upload is not None or bool(path_text.strip()))
if st.button("Import", type="primary", disabled=not ready, key="import_go"):
    try:
        with st.spinner("Reading and checking every row..."):
            if upload is not None:
                results = import_gold(
                    project.db,
                    task,
                    split,
                    data=upload.getvalue(),
                    source_name=upload.name,
                    options=ImportOptions(**options),
                )
            else:
                results = import_gold(
                    project.db, task, split, path=Path(path_text.strip()).expanduser(), options=ImportOptions(**options)
                )
    except JapagenError as exc:
        show_error("Nothing was imported: the file was refused.", exc)
    except OSError as exc:
        show_error("Nothing was imported: the file could not be read.", exc)
    else:
        for r in results:
            if r.created:
                st.success(f"Imported {r.rows:,} rows as `{r.dataset_id}`.", icon=":material/check_circle:")
            else:
                st.info(f"This file was already imported as `{r.dataset_id}`; nothing changed.")
            st.dataframe(pd.DataFrame({"label": list(r.counts), "rows": list(r.counts.values())}), hide_index=True)
            st.page_link("../pages/browse.py", label=f"Browse {r.dataset_id}", query_params={"dataset": r.dataset_id})
