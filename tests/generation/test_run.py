"""Runs against the local test server: counts, provenance, the pair flow, faults, annotation."""

import asyncio
import json
from dataclasses import asdict

import pytest

from japagen_core.demo import load_demo
from japagen_core.errors import JapagenError
from japagen_core.generation.llm import FatalLLMError, LLMConfig, OpenAIChatClient
from japagen_core.generation.prompts import load_spec, load_words
from japagen_core.generation.run import RunConfig, Runner, ingest


def run(project, fake, tmp_path, *, per_label=7, list_mode=False, **overrides):
    llm = asdict(LLMConfig(model="fake-model", base_url=fake.base_url, concurrency=8, timeout=2, max_retries=3))
    llm.update(overrides.pop("llm", {}))
    cfg = RunConfig(mode=overrides.pop("mode", "generate"), task=overrides.pop("task"), run_id=f"run-{len(list(tmp_path.iterdir()))}",
                    llm=llm, per_label=per_label, list_mode=list_mode, **overrides)  # fmt: skip
    cfg.check(project)
    parts = tmp_path / cfg.run_id
    parts.mkdir()

    async def go():
        client = OpenAIChatClient(LLMConfig(**cfg.llm), "sk-test")
        try:
            return await Runner(project, cfg, client, parts).run()
        finally:
            await client.close()

    assert asyncio.run(go()) == "succeeded"
    summary = ingest(project, cfg, parts, job_id="test")
    with project.db.transaction() as con:
        rows = con.execute(
            "SELECT label, text, text_b, provenance, duplicate_of FROM examples WHERE dataset_id = ? ORDER BY row_idx",
            [cfg.run_id],
        ).fetchall()
        failures = con.execute("SELECT reason, raw FROM generation_failures WHERE run_id = ?", [cfg.run_id]).fetchall()
    return cfg, summary, rows, failures


def per_label(rows):
    counts = {}
    for label, *_ in rows:
        counts[label] = counts.get(label, 0) + 1
    return counts


@pytest.mark.parametrize("setting", ["zero-shot", "few-shot", "kadg"])
@pytest.mark.parametrize("task", ["marc_ja", "jnli", "jsts", "jcola", "livedoor", "covid19", "customer_inquiry"])
def test_every_task_and_setting_lands_exactly_m_per_label(project, fake, tmp_path, task, setting):
    fewshot = None
    if setting == "few-shot":
        fewshot = next(
            r.dataset_id
            for r in load_demo(project.db, project.registry, analyse=False)
            if r.dataset_id.startswith(task + "-train-")
        )
    cfg, summary, rows, _ = run(
        project, fake, tmp_path, task=task, setting=setting, per_label=7, fewshot_dataset=fewshot
    )
    t = project.registry[task]
    assert per_label(rows) == dict.fromkeys(t.label_names, 7)
    spec = load_spec(project.settings.prompts_dir, t)
    for _, text, text_b, provenance, _ in rows:
        p = json.loads(provenance)
        assert p["run_id"] == cfg.run_id and p["setting"] == setting and p["model"] == "fake-model"
        assert p["prompt_version"] == spec.version and p["params"]["temperature"] == 1.2 and p["time"]
        assert (text_b is not None) == t.is_pair and not text.startswith("1.")
        if setting == "kadg" and spec.kadg_words:
            assert p["kadg_word"] in load_words(project.settings.prompts_dir, spec.kadg_words).words
            assert p["words_version"]
        if setting == "few-shot":
            assert len(p["fewshot_ids"]) == 1 and p["fewshot_ids"][0].startswith(fewshot + ":")
    assert summary["prompt_tokens"] > 0


@pytest.mark.parametrize("protocol", ["paired", "contrastive"])
def test_pair_flow_sends_the_first_caption_as_history(project, fake, tmp_path, protocol):
    _, summary, rows, _ = run(project, fake, tmp_path, task="jnli", setting="kadg", per_label=5, pair_protocol=protocol)
    assert summary["prompt_tokens"] == 40 * len(fake.requests)  # every call counted once, stage 1 too
    first = [r["body"]["messages"] for r in fake.requests if len(r["body"]["messages"]) == 2]
    second = [r["body"]["messages"] for r in fake.requests if len(r["body"]["messages"]) == 4]
    assert first and len(second) == 15
    for messages in second:
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
        assert messages[:2] in first  # the same system (with its KADG word) and first instruction
    x1_by_label = {}
    for label, text, _text_b, _provenance, _ in rows:
        assert any(m[2]["content"] == text for m in second)  # x1 is what the assistant said
        x1_by_label.setdefault(text, set()).add(label)
    if protocol == "contrastive":  # one premise shared by every label
        assert all(labels == {"entailment", "contradiction", "neutral"} for labels in x1_by_label.values())
        assert len(first) == 1
    else:  # the paper's: a first sentence per pair, written in a call for that label alone
        assert len(x1_by_label) == len(rows) == 15 and len(first) == 3
        assert all(len(labels) == 1 for labels in x1_by_label.values())
        assert {json.loads(p)["pair_protocol"] for *_, p, _ in rows} == {"paired"}


