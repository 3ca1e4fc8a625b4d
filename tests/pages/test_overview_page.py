"""The Overview (at /overview whether the store is empty or full) and the Example cards page."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from japagen_core.analysis import AnalysisConfig, run_analysis
from japagen_core.demo import load_demo
from japagen_core.review import events as ev
from japagen_core.settings import PROJECT_ROOT
from japagen_core.showcase import list_pins
from tests.pages.test_pages import texts

MAIN = str(PROJECT_ROOT / "app" / "main.py")


def _app() -> AppTest:
    return AppTest.from_file(MAIN, default_timeout=90)


def _overview() -> AppTest:
    at = _app().run()  # `/` is Home; the Overview has its own address
    return at.switch_page("../pages/overview.py").run()


def test_empty_store_opens_on_home_and_the_overview_says_what_to_do(home):
    at = _app().run()
    assert "Overview" not in [t.value for t in at.title]
    at.switch_page("../pages/overview.py").run()
    assert not at.exception and "No data yet" in texts(at)


def test_overview_shows_headline_figures_charts_and_the_report(project, jnli_review):
    _, run = jnli_review
    ev.apply(project, project.registry["jnli"], [(run, 0), (run, 1)], ev.Action("flag", "bad_text"), reviewer="a")
    at = _app().run()
    assert [t.value for t in at.title] == ["japagen"]  # `/` is Home, with data too
    at.switch_page("../pages/overview.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Overview"]
    subheaders = [s.value for s in at.subheader]
    block = subheaders.index("JNLI (自然言語推論)")  # one block of five metrics per task, in order
    metrics = {m.label: m.value for m in list(at.metric)[5 * block : 5 * block + 5]}
    # real data exists, so the demo's 30 rows no longer count (before: 78 = the run's 48 + the demo's 30)
    assert metrics["Synthetic examples"] == "48"
    assert metrics["Reviewed"] == f"{2 / 48:.1%}"
    assert metrics["Diversity (Self-BLEU)"] != "–" and metrics["Label correctness"].endswith("%")
    captions = texts(at)  # each headline names its dataset, split, method and n
    assert f"\\[{run}\\], synthetic split" in captions  # the run behind the figures, by id (escaped: data text)
    for figure in ("Diversity (Self-BLEU): ", "Closeness to gold: ", "Label correctness: "):
        assert figure in captions, figure
    assert "first sentence, 1,000 per label, seed 0" in captions and "quick estimate" in captions
    assert "5-fold cross-validated" in captions and "n 48" in captions
    assert "DEMO · these figures" not in captions  # no JNLI figure counts demo rows
    assert len(at.get("vega_lite_chart")) >= 2  # examples per label, token overlap
    keys = [b.key for b in at.get("download_button")]
    assert "ov_report" in keys and any(k.endswith("_png") for k in keys) and any(k.endswith("_svg") for k in keys)
    assert "No model trained yet" in texts(at)


def test_overview_in_japanese(project, jnli_review):
    at = _app()
    at.query_params["lang"] = "ja"
    at.run()
    at.switch_page("../pages/overview.py").run()
    assert not at.exception and [t.value for t in at.title] == ["概要"]
    assert "合成事例" in [m.label for m in at.metric]


def test_example_cards_pin_a_synthetic_example(project, jnli_review):
    _, run = jnli_review
    at = _app().run()
    at.switch_page("../pages/showcase.py").run()
    at.selectbox(key="sc_task").set_value("jnli").run()
    assert not at.exception
    assert {s.value for s in at.subheader} >= {"entailment (含意)", "contradiction (矛盾)", "neutral (中立)"}
    assert "Set your name as Reviewer" in texts(at)
    at.session_state["reviewer"] = "aiko"
    at.run()
    pin_button = next(b for b in at.button if b.key and b.key.startswith(f"sc_pin_{run}_"))
    pin_button.click().run()
    assert not at.exception
    [pinned] = list_pins(project, task="jnli")
    assert pinned.pinned_by == "aiko" and pinned.dataset_id == run
    assert "Pinned by aiko" in texts(at)
    at.button(key="sc_redraw").click().run()
    assert "Pinned by aiko" in texts(at)  # pinned cards stay on a new draw


def test_overview_shows_analysis_results_from_a_fresh_analysis(project, jnli_review):
    gold, run = jnli_review
    run_analysis(project, AnalysisConfig(reference=gold, datasets=[run], train=gold, per_label=1000))
    at = _overview()
    assert not at.exception and "Closeness to gold" in [m.label for m in at.metric]


def test_the_demo_alone_fills_the_overview_read_only(home, project, monkeypatch):
    load_demo(project.db, project.registry)
    monkeypatch.setenv("JAPAGEN_READ_ONLY", "1")
    at = _overview()
    assert not at.exception, at.exception
    subheaders = [s.value for s in at.subheader]
    block = subheaders.index("JNLI (自然言語推論)")
    metrics = {m.label: m.value for m in list(at.metric)[5 * block : 5 * block + 5]}
    assert metrics["Synthetic examples"] == "30"  # the demo's KADG and zero-shot runs
    for label in ("Diversity (Self-BLEU)", "Closeness to gold", "Label correctness"):
        assert metrics[label] not in ("–", ""), label
    assert "DEMO · these figures count the hand-written demo data" in texts(at)  # badged as demo
