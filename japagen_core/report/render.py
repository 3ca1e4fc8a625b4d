"""The report as ONE self-contained HTML file: inline CSS, tables, charts as inline SVG (each also
downloadable from the file itself as SVG and PNG, via data: links), example cards, method and settings,
and a numbered signature for every number. No script, no external address: it opens offline, by mail.

Every piece of text from data (examples, dataset names, labels, signatures) goes through ``_e``
(html.escape); markup is only ever written by this module.
"""

from __future__ import annotations

import base64
import re
from html import escape
from typing import Any

from japagen_core.errors import UnknownLabelError
from japagen_core.report import charts
from japagen_core.report.data import AnalysisRow, DatasetSummary, Measure, ReportData, RunSettings, TaskReport
from japagen_core.showcase import ExampleCard
from japagen_core.tasks import Task
from japagen_core.training import results as table1


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


class _Notes:
    """Numbered signatures: the same signature text gets the same number wherever it is cited."""

    def __init__(self) -> None:
        self.items: dict[str, int] = {}

    def cite(self, signature: str | None) -> str:
        if not signature:
            return ""
        number = self.items.setdefault(signature, len(self.items) + 1)
        return f'<sup class="sig"><a href="#sig-{number}" title="{_e(signature)}">[{number}]</a></sup>'

    def html(self) -> str:
        items = "".join(f'<li id="sig-{n}"><code>{_e(s)}</code></li>' for s, n in self.items.items())
        return f"<section><h2>Signatures</h2><p>{_SIGNATURES}</p><ol>{items}</ol></section>" if items else ""


_SIGNATURES = (
    "What produced each number: tokenizer and dictionary versions, n-gram order, smoothing, sample and seed for "
    "the analyses; runs, seeds and evaluation split for trained models. Numbers with different signatures are not "
    "comparable."
)
_METHOD = """<section><h2>Method</h2>
<p>japagen implements JAPAGEN (Fujii &amp; Katsumata): a large language model writes labelled Japanese training
examples for a task, and a small BERT (tohoku-nlp/bert-base-japanese-v3) is fine-tuned on them alone. Generation
is <em>zero-shot</em> (the task description and one instruction per label), <em>few-shot</em> (one gold example
in each prompt) or with <em>KADG</em> (one word from the task's word list in each prompt, for variety).</p>
<ul>
<li><strong>Self-BLEU</strong>: how similar the texts of a set are to each other (lower is more diverse).</li>
<li><strong>Weighted Jaccard</strong>: how close the set's token distribution is to the gold split's
(1.0 is the same distribution).</li>
<li><strong>Label correctness</strong>: the share of examples whose label a classifier trained on gold data
agrees with (JSTS: its mean squared error).</li>
<li><strong>Table 1</strong>: the fine-tuned model's score on the gold evaluation split x 100, mean ± standard
deviation over seeds, with the paper's published rows for comparison.</li>
<li><strong>Reviewed</strong>: examples a person flagged, relabelled or annotated; relabels override the
generator's label in the example cards and in training.</li>
</ul></section>"""

_CSS = """
body{font-family:"Hiragino Sans","Noto Sans CJK JP","Yu Gothic",IPAPGothic,sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1f2328;line-height:1.5}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2rem;margin-top:2.5rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}tr.paper td{color:#57606a;font-style:italic}
.meta{color:#57606a}.badge{background:#fff3bf;border:1px solid #e0c060;border-radius:3px;padding:0 .3rem;
font-size:.75rem}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(20rem,1fr));gap:.8rem}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem .8rem;background:#fff}
.card .label{font-weight:bold}.card p{margin:.3rem 0}.card dl{display:grid;grid-template-columns:auto 1fr;
gap:0 .6rem;margin:.4rem 0 0;font-size:.8rem;color:#57606a}.card dd{margin:0}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#57606a}sup.sig a{text-decoration:none;font-size:.7rem}
code{font-size:.8rem;word-break:break-all}
@media print{figcaption a{display:none}}
"""


def render_html(data: ReportData, *, with_charts: bool = True) -> str:
    """The report as one HTML document (a str; write it as UTF-8)."""
    notes = _Notes()
    body = [_header(data), _overview(data, notes)]
    if data.table1 is not None:
        body.append(_table1(data, notes, with_charts))
    body += [_task_section(report, notes, with_charts) for report in data.tasks]
    body += [_jobs(data), _METHOD, notes.html()]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>japagen report {_e(data.generated_at.date())}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _header(data: ReportData) -> str:
    notes = [f"generated {_e(data.generated_at.isoformat(sep=' '))}", f"japagen {_e(data.version)}"]
    if data.read_only:
        notes.append("read-only demo mode")
    demo = (
        '<p><span class="badge">DEMO</span> Datasets marked DEMO are the hand-written demo project, not real data.</p>'
        if data.has_demo
        else ""
    )
    return f'<header><h1>japagen report</h1><p class="meta">{" · ".join(notes)}</p>{demo}</header>'


