"""The UI in two languages, and the read-only demo mode.

Static: every text a page passes to t() or N_() has a Japanese translation with the same placeholders,
and no user-visible literal reaches Streamlit without t(). AppTest: the sidebar switch changes the
language and back; in read-only mode no page offers a control that changes data or starts a job.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.locales.ja import MESSAGES as JA
from japagen_core.demo import load_demo
from japagen_core.settings import PROJECT_ROOT
from tests.pages.test_pages import _choose, texts

MAIN = str(PROJECT_ROOT / "app" / "main.py")
SOURCES = sorted([*(PROJECT_ROOT / "pages").glob("*.py"), *(PROJECT_ROOT / "app").glob("*.py")])

# Streamlit calls whose first argument is shown to the user (as a title, a message, a widget's label).
SHOWN_FIRST = {
    "title", "header", "subheader", "caption", "markdown", "write", "info", "warning", "success", "error",
    "toast", "button", "download_button", "form_submit_button", "link_button", "selectbox", "multiselect",
    "radio", "text_input", "text_area", "number_input", "checkbox", "toggle", "slider", "select_slider",
    "segmented_control", "pills", "file_uploader", "metric", "expander", "spinner", "popover", "status",
    "date_input", "progress",
    # the project's own helpers that show their first argument
    "show_error", "choose_dataset", "pick_gold",
}  # fmt: skip
# Keyword arguments that are shown wherever they appear (widget labels and help, chart axis titles, ...).
SHOWN_KEYWORDS = {"label", "help", "placeholder", "title", "empty", "help_text", "body", "caption"}
# Literals that are the same in both languages.
ALLOWED = {"japagen", "LLM"}
ICON = re.compile(r":material/[a-z_]+:")


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Call):
            yield node


def _name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _has_words(text: str) -> bool:
    if text in ALLOWED or re.fullmatch(r"(/|https?://)\S*", text):  # a name, an example path or URL
        return False
    return re.search(r"[A-Za-z]", ICON.sub("", text)) is not None


def _untranslated(node: ast.expr) -> list[str]:
    """The literal text in ``node`` that would be shown as it is (t(...) calls count as translated)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if _has_words(node.value) else []
    if isinstance(node, ast.JoinedStr):
        parts = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        return [ast.unparse(node)] if _has_words(parts) else []
    if isinstance(node, ast.BinOp):
        return _untranslated(node.left) + _untranslated(node.right)
    if isinstance(node, ast.IfExp):
        return _untranslated(node.body) + _untranslated(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [text for value in node.values for text in _untranslated(value)]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [text for element in node.elts for text in _untranslated(element)]
    return []


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def marked_texts() -> dict[str, str]:
    """Every literal passed to t() or N_() in pages/ and app/, with where it is."""
    found = {}
    for path in SOURCES:
        for call in _calls(path):
            if _name(call) in ("t", "N_") and call.args:
                arg = call.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.setdefault(arg.value, f"{path.relative_to(PROJECT_ROOT)}:{call.lineno}")
    return found


def test_pages_translate_whole_templates_not_formatted_text():
    wrong = [
        f"{path.relative_to(PROJECT_ROOT)}:{call.lineno}: {ast.unparse(call)}"
        for path in SOURCES
        for call in _calls(path)
        if _name(call) in ("t", "N_") and call.args and isinstance(call.args[0], ast.JoinedStr)
    ]
    assert not wrong, "t() takes a template and keywords, not an f-string:\n" + "\n".join(wrong)


def test_every_text_of_the_pages_has_a_japanese_translation():
    found = marked_texts()
    assert len(found) > 300  # the collection itself works
    missing = {text: where for text, where in found.items() if not JA.get(text, "").strip()}
    assert not missing, f"{len(missing)} texts lack Japanese:\n" + "\n".join(
        f"{where}: {text!r}" for text, where in missing.items()
    )
    mismatched = [text for text in found if _placeholders(text) != _placeholders(JA[text])]
    assert not mismatched, "placeholders differ in Japanese:\n" + "\n".join(map(repr, mismatched))


def test_no_user_visible_literal_bypasses_t():
    bypass = []
    for path in SOURCES:
        for call in _calls(path):
            name = _name(call)
            shown = [call.args[0]] if name in SHOWN_FIRST and call.args else []
            if name == "metric" and len(call.args) > 1:
                shown.append(call.args[1])  # the value may be a word ("unknown")
            if name == "tabs" and call.args:
                shown.append(call.args[0])
            shown += [
                k.value for k in call.keywords if k.arg in SHOWN_KEYWORDS or (name == "progress" and k.arg == "text")
            ]
            bypass += [
                f"{path.relative_to(PROJECT_ROOT)}:{call.lineno}: {text}" for n in shown for text in _untranslated(n)
            ]
    assert not bypass, "shown without t():\n" + "\n".join(bypass)


# -- the language switch ----------------------------------------------------------------------------------


def app() -> AppTest:
    return AppTest.from_file(MAIN, default_timeout=60)


def test_the_sidebar_switches_the_language_and_back(home, project):
    load_demo(project.db, project.registry)
    at = app().run()
    at.switch_page("../pages/home.py").run()
    assert not at.exception
    assert at.radio(key="ui_lang").value == "en" and at.radio(key="ui_lang").label == "Language"
    assert [m.label for m in at.metric] == ["Datasets", "Examples", "Tasks with data"]
    assert "Build Japanese text classifiers" in texts(at)

    at.radio(key="ui_lang").set_value("ja").run()
    assert not at.exception
    assert at.radio(key="ui_lang").label == "言語"
    assert [m.label for m in at.metric] == ["データセット", "事例", "データのあるタスク"]
    assert "日本語テキスト分類器" in texts(at) and "Build Japanese" not in texts(at)
    assert at.query_params["lang"] == "ja"  # a reload keeps the language

    at.switch_page("../pages/browse.py").run()
    assert not at.exception
    assert at.title[0].value == "データ閲覧" and at.selectbox(key="browse_dataset").label == "データセット"
    dataset_id = _choose(at, "jnli")
    assert "含意" in at.multiselect(key=f"browse_labels_{dataset_id}").options  # label names in Japanese
    assert list(at.dataframe[0].value.columns)[:3] == ["#", "ラベル", "前提"]
    at.switch_page("../pages/review.py").run()
    assert at.title[0].value == "レビュー"
    task = at.selectbox(key="rv_task")
    assert task.label == "タスク" and "自然言語推論 (JNLI)" in task.options
    task.set_value("jnli").run()
    assert "含意" in at.multiselect(key="rv_assigned_jnli").options  # label names in Japanese

    at.radio(key="ui_lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Review" and at.selectbox(key="rv_task").value == "jnli"  # the choice stays
    assert "JNLI (自然言語推論)" in at.selectbox(key="rv_task").options
    assert "entailment (含意)" in at.multiselect(key="rv_assigned_jnli").options
    assert "lang" not in at.query_params


def test_a_language_switch_keeps_every_choice_on_the_page(home, project):
    load_demo(project.db, project.registry)
    at = app().run()
    at.switch_page("../pages/generate.py").run()
    at.selectbox(key="gen_task").set_value(project.registry["jnli"]).run()
    at.selectbox(key="gen_preview_label").set_value("neutral").run()
    at.radio(key="gen_setting").set_value("kadg").run()
    for lang, task, label in (("ja", "自然言語推論 (JNLI)", "中立"), ("en", "JNLI (自然言語推論)", "neutral (中立)")):
        at.radio(key="ui_lang").set_value(lang).run()
        assert not at.exception, at.exception
        shown = at.selectbox(key="gen_task")
        assert shown.value.name == "jnli" and shown.options[shown.index] == task
        preview = at.selectbox(key="gen_preview_label")
        assert preview.value == "neutral" and preview.options[preview.index] == label
        assert at.radio(key="gen_setting").value == "kadg"


def test_the_language_comes_from_the_url(home):
    at = app()
    at.query_params["lang"] = "ja"
    at.run()
    assert not at.exception
    assert at.radio(key="ui_lang").value == "ja" and "ストアは空です" in texts(at)


# -- the read-only demo mode ------------------------------------------------------------------------------

# The only buttons a read-only page may show: moving through the data, never changing it.
READ_ONLY_BUTTONS = {"gen_resample", "rv_prev", "rv_next", "rv_cell_go", "sc_redraw"}
WRITE_LABELS = {
    "Load demo project", "Remove demo data", "Import", "Launch", "Dry run: send one call", "Run the analysis",
    "Start training", "Start the baseline", "Create snapshot", "Save as a new version", "Cancel", "Resume",
    "Start fine-tuning", "Undo", "Unflag", "Save note",
}  # fmt: skip


@pytest.fixture
def read_only_demo(home, project, monkeypatch):
    """The demo, a saved word-list version and two jobs, made writable; then the app runs read-only."""
    from japagen_core.review.word_lists import current_words, save_words

    load_demo(project.db, project.registry)
    shipped = current_words(project, "marc_ja")
    save_words(project, "marc_ja", [*shipped.words, "宇宙船"], author="ann")
    project.jobs.create("generate", {"task": "jnli", "setting": "kadg"}, label="jnli")  # queued: could be cancelled
    failed = project.jobs.create("analysis", {"task": "jnli"}, label="jnli")
    (failed.dir / "result.json").write_text('{"state": "failed", "message": "boom"}', encoding="utf-8")
    monkeypatch.setenv("JAPAGEN_READ_ONLY", "1")
    return project


def _offered_writes(at: AppTest) -> list[str]:
    buttons = [*at.button, *at.get("form_submit_button")]
    return [f"{b.key}: {b.label}" for b in buttons if b.key not in READ_ONLY_BUTTONS or b.label in WRITE_LABELS]


NAVIGATION = re.findall(  # every page the app shows
    r'st\.Page\(\s*"\.\./pages/(\w+\.py)"', (PROJECT_ROOT / "app" / "main.py").read_text(encoding="utf-8")
)


def test_the_read_only_check_covers_every_page():
    assert sorted(NAVIGATION) == sorted(p.name for p in (PROJECT_ROOT / "pages").glob("*.py"))


@pytest.mark.parametrize("page", NAVIGATION)
def test_read_only_pages_offer_no_control_that_writes(read_only_demo, page):
    at = app()
    at.query_params["reviewer"] = "ann"  # a reviewer's name must not bring the review actions back
    at.run()
    at.switch_page(f"../pages/{page}").run()
    assert not at.exception, at.exception
    assert any("Read-only demo: browsing, charts and reports only" in i.value for i in at.sidebar.info)
    assert not _offered_writes(at), _offered_writes(at)
    assert not at.text_area, "an editor in read-only mode"
    if page == "review.py":  # every view of the queue, and the export
        at.selectbox(key="rv_task").set_value("jnli").run()
        for mode in ("One at a time", "Page", "Drill-down", "Export"):
            at.segmented_control(key="rv_mode").set_value(mode).run()
            assert not at.exception and not _offered_writes(at), (mode, _offered_writes(at))
        assert not at.sidebar.text_input, "no reviewer name: nothing is recorded"


def test_read_only_word_lists_and_jobs_still_show_their_data(read_only_demo):
    at = app().run()
    at.switch_page("../pages/word_lists.py").run()
    assert "宇宙船" in "\n".join(c.value for c in at.code)  # the current list, as text
    assert [b.key for b in at.get("download_button")] == ["wl_download"]
    at.switch_page("../pages/jobs.py").run()
    assert not at.exception and "boom" in "\n".join(c.value for c in at.code)
    at.switch_page("../pages/generate.py").run()
    assert not at.exception and at.code and at.metric  # the exact prompts and the estimate stay visible
