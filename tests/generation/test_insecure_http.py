"""An API key goes over plain http to another machine only when the user confirmed it (issue 12, 6c)."""

import pytest
from streamlit.testing.v1 import AppTest

from japagen_core.cli import _llm_config, build_parser, main
from japagen_core.errors import JapagenError
from japagen_core.generation.llm import LLMConfig, resolve_api_key, sends_key_in_clear
from japagen_core.settings import PROJECT_ROOT
from japagen_core.teacher.service import TeacherRequest

MAIN = str(PROJECT_ROOT / "app" / "main.py")
REMOTE_HTTP = "http://10.0.0.5:8000/v1"
KEY = {"OPENAI_API_KEY": "sk-secret"}


@pytest.mark.parametrize(
    ("url", "clear"),
    [
        (None, False),
        ("https://api.example.com/v1", False),
        ("http://127.0.0.1:8000/v1", False),
        ("http://localhost:11434/v1", False),
        ("http://[::1]:8000/v1", False),
        ("http://127.0.0.2:8000/v1", False),
        (REMOTE_HTTP, True),
        ("http://gpu-box.lan:8000/v1", True),
        ("HTTP://example.org/v1", True),
    ],
)
def test_which_urls_send_the_key_in_clear(url, clear):
    assert sends_key_in_clear(url) is clear


def test_the_key_is_refused_for_remote_plain_http_unless_confirmed():
    with pytest.raises(JapagenError, match=r"plain http to another machine.*--allow-insecure-http"):
        resolve_api_key(REMOTE_HTTP, environ=KEY)
    assert resolve_api_key(REMOTE_HTTP, allow_insecure_http=True, environ=KEY) == "sk-secret"
    assert resolve_api_key("https://api.example.com/v1", environ=KEY) == "sk-secret"


def test_the_confirmation_travels_with_the_job_settings():
    assert LLMConfig(base_url=REMOTE_HTTP, allow_insecure_http=True).allow_insecure_http
    assert TeacherRequest(task="jnli", backend="openai", allow_insecure_http=True).allow_insecure_http
    parser = build_parser()
    for argv, expected in (([], False), (["--allow-insecure-http"], True)):
        args = parser.parse_args(["generate", "--task", "jnli", "--per-label", "1", "--base-url", REMOTE_HTTP, *argv])
        assert _llm_config(args)["allow_insecure_http"] is expected


def test_the_cli_refuses_in_one_line_without_the_flag(project, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    from japagen_core.demo import load_demo

    load_demo(project.db, project.registry, analyse=False)
    argv = ["generate", "--task", "jnli", "--setting", "kadg", "--per-label", "1", "--base-url", REMOTE_HTTP]
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0 and "plain http to another machine" in err and "sk-secret" not in err
    assert not project.settings.jobs_dir.exists() or not any(project.settings.jobs_dir.iterdir())  # no job


def test_generate_page_needs_the_checkbox(home, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("../pages/generate.py").run()
    at.text_input(key="gen_base_url").set_value(REMOTE_HTTP).run()
    assert not at.exception
    assert any("travel unencrypted" in w.value for w in at.warning)
    assert not any("No API key" in w.value for w in at.warning)
    assert at.button(key="gen_launch").disabled and at.button(key="gen_dry_run").disabled
    at.checkbox(key="gen_allow_http").check().run()
    assert not at.button(key="gen_launch").disabled
    at.text_input(key="gen_base_url").set_value("https://api.example.com/v1").run()
    assert "gen_allow_http" not in [c.key for c in at.checkbox]  # https: nothing to confirm
    assert not at.button(key="gen_launch").disabled


def test_teachers_page_needs_the_checkbox_too(home, project, monkeypatch):
    from japagen_core.demo import load_demo

    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    load_demo(project.db, project.registry, analyse=False)
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.switch_page("../pages/teachers.py").run()
    at.text_input(key="te_base_url").set_value(REMOTE_HTTP).run()
    assert not at.exception and at.button(key="te_launch").disabled
    at.checkbox(key="te_allow_http").check().run()
    assert not at.button(key="te_launch").disabled


def test_openai_base_url_from_the_environment_is_not_a_back_door(monkeypatch, caplog, tmp_path):
    """OPENAI_BASE_URL (which the OpenAI SDK would read) skipped every check a base URL gets: a key sent in
    clear to a plain-http host, credentials in the URL in error messages, a provenance saying OpenAI. A
    run without a base URL calls OpenAI itself, whatever the environment says, and the log says so."""
    from japagen_core.generation.batch import BatchRemote, BatchSettings, BatchState
    from japagen_core.generation.llm import OPENAI_URL, OpenAIChatClient

    monkeypatch.setenv("OPENAI_BASE_URL", "http://user:sk-in-url@10.0.0.5:8000/v1?api-key=sk-q")
    with caplog.at_level("WARNING"):
        client = OpenAIChatClient(LLMConfig(model="gpt-4o-mini"), "sk-secret")
    assert client.base_url == OPENAI_URL and str(client._url) == OPENAI_URL + "/chat/completions"
    assert "OPENAI_BASE_URL is set but not used" in caplog.text and "sk-in-url" not in caplog.text
    remote = BatchRemote(LLMConfig(model="gpt-4o-mini"), "sk-secret", BatchSettings(), BatchState(tmp_path / "s"), "r")
    assert remote.where.rstrip("/") == OPENAI_URL
    assert OpenAIChatClient(LLMConfig(model="m", base_url="http://127.0.0.1:9/v1"), "k").base_url == (
        "http://127.0.0.1:9/v1"
    )
