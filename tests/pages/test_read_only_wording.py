"""In the read-only demo no page talks about API keys or about training: nothing can be sent or trained."""

from __future__ import annotations

import pytest

from tests.pages.test_i18n import NAVIGATION, app, read_only_demo  # noqa: F401  (the fixture)
from tests.pages.test_pages import texts

NOT_IN_A_DEMO = ("API key", "OPENAI_API_KEY", "secrets.toml", "Train page", "Fine-tune a model")


@pytest.mark.parametrize("page", [p for p in NAVIGATION if p not in ("train.py", "jobs.py")])
def test_read_only_pages_say_nothing_about_keys_or_training(read_only_demo, page, monkeypatch):  # noqa: F811
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the Teachers page warned about a missing key
    at = app().run()
    at.switch_page(f"../pages/{page}").run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert not [w for w in NOT_IN_A_DEMO if w.lower() in shown.lower()], shown


def test_an_empty_read_only_overview_and_results_point_nowhere(project, monkeypatch):
    assert project.datasets() == []  # a store with no data, then served read-only
    monkeypatch.setenv("JAPAGEN_READ_ONLY", "1")
    for page in ("overview.py", "results.py"):
        at = app().run()
        at.switch_page(f"../pages/{page}").run()
        assert not at.exception, at.exception
        assert not [w for w in NOT_IN_A_DEMO if w.lower() in texts(at).lower()], texts(at)
        assert not [link for link in at.get("page_link") if "train" in str(link.proto.page)], page