# --- formatting ----------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def _correctness(m: Measure | None) -> str:
    if m is None or m.value is None:
        return "—"
    return _percent(m.value, 2) if m.detail.get("metric", "accuracy") == "accuracy" else f"MSE {m.value:.3f}"


def _measured(text: str, m: Measure | None, notes: _Notes) -> str:
    return f'<td class="num">{_e(text)}{notes.cite(m.signature if m else None)}</td>'


def _table(headers: list[str], rows: list[str], caption: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _dataset_name(d: DatasetSummary | None, fallback: str) -> str:
    if d is None:
        return _e(fallback)
    return _e(d.name) + (' <span class="badge">DEMO</span>' if d.is_demo else "")


# --- sections ------------------------------------------------------------------------------------


def _overview(data: ReportData, notes: _Notes) -> str:
    if not data.tasks:
        return "<section><h2>Overview</h2><p>No datasets yet: load the demo or import data.</p></section>"
    rows = []
    for report in data.tasks:
        h = report.headline
        best = f"{h.best_score.text()} ({h.best_row})" if h.best_score is not None else "—"
        if h.best_score is not None and h.best_eval_split:
            best += f" on gold {h.best_eval_split} data"
        demo = ' <span class="badge">DEMO</span>' if h.includes_demo else ""
        items = "".join(f"<li>{_e(SOURCE_TITLES[k])}: {_e(v)}</li>" for k, v in h.sources.items())
        source = f"<ul>{items}</ul>" if items else "—"
        rows.append(
            f"<tr><td>{_e(report.task.title)} <span class=meta>{_e(report.task.title_ja)}</span>{demo}</td>"
            f'<td class="num">{h.synthetic_rows:,}</td><td class="num">{_percent(h.reviewed_share)}</td>'
            + _measured(_num(h.self_bleu.value if h.self_bleu else None), h.self_bleu, notes)
            + _measured(_num(h.weighted_jaccard.value if h.weighted_jaccard else None, 4), h.weighted_jaccard, notes)
            + _measured(_correctness(h.label_correctness), h.label_correctness, notes)
            + f"<td>{_e(best)}</td><td>{_e(_paper_text(h.paper))}</td><td class=meta>{source}</td></tr>"
        )
    headers = ["Task", "Synthetic examples", "Reviewed", "Self-BLEU", "Weighted Jaccard", "Label correctness",
               "Best own result", "Paper", "Source of each figure"]  # fmt: skip
    caption = ("Self-BLEU, weighted Jaccard and label correctness of each task's most recently analysed synthetic "
               "set; the last column names the dataset, split, method and n behind each figure.")  # fmt: skip
    return f"<section><h2>Overview</h2>{_table(headers, rows, caption)}</section>"


SOURCE_TITLES = {"self_bleu": "Self-BLEU", "weighted_jaccard": "Weighted Jaccard",
                 "label_correctness": "Label correctness"}  # fmt: skip


def _paper_text(paper: dict[str, float]) -> str:
    full = paper.get("FINE-TUNING · Fully supervised")
    japagen = {k: v for k, v in paper.items() if k.startswith("JAPAGEN")}
    parts = [f"fully supervised {full:.2f}"] if full is not None else []
    if japagen:
        key = max(japagen, key=japagen.get)
        parts.append(f"{key.split(' · ', 1)[1]} {japagen[key]:.2f}")
    return " · ".join(parts) or "—"


def _table1(data: ReportData, notes: _Notes, with_charts: bool) -> str:
    table = data.table1
    frame = table1.table1_frame(table)
    rows = []
    for row, values in zip(table.rows, frame.itertuples(index=False), strict=True):
        cells = [f"<td>{_e(values[0])}</td><td>{_e(values[1])}</td>"]
        for j, task in enumerate(table.tasks):
            cells.append(f'<td class="num">{_e(values[2 + j])}{notes.cite(_cell_signature(row, task))}</td>')
        cells.append(f'<td class="num">{_e(values[-1])}</td>')
        rows.append(f"<tr{' class=paper' if row.paper else ''}>{''.join(cells)}</tr>")
    caption = "Score on the gold evaluation split x 100, mean ± std over seeds; ★ the best own result per column."
    out = f"<section><h2>Results (Table 1)</h2>{_table(list(frame.columns), rows, caption)}"
    if with_charts and not data.scaling.empty:
        titles = {t.task.name: t.task.title for t in data.tasks}
        out += _figure(charts.scaling_chart(data.scaling, titles), "figure3-scaling", "Mean over seeds ± one std.")
    return out + "</section>"


def _cell_signature(row: table1.Row, task: str) -> str | None:
    cell = row.cells[task]
    if row.paper:
        return "Fujii & Katsumata, Table 1 (published: mean ± std over five seeds)" if cell.mean is not None else None
    if not cell.models:
        return None
    return f"run {cell.run_id} · {cell.n} seed(s) · evaluated on {cell.eval_dataset} · models {' '.join(cell.models)}"


def _task_section(report: TaskReport, notes: _Notes, with_charts: bool) -> str:
    task = report.task
    parts = [f"<section><h2>{_e(task.title)} <span class=meta>{_e(task.title_ja)}</span></h2>",
             f"<p>{_e(task.description)}</p>", _datasets(report, notes)]  # fmt: skip
    if with_charts and any(d.counts for d in report.datasets):
        names = [d.name for d in report.datasets]
        counts = {(d.name if names.count(d.name) == 1 else f"{d.name} ({d.id})"): d.counts
                  for d in report.datasets if d.counts}  # fmt: skip
        parts.append(_figure(charts.label_counts_chart(counts, task.label_names), f"{task.name}-labels",
                             "Examples per label of each dataset."))  # fmt: skip
    if report.analyses:
        parts.append(_analyses(report, notes, with_charts))
    parts += [_cards(task, report.cards), _settings(report.settings), "</section>"]
    return "".join(parts)


def _datasets(report: TaskReport, notes: _Notes) -> str:
    rows = [
        f"<tr><td>{_dataset_name(d, d.id)}{notes.cite(f'dataset {d.id} · content sha256 {d.content_sha256}')}</td>"
        f"<td>{_e(d.kind)}</td><td>{_e(d.split)}</td><td class=num>{d.rows:,}</td>"
        f"<td>{_e(', '.join(f'{k} {v:,}' for k, v in d.counts.items()))}</td>"
        f"<td class=num>{d.reviewed:,}</td><td class=num>{d.flagged:,}</td><td class=num>{d.relabeled:,}</td>"
        f"<td>{_e(d.created_at)}</td></tr>"
        for d in report.datasets
    ]
    headers = ["Dataset", "Kind", "Split", "Examples", "Per label", "Reviewed", "Flagged", "Relabeled", "Added"]
    return f"<h3>Datasets</h3>{_table(headers, rows)}"


def _analyses(report: TaskReport, notes: _Notes, with_charts: bool) -> str:
    by_id = {d.id: d for d in report.datasets}
    rows = [_analysis_row(a, by_id, notes) for a in report.analyses]
    headers = ["Dataset", "Self-BLEU", "Texts scored", "Weighted Jaccard", "Compared with", "Label correctness",
               "How the labels were checked"]  # fmt: skip
    caption = ("Self-BLEU and weighted Jaccard: the first sentence of a pair (the paper's protocol, 1,000 per label, "
               "seed 0, which reproduces its gold row), the second sentence in brackets. Label correctness is "
               "always out of sample: rows of the classifier's own training data are cross-validated.")  # fmt: skip
    out = f"<h3>Diversity and label correctness (Table 2)</h3>{_table(headers, rows, caption)}"
    overlaps = [(by_id[a.dataset_id].name, a.overlap.detail) for a in report.analyses if a.overlap is not None]
    if with_charts and overlaps:
        caption = "'Only in gold': gold's tokens this set never uses; 'only in this set': tokens gold never uses."
        out += _figure(charts.overlap_chart(charts.overlap_parts(overlaps)), f"{report.task.name}-overlap", caption)
    return out


def _analysis_row(a: AnalysisRow, by_id: dict[str, DatasetSummary], notes: _Notes) -> str:
    texts = a.self_bleu.detail.get("texts") if a.self_bleu else None
    reference = by_id.get(a.overlap.reference) if a.overlap and a.overlap.reference else None
    return (
        f"<tr><td>{_dataset_name(by_id.get(a.dataset_id), a.dataset_id)}</td>"
        + _measured(_per_field(a.self_bleu, "self_bleu", 2), a.self_bleu, notes)
        + f"<td class=num>{_e(texts if texts is not None else '—')}</td>"
        + _measured(_per_field(a.overlap, "weighted_jaccard", 4), a.overlap, notes)
        + f"<td>{_dataset_name(reference, a.overlap.reference if a.overlap else '—')}</td>"
        + _measured(_correctness(a.correctness), a.correctness, notes)
        + f"<td class=meta>{_e(_checked(a.correctness))}</td>"
        + "</tr>"
    )


def _per_field(m: Measure | None, key: str, digits: int) -> str:
    """The headline (first sentence) value, and for a pair the second sentence's beside it."""
    if m is None or m.value is None:
        return "—"
    second = (m.detail.get("fields") or {}).get("text_b", {}).get(key)
    return _num(m.value, digits) + ("" if second is None else f" (2nd sentence {_num(second, digits)})")


def _checked(m: Measure | None) -> str:
    """The method, training data, out-of-sample scheme and n of a label-correctness number."""
    if m is None:
        return "—"
    d = m.detail
    how = "5-fold cross-validated" if d.get("cross_validated") else "rows it never trained on"
    parts = [d.get("method_name", "quick estimate"), f"trained on {d.get('trained_on') or m.reference}", how,
             f"n {d.get('examples', '?')}"]  # fmt: skip
    if d.get("balanced_accuracy") is not None:
        parts.append(f"balanced accuracy {100 * d['balanced_accuracy']:.2f}%")
    if d.get("degenerate"):
        parts.append("DEGENERATE: a label's recall is below 5%")
    return "; ".join(parts)


def _label_text(task: Task, name: str) -> str:
    try:
        return task.label(name).display()
    except UnknownLabelError:  # a label outside the task (a task file edited since); shown as stored
        return name


def _cards(task: Task, cards: list[ExampleCard]) -> str:
    if not cards:
        return "<h3>Example cards</h3><p>No examples to show yet.</p>"
    names = task.text_names if task.is_pair else ("text",)
    return f"<h3>Example cards</h3><div class=cards>{''.join(_card(task, c, names) for c in cards)}</div>"


def _card(task: Task, card: ExampleCard, names: tuple[str, ...]) -> str:
    label = _e(_label_text(task, card.label))
    if card.score is not None and task.target == "score":
        label += f" <span class=meta>score {card.score:.1f}</span>"
    if card.relabeled:
        label += f" <span class=meta>(relabeled from {_e(card.assigned)})</span>"
    if card.pinned:
        label += ' <span class="badge">pinned</span>'
    texts = f"<p>{_e(card.text)}</p>"
    if card.text_b is not None:
        texts = f"<p><span class=meta>{_e(names[0])}:</span> {_e(card.text)}</p>"
        texts += f"<p><span class=meta>{_e(names[-1])}:</span> {_e(card.text_b)}</p>"
    provenance = [("setting", card.setting), ("KADG word", card.kadg_word), ("model", card.model),
                  ("from", f"{card.dataset_name} · row {card.row_idx}"), ("note", card.note)]  # fmt: skip
    facts = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in provenance if v)
    demo = ' <span class="badge">DEMO</span>' if card.is_demo else ""
    return f"<article class=card><div class=label>{label}{demo}</div>{texts}<dl>{facts}</dl></article>"