def test_a_server_that_ignores_n_is_asked_for_a_numbered_list(project, fake, tmp_path):
    fake.config.ignore_n = True
    _, _, rows, _ = run(project, fake, tmp_path, task="marc_ja", setting="zero-shot", per_label=12)
    assert per_label(rows) == {"positive": 12, "negative": 12}
    assert any("番号を付けて" in r["body"]["messages"][-1]["content"] for r in fake.requests)
    assert all(not text.startswith(("1.", "「")) for _, text, *_ in rows)


def test_twenty_percent_faults_still_complete_and_failures_are_kept(project, fake, tmp_path):
    fake.config.fault_rate = 0.2
    fake.config.faults = ("429", "500", "bad_json", "empty_choices", "non_japanese", "timeout")
    fake.config.timeout_sleep = 0.6
    _, _summary, rows, failures = run(project, fake, tmp_path, task="jcola", setting="zero-shot", per_label=100,
                                     llm={"timeout": 0.3, "max_retries": 4})  # fmt: skip
    assert per_label(rows) == {"unacceptable": 100, "acceptable": 100}
    reasons = {reason for reason, _ in failures}
    assert "not_japanese" in reasons or "missing_choice" in reasons
    assert all(raw is not None for _, raw in failures)  # every failed answer is kept with its text


def test_answers_cut_at_the_token_limit_are_failures_and_stay_so_from_the_journal(project, fake, tmp_path):
    """finish_reason "length": the answer stops mid-text. It is kept as a "truncated" failure and topped
    up, never stored as an example; the journal keeps the mark, so an answer reused on resume is too."""
    from japagen_core.generation.clean import CutText
    from japagen_core.generation.journal import read_journal

    fake.config.fault_rate = 0.25
    fake.config.faults = ("length",)
    cfg, _, rows, failures = run(project, fake, tmp_path, task="marc_ja", setting="zero-shot", per_label=20)
    assert per_label(rows) == {"positive": 20, "negative": 20}
    cut = [raw for reason, raw in failures if reason == "truncated"]
    assert cut and {raw for _, raw in failures} == set(cut)
    assert not {text for _, text, *_ in rows} & set(cut)
    _, answers = read_journal(next((tmp_path / cfg.run_id).rglob("usage.jsonl")))
    journaled = [t for completions in answers.values() for c in completions for t in c.texts]
    assert sorted(t for t in journaled if isinstance(t, CutText)) == sorted(cut)


def test_a_bad_key_stops_the_run_at_once(project, fake, tmp_path):
    fake.config.api_key = "sk-right"
    with pytest.raises(FatalLLMError):
        run(project, fake, tmp_path, task="marc_ja", setting="zero-shot", per_label=200)
    assert len(fake.requests) <= 16  # the in-flight calls, no retry storm


@pytest.mark.parametrize("fault", ["500", "429"])
def test_a_server_that_only_fails_stops_the_run_after_a_streak_of_failed_calls(project, fake, tmp_path, fault):
    """Answering 5xx (a backend down) or 429 (a used-up quota) to everything: the run stops, resumable,
    after as many failed attempts in a row as FAILED_CALLS_TO_STOP calls make, not after a whole pass and
    its top-ups (the audit counted 240 requests for 40 calls; at the paper's scale, tens of thousands)."""
    from japagen_core.generation.llm import FAILED_CALLS_TO_STOP

    fake.config.fault_rate = 1.0
    fake.config.faults = (fault,)
    with pytest.raises(FatalLLMError, match=rf"answered \d+ attempts in a row with 429 or 5xx \(last: {fault}\)"):
        run(project, fake, tmp_path, task="marc_ja", setting="zero-shot", per_label=2_000,
            llm={"max_retries": 1, "n": 1})  # fmt: skip
    assert len(fake.requests) <= FAILED_CALLS_TO_STOP * 2 + 8  # two attempts a call, and those in flight


def test_exact_duplicates_are_marked_not_dropped(project, fake, tmp_path):
    fake._answer = lambda body, number, index, fault: "同じ文です。"
    _, summary, rows, _ = run(project, fake, tmp_path, task="covid19", setting="zero-shot", per_label=3)
    assert len(rows) == 12 and summary["duplicates"] == 11
    assert [r[4] for r in rows] == [None] + [0] * 11


