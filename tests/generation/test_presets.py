"""The paper preset (the authors' config format), the paper's pair protocol and few-shot draw.

Unit tests write small configs of the authors' format here; the integration tests read the authors'
own folder at ../shared/reference/japagen-official/config and are skipped where it is absent.
"""

import json
import re
from pathlib import Path

import pytest

from japagen_core.cli import main
from japagen_core.datasets.importers import ImportOptions, import_gold
from japagen_core.demo import load_demo
from japagen_core.errors import JapagenError
from japagen_core.generation.presets import PresetError, import_official, load_preset_spec, preset_tasks, read_official
from japagen_core.generation.prompts import load_spec
from japagen_core.generation.run import RunConfig, check_fewshot_source
from tests.conftest import PROJECT_ROOT, write_jsonl
from tests.generation.test_run import run

OFFICIAL = PROJECT_ROOT.parent / "shared" / "reference" / "japagen-official" / "config"

SYSTEM = "あなたは画像の説明文を記述しています。\n概要:\n- 記述は1文で行ってください。"
KADG_SYSTEM = 'あなたは画像の説明文を記述しています。\n概要:\n- 画像には"object"が写っています。{注}'
LABELS = {"0": {"instruction": "含意の文:"}, "1": {"instruction": "矛盾の文:"}, "2": {"instruction": "中立の文:"}}


def write(folder: Path, name: str, data) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def small_configs(folder: Path) -> Path:
    """A zero-shot and a KADG JNLI config and a KADG MARC-ja one in the authors' format."""
    write(
        folder, "jnli.json", {"task_name": "jnli", "content": SYSTEM, "first instruction": "説明文:", "labels": LABELS}
    )
    write(folder, "jnli*.json", {"task_name": "jnli", "content": KADG_SYSTEM, "object": ["人々", "動物"],
                                 "first instruction": "説明文:", "labels": LABELS})  # fmt: skip
    marc = {"0": {"instruction": "ポジティブなレビュー:"}, "1": {"instruction": "ネガティブなレビュー:"}}
    write(folder, "marcja.json", {"task_name": "marcja", "content": "レビュー。", "labels": marc})
    kadg = {k: {"instruction": f'商品（カテゴリ："genre"）の{v["instruction"]}'} for k, v in marc.items()}
    write(
        folder,
        "marcja*.json",
        {"task_name": "marcja", "content": "レビュー。", "genre": ["スポポーツ"], "labels": kadg},
    )
    write(folder, "base.json", {"task_name": "{task name}", "content": "{setting}", "labels": {}})
    return folder


