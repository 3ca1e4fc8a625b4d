"""Exports for the Hugging Face world and annotation tools, and annotations back in as review events."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from japagen_core.cli import main
from japagen_core.review import annotation_tools as at
from japagen_core.review import events as ev
from japagen_core.review import snapshots as snap
from tests.review_data import jnli_review  # noqa: F401  (a fixture)


def _export(project, dataset_id: str, fmt: str, out: Path, **kwargs) -> Path:
    snapshot = snap.create_snapshot(project, dataset_id, created_by="test", **kwargs)
    return snap.export_snapshot(project, snapshot.id, fmt, out)


def _card(folder: Path) -> tuple[dict, str]:
    text = (folder / "README.md").read_text(encoding="utf-8")
    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


# --- Hugging Face ---------------------------------------------------------------------------------


def test_hf_folder_has_gold_field_names_class_labels_and_a_card(project, jnli_review, tmp_path):  # noqa: F811
    gold, run = jnli_review
    task = project.registry["jnli"]
    with project.db.transaction() as con:
        first_label = con.execute("SELECT label FROM examples WHERE dataset_id = ? AND row_idx = 0", [run]).fetchall()
    new_label = "neutral" if first_label[0][0] != "neutral" else "contradiction"
    assert ev.apply(project, task, [(run, 0)], ev.Action("relabel", new_label), reviewer="ann")[1] == 1
    ev.apply(project, task, [(run, 1)], ev.Action("flag", "bad_text"), reviewer="ann")
    folder = _export(project, run, "hf", tmp_path / "hf", exclude_flagged=True)

    (parquet,) = (folder / "data").glob("*.parquet")
    assert parquet.name == "train-00000-of-00001.parquet"
    table = pq.read_table(parquet)
    assert table.column_names == ["sentence_pair_id", "sentence1", "sentence2", "label"]
    with project.db.transaction() as con:
        rows = con.execute("SELECT count(*) FROM examples WHERE dataset_id = ?", [run]).fetchall()[0][0]
    assert table.num_rows == rows - 1  # the flagged row is left out
    labels = table.column("label").to_pylist()
    assert set(labels) <= {0, 1, 2}
    first = table.slice(0, 1).to_pylist()[0]
    assert first["sentence_pair_id"] == f"{run}:0" and labels[0] == task.label_names.index(new_label)
    hf_meta = json.loads(table.schema.metadata[b"huggingface"])
    assert hf_meta["info"]["features"]["label"] == {"names": task.label_names, "_type": "ClassLabel"}

    header, body = _card(folder)
    assert header["language"] == ["ja"] and "license" in header
    assert header["task_categories"] == ["text-classification"]
    assert header["size_categories"] == ["n<1K"]
    features = {f["name"]: f["dtype"] for f in header["dataset_info"]["features"]}
    assert features["label"] == {"class_label": {"names": {"0": "entailment", "1": "contradiction", "2": "neutral"}}}
    assert header["configs"][0]["data_files"] == [{"split": "train", "path": "data/train-*.parquet"}]
    how = yaml.safe_load(body.split("## How it was made")[1].split("```yaml\n")[1].split("```")[0])
    assert how["review"] == {"relabeled_rows": 1, "flagged_rows": 1, "flagged_left_out": True,
                             "review_events_through": how["review"]["review_events_through"]}  # fmt: skip
    assert how["generation"]["model"] == {"test-model": rows - 1}  # counted over the rows exported
    assert how["generation"]["setting"] == {"kadg": rows - 1}
    assert how["generation"]["preset"] == {"paper": rows - 1} and how["generation"]["preset_sha"] == {
        "db7e18309a5b": rows - 1
    }
    measured = yaml.safe_load(body.split("## Measurements")[1].split("```yaml\n")[1].split("```")[0])
    kinds = {m["metric"].split(" (")[0]: m for m in measured}
    assert set(kinds) == {"Self-BLEU", "weighted Jaccard", "label correctness"}
    assert kinds["Self-BLEU"]["signature"].startswith("selfbleu|") and kinds["weighted Jaccard"]["reference"] == gold
    assert 0 <= kinds["label correctness"]["value"] <= 1


@pytest.mark.skipif(importlib.util.find_spec("datasets") is None, reason="datasets is not installed")
def test_hf_folder_loads_with_datasets(project, jnli_review, tmp_path):  # noqa: F811
    import datasets

    folder = _export(project, jnli_review[1], "hf", tmp_path / "hf")
    loaded = datasets.load_dataset(str(folder))
    assert loaded["train"].features["label"].names == project.registry["jnli"].label_names


def test_hf_folder_of_a_score_task_keeps_float_scores(project, tmp_path):
    from japagen_core.demo import load_demo

    demo = load_demo(project.db, project.registry, analyse=False)
    jsts = next(r.dataset_id for r in demo if r.dataset_id.startswith("jsts-"))
    folder = _export(project, jsts, "hf", tmp_path / "hf")
    table = pq.read_table(next((folder / "data").glob("*.parquet")))
    assert str(table.schema.field("label").type) == "double"
    header, body = _card(folder)
    assert header["task_categories"] == ["sentence-similarity"]
    assert header["dataset_info"]["splits"][0]["num_examples"] == table.num_rows
    assert "None stored: run an analysis" in body  # not analysed: said in words, no empty block


def test_an_hf_export_forced_over_an_older_one_leaves_only_its_own_data(project, jnli_review, tmp_path):  # noqa: F811
    """load_dataset and the Hub read every Parquet file under data/: one left by an older export (another
    split) would join this dataset."""
    _, run = jnli_review
    folder = _export(project, run, "hf", tmp_path / "hf")
    (written,) = (folder / "data").glob("*.parquet")
    written.rename(folder / "data" / "test-00000-of-00001.parquet")  # as an export of another split left it
    snapshot = snap.create_snapshot(project, run, created_by="test")
    with pytest.raises(Exception, match="--force"):
        snap.export_snapshot(project, snapshot.id, "hf", folder)
    snap.export_snapshot(project, snapshot.id, "hf", folder, force=True)
    assert [p.name for p in (folder / "data").glob("*.parquet")] == [written.name]


def test_an_unlabelled_score_dataset_exports_with_no_scores(project, tmp_path):
    """Texts imported to be annotated have no score: JSON Lines leaves the field out (as a class task's
    unlabelled rows leave out the label), the Hugging Face table holds nulls. Both failed on a KeyError."""
    from japagen_core.datasets.importers import ImportOptions, import_gold
    from tests.conftest import write_jsonl

    rows = [
        {"sentence_pair_id": str(i), "sentence1": f"犬が{i}匹いる。", "sentence2": "動物がいる。"} for i in range(3)
    ]
    [pool] = import_gold(project.db, project.registry["jsts"], "pool", path=write_jsonl(tmp_path / "pool.json", rows),
                         options=ImportOptions(unlabeled=True))  # fmt: skip
    lines = _export(project, pool.dataset_id, "jsonl", tmp_path / "pool.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == rows
    folder = _export(project, pool.dataset_id, "hf", tmp_path / "hf")
    table = pq.read_table(next((folder / "data").glob("*.parquet")))
    assert table.column("label").to_pylist() == [None] * 3 and str(table.schema.field("label").type) == "double"


# --- Label Studio ---------------------------------------------------------------------------------


def _annotate(tasks: list[dict], changes: dict[int, str], who="ann@example.com") -> list[dict]:
    """What Label Studio's JSON export looks like after annotators labelled every task."""
    for i, task in enumerate(tasks):
        task["id"] = 1000 + i
        label = changes.get(i, task["data"]["label"])
        result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]
        task["annotations"] = [{"id": i + 1, "completed_by": {"id": 7, "email": who}, "result": result,
                                "was_cancelled": False}]  # fmt: skip
    return tasks


