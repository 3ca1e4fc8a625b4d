"""The Jobs page's cards: each says its kind, what it did and links to its result; a queued job shows its
place in line; Resume is offered only where it can help."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from japagen_core.jobs import kinds, resources
from japagen_core.jobs.kinds import submit
from japagen_core.jobs.store import write_json_atomic
from japagen_core.settings import PROJECT_ROOT
from tests.conftest import wait_for_job
from tests.jobs.sleep_kind import SleepConfig
from tests.pages.test_pages import texts

MAIN = str(PROJECT_ROOT / "app" / "main.py")


def _jobs_page() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("../pages/jobs.py").run()
    assert not at.exception
    return at


def _finished(project, kind: str, config: dict, result: dict, progress: dict | None = None):
    job = project.jobs.create(kind, config, label=config.get("task", ""))
    write_json_atomic(job.dir / "progress.json", progress or {"state": result["state"]})
    write_json_atomic(job.dir / "result.json", result)
    return job


def test_cards_say_what_each_job_did_and_link_to_its_result(home, project):
    _finished(project, "train", {"task": "jnli", "data_spec": "gold-full", "seeds": [0, 1], "sizes": [None],
                                 "train": {"model": "/models/bert"}},
              {"state": "succeeded", "run_id": "jnli-run-1", "models": ["m0", "m1"], "message": "2 models",
               "scores": {"metric": "accuracy", "values": [0.8, 0.9]}})  # fmt: skip
    _finished(project, "analysis", {"task": "jnli", "reference": "jnli-valid", "datasets": ["a", "b"],
                                    "method": "quick"},
              {"state": "succeeded", "analyses": ["x1", "x2", "x3"], "message": "3 results stored"},
              {"state": "succeeded", "done": 6, "target": 6, "unit": "steps"})  # fmt: skip
    _finished(
        project,
        "generate",
        {"task": "jnli", "setting": "kadg", "per_label": 400, "llm": {}},
        {"state": "succeeded", "dataset_id": "jnli-kadg-1", "summary": {"rows": 1200}, "message": "1200"},
    )
    at = _jobs_page()
    shown = texts(at)
    assert "jnli · train · succeeded" in shown and "gold-full · 2 model(s) · bert" in shown
    assert "2 model(s) of run jnli-run-1, accuracy 0.8500 ± 0.0707" in shown
    assert "jnli · analysis · succeeded" in shown and "3 result(s) for jnli-valid" in shown
    assert "2 dataset(s) against jnli-valid" in shown and "? · analysis" not in shown
    assert "1,200 examples into dataset jnli-kadg-1" in shown and "kadg · 400 per label" in shown
    links = {link.proto.label: link.proto.page for link in at.get("page_link")}
    assert {"See the results", "See the analysis", "Browse the result"} <= set(links)
    labels = [m.label for m in at.metric]  # LLM figures on the generation card only, training figures on train's
    assert labels.count("Tokens") == 1 and labels.count("Loss") == 1


def test_resume_only_where_it_can_help(home, project, tmp_path):
    missing = tmp_path / "no-such-model"
    _finished(project, "train", {"task": "jnli", "train": {"model": str(missing)}, "seeds": [0], "sizes": [None]},
              {"state": "failed", "message": f"cannot load the model {str(missing)!r} (OSError)"})  # fmt: skip
    at = _jobs_page()
    assert not [b for b in at.button if b.label == "Resume"]
    assert "Resume would not help: the model" in texts(at)
    missing.mkdir()
    (missing / "config.json").write_text("{}")
    at = _jobs_page()
    assert [b for b in at.button if b.label == "Resume"]


def test_a_queued_job_shows_its_position(home, project, monkeypatch):
    monkeypatch.setenv(kinds.EXTRA_KINDS_ENV, "sleep=tests.jobs.sleep_kind:SLEEP")
    monkeypatch.setenv("JAPAGEN_CPU_SLOTS", "1")
    monkeypatch.setenv("JAPAGEN_GPUS", "0")
    store = project.jobs
    first = submit(project, "sleep", SleepConfig(steps=600, step_s=0.1))
    second = submit(project, "sleep", SleepConfig(steps=2, step_s=0.05))
    wait_for_job(store, second.id, lambda j: resources.position(store, j) == 1)
    try:
        at = _jobs_page()
        assert "queued, position 1" in texts(at)
    finally:
        for job in (second, first):
            store.cancel(store.get(job.id))
    assert json.loads((second.dir / "result.json").read_text())["state"] == "cancelled"
