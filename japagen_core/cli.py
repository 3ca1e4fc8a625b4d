"""The command line: the same operations as the app, for scripts and clusters.

    python -m japagen_core --help

Every command exits 0 on success and non-zero with a one-line ``error: ...`` on failure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from japagen_core import launch
from japagen_core.datasets.importers import FORMATS, ImportOptions, import_gold, label_id_note, parse_label_map
from japagen_core.demo import load_demo, remove_demo
from japagen_core.errors import JapagenError
from japagen_core.generation.llm import PAPER_DEFAULTS, LLMConfig
from japagen_core.generation.presets import import_official, load_preset_spec
from japagen_core.generation.prompts import PRESETS, SETTINGS
from japagen_core.generation.run import FEWSHOT_DRAWS, PAIR_PROTOCOLS, RunConfig, new_run_id, progress_line
from japagen_core.generation.scale import PAPER_PER_LABEL, estimate_run, paper_sampling, prompt_chars
from japagen_core.jobs import JobStore, kinds, resources
from japagen_core.jobs.kinds import submit
from japagen_core.jobs.progress import Progress
from japagen_core.metrics.inputs import load_texts
from japagen_core.metrics.overlap import count_tokens, overlap
from japagen_core.metrics.sampling import sample_per_label, sample_signature
from japagen_core.metrics.self_bleu import SMOOTH_METHODS, self_bleu
from japagen_core.metrics.tokenizers import KINDS as TOKENIZER_KINDS
from japagen_core.metrics.tokenizers import Tokenizer
from japagen_core.outputs import check_output_path, write_output
from japagen_core.project import Project
from japagen_core.review import annotation_tools, snapshots
from japagen_core.storage import repository as repo
from japagen_core.teacher import service as teachers
from japagen_core.teacher.openai_tune import DEFAULT_BASE_MODEL
from japagen_core.training.config import DEFAULT_MODEL, DEFAULT_SEEDS, TrainConfig, TrainingError
from japagen_core.training.data import parse_data
from japagen_core.training.plan import TrainRequest, train_progress_line
from japagen_core.training.prompting import PROMPTING_LLM, PromptingRequest
from japagen_core.training.weights import check_model_available


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    prog = "japagen" if Path(sys.argv[0]).name == "japagen" else "python -m japagen_core"  # the console script
    parser = _Parser(prog=prog, description="japagen: Japanese classifiers from LLM data.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = commands.add_parser("app", help="start the app (Streamlit) on http://127.0.0.1:PORT")
    p.add_argument("--port", type=int, help="default: 8501")
    p.add_argument("--read-only", action="store_true", help="the read-only demo mode (JAPAGEN_READ_ONLY=1)")
    p.set_defaults(func=cmd_app, project=False)

    p = commands.add_parser("tasks", help="list the tasks (paper tasks and user-defined ones)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_tasks)

    p = commands.add_parser("import-gold", help="import a gold file (all or nothing)")
    p.add_argument("path", type=Path, help="file, Livedoor .tar.gz or extracted Livedoor folder")
    p.add_argument("--task", required=True, help="task name (see: tasks)")
    p.add_argument("--split", required=True, help="split name, e.g. train, valid, test ('all' for Livedoor)")
    p.add_argument("--format", choices=FORMATS, help="file format (default: from the file name)")
    for name in ("text", "text-b", "label", "score", "id"):
        p.add_argument(f"--{name}-field", help=f"column holding the {name.replace('-', ' ')} (default: the task's)")
    p.add_argument(
        "--livedoor-sizes",
        choices=("ratio", "paper"),
        default="ratio",
        help="Livedoor split: the paper's proportions of all articles, or its exact sizes",
    )
    p.add_argument("--seed", type=int, default=42, help="Livedoor split seed")
    p.add_argument("--name", help="dataset display name")
    p.add_argument("--unlabeled", action="store_true", help="texts without labels, for LLM annotation")
    p.add_argument("--map-label", action="append", default=[], metavar="RAW=LABEL",
                   help="read a raw label value as a label, e.g. COVID-19's 66=opinion (repeatable)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_import_gold)

    p = commands.add_parser("datasets", help="list datasets with row and label counts")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_datasets)

    p = commands.add_parser("delete-dataset", help="delete a dataset and its examples")
    p.add_argument("dataset_id")
    p.set_defaults(func=cmd_delete_dataset)

    p = commands.add_parser("demo", help="load or remove the demo project")
    p.add_argument("action", choices=("load", "remove"))
    p.set_defaults(func=cmd_demo)

    p = commands.add_parser("generate", help="generate labelled examples with an LLM (a background job)")
    p.add_argument("--task", required=True)
    p.add_argument("--setting", choices=SETTINGS, default="zero-shot")
    p.add_argument("--per-label", type=int, help="examples per label (M); required unless --paper-scale")
    p.add_argument("--fewshot-dataset", help="gold dataset id the few-shot examples are drawn from")
    p.add_argument("--paper-scale", action="store_true",
                   help=f"the paper's scale: {PAPER_PER_LABEL:,} per label with its sampling; shows calls, cost "
                        "and time, and starts only with --yes")  # fmt: skip
    p.add_argument("--estimate", action="store_true", help="show calls, tokens, cost and time; start nothing")
    p.add_argument("--yes", action="store_true", help="with --paper-scale: start the run after the estimate")
    p.add_argument(
        "--preset",
        choices=PRESETS,
        default="japagen",
        help="the prompts: japagen's own, or the authors' configs (import with: prompts import-official)",
    )
    p.add_argument(
        "--pair-protocol",
        choices=PAIR_PROTOCOLS,
        default="paired",
        help="pair tasks: paired (the paper's: each pair its own first sentence, written for its label) "
        "or contrastive (one first sentence shared by all labels)",
    )
    p.add_argument("--fewshot-draw", choices=FEWSHOT_DRAWS, default="per-run",
                   help="few-shot: per-run (the paper's: one gold example per class for the whole run, seeded) "
                        "or per-call (a new example for every call)")  # fmt: skip
    _llm_arguments(p, temperature=PAPER_DEFAULTS["temperature"])
    _backend_arguments(p)
    p.set_defaults(func=cmd_generate)

    p = commands.add_parser("prompts", help="prompt presets: import the JAPAGEN authors' configs as 'paper'")
    which = p.add_subparsers(dest="prompts_command", required=True, metavar="ACTION", parser_class=_Parser)
    q = which.add_parser("import-official", help="read a folder of the authors' configs (<task>.json, <task>*.json)")
    q.add_argument("path", type=Path, help="the folder, e.g. a checkout of retrieva/JapaGen's config/")
    q.set_defaults(func=cmd_import_official)

    p = commands.add_parser("annotate", help="label the texts of a dataset with an LLM (a background job)")
    p.add_argument("--task", required=True)
    p.add_argument("--dataset", required=True, help="dataset id (import texts with import-gold --unlabeled)")
    _llm_arguments(p, temperature=0.1, annotate=True)
    _backend_arguments(p)
    p.set_defaults(func=cmd_annotate)

    p = commands.add_parser("teacher-tune", help="fine-tune a teacher LLM on gold examples (a background job)")
    p.add_argument("--task", required=True)
    p.add_argument("--data", default=teachers.DEFAULT_DATA,
                   help="gold-fewshot[:K] (K gold per class) | gold-full | snapshot:ID | dataset:ID")  # fmt: skip
    p.add_argument("--gold", help="gold split for gold-* data (default: the task's gold 'train' dataset)")
    p.add_argument("--backend", choices=("openai", "local"), default="openai")
    p.add_argument("--model", help=f"base model: an OpenAI model (default {DEFAULT_BASE_MODEL}) or a local folder")
    p.add_argument("--base-url", help="openai: a server with the files and fine_tuning endpoints (default: OpenAI)")
    p.add_argument("--allow-insecure-http", action="store_true",
                   help="send the API key to a plain-http base URL on another host (unencrypted)")  # fmt: skip
    p.add_argument("--purpose", choices=("generate", "annotate"), default="generate",
                   help="generate: gold texts as answers; annotate: gold labels as answers")  # fmt: skip
    p.add_argument("--epochs", type=float, default=3, help="openai: n_epochs (a whole number); local: LoRA epochs")
    p.add_argument("--seed", type=int, default=0, help="draws the few-shot examples (and seeds the tuning)")
    p.add_argument("--suffix", default="japagen", help="openai: suffix of the fine-tuned model's name")
    p.add_argument("--poll-seconds", type=float, default=10.0, help="openai: seconds between status checks")
    p.add_argument("--lora-r", type=int, default=8)
    p.add_argument("--lora-alpha", type=int, default=16)
    p.add_argument("--lora-dropout", type=float, default=0.05)
    p.add_argument("--lr", type=float, default=2e-4, help="local: learning rate")
    p.add_argument("--batch-size", type=int, default=4, help="local: conversations per step")
    p.add_argument("--max-length", type=int, default=512, help="local: tokens per conversation")
    p.add_argument("--max-steps", type=int, default=-1, help="local: stop after this many steps (smoke tests)")
    p.add_argument("--device", default="auto", help="local: auto, cpu or cuda")
    p.add_argument("--exclude-flagged", action=argparse.BooleanOptionalAction, default=True,
                   help="leave flagged examples out of the snapshot (default; --no-exclude-flagged keeps them)",
                   )  # fmt: skip
    p.add_argument("--dry-run", action="store_true", help="show the file, its token count and cost; start nothing")
    p.add_argument("--out", type=Path, help="also write the training file (JSON Lines) here")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--json", action="store_true", help="with --dry-run: print the summary as JSON")
    p.add_argument("--wait", action="store_true", help="follow the job until it ends")
    p.set_defaults(func=cmd_teacher_tune)

    p = commands.add_parser("teachers", help="list fine-tuned teachers (use one with generate --teacher ID)")
    p.add_argument("--task")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_teachers)

    p = commands.add_parser("jobs", help="list background jobs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_jobs)

    metrics = commands.add_parser("metrics", help="Self-BLEU and token overlap of plain files")
    which = metrics.add_subparsers(dest="metric", required=True, metavar="METRIC", parser_class=_Parser)
    p = which.add_parser("self-bleu", help="Self-BLEU of a file's texts (lower is more diverse)")
    p.add_argument("file", type=Path)
    _metric_arguments(p)
    p.add_argument("--order", type=int, default=4, help="max n-gram order (BLEU-4 by default)")
    p.add_argument("--smooth", choices=SMOOTH_METHODS, default="exp", help="sacrebleu smoothing method")
    p.set_defaults(func=cmd_self_bleu)
    p = which.add_parser("overlap", help="token-frequency overlap of a gold and a synthetic file")
    p.add_argument("gold_file", type=Path)
    p.add_argument("synthetic_file", type=Path)
    _metric_arguments(p)
    p.add_argument("--top", type=int, default=20, help="how many over- and under-represented tokens")
    p.set_defaults(func=cmd_overlap)

    p = commands.add_parser("analyze", help="the Analysis page's job: Table 2 rows (Self-BLEU, Jaccard, correctness)")
    p.add_argument("--task", required=True)
    p.add_argument("--gold", required=True, help="gold dataset compared with (and analysed itself: the gold row)")
    p.add_argument("--datasets", default="", help="dataset ids to analyse, separated by commas")
    p.add_argument("--classifier-gold", help="quick estimate: gold split its classifier trains on (default: --gold)")
    p.add_argument("--method", choices=("quick", "bert"), default="quick", help="label correctness method")
    p.add_argument("--model", help="bert: a stored model id (`results --runs`) or a model folder japagen wrote")
    p.add_argument("--no-correctness", action="store_true", help="diversity and overlap only")
    p.add_argument("--per-label", type=int, default=1000, help="texts sampled per label (grade for JSTS)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pooled", action="store_true", help="pair tasks: pool both sentences (not the paper's)")
    p.add_argument("--tokenizer", choices=TOKENIZER_KINDS, default="surface")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object (waits for the job)")
    p.add_argument("--wait", action="store_true", help="follow the job until it ends")
    p.set_defaults(func=cmd_analyze)

    p = commands.add_parser("job", help="run, resume, cancel or watch one job")
    p.add_argument("action", choices=("run", "resume", "cancel", "wait"))
    p.add_argument("job", help="job id (or, for run, its folder)")
    p.set_defaults(func=cmd_job)

    p = commands.add_parser("export", help="snapshot a dataset with its review applied and write it to a file")
    p.add_argument("dataset_id", help="the id as `datasets --json` lists it")
    p.add_argument(
        "--format",
        choices=snapshots.EXPORT_FORMATS,
        required=True,
        help="jsonl: the task's gold format; hf: a Hugging Face dataset folder with a card; label-studio: "
        "tasks JSON + labeling config; argilla: a folder for rg.Dataset.from_disk",
    )
    p.add_argument("--exclude-flagged", action=argparse.BooleanOptionalAction, default=True,
                   help="leave out every flagged example (default; --no-exclude-flagged keeps them)")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="a file outside the data directory (JAPAGEN_HOME)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--reviewer", default="cli", help="recorded as who made the snapshot")
    p.set_defaults(func=cmd_export)

    p = commands.add_parser("review", help="review from the command line: import annotations from other tools")
    p.add_argument("action", choices=("import",))
    p.add_argument("file", type=Path, help="Label Studio export JSON, or Argilla records.json (or its folder)")
    p.add_argument("--format", choices=annotation_tools.TOOLS, required=True)
    p.set_defaults(func=cmd_review)

    p = commands.add_parser("train", help="fine-tune BERT on synthetic, gold or mixed data (a background job)")
    p.add_argument("--task", required=True)
    p.add_argument(
        "--data",
        required=True,
        help="snapshot:ID | dataset:ID | gold-fewshot[:K] | gold-full | mix:gold=FRACTION,synthetic=N|all,snapshot=ID",
    )
    p.add_argument("--model", default=DEFAULT_MODEL, help="a Hugging Face model name or a local folder")
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="models per setting, seeds 0..N-1")
    p.add_argument("--epochs", type=float, default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--lr", type=float, default=TrainConfig.learning_rate)
    p.add_argument("--max-length", type=int, help="maximum tokens (default: the task's)")
    p.add_argument("--max-steps", type=int, default=-1, help="stop each model after this many steps (smoke tests)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto")
    p.add_argument("--per-class", help="a scaling series: synthetic examples per class, e.g. 500,1000,5000")
    p.add_argument("--gold", help="gold training split (default: the task's gold 'train' dataset)")
    p.add_argument("--eval", help="gold split to evaluate on (default: the task's test, else valid split)")
    p.add_argument("--exclude-flagged", action=argparse.BooleanOptionalAction, default=True,
                   help="leave flagged examples out of new snapshots (default, as export does; "
                        "--no-exclude-flagged keeps them)")  # fmt: skip
    p.add_argument("--no-save-weights", action="store_true", help="keep config, label map and metrics only")
    p.add_argument("--no-start", action="store_true", help="create the job only (e.g. for accelerate launch)")
    p.add_argument("--wait", action="store_true", help="follow the job until it ends")
    p.set_defaults(func=cmd_train)

    p = commands.add_parser("prompting", help="the PROMPTING baseline: the LLM labels a gold split (a job)")
    p.add_argument("--task", required=True)
    p.add_argument("--shots", type=int, default=0, help="gold examples per class in the prompt (paper: 0 or 5)")
    p.add_argument("--eval", help="gold split to evaluate on (default: the task's test, else valid split)")
    p.add_argument("--fewshot-dataset", help="gold split the few-shot examples come from (default: 'train')")
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS)
    p.add_argument("--model", default=PROMPTING_LLM.model)
    p.add_argument("--base-url", help="an OpenAI-compatible server (default: OpenAI)")
    p.add_argument("--allow-insecure-http", action="store_true",
                   help="send the API key to a plain-http base URL on another host (unencrypted)")  # fmt: skip
    p.add_argument("--temperature", type=float, default=PROMPTING_LLM.temperature)
    p.add_argument("--max-tokens", type=int, default=PROMPTING_LLM.max_tokens)
    p.add_argument("--concurrency", type=int, default=PROMPTING_LLM.concurrency)
    p.add_argument("--rpm", type=int, default=0, help="requests per minute (0: no limit)")
    p.add_argument("--wait", action="store_true", help="follow the job until it ends")
    p.set_defaults(func=cmd_prompting)

    p = commands.add_parser("evaluate", help="score a trained model on a gold split and store its predictions")
    p.add_argument("model_id")
    p.add_argument("--split", required=True, help="gold dataset id to evaluate on")
    p.add_argument("--fresh", action="store_true", help="snapshot the split now even if the model has one of it")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = commands.add_parser("results", help="Table 1 (and the runs behind it) from the stored results")
    p.add_argument("--format", choices=("markdown", "latex", "csv"), default="markdown")
    p.add_argument("--paper", action="store_true", help="add the paper's published rows for comparison")
    p.add_argument("--runs", action="store_true", help="list every stored model instead of the table")
    p.add_argument("--json", action="store_true", help="with --runs: print JSON")
    p.set_defaults(func=cmd_results)

    p = commands.add_parser("report", help="write the one-file HTML report (tables, charts, example cards)")
    p.add_argument("--out", type=Path, required=True, help="the HTML file to write, e.g. report.html")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--task", action="append", help="only this task (repeat for several; default: every task)")
    p.add_argument("--per-label", type=int, default=3, help="example cards per label")
    p.add_argument("--seed", type=int, default=0, help="seed of the example cards' random draw")
    p.set_defaults(func=cmd_report)
    return parser


def _llm_arguments(p: argparse.ArgumentParser, *, temperature: float, annotate: bool = False) -> None:
    defaults = LLMConfig()
    p.add_argument("--model", default=defaults.model,
                   help=f"the model (default {defaults.model}; the paper used gpt-3.5-turbo-0613)")  # fmt: skip
    p.add_argument("--base-url", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (default: OpenAI)")
    p.add_argument("--allow-insecure-http", action="store_true",
                   help="send the API key to a plain-http base URL on another host (unencrypted)")  # fmt: skip
    p.add_argument("--temperature", type=float, default=temperature)
    p.add_argument("--top-p", type=float, default=defaults.top_p)
    p.add_argument("--frequency-penalty", type=float, default=defaults.frequency_penalty)
    p.add_argument("--max-tokens", type=int, default=defaults.max_tokens)
    if not annotate:
        p.add_argument("--n", type=int, default=defaults.n, help="choices per call")
    p.add_argument("--concurrency", type=int, default=defaults.concurrency)
    p.add_argument("--rpm", type=int, default=0, help="requests per minute (0: no limit)")
    p.add_argument("--timeout", type=float, default=defaults.timeout,
                   help="seconds per call attempt, all of it: connect, send and the whole answer")  # fmt: skip
    p.add_argument("--max-retries", type=int, default=defaults.max_retries, help="retries per call")
    p.add_argument("--max-consecutive-failures", type=int, default=defaults.max_consecutive_failures,
                   help="stop the job after this many timeouts/connection errors in a row")  # fmt: skip
    if not annotate:
        p.add_argument("--list-mode", action="store_true", help="ask for a numbered list (servers that ignore n)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--wait", action="store_true", help="follow the job until it ends")


def _backend_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("openai", "local"), default="openai",
                   help="local: run a causal LM (--model folder or Hub name) inside the job")  # fmt: skip
    p.add_argument("--adapter", help="local: a LoRA adapter folder to load on the model")
    p.add_argument("--batch-size", type=int, default=16, help="local: sequences generated per batch")
    p.add_argument("--device", default="auto", help="local: auto, cpu or cuda")
    p.add_argument("--teacher", help="a registered teacher (see: teachers): its model, endpoint and adapter")
    p.add_argument("--batch", action="store_true",
                   help="the OpenAI Batch API: half price, up to 24 h a round (pair tasks: two rounds)")  # fmt: skip
    p.add_argument("--batch-poll-seconds", type=float, default=30.0, help="--batch: seconds between status checks")


def cmd_app(project: None, args: argparse.Namespace) -> int:
    return launch.run_app(port=args.port, read_only=args.read_only)


def cmd_tasks(project: Project, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps([dataclasses.asdict(t) for t in project.registry.values()], ensure_ascii=False, indent=2))
        return
    for task in project.registry.values():
        labels = ", ".join(label.name for label in task.labels)
        kind = "user" if not task.builtin else "paper"
        print(f"{task.name:18} {task.input_kind:6} {task.metric:9} {kind:5} {labels}")


def cmd_import_gold(project: Project, args: argparse.Namespace) -> None:
    task = project.registry[args.task]
    overrides = {
        name: getattr(args, f"{name}_field")
        for name in ("text", "text_b", "label", "score", "id")
        if getattr(args, f"{name}_field") is not None
    }
    fields = dataclasses.replace(task.gold_fields, **overrides) if overrides else None
    options = ImportOptions(
        format=args.format,
        fields=fields,
        livedoor_sizes=args.livedoor_sizes,
        seed=args.seed,
        name=args.name,
        unlabeled=args.unlabeled,
        label_map=parse_label_map(task, args.map_label),
        max_text_chars=project.settings.max_text_chars,
    )
    results = import_gold(project.db, task, args.split, path=args.path, options=options)
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in results], ensure_ascii=False, indent=2))
        return
    for r in results:
        verb = "imported" if r.created else "already imported, nothing changed:"
        print(f"{verb} {r.dataset_id} ({r.rows} rows: {_counts_text(r.counts)})")
    note = None if args.unlabeled else label_id_note(task, options)
    if note:
        print(f"{task.name}: {note}")


def cmd_import_official(project: Project, args: argparse.Namespace) -> None:
    result = import_official(project, args.path)
    for line in result.lines():
        print(line)


def cmd_datasets(project: Project, args: argparse.Namespace) -> None:
    datasets = project.datasets()
    if args.json:
        print(json.dumps(datasets, ensure_ascii=False, indent=2))
        return
    if not datasets:
        print("No datasets yet. Import one with `import-gold`, or load the demo with `demo load`.")
        return
    for d in datasets:
        demo = " [demo]" if d["is_demo"] else ""
        print(
            f"{d['id']:36} {d['task']:16} {d['split']:8} {d['kind']:9} {d['rows']:>8} {_counts_text(d['counts'])}{demo}"
        )


def cmd_delete_dataset(project: Project, args: argparse.Namespace) -> None:
    with project.db.transaction() as con:
        repo.delete_dataset(con, args.dataset_id)
    print(f"deleted {args.dataset_id}")


def cmd_export(project: Project, args: argparse.Namespace) -> None:
    snapshots.check_export_target(project, args.format, args.out, force=args.force)  # before a snapshot is made
    snapshot = snapshots.create_snapshot(
        project, args.dataset_id, exclude_flagged=args.exclude_flagged, created_by=args.reviewer
    )
    out = snapshots.export_snapshot(project, snapshot.id, args.format, args.out, force=args.force)
    left_out = f", {snapshot.flagged_rows} flagged left out" if args.exclude_flagged else ""
    print(f"snapshot {snapshot.id}: {snapshot.rows} rows ({snapshot.relabeled_rows} relabeled{left_out}) -> {out}")


def cmd_review(project: Project, args: argparse.Namespace) -> None:
    done = annotation_tools.import_annotations(project, args.file, args.format)
    print(f"{done.annotations} annotations: {done.relabels} relabel events written, {done.already} unchanged")


def cmd_demo(project: Project, args: argparse.Namespace) -> None:
    if args.action == "load":
        results = load_demo(project.db, project.registry)
        added = sum(r.created for r in results)
        print(f"demo project: {added} dataset(s) added, {len(results) - added} already present")
    else:
        print(f"removed {remove_demo(project.db)} demo dataset(s)")


def _metric_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--text-field", required=True)
    p.add_argument("--label-field", help="sample and report per label (numeric scores: per nearest grade)")
    p.add_argument("--task", help="the task of the file: a score task (JSTS) groups by its grades")
    p.add_argument("--per-label", type=int, help="sample this many rows per label (default: every row)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tokenizer", choices=TOKENIZER_KINDS, default="surface")
    p.add_argument("--json", action="store_true")


def _grades(labels: list[str] | None, task_name: str | None, project: Project) -> tuple[list[str] | None, str]:
    """Labels to sample and group by, and the grouping's name: a score (JSTS) goes to its nearest grade,
    the six grades the paper generates, never one group per distinct float."""
    if labels is None:
        return None, "none"
    task = project.registry[task_name] if task_name else None
    if task is not None and task.target != "score":
        return labels, "label"

    def number(text: str) -> float | None:
        try:
            return float(text)
        except ValueError:
            return None

    values = [number(x) for x in labels]
    is_score = task is not None or (all(v is not None for v in values) and any(not v.is_integer() for v in values))
    if not is_score:
        return labels, "label"
    if any(v is None for v in values):
        raise JapagenError(
            f"--task {task_name} takes numeric scores, got {next(x for x in labels if number(x) is None)!r}"
        )
    grade = task.grade_for_score if task else lambda v: str(int(v + 0.5) if v >= 0 else -int(-v + 0.5))
    return [grade(v) for v in values], "grade"


def _sampled(
    path: Path, args: argparse.Namespace, project: Project
) -> tuple[list[list[str]], list[str] | None, str, str]:
    if args.per_label is not None and not args.label_field:
        raise JapagenError("--per-label needs --label-field")
    if args.per_label is not None and args.per_label < 1:
        raise JapagenError(f"--per-label {args.per_label} must be at least 1")
    texts, labels = load_texts(path, text_field=args.text_field, label_field=args.label_field)
    labels, grouping = _grades(labels, args.task, project)
    keep = sample_per_label(labels if labels is not None else [0] * len(texts), args.per_label, seed=args.seed)
    tokenizer = Tokenizer(args.tokenizer)
    tokens = tokenizer.tokenize_all(texts[i] for i in keep)
    sample_sig = f"{sample_signature(args.per_label, args.seed)}|group:{grouping}|field:{args.text_field}"
    return tokens, [labels[i] for i in keep] if labels is not None else None, tokenizer.signature, sample_sig


def cmd_self_bleu(project: Project, args: argparse.Namespace) -> None:
    tokens, labels, tok_sig, sample_sig = _sampled(args.file, args, project)
    options = {"order": args.order, "smooth_method": args.smooth, "tokenizer_signature": tok_sig,
               "sample_signature": sample_sig}  # fmt: skip
    try:
        result = self_bleu(tokens, **options)
        per_label = {}
        for name in sorted(set(labels or [])):
            group = [t for t, label in zip(tokens, labels, strict=True) if label == name]
            per_label[name] = self_bleu(group, **options).score if len(group) > 1 else None
    except ValueError as exc:
        raise JapagenError(f"{args.file}: {exc}") from None
    out = {"self_bleu": result.score, "texts": len(tokens), "per_label": per_label, "signature": result.signature}
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(f"Self-BLEU {result.score:.2f} over {len(tokens):,} texts  [{result.signature}]")
        for name, value in per_label.items():
            print(f"  {name}: {value:.2f}" if value is not None else f"  {name}: (one text)")


def cmd_overlap(project: Project, args: argparse.Namespace) -> None:
    gold, gold_labels, tok_sig, sample_sig = _sampled(args.gold_file, args, project)
    syn, syn_labels, _, _ = _sampled(args.synthetic_file, args, project)
    try:
        result = overlap(count_tokens(gold), count_tokens(syn), top=args.top, tokenizer_signature=tok_sig,
                         sample_signature=sample_sig)  # fmt: skip
        per_label = {}
        for name in sorted(set(gold_labels or []) & set(syn_labels or [])):
            g = count_tokens(t for t, label in zip(gold, gold_labels, strict=True) if label == name)
            s = count_tokens(t for t, label in zip(syn, syn_labels, strict=True) if label == name)
            per_label[name] = overlap(g, s, top=0).weighted_jaccard if g and s else None
    except ValueError as exc:
        raise JapagenError(str(exc)) from None
    out = {**result.as_dict(), "per_label": per_label}
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(f"weighted Jaccard {result.weighted_jaccard:.4f}  [{result.signature}]")
        print(f"  only in gold: {result.only_gold_types:,} tokens, {result.only_gold_mass:.1%} of the gold mass")
        print(f"  only in synthetic: {result.only_synthetic_types:,} tokens, {result.only_synthetic_mass:.1%} of it")
        print(f"  in both: {result.both_types:,} tokens")


def cmd_analyze(project: Project, args: argparse.Namespace) -> int:
    from japagen_core.analysis import AnalysisConfig, summarize  # scikit-learn loads only for this command

    task = project.registry[args.task]
    if args.method == "bert" and not args.model:
        raise JapagenError("--method bert needs --model (a stored model id or a model folder)")
    train = None if args.no_correctness or args.method == "bert" else (args.classifier_gold or args.gold)
    cfg = AnalysisConfig(
        reference=args.gold, datasets=[d.strip() for d in args.datasets.split(",") if d.strip()], train=train,
        per_label=args.per_label, seed=args.seed, tokenizer=args.tokenizer,
        pair_texts="pooled" if args.pooled else "per-field", method=args.method,
        model=None if args.no_correctness else args.model,
    )  # fmt: skip
    if cfg.check(project).name != task.name:
        raise JapagenError(f"{args.gold} is not a {task.name} dataset")
    job = submit(project, "analysis", cfg)
    if not (args.wait or args.json):
        print(f"started job {job.id}")
        return 0
    print(f"started job {job.id}", file=sys.stderr)
    _wait(project, job.id, quiet=args.json)
    summary = summarize(
        project.db, task.name, args.gold, JobStore(project.settings.jobs_dir).get(job.id).result["analyses"]
    )
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    for entry in summary["datasets"]:
        bleu = ", ".join(f"{f} {v:.2f}" for f, v in (entry["self_bleu"] or {}).items() if v is not None)
        jac = ", ".join(f"{f} {v:.4f}" for f, v in (entry["jaccard"] or {}).items() if v is not None)
        print(f"{entry['id']}: Self-BLEU {bleu or '-'}; Jaccard {jac or '-'}")
        corr = entry["label_correctness"]
        if corr:
            main = (
                f"MSE {corr['mse']:.3f}"
                if "mse" in corr
                else (f"accuracy {corr['accuracy']:.2%}, balanced {corr['balanced_accuracy']:.2%}")
            )
            flag = " DEGENERATE" if corr["degenerate"] else ""
            print(f"  label correctness ({corr['method_name']}, trained on {corr['trained_on']}, n {corr['n']}): "
                  f"{main}{flag}")  # fmt: skip
    return 0


def _llm_config(args: argparse.Namespace) -> dict:
    return asdict(
        LLMConfig(
            model=args.model,
            base_url=args.base_url,
            temperature=args.temperature,
            top_p=args.top_p,
            frequency_penalty=args.frequency_penalty,
            max_tokens=args.max_tokens,
            n=getattr(args, "n", 1),
            concurrency=args.concurrency,
            requests_per_minute=args.rpm,
            timeout=args.timeout,
            max_retries=args.max_retries,
            max_consecutive_failures=args.max_consecutive_failures,
            allow_insecure_http=args.allow_insecure_http,
        )
    )


def _backend(project: Project, args: argparse.Namespace) -> dict[str, Any]:
    """The RunConfig fields of --backend / --teacher / --batch, with the LLM settings (a teacher sets the model)."""
    if args.batch:
        from japagen_core.generation.batch import batch_settings_dict  # the Batch API's SDK loads only for --batch

        batch = {"batch": batch_settings_dict(poll_seconds=args.batch_poll_seconds)}
    else:
        batch = {}
    llm = _llm_config(args)
    if args.teacher:
        fields = teachers.run_fields(project, teachers.registry.get_teacher(project, args.teacher))
        llm.update(model=fields.pop("model"), base_url=fields.pop("base_url"))
        if fields["backend"] == "local":
            fields["local"] = {**fields["local"], "batch_size": args.batch_size, "device": args.device}
        return {"llm": llm, **fields, **batch}
    local = {"adapter": args.adapter, "batch_size": args.batch_size, "device": args.device}
    if args.backend == "openai" and args.adapter:
        raise JapagenError("--adapter is for --backend local")
    return {"llm": llm, "backend": args.backend, "local": local if args.backend == "local" else {}, **batch}


def cmd_generate(project: Project, args: argparse.Namespace) -> int:
    per_label = args.per_label
    if args.paper_scale:
        if per_label not in (None, PAPER_PER_LABEL):
            raise JapagenError(f"--paper-scale generates {PAPER_PER_LABEL:,} per label: leave out --per-label")
        per_label = PAPER_PER_LABEL
    elif per_label is None:
        raise JapagenError("--per-label is required (or --paper-scale for the paper's 25,000)")
    cfg = RunConfig(
        mode="generate",
        task=args.task,
        run_id=new_run_id(args.task, args.setting),
        setting=args.setting,
        per_label=per_label,
        seed=args.seed,
        fewshot_dataset=args.fewshot_dataset,
        list_mode=args.list_mode,
        preset=args.preset,
        pair_protocol=args.pair_protocol,
        fewshot_draw=args.fewshot_draw,
        **_backend(project, args),
    )
    if args.paper_scale or args.estimate:
        _show_estimate(project, cfg, paper=args.paper_scale)
        if args.estimate or not args.yes:
            print("nothing started" + ("" if args.estimate else " (add --yes to start this run)"))
            return 0
    return _submit(project, cfg, args.wait)


def _show_estimate(project: Project, cfg: RunConfig, *, paper: bool) -> None:
    """Print what the run will take (refusing --paper-scale with other sampling than the paper's)."""
    cfg.check(project)
    task, llm = project.registry[cfg.task], LLMConfig(**cfg.llm)
    if paper and (differ := paper_sampling(llm)):
        raise JapagenError("--paper-scale uses the paper's sampling, but " + "; ".join(differ))
    spec = load_preset_spec(project, task, cfg.preset)
    estimate = estimate_run(
        task,
        cfg.per_label,
        llm,
        batch=bool(cfg.batch),
        prompt_chars=prompt_chars(spec, task, cfg.setting),
        pair_protocol=cfg.pair_protocol,
    )
    print(f"{task.name} · {cfg.setting} · {llm.model} · {cfg.per_label:,} per label")
    for line in estimate.lines(llm.model):
        print("  " + line)


def cmd_annotate(project: Project, args: argparse.Namespace) -> int:
    cfg = RunConfig(
        mode="annotate",
        task=args.task,
        run_id=new_run_id(args.task, "annotated"),
        seed=args.seed,
        source_dataset=args.dataset,
        list_mode=False,
        **_backend(project, args),
    )
    return _submit(project, cfg, args.wait)


def _submit(project: Project, cfg: RunConfig, wait: bool) -> int:
    job = submit(project, cfg.mode, cfg)
    print(f"started job {job.id} (dataset {cfg.run_id} when it succeeds)")
    return _wait(project, job.id) if wait else 0


def _progress_text(kind: str, raw: dict[str, Any] | Progress, *, position: int | None = None) -> str:
    """One line of a job's progress (any kind), from its progress.json."""
    progress = raw if isinstance(raw, Progress) else Progress.from_json(raw)
    if position is not None:
        return f"queued, position {position}" + (f" ({progress.message})" if progress.message else "")
    p = progress.flat()
    if kind == "train":
        return train_progress_line(p)
    if kind in ("generate", "annotate"):
        return progress_line(p) + (f" · {p['message']}" if p.get("batch") and p.get("message") else "")
    count = f"{progress.done:,}/{progress.target or '?'}" + (f" {progress.unit}" if progress.unit else "")
    return f"{progress.message} ({count})"


def _wait(project: Project, job_id: str, *, quiet: bool = False) -> int:
    store = JobStore(project.settings.jobs_dir)
    while True:
        job = store.get(job_id)
        if job.progress and not quiet:
            text = _progress_text(job.kind, job.progress, position=resources.position(store, job))
            print(f"\r{job.state}: {text}", end="", file=sys.stderr, flush=True)
        if job.state not in ("running", "queued"):
            break
        time.sleep(0.5)
    print(file=sys.stderr)
    if job.state != "succeeded":
        raise JapagenError(f"job {job.id} {job.state}: {job.result.get('message', '')} (log: {job.log_path})")
    if job.kind == "analysis":
        print(f"job {job.id} succeeded: {job.result.get('message', '')}", file=sys.stderr)
        return 0
    if job.kind in ("train", "prompting"):
        print(f"job {job.id} succeeded: run {job.result.get('run_id')} ({job.result.get('message', '')})")
        print(f"  {kinds.summary(job).text}")  # the metric over the seeds
        return 0
    if job.kind.startswith("teacher-"):
        print(f"job {job.id} succeeded: teacher {job.result.get('teacher_id')} ({job.result.get('model')})")
        return 0
    print(f"job {job.id} succeeded: dataset {job.result.get('dataset_id')} ({job.result.get('message', '')})")
    return 0


def job_row(store: JobStore, job) -> dict[str, Any]:
    """A job as ``jobs --json`` lists it: state, place in the queue, progress (one shape for every kind)."""
    summary = kinds.summary(job)
    return {
        "id": job.id, "kind": job.kind, "title": kinds.title(job.kind), "state": job.state,
        "position": resources.position(store, job), "progress": Progress.from_json(job.progress).to_json(),
        "task": job.config.get("task"), "describe": kinds.describe(job), "summary": summary.text,
        "links": [dataclasses.asdict(link) for link in summary.links],
        "resumable": job.state in ("interrupted", "cancelled", "failed") and kinds.resumable(job) is None,
        "created_at": job.created_at, "result": job.result, "dir": str(job.dir),
    }  # fmt: skip


def cmd_jobs(project: Project, args: argparse.Namespace) -> None:
    store = JobStore(project.settings.jobs_dir)
    jobs = store.list()
    if args.json:
        print(json.dumps([job_row(store, j) for j in jobs], ensure_ascii=False, indent=2, default=str))
        return
    if not jobs:
        print("No jobs yet. Start one with `generate` or `annotate`.")
    for j in jobs:
        position = resources.position(store, j)
        text = _progress_text(j.kind, j.progress, position=position) if j.progress or position is not None else ""
        print(f"{j.id:48} {j.state:11} {text}")


def cmd_job(project: Project, args: argparse.Namespace) -> int:
    if args.action == "run":
        from japagen_core.jobs.runner import run_job

        return run_job(Path(args.job))
    store = JobStore(project.settings.jobs_dir)
    job = store.get(args.job)
    if args.action == "cancel":
        print(store.cancel(job))
    elif args.action == "resume":
        stopped = job.state in ("interrupted", "cancelled", "failed")  # else store.start says why not
        if stopped and (reason := kinds.resumable(job)) is not None:
            raise JapagenError(f"job {job.id} ({job.state}) cannot resume: {reason}")
        store.start(job)
        print(f"resumed {job.id}")
    else:
        return _wait(project, job.id)
    return 0


def _sizes(text: str | None) -> list[int]:
    if not text:
        return []
    try:
        return [int(s.replace("_", "").replace("k", "000")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise TrainingError(f"--per-class {text!r} must be numbers separated by commas, e.g. 500,1000,5000") from None


def cmd_train(project: Project, args: argparse.Namespace) -> int:
    data = parse_data(args.data, gold_dataset=args.gold, sizes=_sizes(args.per_class),
                      exclude_flagged=args.exclude_flagged)  # fmt: skip
    train = TrainConfig(model=args.model, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                        max_length=args.max_length, max_steps=args.max_steps, precision=args.precision,
                        save_weights=not args.no_save_weights)  # fmt: skip
    request = TrainRequest(task=args.task, data=data, eval_dataset=args.eval, seeds=args.seeds, train=train)
    if not args.no_start and (problem := check_model_available(train.model)):  # --no-start may run elsewhere
        raise TrainingError(problem)
    job = submit(project, "train", request, start=not args.no_start)
    plan = job.config
    models = len(plan["seeds"]) * len(plan["sizes"])
    snapshots_used = ", ".join(
        f"{name} snapshot {plan[key]}"
        for name, key in (("synthetic", "synthetic_snapshot"), ("gold", "gold_snapshot"), ("eval", "eval_snapshot"))
        if plan[key] is not None
    )
    verb = "created" if args.no_start else "started"
    print(f"{verb} job {job.id}: {models} model(s) of run {plan['run_id']} ({snapshots_used})")
    if args.no_start:
        print(f"run it with: accelerate launch -m japagen_core job run {job.dir}")
        return 0
    return _wait(project, job.id) if args.wait else 0


def cmd_prompting(project: Project, args: argparse.Namespace) -> int:
    llm = dataclasses.replace(PROMPTING_LLM, model=args.model, base_url=args.base_url, temperature=args.temperature,
                              max_tokens=args.max_tokens, concurrency=args.concurrency,
                              requests_per_minute=args.rpm, allow_insecure_http=args.allow_insecure_http)  # fmt: skip
    request = PromptingRequest(task=args.task, shots=args.shots, eval_dataset=args.eval,
                               fewshot_dataset=args.fewshot_dataset, seeds=args.seeds, llm=asdict(llm))  # fmt: skip
    job = submit(project, "prompting", request)
    print(f"started job {job.id}: {len(job.config['seeds'])} seed(s) of run {job.config['run_id']}")
    return _wait(project, job.id) if args.wait else 0


def _teacher_request(args: argparse.Namespace) -> teachers.TeacherRequest:
    if args.backend == "local" and not args.model:
        raise JapagenError("--backend local needs --model: a local model folder (or a Hub name in the local cache)")
    if args.backend == "openai" and args.epochs != int(args.epochs):
        raise JapagenError(f"--epochs {args.epochs}: OpenAI fine-tuning takes a whole number of epochs")
    openai_settings = {"n_epochs": int(args.epochs), "suffix": args.suffix or None, "seed": args.seed,
                       "poll_seconds": args.poll_seconds}  # fmt: skip
    lora = {"r": args.lora_r, "alpha": args.lora_alpha, "dropout": args.lora_dropout, "epochs": args.epochs,
            "learning_rate": args.lr, "batch_size": args.batch_size, "max_length": args.max_length,
            "max_steps": args.max_steps, "device": args.device, "seed": args.seed}  # fmt: skip
    return teachers.TeacherRequest(
        task=args.task, backend=args.backend, base_model=args.model or DEFAULT_BASE_MODEL, data=args.data,
        purpose=args.purpose, gold_dataset=args.gold, base_url=args.base_url, seed=args.seed,
        allow_insecure_http=args.allow_insecure_http,
        exclude_flagged=args.exclude_flagged, openai=openai_settings if args.backend == "openai" else {},
        lora=lora if args.backend == "local" else {},
    )  # fmt: skip


def cmd_teacher_tune(project: Project, args: argparse.Namespace) -> int:
    request = _teacher_request(args)
    if args.out:
        check_output_path(project.settings, args.out, force=args.force)
    if args.dry_run or args.out:
        prepared = teachers.prepare(project, request)
        if args.out:
            write_output(project.settings, args.out, prepared.file.data, force=args.force)
            print(f"wrote {len(prepared.file.records)} conversations to {args.out}", file=sys.stderr)
        if args.dry_run:
            summary = prepared.summary()
            if args.json:
                print(json.dumps(summary, ensure_ascii=False, indent=2))
                return 0
            cost = summary["cost_usd_estimate"]
            print(f"{summary['examples']} conversations from {summary['source_dataset']} ({summary['data']}): "
                  f"{_counts_text(summary['answers_per_label'])}")  # fmt: skip
            print(f"~{summary['tokens_estimate']:,} tokens per epoch x {summary['epochs']:g} epochs = "
                  f"~{summary['trained_tokens_estimate']:,} training tokens ({summary['token_count']})")  # fmt: skip
            cost_text = "unknown for this model" if cost is None else f"${cost:,.2f}"
            print("estimated cost: " + ("none (a local model)" if request.backend == "local" else cost_text))
            first = prepared.file.records[0]["messages"]
            print("first conversation:\n" + "\n".join(f"  [{m['role']}] {m['content']}" for m in first))
            return 0
    teacher, job = teachers.submit_teacher(project, request)
    cost = job.config["summary"]["cost_usd_estimate"]
    cost_text = "" if cost in (None, 0.0) else f", about ${cost:,.2f}"
    print(f"started job {job.id}: teacher {teacher.id} ({teacher.examples} conversations{cost_text})")
    return _wait(project, job.id) if args.wait else 0


def cmd_teachers(project: Project, args: argparse.Namespace) -> None:
    found = teachers.list_teachers(project, task=args.task)
    if args.json:
        print(json.dumps([dataclasses.asdict(t) for t in found], ensure_ascii=False, indent=2, default=str))
        return
    if not found:
        print("No teachers yet. Tune one with `teacher-tune` (or the Teachers page).")
    for t in found:
        model = t.model or "—"
        print(f"{t.id:52} {t.task:10} {t.backend:6} {t.status:9} {t.data_spec:16} {t.base_model} -> {model}")


def cmd_evaluate(project: Project, args: argparse.Namespace) -> None:
    from japagen_core.training.finetune import evaluate_stored  # torch loads only for this command

    result = evaluate_stored(project, args.model_id, args.split, fresh=args.fresh)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return
    m = result["metrics"]
    extra = ", ".join(f"{k} {v:.4f}" for k, v in m.items() if k not in ("main", "metric") and isinstance(v, float))
    where = f"{args.model_id} on {args.split} (snapshot {result['snapshot_id']})"
    main = "undefined" if m["main"] is None else f"{m['main']:.4f}"
    print(f"{where}: {m['metric']} {main} ({extra})")


def cmd_results(project: Project, args: argparse.Namespace) -> None:
    from japagen_core.training import results, store

    models = store.list_models(project)
    if args.runs:
        if args.json:
            print(json.dumps(models, ensure_ascii=False, indent=2, default=str))
            return
        for m in models:
            score = "—" if m["score"] is None else f"{100 * m['score']:.2f}"
            what = f"{m['task']:10} {m['method']:11} {m['setting']:18} seed {m['seed']}"
            print(f"{m['id']:56} {what} {m['metric']} {score}")
        return
    table = results.build_table1(models, project.registry, paper=args.paper)
    if table.empty and not args.paper:
        print("No results yet. Train with `train` (or the Train page), or add the paper's rows with --paper.")
        return
    render = results.EXPORTS[args.format][0]
    print(render(table), end="")


def cmd_report(project: Project, args: argparse.Namespace) -> None:
    from japagen_core import report  # altair and vl-convert load only for this command

    check_output_path(project.settings, args.out, force=args.force)  # refused before the work of gathering
    data = report.gather(project, tasks=args.task, per_label=args.per_label, seed=args.seed)
    if not data.tasks:
        raise JapagenError("nothing to report: the store has no datasets (load the demo or import data first)")
    size = report.write_report(data, args.out, project.settings, force=args.force)
    examples = sum(d.rows for t in data.tasks for d in t.datasets)
    models = "no trained models" if data.table1 is None else f"Table 1 with {len(data.table1.rows)} rows"
    print(f"wrote {args.out} ({size / 1024:,.0f} KiB): {len(data.tasks)} task(s), {examples:,} examples, {models}")


def _counts_text(counts: dict[str, Any]) -> str:
    return ", ".join(f"{label} {n}" for label, n in counts.items())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        if not getattr(args, "project", True):  # `app`: the app opens the store itself
            return args.func(None, args) or 0
        project = Project.open()
        for problem in project.registry.problems:
            print(f"warning: skipped a task file: {problem}", file=sys.stderr)
        code = args.func(project, args)
    except JapagenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI's contract is one line; JAPAGEN_DEBUG=1 re-raises with the traceback
        if os.environ.get("JAPAGEN_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (JAPAGEN_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 2
    return code or 0