def test_label_studio_round_trip_writes_two_relabels_once(project, jnli_review, tmp_path, capsys):  # noqa: F811
    _, run = jnli_review
    out = _export(project, run, "label-studio", tmp_path / "ls" / "tasks.json")
    tasks = json.loads(out.read_text(encoding="utf-8"))
    config = (tmp_path / "ls" / "tasks.labeling.xml").read_text(encoding="utf-8")
    assert '<Choices name="label" toName="text"' in config and '<Choice value="neutral"' in config
    assert '<Text name="text_b" value="$text_b"/>' in config
    assert tasks[0]["data"]["japagen_id"] == f"{run}:0" and tasks[0]["data"]["text_b"]
    prediction = tasks[0]["predictions"][0]
    assert prediction["result"][0]["from_name"] == "label" and prediction["result"][0]["to_name"] == "text"
    assert prediction["result"][0]["value"]["choices"][0] in project.registry["jnli"].label_names
    assert 0 < prediction["score"] <= 1

    other = {"entailment": "contradiction", "contradiction": "neutral", "neutral": "entailment"}
    changes = {3: other[tasks[3]["data"]["label"]], 5: other[tasks[5]["data"]["label"]]}
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(_annotate(tasks, changes), ensure_ascii=False), encoding="utf-8")

    assert main(["review", "import", str(exported), "--format", "label-studio"]) == 0
    assert "2 relabel events written" in capsys.readouterr().out
    for row, label in changes.items():
        (event,) = ev.history(project, run, row)
        assert (event.action, event.new_value, event.reviewer) == ("relabel", label, "label-studio:ann@example.com")
        assert event.reason == "imported from label-studio"
    assert main(["review", "import", str(exported), "--format", "label-studio"]) == 0
    assert "0 relabel events written" in capsys.readouterr().out
    with project.db.transaction() as con:
        assert con.execute("SELECT count(*) FROM review_events").fetchall()[0][0] == 2
    # the relabels are in every later export
    out = _export(project, run, "jsonl", tmp_path / "after.jsonl")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [rows[r]["label"] for r in changes] == list(changes.values())


