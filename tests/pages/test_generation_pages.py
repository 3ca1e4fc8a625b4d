"""AppTest flows for Generate and Jobs against the local test server."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from japagen_core.demo import load_demo
from japagen_core.jobs import JobStore
from japagen_core.settings import PROJECT_ROOT
from tests.openai_server import FakeOpenAI, ServerConfig
from tests.pages.test_pages import _choose, texts

MAIN = str(PROJECT_ROOT / "app" / "main.py")


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = FakeOpenAI(ServerConfig()).start()
    yield server
    server.stop()


def wait_for_the_only_job(project) -> None:
    store = JobStore(project.settings.jobs_dir)
    [job] = store.list()
    deadline = time.monotonic() + 60
    while store.get(job.id).state != "succeeded":
        state = store.get(job.id).state
        assert time.monotonic() < deadline and state in ("running", "queued"), store.get(job.id).log_tail()
        time.sleep(0.2)


def generate_page(base_url: str = "") -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("../pages/generate.py").run()
    at.selectbox(key="gen_task").select_index(2).run()  # JNLI
    at.radio(key="gen_setting").set_value("kadg").run()
    at.text_input(key="gen_base_url").set_value(base_url).run()
    return at


def test_generate_shows_the_exact_messages_and_cost(home, fake):
    at = generate_page(fake.base_url)
    assert not at.exception
    shown = [c.value for c in at.code]
    assert any("写真には「" in s for s in shown)  # the KADG word is in the system message
    assert any("いま見ている写真のキャプション" in s for s in shown)  # the first instruction of the pair flow
    assert [m.label for m in at.metric] == ["Examples", "API calls (about)", "Estimated cost", "Time (about)"]
    assert at.metric[0].value == "150"


def test_paper_scale_and_the_batch_api_show_calls_cost_and_time_before_launch(home, project, fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    at = generate_page(fake.base_url)
    at.text_input(key="gen_model").set_value("gpt-4o-mini").run()
    at.checkbox(key="gen_paper_scale").check().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Examples"] == "75,000" and metrics["API calls (about)"] == "90,000"  # paired: stage 1 per label
    sync_cost = float(metrics["Estimated cost"].lstrip("$").replace(",", ""))
    at.checkbox(key="gen_batch").check().run()
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Estimated cost"].lstrip("$").replace(",", "")) == pytest.approx(sync_cost / 2, abs=0.01)
    assert metrics["Time (about)"] == "up to 48 h" and "half the synchronous price" in texts(at)

    at.checkbox(key="gen_paper_scale").uncheck().run()
    at.number_input(key="gen_per_label").set_value(5).run()
    at.button(key="gen_launch").click().run()
    assert not at.exception and "Started job" in texts(at)
    store = JobStore(project.settings.jobs_dir)
    [job] = store.list()
    assert job.config["batch"]["poll_seconds"] == 30 and job.config["per_label"] == 5
    deadline = time.monotonic() + 30
    while "Batch API round 1" not in store.get(job.id).progress.get("message", ""):
        assert time.monotonic() < deadline, store.get(job.id).log_tail()
        time.sleep(0.2)
    at.switch_page("../pages/jobs.py").run()
    shown = texts(at)  # the job's message is data, escaped for Markdown (batch\_000001 shows as batch_000001)
    assert not at.exception and "Batch API round 1\\: batch\\_000001" in shown
    assert "kadg · 5 per label · Batch API" in shown
    store.cancel(store.get(job.id))


def test_generate_without_a_key_explains_instead_of_failing(home, fake):
    at = generate_page("https://api.example.com/v1")
    assert not at.exception
    assert "No API key is configured" in texts(at)
    assert at.button(key="gen_launch").disabled and at.button(key="gen_dry_run").disabled


def test_dry_run_then_launch_then_jobs_then_browse(home, project, fake):
    at = generate_page(fake.base_url)
    at.number_input(key="gen_per_label").set_value(10).run()
    at.button(key="gen_dry_run").click().run()
    assert not at.exception and "Cleaned:" in texts(at)
    at.button(key="gen_launch").click().run()
    assert not at.exception and "Started job" in texts(at)

    wait_for_the_only_job(project)

    at.switch_page("../pages/jobs.py").run()
    assert not at.exception
    assert "30 / 30 examples" in next(p.proto.text for p in at.get("progress"))
    at.switch_page("../pages/browse.py").run()
    dataset_id = _choose(at, "jnli")
    table = at.dataframe[0].value
    assert {"KADG word", "model", "prompt"} <= set(table.columns) and len(table) == 30
    assert set(table["model"]) == {"gpt-4o-mini"} and dataset_id.startswith("jnli-kadg-")


def test_jobs_page_empty_state(home):
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("../pages/jobs.py").run()
    assert not at.exception and "No jobs yet" in texts(at)


def test_few_shot_needs_a_gold_dataset(home, project, fake):
    at = generate_page(fake.base_url)
    at.radio(key="gen_setting").set_value("few-shot").run()
    assert "import one first" in texts(at)
    load_demo(project.db, project.registry)
    at.run()
    assert not at.exception
    assert any("参考までに" in c.value for c in at.code)  # the few-shot block with a gold example


def test_annotate_page_labels_imported_texts(home, project, fake, tmp_path):
    from japagen_core.datasets.importers import ImportOptions, import_gold
    from tests.conftest import write_jsonl

    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("../pages/annotate.py").run()
    assert "No Customer inquiry texts yet" in texts(at) or "texts yet" in texts(at)
    rows = [{"text": f"請求書{i}が届きません", "label": "billing"} for i in range(8)]
    import_gold(project.db, project.registry["customer_inquiry"], "pool", path=write_jsonl(tmp_path / "p.jsonl", rows),
                options=ImportOptions(unlabeled=True))  # fmt: skip
    at.switch_page("../pages/annotate.py").run()
    at.selectbox(key="ann_task").set_value(project.registry["customer_inquiry"]).run()
    at.text_input(key="ann_base_url").set_value(fake.base_url).run()
    assert not at.exception and any("請求書0が届きません" in c.value for c in at.code)
    at.button(key="ann_launch").click().run()
    assert "Started job" in texts(at)
    wait_for_the_only_job(project)
    [annotated] = [d for d in project.datasets() if d["kind"] == "synthetic"]
    assert annotated["rows"] == 8 and sum(annotated["counts"].values()) == 8


def test_jobs_page_shows_retries_timeouts_and_calls_cut_off(home, project):
    from japagen_core.jobs.store import write_json_atomic

    job = project.jobs.create("generate", {"task": "jnli", "setting": "kadg"}, label="jnli")
    progress = {"state": "running", "ok": 0, "target": 900, "failed": 0, "retries": 7, "timeouts": 5,
                "connection_errors": 2, "rate_limited": 0, "server_errors": 0, "cut_off_calls": 3}  # fmt: skip
    write_json_atomic(job.dir / "progress.json", progress)
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("../pages/jobs.py").run()
    shown = texts(at)
    assert not at.exception
    assert "LLM calls: 7 retries · 5 timeouts · 2 connection errors · 0 rate-limited (429)" in shown
    assert "3 call(s) were cut off by a stop" in shown


def test_generate_imports_the_authors_configs_and_shows_the_paper_preset(home, fake, tmp_path):
    from tests.generation.test_presets import KADG_SYSTEM, small_configs

    folder = small_configs(tmp_path / "cfg")
    at = generate_page(fake.base_url)
    assert "The paper used gpt-3.5-turbo-0613." in texts(at)
    at.radio(key="gen_preset").set_value("paper").run()
    assert not at.exception and "No paper preset for" in texts(at)
    at.text_input(key="gen_official_dir").set_value(str(folder)).run()
    at.button(key="gen_official_import").click().run()
    assert not at.exception and "Imported a paper preset for 2 task(s)." in texts(at)
    at.radio(key="gen_setting").set_value("kadg").run()
    shown = [c.value for c in at.code]
    assert any(s in (KADG_SYSTEM.replace('"object"', f'"{w}"') for w in ("人々", "動物")) for s in shown)
    assert "説明文:" in shown and "(paper preset)" in texts(at)
    assert at.radio(key="gen_pair_protocol").value == "paired"


def test_generate_says_exactly_which_key_it_sends_and_never_shows_it(home, fake, monkeypatch):
    at = generate_page(fake.base_url)  # a local server and no key configured: the dummy is what goes out
    assert not at.exception
    assert "sends a dummy key to the local server" in texts(at)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-show-4711")
    at.run()  # a configured key goes to the local server too (resolve_api_key): the page says so
    shown = texts(at)
    assert "sends `OPENAI_API_KEY` from the environment to" in shown and "dummy" not in shown
    assert "4711" not in shown and "4711" not in "\n".join(str(c.value) for c in at.code)


def test_annotate_says_which_key_it_sends(home, project, fake, monkeypatch, tmp_path):
    from japagen_core.datasets.importers import ImportOptions, import_gold
    from tests.conftest import write_jsonl

    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-show-4711")
    rows = [{"text": f"請求書{i}が届きません", "label": "billing"} for i in range(2)]
    import_gold(project.db, project.registry["customer_inquiry"], "pool", path=write_jsonl(tmp_path / "p.jsonl", rows),
                options=ImportOptions(unlabeled=True))  # fmt: skip
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("../pages/annotate.py").run()
    at.selectbox(key="ann_task").set_value(project.registry["customer_inquiry"]).run()
    at.text_input(key="ann_base_url").set_value(fake.base_url).run()
    assert not at.exception
    assert "sends `OPENAI_API_KEY` from the environment to" in texts(at) and "4711" not in texts(at)
