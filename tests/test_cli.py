"""The CLI as a user runs it: a real subprocess, a real data directory."""

import json
import os
import subprocess
import sys
from pathlib import Path

from japagen_core.storage import repository as repo
from tests.conftest import write_jsonl

ROOT = Path(__file__).resolve().parent.parent


def run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "JAPAGEN_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "japagen_core", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def test_help_lists_every_command(home):
    out = run(home, "--help")
    assert out.returncode == 0
    for command in ("tasks", "import-gold", "datasets", "delete-dataset", "demo"):
        assert command in out.stdout


def test_import_then_list_as_json(home, tmp_path):
    rows = [
        {"sentence1": "犬", "sentence2": "猫", "label": "neutral"},
        {"sentence1": "犬", "sentence2": "犬", "label": "entailment"},
    ]
    path = write_jsonl(tmp_path / "valid.json", rows)
    out = run(home, "import-gold", "--task", "jnli", "--split", "valid", str(path))
    assert out.returncode == 0, out.stderr
    assert "imported jnli-valid-" in out.stdout
    listed = json.loads(run(home, "datasets", "--json").stdout)
    assert [(d["task"], d["split"], d["kind"], d["rows"], d["counts"]) for d in listed] == [
        ("jnli", "valid", "gold", 2, {"entailment": 1, "neutral": 1})
    ]
    again = run(home, "import-gold", "--task", "jnli", "--split", "valid", str(path))
    assert again.returncode == 0 and "already imported" in again.stdout
    assert run(home, "delete-dataset", listed[0]["id"]).returncode == 0
    assert json.loads(run(home, "datasets", "--json").stdout) == []


