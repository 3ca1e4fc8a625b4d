from pathlib import Path

import pytest

from japagen_core.generation.prompts import SETTINGS, PromptError, load_spec, load_words, render
from japagen_core.settings import PROJECT_ROOT
from japagen_core.tasks import load_registry

PROMPTS = PROJECT_ROOT / "prompts"
REGISTRY = load_registry(PROMPTS)


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("task_name", list(REGISTRY))
def test_every_task_and_setting_renders(task_name, setting):
    task = REGISTRY[task_name]
    spec = load_spec(PROMPTS, task)
    words = load_words(PROMPTS, spec.kadg_words) if spec.kadg_words else None
    word = words.words[0] if words else None
    for label in task.label_names:
        if task.is_pair:
            first = spec.first_messages(setting=setting, word=word)
            messages = spec.second_messages(
                label, "犬が走っている。", setting=setting, word=word, example="1文目：a\n2文目：b"
            )
            assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
            assert messages[:2] == first and messages[2]["content"] == "犬が走っている。"
        else:
            messages = spec.single_messages(label, setting=setting, word=word, example="例の文。")
            assert [m["role"] for m in messages] == ["system", "user"]
        text = "".join(m["content"] for m in messages)
        assert "{" not in text and "}" not in text
        if setting == "kadg" and word and "{kadg}" in spec.system + spec.labels[label]:
            assert f"「{word}」" in text  # (COVID-19's fourth class takes no word, as in the paper)
        if setting == "few-shot":
            assert ("例の文。" in text) or ("1文目：a" in text)
    assert len(spec.version) == 12


def test_paper_word_lists_have_the_papers_kinds_and_sizes():
    sizes = {name: len(load_words(PROMPTS, name).words) for name in ("marc_ja", "jsts", "jnli", "covid19", "jcola")}
    assert sizes == {"marc_ja": 11, "jsts": 9, "jnli": 9, "covid19": 6, "jcola": 8}
    assert load_spec(PROMPTS, REGISTRY["livedoor"]).kadg_labels is not None  # descriptive-topic variant


def test_rendering_is_strict():
    with pytest.raises(PromptError, match=r"no value for placeholder\(s\) \['word'\]"):
        render("「{word}」について", {}, where="x")


def _spec_dir(tmp_path: Path, text: str) -> Path:
    (tmp_path / "marc_ja.yaml").write_text(text, encoding="utf-8")
    return tmp_path


GOOD = "system: s\nlabels: {positive: p, negative: n}\nfewshot: '{example}'\nannotate: '{text}'\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + "colour: red\n", r"unknown key\(s\) \['colour'\]"),
        (GOOD.replace("system: s", "system: '{wrod}'"), r"system uses unknown placeholder\(s\) \['wrod'\]"),
        (GOOD.replace("{positive: p, negative: n}", "{positive: p}"), r"missing \['negative'\]"),
        (GOOD + "kadg: {text: '{word}', words: marc_ja}\n", "kadg.text is never used"),
        (GOOD + "first_instruction: x\n", "only for pair tasks"),
        ("system: [unclosed", "not valid YAML"),
        (
            GOOD + "kadg: {text: '{word}', wrds: x}\n",
            r"unknown key\(s\) \['kadg\.wrds'\]; allowed: \['labels', 'system', 'text', 'word_list', 'words'\]",
        ),
        (GOOD.replace("fewshot: '{example}'\n", ""), r"marc_ja.yaml: missing key 'fewshot'"),
        (GOOD.replace("system: s", "system: [a]"), r"system \['a'\]: input should be a valid string"),
    ],
)
def test_bad_specs_name_the_problem(tmp_path, text, message):
    with pytest.raises(PromptError, match=message):
        load_spec(_spec_dir(tmp_path, text), REGISTRY["marc_ja"])


def test_bad_word_lists(tmp_path):
    (tmp_path / "kadg").mkdir()
    (tmp_path / "kadg" / "x.txt").write_text("本\n本\n", encoding="utf-8")
    with pytest.raises(PromptError, match="duplicate"):
        load_words(tmp_path, "x")
    (tmp_path / "kadg" / "y.txt").write_text("# only a comment\n\n", encoding="utf-8")
    with pytest.raises(PromptError, match="empty"):
        load_words(tmp_path, "y")
