"""AppTest flows as a new user would go: tune a teacher on the Teachers page against the test server, see it
on the Generate page, generate with it; and the same with a local model and a LoRA adapter."""

import json
import time
from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

from japagen_core.jobs import JobStore
from japagen_core.settings import PROJECT_ROOT
from japagen_core.teacher import registry
from japagen_core.teacher.local_tune import LoraTuning, tune_lora
from japagen_core.teacher.registry import Teacher
from tests.pages.test_pages import texts

MAIN = str(PROJECT_ROOT / "app" / "main.py")


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the test server is local: a dummy key is enough


@pytest.fixture
def jobs_not_started(monkeypatch):
    monkeypatch.setattr(JobStore, "start", lambda self, job, env=None: 0)


def _wait_all(project, timeout: float = 90) -> list:
    store = JobStore(project.settings.jobs_dir)
    deadline = time.monotonic() + timeout
    while any(j.state in ("running", "queued") for j in store.list()):
        assert time.monotonic() < deadline, [j.log_tail() for j in store.list()]
        time.sleep(0.2)
    return store.list()


def _examples(project, kind="synthetic"):
    [dataset] = [d for d in project.datasets() if d["kind"] == kind]
    with project.db.transaction() as con:
        rows = con.execute("SELECT provenance FROM examples WHERE dataset_id = ?", [dataset["id"]]).fetchall()
    return [json.loads(p) for (p,) in rows]


def _generate_with(at: AppTest, teacher_id: str) -> AppTest:
    at.switch_page("../pages/generate.py").run()
    at.selectbox(key="gen_task").select_index(0).run()  # MARC-ja
    at.number_input(key="gen_per_label").set_value(3).run()
    box = at.selectbox(key="gen_writer_marc_ja")
    assert teacher_id in box.options[-1]
    box.set_value(teacher_id).run()
    return at


def test_tune_on_the_teachers_page_then_generate_with_it(home, project, marc_gold, ft_server):
    ft_server.config.ft_polls = 1  # the page polls every 10 s: one poll ends the job
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("../pages/teachers.py").run()
    assert not at.exception
    at.text_input(key="te_base_url").set_value(ft_server.base_url).run()
    assert at.metric[0].value == "10"  # 5 gold reviews per class
    assert [m.label for m in at.metric] == ["Conversations", "Tokens per epoch (estimate)",
                                            "Training tokens (estimate)", "Estimated cost"]  # fmt: skip
    assert at.metric[3].value.startswith("$") and "estimates without a tokenizer" in texts(at)
    assert any("商品に満足した利用者として" in c.value for c in at.code)  # the generation prompt, as the input
    at.button(key="te_launch").click().run()
    assert not at.exception and "Started job" in texts(at)
    [job] = _wait_all(project)
    assert job.state == "succeeded", job.log_tail()
    at.run()
    assert "succeeded" in texts(at)
    [teacher] = registry.stored_teachers(project)

    at = _generate_with(at, teacher.id)
    assert at.text_input(key="gen_model").value == teacher.model
    assert at.text_input(key="gen_base_url").value == ft_server.base_url
    assert not at.exception and f"Fine-tuned `{teacher.model}`" in texts(at)
    at.button(key="gen_launch").click().run()
    assert "Started job" in texts(at)
    _wait_all(project)
    provenance = _examples(project)
    assert len(provenance) == 6 and {(p["model"], p["teacher"]) for p in provenance} == {(teacher.model, teacher.id)}


def test_a_local_teacher_on_the_generate_page_needs_no_key(home, project, tiny_lm, jobs_not_started):
    adapter = project.settings.home / "teachers" / "teacher-local-1" / "adapter"
    records = [
        {"messages": [{"role": "user", "content": "犬"}, {"role": "assistant", "content": "猫が寝ている。"}]}
    ] * 4
    outcome = tune_lora(records, base_model=str(tiny_lm), out_dir=adapter, settings=LoraTuning(r=2, alpha=4, epochs=1),
                        info={})  # fmt: skip
    teacher = Teacher(id="teacher-local-1", task="marc_ja", backend="local", purpose="generate",
                      base_model=str(tiny_lm), base_url=None, model="teachers/teacher-local-1/adapter",
                      status="succeeded", job_id=None, remote_job_id=None, training_file_sha="x",
                      data_spec="gold-fewshot:2", snapshot_id=None, examples=4, created_at=datetime.now(),
                      meta={"adapter_sha": outcome["adapter_sha"]})  # fmt: skip
    registry.insert_teacher(project, teacher)
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at = _generate_with(at, teacher.id)
    assert not at.exception
    assert at.text_input(key="gen_model").value == str(tiny_lm)
    assert "no key is needed" in texts(at) and "No API key" not in texts(at)
    assert at.button(key="gen_dry_run").disabled and not at.button(key="gen_launch").disabled
    at.button(key="gen_launch").click().run()
    assert "Started job" in texts(at)
    [job] = JobStore(project.settings.jobs_dir).list()
    config = job.config  # (the run itself: test_teacher_local.py and the CLI test generate with a local teacher)
    assert (config["backend"], config["teacher"], config["llm"]["model"]) == ("local", teacher.id, str(tiny_lm))
    assert config["local"] == {"adapter": str(adapter)}