def test_small_configs_become_a_paper_preset_word_for_word(project, tmp_path):
    result = read_official(small_configs(tmp_path / "cfg"), project.registry, project.settings.prompts_dir)
    assert sorted(result.specs) == ["jnli", "marc_ja"]
    assert result.skipped == ["base.json: task_name '{task name}' is not a task japagen knows"]
    assert any("labels 0→entailment, 1→contradiction, 2→neutral" in line for line in result.lines())
    import_official(project, tmp_path / "cfg")
    jnli = load_preset_spec(project, project.registry["jnli"], "paper")
    assert jnli.preset == "paper" and jnli.kadg_word_list == ("人々", "動物")
    assert jnli.first_messages(setting="zero-shot")[0]["content"] == SYSTEM
    kadg = jnli.second_messages("contradiction", "犬がいる。", setting="kadg", word="動物")
    assert kadg[0]["content"] == KADG_SYSTEM.replace('"object"', '"動物"')  # braces of the text kept as they are
    assert [m["content"] for m in kadg[1:]] == ["説明文:", "犬がいる。", "矛盾の文:"]
    marc = load_preset_spec(project, project.registry["marc_ja"], "paper")
    assert marc.single_messages("negative", setting="kadg", word="スポポーツ")[1]["content"] == (
        '商品（カテゴリ："スポポーツ"）のネガティブなレビュー:'  # the authors' typo, not corrected
    )
    assert marc.fewshot == load_spec(project.settings.prompts_dir, project.registry["marc_ja"]).fewshot
    assert set(preset_tasks(project)) == {"jnli", "marc_ja"}
    # japagen's own prompts are untouched and stay the default
    assert load_preset_spec(project, project.registry["jnli"]).preset == "japagen"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("jnli.json", "{not json", r"jnli.json: not valid JSON \(line 1"),
        ("jnli.json", {"task_name": "jnli", "first instruction": "a", "labels": LABELS}, r"jnli.json: key 'content'"),
        ("jnli.json", {"task_name": "jnli", "content": "a", "labels": LABELS}, r"key 'first instruction'"),
        ("jnli.json", {"task_name": "jnli", "content": "a", "first instruction": "b", "labels": {"0": LABELS["0"]}},
         r"jnli.json: key 'labels' has \['0'\]; jnli needs exactly \['0', '1', '2'\]"),
        ("jnli.json", {"task_name": "jnli", "content": "a", "first instruction": "b",
                       "labels": {**LABELS, "2": {"instruction": ""}}}, r"jnli.json: key 'instruction'"),
        ("jnli.json", {"task_name": "jnli", "content": "a", "first instruction": "b",
                       "labels": {**LABELS, "2": {"text": "x"}}}, r"key 'labels.2' must be"),
        ("jnli*.json", {"task_name": "jnli", "content": "a", "first instruction": "b", "thing": ["x"],
                        "labels": LABELS}, r"jnli\*.json: key 'thing': \"thing\" appears in no text"),
        ("jnli*.json", {"task_name": "jnli", "content": '"thing"', "first instruction": "b", "thing": ["x", "x"],
                        "labels": LABELS}, r"key 'thing': duplicate word\(s\) \['x'\]"),
        ("jnli*.json", {"task_name": "jnli", "content": "a", "first instruction": "b", "thing": 3,
                        "labels": LABELS}, r"key 'thing' is not one of"),
        ("jsts.json", {"task_name": "jnli", "content": "a", "first instruction": "b", "labels": LABELS},
         r"jsts.json: key 'task_name' is 'jnli', but the file name says 'jsts'"),
        ("marcja.json", {"task_name": "marcja", "content": "a", "first instruction": "b",
                         "labels": {"0": LABELS["0"], "1": LABELS["1"]}}, r"only for pair tasks"),
    ],
)  # fmt: skip
def test_a_bad_config_is_refused_naming_the_file_and_key(project, tmp_path, name, data, message):
    folder = tmp_path / "cfg"
    write(folder, name, data)
    with pytest.raises(PresetError, match=message):
        read_official(folder, project.registry, project.settings.prompts_dir)


def test_a_kadg_config_with_another_first_instruction_is_refused(project, tmp_path):
    folder = small_configs(tmp_path / "cfg")
    write(folder, "jnli*.json", {"task_name": "jnli", "content": KADG_SYSTEM, "object": ["人々"],
                                 "first instruction": "別の指示:", "labels": LABELS})  # fmt: skip
    with pytest.raises(PresetError, match=r"jnli\*.json: key 'first instruction' differs from jnli.json's"):
        read_official(folder, project.registry, project.settings.prompts_dir)


def test_importing_writes_only_through_the_store_and_a_missing_preset_says_how_to_get_it(project, home, tmp_path):
    with pytest.raises(PresetError, match="prompts import-official"):
        load_preset_spec(project, project.registry["jnli"], "paper")
    with pytest.raises(PresetError, match="no config of a known task"):
        read_official(tmp_path, project.registry, project.settings.prompts_dir)
    before = {p: p.stat().st_mtime_ns for p in home.rglob("*") if p.is_file() and "duckdb" not in p.name}
    assert main(["prompts", "import-official", str(small_configs(tmp_path / "cfg"))]) == 0
    after = {p: p.stat().st_mtime_ns for p in home.rglob("*") if p.is_file() and "duckdb" not in p.name}
    assert before == after  # the DuckDB file is the only thing that changed under JAPAGEN_HOME


