"""The one-file report from a fixed store: the demo, a reviewed and analysed JNLI run (with a hostile
example text and dataset name), stored model results and a queued job. Built once for the module."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pandas as pd
import pytest

from japagen_core import report, showcase
from japagen_core.analysis import AnalysisConfig, latest_results, run_analysis
from japagen_core.cli import main as cli_main
from japagen_core.demo import load_demo
from japagen_core.project import Project
from japagen_core.review import events as ev
from japagen_core.review.events import Action
from japagen_core.settings import Settings
from japagen_core.training.store import ModelRecord, save_model
from tests.review_data import make_run

EVIL_TEXT = "<script>alert(1)</script>"
EVIL_NAME = '<img src=x onerror="alert(2)">'
T0 = datetime(2026, 11, 1, 12, 0)


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "section", "h1", "h2", "h3", "p", "span", "em",
    "strong", "ul", "ol", "li", "code", "sup", "a", "table", "caption", "thead", "tbody", "tr", "th", "td", "div",
    "article", "dl", "dt", "dd", "figure", "figcaption", "svg", "g", "path", "rect", "line", "text",
}  # fmt: skip


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes = set(), set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def markup(page: str) -> tuple[set[str], set[str]]:
    """The tag and attribute names a browser would see in ``page``."""
    parser = _Markup()
    parser.feed(page)
    return parser.tags, parser.attributes


def _model(run: str, method: str, setting: str, seed: int, score: float, *, per_class=None, minutes=0) -> ModelRecord:
    return ModelRecord(
        id=f"{run}{f'-n{per_class}' if per_class else ''}-s{seed}", run_id=run, job_id=None, kind="finetune",
        task="jnli", method=method, setting=setting, data_spec="snapshot:1", train_snapshots=[1], train_examples=300,
        per_class=per_class, eval_dataset_id="jnli-valid", eval_snapshot_id=2, base_model="tiny", seed=seed,
        config={}, path=None, metric="accuracy", score=score, metrics={"metric": "accuracy", "main": score},
        created_at=T0 + timedelta(minutes=minutes),
    )  # fmt: skip


def build_store(project: Project) -> dict[str, str]:
    gold = next(r.dataset_id for r in load_demo(project.db, project.registry) if r.dataset_id.startswith("jnli-"))
    with project.db.transaction() as con:
        pairs = con.execute("SELECT text, text_b, label FROM examples WHERE dataset_id = ?", [gold]).fetchall()
    run = make_run(project, [*pairs, (EVIL_TEXT, "仮説の文。", "neutral")])
    with project.db.transaction() as con:
        con.execute("UPDATE datasets SET name = ? WHERE id = ?", [EVIL_NAME, run])
    run_analysis(project, AnalysisConfig(reference=gold, datasets=[run], train=gold, per_label=1000))
    evil_row = len(pairs)
    showcase.pin(project, run, evil_row, pinned_by="reviewer", note="<b>bold?</b>")
    ev.apply(project, project.registry["jnli"], [(run, 0), (run, 1)], Action("flag", "bad_text"), reviewer="r")
    records = [
        *[_model("kadg", "japagen", "kadg", s, v) for s, v in enumerate([0.46, 0.47])],
        *[_model("fs", "fine-tuning", "few-shot", s, v) for s, v in enumerate([0.30, 0.40, 0.50])],
        *[_model("sc", "japagen", "zero-shot", s, v, per_class=n, minutes=5)
          for n, vals in ((100, [0.35, 0.37]), (1000, [0.44, 0.46])) for s, v in enumerate(vals)],
    ]  # fmt: skip
    for record in records:
        save_model(project, record, pd.DataFrame({"row_idx": [0], "predicted": ["neutral"]}))
    project.jobs.create("generate", {"task": "jnli"}, label="jnli")
    return {"gold": gold, "run": run}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JAPAGEN_HOME", str(tmp_path_factory.mktemp("report") / "home"))
        mp.delenv("JAPAGEN_PROMPTS", raising=False)
        mp.delenv("JAPAGEN_READ_ONLY", raising=False)
        project = Project.open(Settings.from_env())
        ids = build_store(project)
        data = report.gather(project)
        yield project, ids, data, report.render_html(data)


def test_every_table_is_there_with_its_numbers(store):
    project, ids, data, page = store
    for heading in ("Overview", "Results (Table 1)", "Datasets", "Diversity and label correctness (Table 2)",
                    "Example cards", "How the synthetic data was made", "Jobs", "Method", "Signatures"):  # fmt: skip
        assert f"<h2>{heading}</h2>" in page or f"<h3>{heading}</h3>" in page, heading
    assert [t.task.name for t in data.tasks] == ["marc_ja", "jsts", "jnli", "jcola", "livedoor", "covid19",
                                                 "customer_inquiry"]  # fmt: skip
    # Table 1: own rows with mean ± std and the best marked, the paper's rows beside them
    assert "46.50 ± 0.71 ★" in page and "40.00 ± 10.00" in page and "45.00 ± 1.41" in page
    assert "FINE-TUNING (paper)" in page and "90.19 ± 0.40" in page
    # Table 2: the stored analysis numbers, each with its signature
    results = latest_results(project, [ids["gold"], ids["run"]], ids["gold"])
    bleu, overlap, correct = (results[(k, ids["run"])] for k in ("self_bleu", "overlap", "correctness"))
    assert f"{bleu['self_bleu']:.2f}" in page and f"{overlap['weighted_jaccard']:.4f}" in page
    assert f"{100 * correct['overall']:.2f}%" in page
    for result in (bleu, overlap, correct):
        assert html.escape(result["signature"]) in page
    # datasets with their counts and review tallies; the run's settings
    jnli = next(t for t in data.tasks if t.task.name == "jnli")
    run = next(d for d in jnli.datasets if d.id == ids["run"])
    assert (run.rows, run.reviewed, run.flagged, run.relabeled) == (37, 2, 2, 0)  # 36 demo pairs and the hostile one
    # real data exists, so the headline counts the run's 37 and not the demo's 30 (before: 67)
    assert jnli.headline.reviewed_share == pytest.approx(2 / 37) and jnli.headline.synthetic_rows == 37
    assert jnli.headline.analysed_dataset == ids["run"] and not jnli.headline.includes_demo
    # each headline names its source: dataset and split, method, n
    sources = jnli.headline.sources
    assert set(sources) == {"self_bleu", "weighted_jaccard", "label_correctness"}
    assert all(f"[{ids['run']}], synthetic split" in v for v in sources.values())
    assert "first sentence, 1,000 per label, seed 0" in sources["self_bleu"] and "n 37 texts" in sources["self_bleu"]
    assert f"against gold {ids['gold']}" in sources["weighted_jaccard"]
    assert "quick estimate" in sources["label_correctness"] and f"trained on {ids['gold']}" in sources[
        "label_correctness"]  # fmt: skip
    for text in sources.values():
        assert html.escape(text) in page
    assert jnli.headline.best_row == "JAPAGEN · w/ KADG" and jnli.headline.paper["JAPAGEN · w/ KADG"] == 46.04
    assert "test-model" in page and "kadg" in page


def test_example_cards_show_the_pin_first_with_provenance(store):
    _, ids, data, _ = store
    jnli = next(t for t in data.tasks if t.task.name == "jnli")
    pinned = [c for c in jnli.cards if c.pinned]
    assert [(c.dataset_id, c.text) for c in pinned] == [(ids["run"], EVIL_TEXT)]
    neutral = [c for c in jnli.cards if c.label == "neutral"]
    assert neutral[0].pinned and len(neutral) == 3
    assert {c.kind for c in jnli.cards} == {"synthetic"}  # the task has a run: no demo cards
    marc = next(t for t in data.tasks if t.task.name == "marc_ja")
    assert marc.cards and all(c.is_demo for c in marc.cards)  # no synthetic data: the demo's examples


def test_data_text_is_always_escaped(store):
    _, _, _, page = store
    assert EVIL_TEXT not in page and html.escape(EVIL_TEXT) in page
    assert EVIL_NAME not in page and html.escape(EVIL_NAME) in page
    assert "<b>bold?</b>" not in page
    tags, attributes = markup(page)
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS  # no script, img, iframe...: only what the renderer writes
    assert not {a for a in attributes if a.startswith("on")}  # no event handler anywhere


def test_the_file_is_self_contained(store):
    _, _, _, page = store
    assert not re.search(r"https?://", page)  # no external address at all (not even SVG namespaces)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*//""", page)
    for link in re.findall(r'href="([^"]*)"', page):
        assert link.startswith(("#sig-", "data:image/svg+xml;base64,", "data:image/png;base64,")), link[:40]
    assert page.count("<svg") >= 9  # label counts of 7 tasks, Figure 2, Figure 3


def test_the_report_renders_read_only_without_changing_the_store(store, monkeypatch):
    project, *_ = store
    before = project.settings.db_path.read_bytes()
    monkeypatch.setenv("JAPAGEN_READ_ONLY", "1")
    read_only = Project.open(project.settings)
    again = report.render_html(report.gather(read_only, tasks=["jnli"]), with_charts=False)
    assert "<h2>Results (Table 1)</h2>" in again and "read-only demo mode" in again
    assert project.settings.db_path.read_bytes() == before


def test_the_cli_writes_the_report(store, tmp_path, capsys, monkeypatch):
    project, *_ = store
    monkeypatch.setenv("JAPAGEN_HOME", str(project.settings.home))
    out = tmp_path / "out" / "report.html"
    assert cli_main(["report", "--out", str(out), "--task", "jnli"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out} (") and "1 task(s), 103 examples, Table 1 with 10 rows" in printed
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert cli_main(["report", "--out", str(out), "--force", "--task", "nope"]) == 1  # --force: out exists
    assert "unknown task 'nope'" in capsys.readouterr().err