def _settings(settings: list[RunSettings]) -> str:
    if not settings:
        return ""
    rows = []
    for s in settings:
        sampling = ", ".join(f"{k} {v}" for k, v in s.sampling.items())
        summary = s.summary
        tokens = (summary.get("prompt_tokens") or 0) + (summary.get("completion_tokens") or 0)
        cost = summary.get("cost_usd")
        cells = [s.dataset_name, s.mode, s.setting, s.model, s.per_label, s.seed, sampling, s.prompt_version,
                 s.words_list, summary.get("duplicates"), tokens or None,
                 f"${cost:.2f}" if isinstance(cost, int | float) else None]  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{_e('—' if c in (None, '') else c)}</td>" for c in cells) + "</tr>")
    headers = ["Dataset", "Mode", "Setting", "Model", "Per label", "Seed", "Sampling", "Prompt version",
               "Word list", "Duplicates", "Tokens", "Est. cost"]  # fmt: skip
    return f"<h3>How the synthetic data was made</h3>{_table(headers, rows)}"


def _jobs(data: ReportData) -> str:
    jobs = data.jobs
    if not jobs.counts:
        return "<section><h2>Jobs</h2><p>No jobs yet.</p></section>"
    counts = ", ".join(f"{state} {n}" for state, n in sorted(jobs.counts.items()))
    keys = ("id", "kind", "task", "state", "message")
    rows = ["<tr>" + "".join(f"<td>{_e(j.get(k) or '—')}</td>" for k in keys) + "</tr>" for j in jobs.active]
    active = _table(["Job", "Kind", "Task", "State", "Progress"], rows) if rows else "<p>No job is running now.</p>"
    return f"<section><h2>Jobs</h2><p>{_e(counts)}</p>{active}</section>"


# --- charts --------------------------------------------------------------------------------------


def _figure(chart, name: str, caption: str) -> str:
    """A chart as inline SVG, with links that save it as SVG or PNG (data: links, so still one file)."""
    svg = charts.chart_svg(chart)
    png = charts.chart_png(chart)
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "chart"
    svg_link = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    png_link = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (
        f"<figure>{charts.inline_svg(svg)}<figcaption>{_e(caption)} Download: "
        f'<a download="{slug}.svg" href="{svg_link}">SVG</a> · <a download="{slug}.png" href="{png_link}">PNG</a>'
        "</figcaption></figure>"
    )
