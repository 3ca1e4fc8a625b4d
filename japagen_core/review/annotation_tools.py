"""Label Studio and Argilla interchange: a snapshot out as their import files (with the gold-trained
classifier's suggestion as a prediction), their exported annotations back in as review events.

Out (``export DATASET --format label-studio --out F.json``): Label Studio tasks, one per example, with
``data`` (the texts, the current label and ``japagen_id`` = ``<dataset>:<row>``) and ``predictions``
whose ``result`` uses the labeling config's ``from_name`` (``label``) / ``to_name`` (``text``) and the
task's label names as ``choices``; the labeling config is written beside it (``F.labeling.xml``).
``--format argilla --out DIR``: the folder ``rg.Dataset.from_disk(DIR)`` reads (``records.json``,
``.argilla/settings.json``, ``.argilla/dataset.json``): text fields, one label question, the suggestion,
metadata with ``japagen_id``.

In (``review import F --format label-studio|argilla``): every submitted annotation becomes a relabel
through ``events.apply``, attributed to ``label-studio:<annotator>`` / ``argilla:<user id>``. An
annotation already imported (same example, annotator and label) or one that changes nothing writes no
event, so importing a file again writes nothing. A record that names no japagen example, an example
that does not exist or a label outside the task refuses the whole file, naming the record.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pandas as pd

from japagen_core.errors import JapagenError
from japagen_core.project import Project
from japagen_core.review import events
from japagen_core.storage import repository as repo
from japagen_core.tasks import Task

FROM_NAME = "label"  # the Choices / label question
TO_NAME = "text"
ID_KEY = "japagen_id"
TOOLS = ("label-studio", "argilla")
IMPORT_REASON = "imported from {tool}"


class InterchangeError(JapagenError):
    """An annotation file that cannot be imported (named record, example or label)."""


def example_id(dataset_id: str, row_idx: int) -> str:
    return f"{dataset_id}:{int(row_idx)}"


def parse_example_id(value: Any, where: str) -> events.Key:
    dataset_id, sep, row = str(value or "").rpartition(":")
    if not sep or not dataset_id or not row.isdigit():
        raise InterchangeError(
            f"{where}: {ID_KEY} {value!r} is not <dataset>:<row> (was the file exported by japagen?)"
        )
    return dataset_id, int(row)


def suggestions(project: Project, dataset_id: str) -> dict[int, tuple[str, float | None, str]]:
    """row -> (predicted label, confidence, analysis id) from the newest label-correctness analysis."""
    with project.db.transaction() as con:
        rows = con.execute(
            """
            SELECT p.row_idx, p.predicted, p.confidence, p.analysis_id FROM example_predictions p
            WHERE p.dataset_id = ? AND p.predicted IS NOT NULL AND p.analysis_id = (
                SELECT id FROM analysis_results WHERE kind = 'correctness' AND dataset_id = ?
                ORDER BY created_at DESC LIMIT 1)
            """,
            [dataset_id, dataset_id],
        ).fetchall()
    return {int(r): (p, None if c is None else float(c), a) for r, p, c, a in rows}


def _text_fields(task: Task) -> list[str]:
    return ["text", "text_b"] if task.is_pair else ["text"]


# --- Label Studio -------------------------------------------------------------------------------------


def labeling_config(task: Task) -> str:
    texts = "\n".join(f"  <Text name={quoteattr(f)} value={quoteattr('$' + f)}/>" for f in _text_fields(task))
    choices = "\n".join(
        f"    <Choice value={quoteattr(label.name)} hint={quoteattr(label.display_ja)}/>" for label in task.labels
    )
    return (
        "<View>\n"
        f"{texts}\n"
        f"  <Header value={quoteattr('Label (japagen: ' + task.name + ')')}/>\n"
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInLine="true">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def label_studio_tasks(task: Task, frame: pd.DataFrame, suggested: dict[int, tuple]) -> list[dict[str, Any]]:
    tasks = []
    for row in frame.itertuples(index=False):
        data = {f: getattr(row, f) for f in _text_fields(task)}
        data |= {"label": row.label, ID_KEY: example_id(row.dataset_id, row.row_idx)}
        item: dict[str, Any] = {"data": data}
        if int(row.row_idx) in suggested:
            label, confidence, analysis = suggested[int(row.row_idx)]
            value = {"choices": [label]}
            result = {"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices", "value": value}
            item["predictions"] = [{"model_version": analysis, "score": confidence, "result": [result]}]
        tasks.append(item)
    return tasks


def label_studio_files(project: Project, snapshot: Any, frame: pd.DataFrame, out: Path) -> dict[Path, bytes]:
    task = project.registry[snapshot.task]
    if task.target == "score":
        raise InterchangeError(f"{task.name} is a score task; Label Studio export supports class labels only")
    tasks = label_studio_tasks(task, frame, suggestions(project, snapshot.dataset_id))
    return {
        out: json.dumps(tasks, ensure_ascii=False, indent=1).encode("utf-8"),
        out.with_name(f"{out.stem}.labeling.xml"): labeling_config(task).encode("utf-8"),
    }


def _label_studio_annotations(records: Any, source: str) -> list[tuple[events.Key, str, str, str]]:
    """(example, annotator, label, where) for every annotation of an exported Label Studio file."""
    if not isinstance(records, list):
        raise InterchangeError(f"{source}: a Label Studio export is a JSON list of tasks")
    found = []
    for i, item in enumerate(records):
        where = f"{source}: task #{i + 1}" + (
            f" (id {item.get('id')})" if isinstance(item, dict) and "id" in item else ""
        )
        if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
            raise InterchangeError(f"{where}: no 'data' object")
        key = parse_example_id(item["data"].get(ID_KEY), where)
        for annotation in _objects(item.get("annotations"), where, "annotations"):
            if annotation.get("was_cancelled"):
                continue
            who = _annotator(annotation)
            for result in _objects(annotation.get("result"), where, f"annotation {annotation.get('id')}'s result"):
                if result.get("from_name") != FROM_NAME or result.get("type", "choices") != "choices":
                    continue
                value = result.get("value") or {}
                choices = value.get("choices") if isinstance(value, dict) else None
                if not isinstance(choices, list):
                    raise InterchangeError(f"{where}: annotation {annotation.get('id')} has no list of choices")
                if len(choices) != 1:
                    raise InterchangeError(f"{where}: annotation {annotation.get('id')} has {len(choices)} choices")
                found.append((key, f"label-studio:{who}"[:80], str(choices[0]), where))
    return found


def _objects(value: Any, where: str, what: str) -> list[dict[str, Any]]:
    """A list of JSON objects (None: an empty one), else an error naming the record and the field."""
    items = value or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise InterchangeError(f"{where}: {what} must be a list of objects")
    return items


def _annotator(annotation: dict[str, Any]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("username") or who.get("id")
    return str(who if who not in (None, "") else annotation.get("created_username") or "unknown")


# --- Argilla ------------------------------------------------------------------------------------------


def argilla_files(project: Project, snapshot: Any, frame: pd.DataFrame, out: Path) -> dict[Path, bytes]:
    task = project.registry[snapshot.task]
    if task.target == "score":
        raise InterchangeError(f"{task.name} is a score task; Argilla export supports class labels only")
    suggested = suggestions(project, snapshot.dataset_id)
    fields = [
        {"name": f, "title": f, "required": True, "type": "text", "settings": {"type": "text", "use_markdown": False}}
        for f in _text_fields(task)
    ]
    options = [{"value": lb.name, "text": lb.display(), "description": lb.description or None} for lb in task.labels]
    question = {"type": "label_selection", "options": options, "visible_options": None}
    terms = {"type": "terms", "values": None}
    settings = {
        "guidelines": f"{task.title}: {task.description}",
        "allow_extra_metadata": True,
        "distribution": {"strategy": "overlap", "min_submitted": 1},
        "fields": fields,
        "questions": [
            {"name": FROM_NAME, "title": "label", "required": True, "type": "label_selection", "settings": question}
        ],
        "metadata": [
            {"name": n, "title": n, "type": "terms", "visible_for_annotators": True, "settings": terms}
            for n in ("current_label", ID_KEY)
        ],
        "vectors": [],
        "mapping": None,
    }
    records = []
    for row in frame.itertuples(index=False):
        key = example_id(row.dataset_id, row.row_idx)
        record = {
            "id": key,
            "fields": {f: getattr(row, f) for f in _text_fields(task)},
            "metadata": {"current_label": row.label, ID_KEY: key},
            "suggestions": {},
            "responses": {},
            "vectors": {},
            "_server_id": None,
        }
        if int(row.row_idx) in suggested:
            label, confidence, analysis = suggested[int(row.row_idx)]
            record["suggestions"][FROM_NAME] = {"value": label, "score": confidence, "agent": analysis}
        records.append(record)
    dataset = {"name": f"japagen-{snapshot.dataset_id}-snapshot-{snapshot.id}", "guidelines": settings["guidelines"],
               "allow_extra_metadata": True, "distribution": settings["distribution"]}  # fmt: skip
    dump = lambda value: json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8")  # noqa: E731
    return {
        out / "records.json": dump(records),
        out / ".argilla" / "settings.json": dump(settings),
        out / ".argilla" / "dataset.json": dump(dataset),
    }


def _argilla_annotations(records: Any, source: str) -> list[tuple[events.Key, str, str, str]]:
    """(example, annotator, label, where) for every submitted response of Argilla's records.json."""
    if not isinstance(records, list):
        raise InterchangeError(f"{source}: Argilla's records.json is a JSON list of records")
    found = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise InterchangeError(f"{source}: record #{i + 1} is not an object")
        where = f"{source}: record #{i + 1} (id {record.get('id')})"
        metadata, responses = record.get("metadata") or {}, record.get("responses") or {}
        if not isinstance(metadata, dict) or not isinstance(responses, dict):
            raise InterchangeError(f"{where}: 'metadata' and 'responses' must be objects")
        key = parse_example_id(metadata.get(ID_KEY) or record.get("id"), where)
        for response in _objects(responses.get(FROM_NAME), where, f"responses.{FROM_NAME}"):
            if response.get("status", "submitted") != "submitted" or response.get("value") in (None, ""):
                continue
            who = f"argilla:{response.get('user_id') or 'unknown'}"[:80]
            found.append((key, who, str(response["value"]), where))
    return found


