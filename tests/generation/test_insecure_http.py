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
