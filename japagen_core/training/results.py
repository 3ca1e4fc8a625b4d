"""The paper's Table 1 and Figure 3 from stored runs, and their Markdown / LaTeX / CSV exports.

Pure functions over the model dicts of ``store.list_models`` (no database here), so a table is the
same wherever it is built. Scores are shown x 100 (accuracy in %, Spearman and MCC x 100), as mean ±
sample standard deviation over seeds.

Which runs fill a cell: the models of a row (method, setting) and task come from one submission —
the most recent one — and, for a scaling series, its largest size; every other run stays reachable
through the cell's details and the Figure 3 data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from japagen_core.tasks import Task
from japagen_core.training.config import TABLE1_ROWS, row_title
from japagen_core.training.evaluate import mean_std

PAPER_TASKS = ("marc_ja", "jsts", "jnli", "jcola", "livedoor", "covid19")
METRIC_SHORT = {"accuracy": "Acc.", "spearman": "Spearman", "mcc": "MCC"}
# Table 1 of Fujii & Katsumata (mean, std over five seeds), for comparison; 'Avg.' as printed there.
PAPER_TABLE1: dict[tuple[str, str], dict[str, tuple[float, float]]] = {
    ("fine-tuning", "fully-supervised"): {"marc_ja": (95.78, 0.1), "jsts": (87.47, 0.5), "jnli": (90.19, 0.4),
                                          "jcola": (40.62, 1.2), "livedoor": (95.75, 0.4), "covid19": (78.49, 0.3)},
    ("fine-tuning", "few-shot"): {"marc_ja": (61.57, 8.5), "jsts": (14.80, 11.3), "jnli": (37.72, 13.4),
                                  "jcola": (-0.85, 3.5), "livedoor": (51.98, 5.3), "covid19": (42.24, 9.4)},
    ("prompting", "zero-shot"): {"marc_ja": (94.82, 0.2), "jsts": (68.53, 0.6), "jnli": (41.53, 1.0),
                                 "jcola": (24.76, 1.2), "livedoor": (40.27, 1.3), "covid19": (62.76, 0.6)},
    ("prompting", "few-shot"): {"marc_ja": (97.38, 0.2), "jsts": (78.50, 2.0), "jnli": (35.86, 5.3),
                                "jcola": (26.00, 2.9), "livedoor": (44.82, 2.9), "covid19": (65.44, 3.4)},
    ("japagen", "zero-shot"): {"marc_ja": (77.76, 5.4), "jsts": (72.47, 0.1), "jnli": (46.49, 1.5),
                               "jcola": (18.17, 1.7), "livedoor": (57.37, 2.1), "covid19": (34.36, 6.4)},
    ("japagen", "kadg"): {"marc_ja": (83.24, 6.0), "jsts": (71.49, 1.2), "jnli": (46.04, 0.4),
                          "jcola": (16.22, 0.5), "livedoor": (59.00, 1.4), "covid19": (26.29, 0.8)},
    ("japagen", "few-shot"): {"marc_ja": (62.97, 7.3), "jsts": (72.56, 0.3), "jnli": (50.82, 0.8),
                              "jcola": (14.54, 1.1), "livedoor": (62.86, 2.8), "covid19": (43.13, 1.5)},
}  # fmt: skip
# The 'Avg.' column as the paper prints it (shown when the table has all six tasks).
PAPER_AVG = {("fine-tuning", "fully-supervised"): 82.82, ("fine-tuning", "few-shot"): 37.40,
             ("prompting", "zero-shot"): 57.66, ("prompting", "few-shot"): 61.72, ("japagen", "zero-shot"): 54.23,
             ("japagen", "kadg"): 50.38, ("japagen", "few-shot"): 51.15}  # fmt: skip


@dataclass(frozen=True)
class Cell:
    """One task's result in a row: mean and std (x 100) over the seeds of the runs it shows."""

    mean: float | None
    std: float | None
    n: int
    models: tuple[str, ...] = ()
    run_id: str | None = None
    eval_dataset: str | None = None
    invalid: bool = False  # a run's metric is undefined, or most of its answers named no label

    def text(self, *, digits: int = 2) -> str:
        if self.mean is None:
            return "invalid" if self.invalid else "—"
        if self.std is None:  # one seed (a paper row always has its std)
            shown = f"{self.mean:.{digits}f} (1 seed)"
        else:
            shown = f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"
        return f"{shown} (invalid)" if self.invalid else shown


@dataclass(frozen=True)
class Row:
    method: str
    setting: str
    block: str  # FINE-TUNING, PROMPTING, JAPAGEN, ...
    title: str  # Fully supervised, Zero-shot, w/ KADG, ...
    cells: dict[str, Cell]
    average: float | None
    paper: bool = False  # the paper's published numbers, not runs of this project