# --- import -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    annotations: int
    relabels: int
    already: int  # annotations imported before, or agreeing with the current label


def read_annotations(path: Path, tool: str) -> list[tuple[events.Key, str, str, str]]:
    path = Path(path)
    if tool not in TOOLS:
        raise InterchangeError(f"unknown annotation tool {tool!r}; choose one of {list(TOOLS)}")
    if tool == "argilla" and path.is_dir():
        path = path / "records.json"
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InterchangeError(f"{path}: cannot read it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InterchangeError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    reader = _label_studio_annotations if tool == "label-studio" else _argilla_annotations
    return reader(records, path.name)


def import_annotations(project: Project, path: Path, tool: str) -> ImportResult:
    """Turn an annotation tool's export into relabel events (all checked before any is written)."""
    project.require_writable(f"importing {tool} annotations")
    found = read_annotations(path, tool)
    keys = list(dict.fromkeys(key for key, *_ in found))
    tasks = _check(project, found, keys)
    reason = IMPORT_REASON.format(tool=tool)
    done = _imported(project, keys, reason)
    groups: dict[tuple[str, str, str], list[events.Key]] = defaultdict(list)
    already = 0
    for key, who, label, _ in found:
        if done.get((key, who)) == label:
            already += 1
            continue
        done[(key, who)] = label
        groups[(key[0], who, label)].append(key)
    relabels = 0
    for (dataset_id, who, label), group in groups.items():
        action = events.Action("relabel", label, reason)
        relabels += events.apply(project, tasks[dataset_id], group, action, reviewer=who)[1]
    return ImportResult(len(found), relabels, len(found) - relabels)


def _check(project: Project, found: list, keys: list[events.Key]) -> dict[str, Task]:
    tasks: dict[str, Task] = {}
    with project.db.transaction() as con:
        for dataset_id in dict.fromkeys(d for d, _ in keys):
            if not repo.dataset_exists(con, dataset_id):
                where = next(w for (d, _), _, _, w in found if d == dataset_id)
                raise InterchangeError(f"{where}: no dataset {dataset_id!r} in this store")
            tasks[dataset_id] = project.registry[repo.get_dataset(con, dataset_id).task]
        rows = defaultdict(set)
        for dataset_id in tasks:
            wanted = sorted({r for d, r in keys if d == dataset_id})
            present = con.execute(
                "SELECT row_idx FROM examples WHERE dataset_id = ? AND list_contains(?, row_idx)", [dataset_id, wanted]
            ).fetchall()
            rows[dataset_id] = {r for (r,) in present}
    for (dataset_id, row), _, label, where in found:
        if row not in rows[dataset_id]:
            raise InterchangeError(f"{where}: dataset {dataset_id!r} has no row {row}")
        if label not in tasks[dataset_id].label_names:
            raise InterchangeError(f"{where}: {label!r} is not a label of {tasks[dataset_id].name}; "
                                   f"labels: {tasks[dataset_id].label_names}")  # fmt: skip
    return tasks


def _imported(project: Project, keys: list[events.Key], reason: str) -> dict[tuple[events.Key, str], str]:
    """(example, annotator) -> the label the newest relabel an earlier import of this tool wrote gives it
    (undone or not: an import the user undid is not applied again; an annotator's changed answer is)."""
    if not keys:
        return {}
    frame = pd.DataFrame(keys, columns=["dataset_id", "row_idx"])
    with project.db.transaction() as con:
        con.register("wanted_keys", frame)
        try:
            rows = con.execute(
                "SELECT e.dataset_id, e.row_idx, e.reviewer, arg_max(e.new_value, e.id) FROM review_events e "
                "JOIN wanted_keys k USING (dataset_id, row_idx) WHERE e.action = 'relabel' AND e.reason = ? "
                "GROUP BY e.dataset_id, e.row_idx, e.reviewer",
                [reason],
            ).fetchall()
        finally:
            con.unregister("wanted_keys")
    return {((d, int(r)), who): label for d, r, who, label in rows}