def test_failures_exit_non_zero_with_one_line(home, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"sentence1": "a", "sentence2": "b", "label": "neutral"}\n{"sentence1": "a"', encoding="utf-8")
    cases = [
        ("import-gold", "--task", "jnli", "--split", "valid", str(bad)),
        ("import-gold", "--task", "nope", "--split", "valid", str(bad)),
        ("import-gold", "--task", "jnli", "--split", "valid", str(tmp_path / "missing.json")),
        ("delete-dataset", "nope"),
        ("no-such-command",),
        ("import-gold", "--task", "jnli"),
    ]
    for args in cases:
        out = run(home, *args)
        assert out.returncode != 0, args
        assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith("error: "), (args, out.stderr)
    assert "bad.json, line 2: truncated last line" in run(home, *cases[0]).stderr
    assert json.loads(run(home, "datasets", "--json").stdout) == []


def test_demo_and_tasks(home):
    assert run(home, "demo", "load").returncode == 0
    listed = json.loads(run(home, "datasets", "--json").stdout)
    assert len(listed) >= 6 and all(d["is_demo"] for d in listed)
    tasks = json.loads(run(home, "tasks", "--json").stdout)
    assert {t["name"] for t in tasks} >= {"marc_ja", "jsts", "jnli", "jcola", "livedoor", "covid19", "customer_inquiry"}


def test_real_jnli_valid_through_the_cli(home, gold_dir):
    path = gold_dir / "jglue" / "jnli-v1.3_valid-v1.3.json"
    assert run(home, "import-gold", "--task", "jnli", "--split", "valid", str(path)).returncode == 0
    [dataset] = json.loads(run(home, "datasets", "--json").stdout)
    assert dataset["rows"] == 2434
    assert dataset["counts"] == {"entailment": 349, "contradiction": 735, "neutral": 1350}


def test_metrics_on_plain_files(home, tmp_path):
    rows = [{"text": t, "label": lab} for t, lab in [
        ("白い犬が走る。", "a"), ("白い犬が歩く。", "a"), ("黒い猫が寝る。", "b"), ("黒い猫が鳴く。", "b")]]  # fmt: skip
    path = write_jsonl(tmp_path / "x.jsonl", rows)
    out = run(home, "metrics", "self-bleu", str(path), "--text-field", "text", "--label-field", "label", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert 0 < result["self_bleu"] < 100 and result["texts"] == 4 and set(result["per_label"]) == {"a", "b"}
    assert "order:4" in result["signature"] and "sample:all" in result["signature"]
    out = run(
        home, "metrics", "overlap", str(path), str(path), "--text-field", "text", "--label-field", "label", "--json"
    )
    assert json.loads(out.stdout)["weighted_jaccard"] == 1.0
    bad = run(home, "metrics", "self-bleu", str(path), "--text-field", "sentence")
    assert bad.returncode == 1 and "missing field 'sentence'" in bad.stderr


def test_self_bleu_of_real_jnli_with_the_default_protocol(home, gold_dir):
    path = gold_dir / "jglue" / "jnli-v1.3_valid-v1.3.json"
    out = run(home, "metrics", "self-bleu", str(path), "--text-field", "sentence1", "--label-field", "label",
              "--per-label", "1000", "--json")  # fmt: skip
    result = json.loads(out.stdout)
    assert abs(result["self_bleu"] - 72.94) < 3  # the paper's gold JNLI row, within a few points


def test_self_bleu_of_scores_groups_by_grade_not_by_each_float(home, tmp_path, capsys):
    from japagen_core.cli import main  # in-process: the subprocess path is covered above

    rows = [{"text": f"犬が{i}回走る。", "score": s} for i, s in enumerate([0.2, 0.4, 1.8, 2.2, 3.6, 4.0, 4.4, 4.8])]
    path = write_jsonl(tmp_path / "jsts.jsonl", rows)
    for extra in ([], ["--task", "jsts"]):
        args = ["metrics", "self-bleu", str(path), "--text-field", "text", "--label-field", "score", "--per-label",
                "1000", "--json", *extra]  # fmt: skip
        assert main(args) == 0
        result = json.loads(capsys.readouterr().out)
        assert len(result["per_label"]) == 4  # grades 0, 2, 4, 5: not eight groups of one float each
        assert "sample:1000-per-label|seed:0|group:grade|field:text" in result["signature"]


def test_analyze_json_gives_the_stored_numbers_the_page_shows(project, capsys):
    from japagen_core.analysis import latest_results
    from japagen_core.cli import main
    from japagen_core.demo import load_demo

    loaded = load_demo(project.db, project.registry, analyse=False)
    gold = next(r.dataset_id for r in loaded if r.dataset_id.startswith("jnli-train-"))
    with project.db.transaction() as con:
        infos = [repo.get_dataset(con, r.dataset_id) for r in loaded]
    synthetic = [i.id for i in infos if i.task == "jnli" and i.kind == "synthetic"]
    assert main(["analyze", "--task", "jnli", "--gold", gold, "--datasets", ",".join(synthetic), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)  # the job ran in its own process, as from the page
    assert result["task"] == "jnli" and result["gold"] == gold
    assert [d["id"] for d in result["datasets"]] == [gold, *synthetic]
    stored = latest_results(project, [gold, *synthetic], gold)
    for entry in result["datasets"]:
        bleu = stored[("self_bleu", entry["id"])]
        assert set(entry["self_bleu"]) == {"text", "text_b"}
        assert entry["self_bleu"]["text"] == round(bleu["self_bleu"], 6)
        assert entry["self_bleu"]["text_b"] == round(bleu["fields"]["text_b"]["self_bleu"], 6)
        corr = entry["label_correctness"]
        assert corr["method"] == "quick" and corr["trained_on"] == gold and corr["out_of_sample"] is True
        assert corr["accuracy"] == stored[("correctness", entry["id"])]["overall"]
        assert set(corr["recall"]) <= {"entailment", "contradiction", "neutral"} and "balanced_accuracy" in corr
        assert corr["degenerate"] == any(r < 0.05 for r in corr["recall"].values())
        assert (entry["jaccard"] is None) == (entry["id"] == gold)
    assert result["datasets"][0]["label_correctness"]["cross_validated"] > 0  # the gold row: out-of-fold


def test_flagged_examples_stay_out_by_default_everywhere():
    """A reviewer's flags hold in export, student training and teacher tuning unless the user says otherwise."""
    from japagen_core.cli import build_parser
    from japagen_core.teacher.service import TeacherRequest
    from japagen_core.training.data import DataChoice

    parser = build_parser()
    for args in (["export", "d", "--format", "jsonl", "--out", "x"], ["train", "--task", "jnli", "--data", "gold-full"],
                 ["teacher-tune", "--task", "jnli"]):  # fmt: skip
        assert parser.parse_args(args).exclude_flagged is True
        assert parser.parse_args([*args, "--no-exclude-flagged"]).exclude_flagged is False
    assert DataChoice.__dataclass_fields__["exclude_flagged"].default is True
    assert TeacherRequest.__dataclass_fields__["exclude_flagged"].default is True