def test_generate_refuses_the_evaluation_split_as_few_shot_source(project, tmp_path):
    path = write_jsonl(tmp_path / "v.jsonl", [{"sentence1": "a", "sentence2": "b", "label": "neutral"}])
    [valid] = import_gold(project.db, project.registry["jnli"], "valid", path=path, options=ImportOptions())
    with pytest.raises(JapagenError, match=rf"evaluation split {valid.dataset_id} \(valid\) of jnli"):
        check_fewshot_source(project, project.registry["jnli"], valid.dataset_id)
    cfg = RunConfig(mode="generate", task="jnli", run_id="r", llm={"model": "m"}, setting="few-shot", per_label=1,
                    fewshot_dataset=valid.dataset_id)  # fmt: skip
    with pytest.raises(JapagenError, match="evaluation split"):
        cfg.check(project)


def _demo_train(project, task):
    return next(r.dataset_id for r in load_demo(project.db, project.registry, analyse=False)
                if r.dataset_id.startswith(task + "-train-"))  # fmt: skip


@pytest.mark.parametrize("task", ["marc_ja", "jnli"])
def test_few_shot_uses_one_example_per_class_throughout_the_run(project, fake, tmp_path, task):
    train = _demo_train(project, task)
    _, summary, rows, _ = run(project, fake, tmp_path, task=task, setting="few-shot", per_label=12,
                              fewshot_dataset=train, seed=3)  # fmt: skip
    ids = {}
    for label, *_, provenance, _ in rows:
        p = json.loads(provenance)
        ids.setdefault(label, set()).add(tuple(p["fewshot_ids"]))
        assert p["fewshot_draw"] == "per-run"
    assert all(len(v) == 1 for v in ids.values()) and len(ids) == len(project.registry[task].labels)
    assert summary["fewshot_ids"] == {label: [next(iter(v))[0]] for label, v in ids.items()}
    examples = {r["body"]["messages"][-1]["content"] for r in fake.requests if "参考までに" in
                r["body"]["messages"][-1]["content"]}  # fmt: skip
    assert len(examples) == len(ids)  # every call of a label showed the same gold example
    # the same seed draws the same examples again; per-call redraws
    _, again, _, _ = run(project, fake, tmp_path, task=task, setting="few-shot", per_label=12,
                         fewshot_dataset=train, seed=3)  # fmt: skip
    assert again["fewshot_ids"] == summary["fewshot_ids"]
    _, per_call, _, _ = run(project, fake, tmp_path, task=task, setting="few-shot", per_label=12,
                            fewshot_dataset=train, seed=3, fewshot_draw="per-call")  # fmt: skip
    assert any(len(v) > 1 for v in per_call["fewshot_ids"].values())


# -- the authors' own configs ------------------------------------------------------------------------


@pytest.fixture
def official() -> Path:
    if not OFFICIAL.is_dir():
        pytest.skip(f"the authors' configs are not at {OFFICIAL}")
    return OFFICIAL


def test_the_authors_configs_import_for_all_six_tasks(project, official, capsys):
    assert main(["prompts", "import-official", str(official)]) == 0
    out = capsys.readouterr().out
    assert "skipped base.json" in out and "covid-19.json + covid-19*.json" in out
    assert "labels 0→general_fact, 1→personal_fact, 2→opinion, 3→unrelated" in out
    assert set(preset_tasks(project)) == {"marc_ja", "jsts", "jnli", "jcola", "livedoor", "covid19"}
    livedoor = load_preset_spec(project, project.registry["livedoor"], "paper")
    authors = json.loads((official / "news*.json").read_text(encoding="utf-8"))
    assert (
        livedoor.single_messages("sports-watch", setting="kadg")[1]["content"]
        == (authors["labels"]["1"]["instruction"])
    )
    marc = load_preset_spec(project, project.registry["marc_ja"], "paper")
    assert "スポポーツ・アウトドア" in marc.kadg_word_list