@dataclass(frozen=True)
class Table1:
    tasks: list[str]
    headers: dict[str, str]  # task -> column header, e.g. "JNLI Acc."
    rows: list[Row]
    best: dict[str, tuple[int, ...]] = field(default_factory=dict)  # column (task or "avg") -> best own rows

    @property
    def empty(self) -> bool:
        return not any(not r.paper for r in self.rows)


def _order(method: str, setting: str) -> tuple[int, str, str]:
    keys = list(TABLE1_ROWS)
    return (keys.index((method, setting)) if (method, setting) in keys else len(keys), method, setting)


def _task_order(names: Sequence[str]) -> list[str]:
    return sorted(set(names), key=lambda t: (PAPER_TASKS.index(t) if t in PAPER_TASKS else len(PAPER_TASKS), t))


def select_cell_models(models: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The models a cell shows: the most recent submission's largest scaling size (None = all data)."""
    if not models:
        return []
    latest = max(models, key=lambda m: (str(m["created_at"]), m["id"]))["run_id"]
    of_run = [m for m in models if m["run_id"] == latest]
    sizes = {m["per_class"] for m in of_run}
    size = None if None in sizes else max(sizes)
    return [m for m in of_run if m["per_class"] == size]


def run_is_invalid(model: Mapping[str, Any]) -> bool:
    """A run that cannot stand as a result: its metric is undefined, or most of its answers named no label
    (a PROMPTING run whose LLM never answered with a label "succeeds" with a meaningless score)."""
    metrics = model.get("metrics") or {}
    examples = metrics.get("examples") or 0
    return model["score"] is None or (examples > 0 and (metrics.get("unparsable") or 0) > examples / 2)


def _cell(models: Sequence[Mapping[str, Any]]) -> Cell:
    chosen = select_cell_models(models)
    if not chosen:
        return Cell(None, None, 0)
    mean, std, n = mean_std([None if m["score"] is None else 100 * m["score"] for m in chosen])
    return Cell(mean, std, n, tuple(m["id"] for m in chosen), chosen[0]["run_id"], chosen[0]["eval_dataset_id"],
                invalid=any(run_is_invalid(m) for m in chosen))  # fmt: skip


def build_table1(models: Sequence[Mapping[str, Any]], tasks: Mapping[str, Task], *, paper: bool = False) -> Table1:
    """Table 1 over stored models: a row per (method, setting) in the paper's order (others after), a
    column per task that has results (the paper's six when there are none and ``paper`` is set)."""
    columns = _task_order([m["task"] for m in models]) or (list(PAPER_TASKS) if paper else [])
    headers = {t: _header(t, tasks) for t in columns}
    groups: dict[tuple[str, str], dict[str, list]] = {}
    for m in models:
        groups.setdefault((m["method"], m["setting"]), {}).setdefault(m["task"], []).append(m)
    rows = []
    for method, setting in sorted(groups, key=lambda k: _order(*k)):
        cells = {t: _cell(groups[(method, setting)].get(t, [])) for t in columns}
        rows.append(Row(method, setting, *row_title(method, setting), cells, _average(cells, columns)))
    best = _best(rows, columns)
    if paper:
        for (method, setting), values in PAPER_TABLE1.items():
            cells = {t: Cell(*values[t], n=5) if t in values else Cell(None, None, 0) for t in columns}
            block, title = row_title(method, setting)
            average = PAPER_AVG[(method, setting)] if set(columns) == set(PAPER_TASKS) else _average(cells, columns)
            rows.append(Row(method, setting, f"{block} (paper)", title, cells, average, paper=True))
    return Table1(columns, headers, rows, best)


def _header(task: str, tasks: Mapping[str, Task]) -> str:
    if task not in tasks:
        return task
    t = tasks[task]
    return f"{t.title} {METRIC_SHORT.get(t.metric, t.metric)}"


def _average(cells: Mapping[str, Cell], columns: Sequence[str]) -> float | None:
    """The mean over the columns, only when the row has every one (a partial mean would mislead)."""
    values = [cells[t].mean for t in columns]
    if not values or any(v is None for v in values):
        return None
    return sum(values) / len(values)


def _best(rows: Sequence[Row], columns: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Per column the rows with the highest mean as shown (2 decimals): ties are all marked. An invalid
    cell is never best (nor is the average of a row holding one)."""
    best = {}
    for column in [*columns, "avg"]:
        scored = [
            (r.average if column == "avg" else r.cells[column].mean, i)
            for i, r in enumerate(rows)
            if not (r.cells[column].invalid if column != "avg" else any(c.invalid for c in r.cells.values()))
        ]
        scored = [(round(v, 2), i) for v, i in scored if v is not None]
        if scored:
            top = max(v for v, _ in scored)
            best[column] = tuple(i for v, i in scored if v == top)
    return best


# --- rendering -----------------------------------------------------------------------------------


def table1_frame(table: Table1, *, mark: str = "★") -> pd.DataFrame:
    """The table as strings, for display: 'mean ± std', the best own result per column marked."""
    records = []
    for i, row in enumerate(table.rows):
        record = {"Method": row.block, "Setting": row.title}
        for t in table.tasks:
            text = row.cells[t].text()
            record[table.headers[t]] = f"{text} {mark}" if i in table.best.get(t, ()) else text
        avg = "—" if row.average is None else f"{row.average:.2f}"
        record["Avg."] = f"{avg} {mark}" if i in table.best.get("avg", ()) else avg
        records.append(record)
    return pd.DataFrame(records, columns=["Method", "Setting", *[table.headers[t] for t in table.tasks], "Avg."])


def to_markdown(table: Table1) -> str:
    frame = table1_frame(table, mark="")
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for i, values in enumerate(frame.itertuples(index=False)):
        cells = [str(v).strip() for v in values]
        for j, t in enumerate([*table.tasks, "avg"]):
            if i in table.best.get(t, ()):
                cells[2 + j] = f"**{cells[2 + j]}**"
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


_LATEX_ESCAPES = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}  # fmt: skip


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(c, c) for c in text)


def to_latex(table: Table1) -> str:
    """A booktabs tabular, best own result per column in bold, std as a small ± subscript-like suffix."""
    columns = [*table.tasks, "avg"]
    header = " & ".join(["Method", "Setting", *[_latex_escape(table.headers[t]) for t in table.tasks], "Avg."])
    lines = [r"\begin{tabular}{ll" + "r" * len(columns) + "}", r"\toprule", header + r" \\", r"\midrule"]
    block = None
    for i, row in enumerate(table.rows):
        if block is not None and row.block != block:
            lines.append(r"\midrule")
        block = row.block
        cells = [_latex_escape(row.block), _latex_escape(row.title)]
        for t in columns:
            mean, std = (row.average, None) if t == "avg" else (row.cells[t].mean, row.cells[t].std)
            if mean is None:
                cells.append("--")
                continue
            number = f"{mean:.2f}"
            if i in table.best.get(t, ()):
                number = rf"\textbf{{{number}}}"
            cells.append(number + (rf" {{\scriptsize $\pm${std:.2f}}}" if std is not None else ""))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_csv(table: Table1) -> str:
    """Long format, one line per row and task: the numbers themselves, not display strings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["method", "setting", "task", "column", "mean", "std", "seeds", "best", "source", "run_id",
                     "eval_dataset", "models"])  # fmt: skip
    for i, row in enumerate(table.rows):
        for t in [*table.tasks, "avg"]:
            cell = Cell(row.average, None, 0) if t == "avg" else row.cells[t]
            writer.writerow([
                row.method, row.setting, t, table.headers.get(t, "Avg."),
                "" if cell.mean is None else f"{cell.mean:.4f}", "" if cell.std is None else f"{cell.std:.4f}",
                cell.n, i in table.best.get(t, ()), "paper" if row.paper else "japagen", cell.run_id or "",
                cell.eval_dataset or "", " ".join(cell.models),
            ])  # fmt: skip
    return out.getvalue()


EXPORTS = {"markdown": (to_markdown, "md", "text/markdown"), "latex": (to_latex, "tex", "application/x-tex"),
           "csv": (to_csv, "csv", "text/csv")}  # fmt: skip


# --- Figure 3 ------------------------------------------------------------------------------------


def scaling_points(models: Sequence[Mapping[str, Any]], tasks: Mapping[str, Task]) -> pd.DataFrame:
    """Figure 3: score (x 100, mean ± std over seeds) against synthetic examples per class, per task and
    JAPAGEN setting. A run on a whole snapshot counts at its examples per class."""
    groups: dict[tuple[str, str, int], list] = {}
    for m in models:
        if m["method"] != "japagen" or m["kind"] != "finetune":
            continue
        per_class = m["per_class"]
        if per_class is None:
            classes = len(tasks[m["task"]].labels) if m["task"] in tasks else 1
            per_class = round((m["train_examples"] or 0) / max(classes, 1))
        groups.setdefault((m["task"], m["setting"], per_class), []).append(m)
    records = []
    for (task, setting, per_class), group in sorted(groups.items()):
        latest = max(group, key=lambda m: (str(m["created_at"]), m["id"]))["run_id"]
        chosen = [m for m in group if m["run_id"] == latest]
        mean, std, n = mean_std([None if m["score"] is None else 100 * m["score"] for m in chosen])
        records.append({"task": task, "setting": setting, "per_class": per_class, "mean": mean, "std": std,
                        "seeds": n, "run_id": latest})  # fmt: skip
    return pd.DataFrame(records, columns=["task", "setting", "per_class", "mean", "std", "seeds", "run_id"])