def test_an_undone_import_is_not_reapplied(project, jnli_review, tmp_path):  # noqa: F811
    _, run = jnli_review
    tasks = json.loads(_export(project, run, "label-studio", tmp_path / "t.json").read_text(encoding="utf-8"))
    label = "contradiction" if tasks[0]["data"]["label"] != "contradiction" else "neutral"
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(_annotate(tasks, {0: label}), ensure_ascii=False), encoding="utf-8")
    assert at.import_annotations(project, exported, "label-studio").relabels == 1
    ev.undo_last(project, [run], reviewer="label-studio:ann@example.com")
    assert at.import_annotations(project, exported, "label-studio").relabels == 0


def test_an_annotators_changed_answer_is_imported_each_time_it_changes(project, jnli_review, tmp_path):  # noqa: F811
    """contradiction, then entailment, then contradiction again: the third import is a change, not a
    repeat of the first (the export must follow the annotator's latest answer)."""
    _, run = jnli_review
    tasks = json.loads(_export(project, run, "label-studio", tmp_path / "t.json").read_text(encoding="utf-8"))
    first, second = [
        label for label in ("contradiction", "entailment", "neutral") if label != tasks[0]["data"]["label"]
    ]
    written = []
    for n, label in enumerate((first, second, first, first)):
        exported = tmp_path / f"export-{n}.json"
        exported.write_text(json.dumps(_annotate(tasks, {0: label}), ensure_ascii=False), encoding="utf-8")
        written.append(at.import_annotations(project, exported, "label-studio").relabels)
    assert written == [1, 1, 1, 0]
    assert [e.new_value for e in ev.history(project, run, 0)] == [first, second, first]
    out = _export(project, run, "jsonl", tmp_path / "after.jsonl")
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[0])["label"] == first


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t[2]["data"].pop("japagen_id"), r"export.json: task #3 \(id 1002\): japagen_id None is not"),
        (lambda t: t[1]["data"].update(japagen_id="nope:1"), r"task #2 \(id 1001\): no dataset 'nope'"),
        (
            lambda t: t[1]["data"].update(japagen_id=t[1]["data"]["japagen_id"].rsplit(":", 1)[0] + ":99999"),
            r"task #2 \(id 1001\): dataset '.*' has no row 99999",
        ),
        (
            lambda t: t[4]["annotations"][0]["result"][0]["value"].update(choices=["maybe"]),
            r"task #5 \(id 1004\): 'maybe' is not a label of jnli",
        ),
        (lambda t: t[1].update(annotations=["entailment"]), r"task #2 \(id 1001\): annotations must be a list of obj"),
        (lambda t: t[1]["annotations"][0].update(result="x"), r"task #2 \(id 1001\): annotation 2's result must be"),
        (lambda t: t[1]["annotations"][0]["result"][0].update(value="x"), r"task #2 .*: annotation 2 has no list of"),
    ],
)
def test_a_record_that_does_not_match_refuses_the_file_naming_it(project, jnli_review, tmp_path, edit, message):  # noqa: F811
    _, run = jnli_review
    tasks = json.loads(_export(project, run, "label-studio", tmp_path / "t.json").read_text(encoding="utf-8"))
    tasks = _annotate(tasks, {0: "contradiction" if tasks[0]["data"]["label"] != "contradiction" else "neutral"})
    edit(tasks)
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(at.InterchangeError, match=message):
        at.import_annotations(project, exported, "label-studio")
    with project.db.transaction() as con:
        assert con.execute("SELECT count(*) FROM review_events").fetchall()[0][0] == 0  # all or nothing


