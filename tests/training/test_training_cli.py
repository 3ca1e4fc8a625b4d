"""The training commands: train --wait as a user runs it (a real subprocess and job), then evaluate and
results through the same entry point in this process (importing torch once, not per command)."""

import json
import time

from japagen_core.cli import main
from japagen_core.jobs import JobStore
from japagen_core.review.snapshots import list_snapshots
from tests.test_cli import run
from tests.training_data import setup_jnli


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_evaluate_results_from_the_command_line(home, project, tmp_path, tiny_model, capsys):
    ids = setup_jnli(project, tmp_path)
    out = run(home, "train", "--task", "jnli", "--data", f"dataset:{ids['synthetic']}", "--model", str(tiny_model),
              "--seeds", "2", "--epochs", "1", "--batch-size", "8", "--wait")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "started job train-jnli-" in out.stdout and "2 models trained and evaluated" in out.stdout
    assert "steps in all" in out.stderr  # live progress while waiting

    runs = json.loads(cli(capsys, "results", "--runs", "--json")[1])
    assert [(r["method"], r["setting"], r["seed"]) for r in runs] == [
        ("japagen", "zero-shot", 0),
        ("japagen", "zero-shot", 1),
    ]
    code, stdout, stderr = cli(capsys, "evaluate", runs[0]["id"], "--split", ids["valid"], "--json")
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["metrics"]["main"] == runs[0]["score"]  # the same numbers as the job stored
    assert result["snapshot_id"] == runs[0]["eval_snapshot_id"]

    markdown = cli(capsys, "results")[1]
    assert markdown.splitlines()[0] == "| Method | Setting | JNLI Acc. | Avg. |"
    assert "| JAPAGEN | Zero-shot | **" in markdown
    assert cli(capsys, "results", "--format", "latex")[1].startswith(r"\begin{tabular}")
    assert cli(capsys, "results", "--format", "csv")[1].startswith("method,setting,task,")


def test_training_mistakes_exit_non_zero_with_one_line(home, project, tmp_path, capsys):
    setup_jnli(project, tmp_path)
    for args, problem in [
        (("train", "--task", "jnli", "--data", "everything"), "not a training-data choice"),
        (("train", "--task", "jnli", "--data", "gold-full", "--model", str(tmp_path / "none")), "does not exist"),
        (("evaluate", "nope", "--split", "x"), "no model 'nope'"),
        (("train", "--task", "jnli", "--data", "snapshot:1", "--per-class", "a,b"), "--per-class"),
    ]:
        code, _, stderr = cli(capsys, *args)
        assert code == 1, (args, stderr)
        assert stderr.startswith("error: ") and problem in stderr and stderr.count("\n") == 1, stderr
    assert cli(capsys, "results")[1].startswith("No results yet")


def test_train_without_the_model_on_this_machine_says_how_to_get_it_and_submits_nothing(
    home, project, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ids = setup_jnli(project, tmp_path)
    before = len(list_snapshots(project))
    started = time.monotonic()
    code, _, stderr = cli(capsys, "train", "--task", "jnli", "--data", f"dataset:{ids['synthetic']}", "--model",
                          "no-such-org/no-such-bert")  # fmt: skip
    assert code == 1 and time.monotonic() - started < 5
    assert (
        stderr.startswith("error: model 'no-such-org/no-such-bert' is not on this machine") and stderr.count("\n") == 1
    )
    assert "`hf download no-such-org/no-such-bert`" in stderr and "--model ./models/no-such-bert" in stderr
    assert JobStore(project.settings.jobs_dir).list() == [] and len(list_snapshots(project)) == before