def test_annotation_labels_an_unlabeled_dataset(project, fake, tmp_path):
    from japagen_core.datasets.importers import ImportOptions, import_gold
    from tests.conftest import write_jsonl

    texts = [{"sentence1": f"犬が{i}匹いる。", "sentence2": "動物がいる。", "label": "entailment"} for i in range(60)]
    [source] = import_gold(project.db, project.registry["jnli"], "pool", path=write_jsonl(tmp_path / "pool.json", texts),
                           options=ImportOptions(unlabeled=True))  # fmt: skip
    fake.script = [None] * 5 + ["non_japanese"]  # one answer names no label
    _cfg, _summary, rows, failures = run(project, fake, tmp_path, mode="annotate", task="jnli", source_dataset=source.dataset_id,
                                       llm={"temperature": 0.1, "n": 1})  # fmt: skip
    # that text is asked again in a top-up round (and labelled); its failed answer is kept
    assert len(rows) == 60 and failures == [("unparsable_label", "Sorry, I can only answer in English.")]
    assert sorted(json.loads(r[3])["source_row"] for r in rows) == list(range(60))
    p = json.loads(rows[0][3])
    assert (
        p["setting"] == "annotate"
        and p["source_dataset"] == source.dataset_id
        and p["raw"] in {"entailment", "contradiction", "neutral"}
    )
    assert all(r["body"]["temperature"] == 0.1 for r in fake.requests)


def test_annotation_asks_again_for_texts_a_failed_call_left_unlabelled(project, fake, tmp_path):
    """Half the calls rate-limited and no retries inside a call: the texts left unlabelled are asked for
    again in top-up rounds, each text labelled once, every failed call kept as a failure."""
    from japagen_core.datasets.importers import ImportOptions, import_gold
    from tests.conftest import write_jsonl

    texts = [{"sentence1": f"犬が{i}匹いる。", "sentence2": "動物がいる。", "label": "entailment"} for i in range(60)]
    [source] = import_gold(project.db, project.registry["jnli"], "pool", path=write_jsonl(tmp_path / "pool.json", texts),
                           options=ImportOptions(unlabeled=True))  # fmt: skip
    fake.config.fault_rate = 0.5
    fake.config.faults = ("429",)
    _, _, rows, failures = run(project, fake, tmp_path, mode="annotate", task="jnli", source_dataset=source.dataset_id,
                               llm={"n": 1, "max_retries": 0})  # fmt: skip
    labelled = [json.loads(r[3])["source_row"] for r in rows]
    assert len(labelled) == len(set(labelled)) > 50  # first pass: 30 of 60; each round halves what is left
    assert len(labelled) + len(failures) == len(fake.requests)  # one row per call: nothing lost, none twice
    assert {reason for reason, _ in failures} == {"rate_limited"}


def test_settings_are_checked_before_a_run(project):
    llm = asdict(LLMConfig())
    with pytest.raises(JapagenError, match="few-shot setting needs a gold dataset"):
        RunConfig(mode="generate", task="jnli", run_id="r", llm=llm, setting="few-shot", per_label=3).check(project)
    with pytest.raises(JapagenError, match="setting 'one-shot'"):
        RunConfig(mode="generate", task="jnli", run_id="r", llm=llm, setting="one-shot", per_label=3).check(project)
    with pytest.raises(JapagenError, match="temperature"):
        LLMConfig(temperature=3)


def test_usage_survives_a_line_cut_short_by_a_kill(tmp_path):
    from japagen_core.generation.run import USAGE_FILE, usage_totals

    (tmp_path / USAGE_FILE).write_text("[40, 20]\n[40, 100]\n[4", encoding="utf-8")
    assert usage_totals(tmp_path) == (80, 120)


def test_the_journal_counts_answers_and_cut_off_calls_and_skips_a_torn_line(tmp_path):
    from japagen_core.generation.journal import CallJournal, call_key, read_journal
    from japagen_core.generation.llm import Completion

    path = tmp_path / "usage.jsonl"
    path.write_text("[40, 20]\n", encoding="utf-8")  # a journal of the older format: usage only
    journal = CallJournal(path)
    key = call_key("positive-000000", [{"role": "user", "content": "書いて"}], 5)
    answered, failed = journal.sent(key), journal.sent(key)
    journal.sent(key)  # in flight when the process dies
    journal.answered(answered, key, Completion(["犬が走る。"], "req-7", 40, 100))
    journal.failed(failed, "timeout")
    journal.close()
    with path.open("a", encoding="utf-8") as f:
        f.write('{"a": "x", "k": "' + key + '", "u": [40, 1')  # an answer cut short by a kill
    totals, _ = read_journal(path)
    assert (totals.prompt_tokens, totals.completion_tokens, totals.answered, totals.cut_off) == (80, 120, 2, 1)
    again = CallJournal(path)
    assert again.take(key) == Completion(["犬が走る。"], "req-7", 40, 100) and again.take(key) is None
    assert again.take(call_key("positive-000001", [{"role": "user", "content": "書いて"}], 5)) is None
    again.close()