def test_import_refuses_a_file_that_is_not_json(project, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    with pytest.raises(at.InterchangeError, match=r"bad.json: not JSON \(line 1"):
        at.import_annotations(project, bad, "label-studio")


# --- Argilla --------------------------------------------------------------------------------------


def test_argilla_folder_and_response_import(project, jnli_review, tmp_path):  # noqa: F811
    _, run = jnli_review
    folder = _export(project, run, "argilla", tmp_path / "argilla")
    settings = json.loads((folder / ".argilla" / "settings.json").read_text(encoding="utf-8"))
    assert [f["name"] for f in settings["fields"]] == ["text", "text_b"]
    (question,) = settings["questions"]
    assert question["name"] == "label" and question["settings"]["type"] == "label_selection"
    assert [o["value"] for o in question["settings"]["options"]] == project.registry["jnli"].label_names
    assert json.loads((folder / ".argilla" / "dataset.json").read_text(encoding="utf-8"))["name"]
    records = json.loads((folder / "records.json").read_text(encoding="utf-8"))
    assert records[0]["id"] == f"{run}:0" and records[0]["metadata"]["japagen_id"] == f"{run}:0"
    assert records[0]["suggestions"]["label"]["value"] in project.registry["jnli"].label_names

    # as Argilla's records.to_json writes them after annotation
    current = records[2]["metadata"]["current_label"]
    new = "neutral" if current != "neutral" else "entailment"
    records[2]["responses"] = {"label": [{"value": new, "user_id": "u-42"}]}
    records[3]["responses"] = {"label": [{"value": records[3]["metadata"]["current_label"], "user_id": "u-42"}]}
    records[4]["responses"] = {"label": [{"value": "neutral", "user_id": "u-1", "status": "discarded"}]}
    (folder / "records.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    done = at.import_annotations(project, folder, "argilla")
    assert (done.annotations, done.relabels) == (2, 1)
    (event,) = ev.history(project, run, 2)
    assert (event.new_value, event.reviewer, event.reason) == (new, "argilla:u-42", "imported from argilla")
    assert at.import_annotations(project, folder / "records.json", "argilla").relabels == 0
    records[5]["responses"] = {"label": ["neutral"]}  # not the shape Argilla writes: said, record named
    (folder / "records.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(at.InterchangeError, match=r"record #6 .*: responses.label must be a list of objects"):
        at.import_annotations(project, folder, "argilla")


@pytest.mark.parametrize("fmt", ["hf", "label-studio", "argilla"])
def test_a_zip_download_holds_the_files_the_export_command_writes(project, jnli_review, tmp_path, fmt):  # noqa: F811
    """The Review page's ZIP of a multi-file export: one folder, the same files byte for byte as
    ``export_snapshot`` writes (cards and timestamps included)."""
    import io
    import zipfile

    _, run = jnli_review
    snapshot = snap.create_snapshot(project, run, created_by="test")
    name, data = snap.export_zip(project, snapshot.id, fmt)
    assert name == f"{run}-snapshot-{snapshot.id}-{fmt}.zip"
    out = tmp_path / "out"
    written = snap.export_snapshot(project, snapshot.id, fmt, out / "tasks.json" if fmt == "label-studio" else out)
    on_disk = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert written.exists() and on_disk
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        inside = {n.split("/", 1)[1]: archive.read(n) for n in archive.namelist()}
        assert {n.split("/", 1)[0] for n in archive.namelist()} == {name.removesuffix(".zip")}
    assert inside == on_disk