def test_a_kadg_jnli_run_sends_exactly_the_authors_texts(project, fake, tmp_path, official):
    import_official(project, official)
    authors = json.loads((official / "jnli*.json").read_text(encoding="utf-8"))
    words = authors["object"]
    instruction = {name: authors["labels"][str(i)]["instruction"]
                   for i, name in enumerate(project.registry["jnli"].label_names)}  # fmt: skip
    _, _, rows, _ = run(project, fake, tmp_path, task="jnli", setting="kadg", per_label=10, preset="paper")
    systems = set()
    for request in fake.requests:
        messages = request["body"]["messages"]
        word = re.search(r'画像には"(.+?)"が写っています', messages[0]["content"])[1]
        assert word in words
        assert messages[0]["content"] == authors["content"].replace('"object"', f'"{word}"')
        assert messages[1] == {"role": "user", "content": authors["first instruction"]}
        if len(messages) == 4:
            assert messages[3]["content"] in instruction.values()
        systems.add(messages[0]["content"])
    assert len(systems) > 1  # words vary across calls
    first_by_text = {}
    for label, text, _text_b, provenance, _ in rows:
        p = json.loads(provenance)
        assert p["preset"] == "paper" and p["preset_sha"] == load_preset_spec(project, project.registry["jnli"],
                                                                             "paper").version  # fmt: skip
        assert p["words_list"] == "paper:jnli" and p["kadg_word"] in words
        first_by_text.setdefault(text, set()).add(label)
        second = next(r["body"]["messages"] for r in fake.requests if len(r["body"]["messages"]) == 4
                      and r["body"]["messages"][2]["content"] == text)  # fmt: skip
        assert second[3]["content"] == instruction[label]
    assert all(len(labels) == 1 for labels in first_by_text.values())  # no first sentence under two labels
    assert len(first_by_text) == len(rows) == 30


def test_cli_generate_with_the_paper_preset_runs_as_a_job(project, fake, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-cli")
    assert main(["prompts", "import-official", str(small_configs(tmp_path / "cfg"))]) == 0
    args = ["generate", "--task", "jnli", "--setting", "kadg", "--per-label", "4", "--preset", "paper",
            "--base-url", fake.base_url, "--model", "fake-model", "--wait"]  # fmt: skip
    assert main(args) == 0
    dataset_id = capsys.readouterr().out.split("dataset ")[-1].split(" ")[0]
    with project.db.transaction() as con:
        rows = con.execute("SELECT label, text, provenance FROM examples WHERE dataset_id = ?", [dataset_id]).fetchall()
        meta = json.loads(con.execute("SELECT meta FROM datasets WHERE id = ?", [dataset_id]).fetchall()[0][0])
    assert len(rows) == 12 and meta["run"]["preset"] == "paper" and meta["run"]["pair_protocol"] == "paired"
    assert len({text for _, text, _ in rows}) == 12  # no first sentence under two labels
    assert {json.loads(p)["preset"] for *_, p in rows} == {"paper"}
    systems = {r["body"]["messages"][0]["content"] for r in fake.requests}
    assert systems <= {KADG_SYSTEM.replace('"object"', f'"{w}"') for w in ("人々", "動物")}
    assert main(["generate", "--task", "jsts", "--per-label", "1", "--preset", "paper"]) == 1
    assert "no paper preset for task jsts" in capsys.readouterr().err


def test_paired_pairs_with_failed_answers_are_topped_up_per_label(project, fake, tmp_path):
    fake.config.fault_rate = 0.1  # (a failed stage-1 call loses the first sentences of all its pairs)
    fake.config.faults = ("non_japanese", "empty_choices")
    _, _, rows, failures = run(project, fake, tmp_path, task="jsts", setting="zero-shot", per_label=8)
    assert failures  # some answers failed and were made up for
    counts, labels_of = {}, {}
    for label, text, *_ in rows:
        counts[label] = counts.get(label, 0) + 1
        labels_of.setdefault(text, set()).add(label)
    assert counts == dict.fromkeys(project.registry["jsts"].label_names, 8)
    assert all(len(labels) == 1 for labels in labels_of.values())
