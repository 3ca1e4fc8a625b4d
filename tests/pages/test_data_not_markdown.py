"""Data text is never read as Markdown or HTML (issue 12, item 6d): a KADG word, a text, a model name or a
label written as Markdown shows as those characters on Browse, Review, Example cards and Jobs."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.components import plain
from japagen_core.demo import load_demo
from japagen_core.settings import PROJECT_ROOT
from japagen_core.storage import repository as repo

MAIN = str(PROJECT_ROOT / "app" / "main.py")
IMAGE = "![w](http://host/x.png)"
HTML = "<img src=http://host/y.png>"
LINK = "[click](http://host/z)"
PAYLOADS = (IMAGE, HTML, LINK)


def _markdown_values(at: AppTest) -> list[str]:
    """Every value Streamlit renders as Markdown (labels of widgets aside, which data never is)."""
    kinds = ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success")
    return [str(e.value) for kind in kinds for e in getattr(at, kind)]


def _unescaped(values: list[str]) -> list[str]:
    """The values where a payload would be read as markup: its "[" or "<" not preceded by a backslash."""
    return [v for v in values if re.search(r"(?<!\\)(!?\[\w+\]\(http|<img)", v)]


@pytest.fixture
def markdown_run(project):
    """The demo, and a JNLI run whose texts, KADG words and model are Markdown/HTML payloads."""
    load_demo(project.db, project.registry, analyse=False)
    rows = len(PAYLOADS) * 2
    frame = pd.DataFrame(
        {
            "row_idx": range(rows),
            "text": [f"前提 {PAYLOADS[i % 3]}" for i in range(rows)],
            "text_b": [f"仮説 {PAYLOADS[(i + 1) % 3]}" for i in range(rows)],
            "label": ["entailment", "neutral"] * (rows // 2),
            "score": [None] * rows,
            "split": "synthetic",
            "source": "llm",
            "source_id": None,
            "provenance": [
                json.dumps({"setting": "kadg", "kadg_word": PAYLOADS[i % 3], "model": IMAGE}) for i in range(rows)
            ],
        }
    )
    run_id = "jnli-markdown-run"
    info = repo.DatasetInfo(run_id, "jnli", "synthetic", "synthetic", f"run {IMAGE}", "llm", "llm",
                            run_id, False, rows, meta={"setting": "kadg"})  # fmt: skip
    with project.db.transaction() as con:
        repo.insert_dataset(con, info, frame)
    return run_id


def test_plain_escapes_every_payload():
    for payload in (*PAYLOADS, "*bold* _it_ `code` :red[x] $x^2$", "# heading\n- item\n1. item"):
        assert _unescaped([plain(payload)]) == []
    assert plain("entailment (含意)") == "entailment (含意)"  # harmless characters stay as they are


def test_no_page_renders_a_payload_as_markdown(project, markdown_run):
    at = AppTest.from_file(MAIN, default_timeout=90)
    at.query_params["reviewer"] = "aiko"
    at.run()
    seen = []
    at.switch_page("../pages/showcase.py").run()
    at.selectbox(key="sc_task").set_value("jnli").run()
    assert not at.exception
    seen += _markdown_values(at)
    assert any("KADG word" in v and "host/x.png" in v for v in _markdown_values(at))  # the word is shown...
    assert _unescaped(_markdown_values(at)) == []  # ...as text
    at.switch_page("../pages/review.py").run()
    at.selectbox(key="rv_task").set_value("jnli").run()
    assert not at.exception
    seen += _markdown_values(at)
    assert _unescaped(_markdown_values(at)) == []
    for page in ("browse", "overview", "results", "analysis", "train", "jobs", "tasks", "word_lists"):
        at.switch_page(f"../pages/{page}.py").run()
        assert not at.exception, page
        assert _unescaped(_markdown_values(at)) == [], page
        seen += _markdown_values(at)
    assert any("host" in v for v in seen)  # the payloads were on the pages, escaped
