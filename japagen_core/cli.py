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
from pathlib import Path
from typing import Any

from japagen_core.datasets.importers import FORMATS, ImportOptions, import_gold
from japagen_core.demo import load_demo, remove_demo
from japagen_core.errors import JapagenError
from japagen_core.project import Project
from japagen_core.storage import repository as repo

log = logging.getLogger("japagen_core")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m japagen_core", description="japagen: Japanese classifiers from LLM data.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

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
    return parser


def cmd_tasks(project: Project, args: argparse.Namespace) -> None:
    if args.json:
        tasks = [
            {**dataclasses.asdict(task), "labels": [dataclasses.asdict(label) for label in task.labels]}
            for task in project.registry.values()
        ]
        print(json.dumps(tasks, ensure_ascii=False, indent=2))
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
        format=args.format, fields=fields, livedoor_sizes=args.livedoor_sizes, seed=args.seed, name=args.name
    )
    results = import_gold(project.db, task, args.split, path=args.path, options=options)
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in results], ensure_ascii=False, indent=2))
        return
    for r in results:
        verb = "imported" if r.created else "already imported, nothing changed:"
        print(f"{verb} {r.dataset_id} ({r.rows} rows: {_counts_text(r.counts)})")


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


def cmd_demo(project: Project, args: argparse.Namespace) -> None:
    if args.action == "load":
        results = load_demo(project.db, project.registry)
        added = sum(r.created for r in results)
        print(f"demo project: {added} dataset(s) added, {len(results) - added} already present")
    else:
        print(f"removed {remove_demo(project.db)} demo dataset(s)")


def _counts_text(counts: dict[str, Any]) -> str:
    return ", ".join(f"{label} {n}" for label, n in counts.items())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        args.func(Project.open(), args)
    except JapagenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        hint = "" if os.environ.get("JAPAGEN_DEBUG") else " (run with JAPAGEN_DEBUG=1 for the traceback)"
        if os.environ.get("JAPAGEN_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 2
    return 0
