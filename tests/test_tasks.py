from pathlib import Path

import pytest

from japagen_core.errors import TaskError, UnknownLabelError, UnknownTaskError
from japagen_core.settings import PROJECT_ROOT
from japagen_core.tasks import load_registry, paper_tasks, task_from_dict


def test_the_six_paper_tasks_follow_the_paper():
    tasks = {t.name: t for t in paper_tasks()}
    assert list(tasks) == ["marc_ja", "jsts", "jnli", "jcola", "livedoor", "covid19"]
    assert {n: t.input_kind for n, t in tasks.items()} == {
        "marc_ja": "single", "jsts": "pair", "jnli": "pair", "jcola": "single", "livedoor": "single", "covid19": "single"
    }  # fmt: skip
    assert {n: t.metric for n, t in tasks.items()} == {
        "marc_ja": "accuracy", "jsts": "spearman", "jnli": "accuracy", "jcola": "mcc", "livedoor": "accuracy",
        "covid19": "accuracy",
    }  # fmt: skip
    assert {n: t.max_length for n, t in tasks.items()} == {
        "marc_ja": 512, "jsts": 512, "jnli": 512, "jcola": 128, "livedoor": 512, "covid19": 384
    }  # fmt: skip
    assert len(tasks["livedoor"].labels) == 9
    assert tasks["jnli"].label_names == ["entailment", "contradiction", "neutral"]
    assert tasks["jnli"].label("neutral").display_ja == "中立"


def test_jsts_generates_six_grades_next_to_float_gold_scores():
    jsts = {t.name: t for t in paper_tasks()}["jsts"]
    assert jsts.target == "score" and jsts.score_range == (0.0, 5.0)
    assert jsts.label_names == ["0", "1", "2", "3", "4", "5"]
    assert jsts.check_score("3.4") == 3.4
    assert jsts.grade_for_score(2.5) == "3" and jsts.grade_for_score(2.4) == "2"
    with pytest.raises(UnknownLabelError, match="outside"):
        jsts.check_score(5.2)


def test_labels_resolve_by_name_japanese_name_and_upstream_id():
    jcola = {t.name: t for t in paper_tasks()}["jcola"]
    assert jcola.resolve_label(1).name == "acceptable"
    assert jcola.resolve_label("0").name == "unacceptable"
    assert jcola.resolve_label("容認可能").name == "acceptable"
    for bad in ("maybe", 2, True, None):
        with pytest.raises(UnknownLabelError, match="not a label of task 'jcola'"):
            jcola.resolve_label(bad)


def test_user_task_from_yaml_joins_the_registry():
    registry = load_registry(PROJECT_ROOT / "prompts")
    task = registry["customer_inquiry"]
    assert not task.builtin and task.label_names == ["billing", "shipping", "product"]
    assert list(registry)[:6] == ["marc_ja", "jsts", "jnli", "jcola", "livedoor", "covid19"]


def test_unknown_task_names_the_known_ones():
    registry = load_registry(None)
    with pytest.raises(UnknownTaskError, match=r"unknown task 'nope'.*jnli"):
        registry["nope"]
    assert registry.get("nope") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key"),
        ({"input_kind": "triple"}, "input_kind"),
        ({"metric": "f1"}, "metric"),
        ({"labels": [{"name": "a"}]}, "at least two"),
        ({"labels": [{"name": "a"}, {"name": "a"}]}, "duplicate label name"),
        ({"labels": [{"name": " a"}, {"name": "b"}]}, "whitespace"),
        ({"name": "Bad Name"}, "name"),
        ({"max_length": 3}, "max_length"),
        ({"target": "score"}, "score_range"),
        ({"labels": [{"name": "a", "colour": 1}, {"name": "b"}]}, r"unknown key\(s\) \['labels\[0\]\.colour'\]"),
        ({"labels": [{"name": ""}, {"name": "b"}]}, r"test.yaml: labels\[0\]: a label has an empty 'name'"),
        (
            {"labels": [{"name": "a", "id": "x"}, {"name": "b"}]},
            r"labels\[0\]\.id 'x': input should be a valid integer",
        ),
        ({"gold_fields": {"text": 3}}, r"gold_fields\.text 3: input should be a valid string"),
        ({"gold_label_as_id": "yes"}, "gold_label_as_id 'yes' must be true or false"),
    ],
)
def test_bad_task_definitions_are_refused_with_the_key(change, message):
    base = {
        "name": "t",
        "title": "T",
        "input_kind": "single",
        "metric": "accuracy",
        "max_length": 128,
        "labels": [{"name": "a"}, {"name": "b"}],
    }
    with pytest.raises(TaskError, match=message):
        task_from_dict({**base, **change}, source="test.yaml", builtin=False)


def test_a_broken_yaml_file_is_named_and_skipped(tmp_path: Path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "x.yaml").write_text("name: [unclosed", encoding="utf-8")
    (tmp_path / "tasks" / "y.yaml").write_text("name: y\n", encoding="utf-8")
    registry = load_registry(tmp_path)
    assert "jnli" in registry and "x" not in registry
    assert len(registry.problems) == 2
    assert "x.yaml: not valid YAML" in registry.problems[0] and "y.yaml: missing key 'title'" in registry.problems[1]


def test_a_user_task_cannot_shadow_a_paper_task(tmp_path: Path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "jnli.yaml").write_text(
        "name: jnli\ntitle: X\ninput_kind: single\nmetric: accuracy\nmax_length: 64\nlabels: [{name: a}, {name: b}]\n",
        encoding="utf-8",
    )
    registry = load_registry(tmp_path)
    assert registry["jnli"].builtin and "already defined" in registry.problems[0]
