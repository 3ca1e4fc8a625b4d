"""The demo project: gold rows per task plus hand-written synthetic runs, analysed at load."""

import json
import shutil

import pytest

from japagen_core import showcase
from japagen_core.demo import DEMO_DIR, demo_files, load_demo, remove_demo
from japagen_core.demo.synthetic import MODEL, SHIPPED_PROMPTS, prepare_synthetic, synthetic_files
from japagen_core.errors import GoldImportError
from japagen_core.generation.prompts import load_words
from japagen_core.project import Project
from japagen_core.report.data import gather
from japagen_core.review.queue import QueueFilter, queue_page
from japagen_core.settings import PROJECT_ROOT, Settings
from tests.conftest import table_snapshot, write_jsonl

SYNTHETIC_TASKS = {"jnli", "marc_ja", "jcola"}
# Provenance keys every generated example carries (Runner._base_provenance, plus ingest's raw).
RUN_KEYS = {"run_id", "task", "mode", "setting", "prompt_version", "words_list", "words_list_version",
            "words_version", "kadg_word", "fewshot_ids", "model", "base_url", "params", "unit_id", "list_mode",
            "backend", "teacher", "raw"}  # fmt: skip


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A store with the demo loaded once (with its analysis); tests get a copy of its file."""
    home = tmp_path_factory.mktemp("demo")
    project = Project.open(Settings(home=home, prompts_dir=PROJECT_ROOT / "prompts"))
    return project.settings.db_path, load_demo(project.db, project.registry)


@pytest.fixture
def demo(project, loaded):
    path, results = loaded
    project.settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, project.settings.db_path)
    return results


def _synthetic(project):
    return [d for d in project.datasets() if d["kind"] == "synthetic"]


def test_synthetic_demo_runs_are_marked_demo_and_carry_a_runs_provenance(project, demo):
    synthetic = _synthetic(project)
    assert {d["task"] for d in synthetic} == SYNTHETIC_TASKS == set(synthetic_files(DEMO_DIR, project.registry))
    assert all(d["is_demo"] and d["name"].startswith("Demo:") and MODEL in d["name"] for d in synthetic)
    jnli = {d["id"].split("-demo-")[0]: d for d in synthetic if d["task"] == "jnli"}
    assert jnli["jnli-kadg"]["counts"] == {"entailment": 8, "contradiction": 8, "neutral": 8}
    assert jnli["jnli-zero-shot"]["counts"] == {"entailment": 2, "contradiction": 2, "neutral": 2}
    with project.db.transaction() as con:
        rows = con.execute(
            "SELECT d.id, d.task, e.source_id, e.provenance FROM examples e JOIN datasets d ON d.id = e.dataset_id "
            "WHERE d.kind = 'synthetic'"
        ).fetchall()
    words = {task: set(load_words(SHIPPED_PROMPTS, task).words) for task in SYNTHETIC_TASKS}
    for dataset_id, task, source_id, provenance in rows:
        prov = json.loads(provenance)
        assert set(prov) >= RUN_KEYS and prov["run_id"] == dataset_id and prov["model"] == MODEL
        assert source_id is None and "no request ids" in prov["demo"]  # nothing fake: marked as demo instead
        assert dataset_id.startswith(f"{task}-{prov['setting']}-demo-")  # one run per setting
        if prov["setting"] == "kadg":
            assert prov["kadg_word"] in words[task] and prov["words_list_version"] == 0 and prov["words_version"]
        else:
            assert prov["kadg_word"] is None and prov["words_list"] is None
    with project.db.transaction() as con:  # the zero-shot MARC-ja run repeats one review, marked as a duplicate
        assert con.execute("SELECT count(duplicate_of) FROM examples WHERE dataset_id LIKE 'marc_ja-zero-shot-%'")\
            .fetchall() == [(1,)]  # fmt: skip


def test_pair_runs_share_a_first_sentence_per_unit_like_a_real_run(project, demo):
    [kadg] = [d["id"] for d in _synthetic(project) if d["id"].startswith("jnli-kadg-")]
    page = project.browse(kadg, limit=100).rows
    units = page.assign(unit=[json.loads(p)["unit_id"] for p in page["provenance"]]).groupby("unit")
    assert len(units) == 8 and all(g["text"].nunique() == 1 and len(g) == 3 for _, g in units)
    assert list(page["label"]) == ["entailment"] * 8 + ["contradiction"] * 8 + ["neutral"] * 8  # ingest's order


def test_load_analyses_the_synthetic_runs_against_the_gold_demo_split(project, demo):
    report = {t.task.name: t for t in gather(project).tasks}
    for task in SYNTHETIC_TASKS:
        headline = report[task].headline
        assert headline.analysed_dataset.startswith(f"{task}-kadg-demo-")  # the KADG run, not the zero-shot one
        assert headline.self_bleu.value > 0 and 0 < headline.weighted_jaccard.value < 1
        assert 0 <= headline.label_correctness.value <= 1
        gold = next(d.id for d in report[task].datasets if d.kind == "gold")
        assert headline.weighted_jaccard.reference == gold == headline.label_correctness.reference
    assert report["jsts"].headline.synthetic_rows == 0 and report["jsts"].analyses == []  # gold only: no analysis


def test_the_review_queue_ranks_the_known_jnli_failure_first(project, demo):
    [kadg] = [d["id"] for d in _synthetic(project) if d["id"].startswith("jnli-kadg-")]
    page = queue_page(project, QueueFilter(datasets=[kadg]), limit=5)
    assert page.rows["suspicion"].is_monotonic_decreasing
    top = page.rows.iloc[0]  # a "neutral" hypothesis that follows from its premise: the paper's failure
    assert (top["assigned"], top["text_b"]) == ("neutral", "テーブルの上にパンがある。")


def test_example_cards_show_synthetic_examples_with_setting_and_kadg_word(project, demo):
    cards = showcase.example_cards(project, "jnli", per_label=3)
    assert len(cards) == 9 and all(c.kind == "synthetic" and c.is_demo and c.model == MODEL for c in cards)
    assert all(c.setting in ("kadg", "zero-shot") for c in cards)
    assert all(c.kadg_word for c in cards if c.setting == "kadg") and any(c.setting == "kadg" for c in cards)
    assert {c.kind for c in showcase.example_cards(project, "jsts")} == {"gold"}  # no synthetic demo: gold rows


def test_loading_twice_changes_nothing_and_remove_leaves_the_store_empty(project, demo):
    before = table_snapshot(project)
    assert not any(r.created for r in load_demo(project.db, project.registry))
    assert table_snapshot(project) == before  # no second analysis either
    assert remove_demo(project.db) == len(demo) == len(demo_files(project.registry)) + 2 * len(SYNTHETIC_TASKS)
    leftovers = {table: rows for table, rows in table_snapshot(project).items() if rows}
    assert set(leftovers) <= {"_migrations", "jobs_seq", "snapshot_seq"}, leftovers


def test_without_analysis_nothing_is_analysed_until_a_later_load(project):
    load_demo(project.db, project.registry, analyse=False)
    with project.db.transaction() as con:
        assert con.execute("SELECT count(*) FROM analysis_results").fetchall() == [(0,)]
    load_demo(project.db, project.registry)  # the datasets are there; the analysis still runs
    with project.db.transaction() as con:
        analysed = {r[0] for r in con.execute("SELECT dataset_id FROM analysis_results").fetchall()}
    assert {d["id"] for d in _synthetic(project)} <= analysed


def test_a_bad_synthetic_file_names_the_line(project, tmp_path):
    task = project.registry["marc_ja"]
    good = {"setting": "kadg", "kadg_word": "食品・飲料", "label": "positive", "text": "おいしいです。"}
    for bad, problem in [
        ({**good, "label": "great"}, "label 'great'"),
        ({**good, "kadg_word": "宇宙船"}, "not in"),
        ({**good, "setting": "zero-shot"}, "kadg_word is required for kadg rows and only"),
        ({**good, "raw": "とてもおいしいです。"}, "does not clean to"),
        ({**good, "request_id": "x"}, "unknown field"),
    ]:
        path = write_jsonl(tmp_path / "synthetic_marc_ja.jsonl", [good, bad])
        with pytest.raises(GoldImportError, match=problem):
            prepare_synthetic(task, path)
