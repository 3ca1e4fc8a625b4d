"""The report's charts as Altair specs, and their conversion to SVG and PNG with vl-convert (offline:
the Vega runtime is bundled, and external data URLs are refused).

The builders take plain frames and records, so the pages can show the same charts with
``st.altair_chart`` and offer them for download with ``chart_png`` / ``chart_svg``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt
import pandas as pd
import vl_convert

from japagen_core.errors import JapagenError

# Japanese glyphs need a Japanese font: the first the viewer (SVG) or this machine (PNG) has.
FONT = '"Hiragino Sans", "Noto Sans CJK JP", "Yu Gothic", IPAPGothic, IPAGothic, sans-serif'
OVERLAP_PARTS = ("only in gold", "in both", "only in this set")
# Markup an SVG from vl-convert never contains; found in one, it came from somewhere else.
_UNSAFE_SVG = re.compile(r"<\s*(script|foreignObject|iframe|object|embed)\b", re.IGNORECASE)


class ChartError(JapagenError):
    """A chart could not be converted to an image."""


# --- one look for the app and the report ----------------------------------------------------------
# The app (app/charts.py, the pages) and the report draw with these, so a label, a part of Figure 2 or a
# setting has the same colour on screen, in the HTML report and in a downloaded PNG.

# Categories (labels, settings): Vega's tableau10, in this order; category i always gets colour i.
CATEGORY_COLOURS = (
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac",
)  # fmt: skip
# Figure 2's parts: what gold has and this set misses (blue), what both share (grey), what this set invents
# (orange).
OVERLAP_COLOURS = ("#4c78a8", "#bab0ac", "#f58518")
# Counts in a grid (the confusion matrix): one sequential scheme, light for few, dark for many.
HEAT_SCHEME = "blues"
# On a "blues" cell darker than this share of the largest count, black text is hard to read: white there.
DARK_CELL_SHARE = 0.5


def category_scale(domain: Iterable[str]) -> alt.Scale:
    """The shared colours for categories in ``domain``'s order (wrapping after ten)."""
    domain = list(domain)
    colours = [CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(domain))]
    return alt.Scale(domain=domain, range=colours)


def overlap_scale(parts: Iterable[str] = OVERLAP_PARTS) -> alt.Scale:
    """Figure 2's colours for its three parts as shown (in OVERLAP_PARTS' order, in any language)."""
    return alt.Scale(domain=list(parts), range=list(OVERLAP_COLOURS))


def count_axis(**options: Any) -> alt.Axis:
    """An axis of whole counts: integer labels, never a tick between two whole numbers."""
    return alt.Axis(format=",d", tickMinStep=1, **options)


def _shown(titles: Mapping[str, str] | None):
    """The text shown for an English chart word (its translation, when the app passes one)."""
    titles = titles or {}
    return lambda word: titles.get(word, word)


def label_counts_chart(
    counts: Mapping[str, Mapping[str, int]], label_order: list[str], *, titles: Mapping[str, str] | None = None
) -> alt.FacetChart:
    """Examples per label of each dataset (dataset name -> label -> rows): a panel per dataset, each with its
    own scale, so a 200-row synthetic run stays readable next to a 120,000-row gold split."""
    shown = _shown(titles)
    totals = {d: sum(per.values()) for d, per in counts.items()}
    panels = {d: f"{d} (n = {totals[d]:,})" for d in counts}
    frame = pd.DataFrame(
        [
            {"dataset": panels[d], "label": label, "examples": n}
            for d, per in counts.items()
            for label, n in per.items()
        ],
        columns=["dataset", "label", "examples"],
    )
    order = [*label_order, *sorted(set(frame["label"]) - set(label_order))]
    examples = shown("examples")
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
            x=alt.X("examples:Q", title=examples, axis=count_axis()),
            color=alt.Color("label:N", scale=category_scale(order), legend=None),
            tooltip=[
                alt.Tooltip("dataset:N", title=shown("dataset")),
                alt.Tooltip("label:N", title=shown("label")),
                alt.Tooltip("examples:Q", title=examples, format=",d"),
            ],
        )
        .properties(width=420, height=alt.Step(18))
    )
    header = alt.Header(labelAngle=0, labelAnchor="start", labelFontWeight="bold", labelLimit=480, labelFontSize=12)
    return (
        bars.facet(facet=alt.Facet("dataset:N", sort=list(panels.values()), title=None, header=header), columns=1)
        .resolve_scale(x="independent")
        .properties(title=shown("Examples per label"))
    )


def overlap_parts(overlaps: Iterable[tuple[str, Mapping[str, Any]]]) -> pd.DataFrame:
    """Figure 2's three shares of each (dataset name, stored overlap result)."""
    keys = ("only_gold_mass", "both_synthetic_mass", "only_synthetic_mass")
    records = [
        {"dataset": name, "part": part, "share of its tokens": result.get(key)}
        for name, result in overlaps
        for part, key in zip(OVERLAP_PARTS, keys, strict=True)
    ]
    return pd.DataFrame(records, columns=["dataset", "part", "share of its tokens"])


def overlap_chart(parts: pd.DataFrame, *, titles: Mapping[str, str] | None = None) -> alt.Chart:
    """Figure 2: per dataset, the share of gold's tokens it misses, shares both, and invents."""
    shown = _shown(titles)
    shown_parts = [shown(p) for p in OVERLAP_PARTS]
    share = shown("share of its tokens")
    frame = parts.assign(part=parts["part"].map(shown)).rename(columns={"share of its tokens": "share"})
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("dataset:N", title=None, axis=alt.Axis(labelLimit=360)),
            x=alt.X("share:Q", title=share, axis=alt.Axis(format="%")),
            color=alt.Color("part:N", title=None, scale=overlap_scale(shown_parts), sort=shown_parts),
            yOffset=alt.YOffset("part:N", sort=shown_parts),
            tooltip=[
                alt.Tooltip("dataset:N", title=shown("dataset")),
                alt.Tooltip("part:N", title=shown("part")),
                alt.Tooltip("share:Q", title=share, format=".1%"),
            ],
        )
        .properties(width=480, height=alt.Step(14), title=shown("Token overlap with gold (Figure 2)"))
    )


def confusion_cell_size(n_labels: int) -> int:
    """Pixels per cell: roomy for the 2-5 labels of most tasks, still on screen for twenty."""
    return max(40, min(96, 640 // max(n_labels, 1)))


def _columns(text: str) -> int:
    """Width of ``text`` in Latin-letter columns: a Japanese (wide) character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wrap(label: str, width: int) -> list[str]:
    """``label`` in lines at most ``width`` columns wide, broken after a space, '_' or '/' where it can be."""
    lines: list[str] = []
    rest = label
    while _columns(rest) > width:
        fits = 1
        while fits < len(rest) and _columns(rest[: fits + 1]) <= width:
            fits += 1
        cut = max(rest.rfind(sep, 0, fits) for sep in (" ", "_", "/"))
        cut = cut + 1 if cut > 0 else fits
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [*lines, rest] if rest else lines


def _wrapped_labels(labels: list[str], width: int, max_lines: int = 3) -> str:
    """A Vega expression giving each axis label as its wrapped lines (the last line ends in … if cut)."""
    wrapped = []
    for label in labels:
        lines = _wrap(label, width)
        if len(lines) > max_lines:
            last = lines[max_lines - 1]
            while _columns(last) > width - 1:
                last = last[:-1]
            lines = [*lines[: max_lines - 1], last + "…"]
        wrapped.append(lines)
    return f"{json.dumps(wrapped)}[indexof({json.dumps(labels)}, datum.value)]"


def confusion_chart(
    matrix: Iterable[Iterable[int]],
    labels: Iterable[str],
    *,
    titles: Mapping[str, str] | None = None,
    select: str | None = None,
) -> alt.LayerChart:
    """A confusion matrix (rows: the label an example carries, columns: the label predicted) that reads at
    its own size: square cells sized by the number of labels, horizontal column labels wrapped to the cell
    (the full label in the tooltip), integer counts, white numbers on dark cells and black on light ones.
    ``select`` names a click selection of one cell (its ``assigned`` and ``predicted``), for a page that
    acts on the click."""
    shown = _shown(titles)
    labels = list(labels)
    rows = [list(map(int, row)) for row in matrix]
    if len(rows) != len(labels) or any(len(row) != len(labels) for row in rows):
        raise ChartError(f"a confusion matrix of {len(labels)} labels needs {len(labels)}x{len(labels)} counts")
    cells = pd.DataFrame(
        [{"assigned": a, "predicted": p, "examples": rows[i][j]} for i, a in enumerate(labels)
         for j, p in enumerate(labels)],
        columns=["assigned", "predicted", "examples"],
    )  # fmt: skip
    size = confusion_cell_size(len(labels))
    chars = max(6, size // 7)  # about 7 px per Latin character at 11 px (a Japanese one takes two)
    assigned, predicted, examples = shown("assigned"), shown("predicted"), shown("examples")
    base = alt.Chart(cells).encode(
        x=alt.X(
            "predicted:N", sort=labels, title=predicted,
            axis=alt.Axis(labelAngle=0, labelLimit=size, labelExpr=_wrapped_labels(labels, chars)),
        ),
        y=alt.Y("assigned:N", sort=labels, title=assigned, axis=alt.Axis(labelLimit=220)),
    )  # fmt: skip
    largest = int(cells["examples"].max()) if len(cells) else 0
    heat = base.mark_rect().encode(
        color=alt.Color(
            "examples:Q", title=examples, scale=alt.Scale(scheme=HEAT_SCHEME, domainMin=0),
            legend=alt.Legend(format="d", tickMinStep=1),
        ),
        tooltip=[
            alt.Tooltip("assigned:N", title=assigned),
            alt.Tooltip("predicted:N", title=predicted),
            alt.Tooltip("examples:Q", title=examples, format=",d"),
        ],
    )  # fmt: skip
    if select:
        heat = heat.add_params(alt.selection_point(name=select, fields=["assigned", "predicted"], on="click"))
    numbers = base.mark_text(fontSize=12 if size >= 48 else 10).encode(
        text=alt.Text("examples:Q", format=",d"),
        color=alt.condition(alt.datum.examples > DARK_CELL_SHARE * largest, alt.value("white"), alt.value("black")),
    )
    return alt.layer(heat, numbers).properties(
        width=alt.Step(size), height=alt.Step(size), title=shown("Confusion matrix")
    )


def scaling_chart(
    points: pd.DataFrame, task_titles: Mapping[str, str] | None = None, *, titles: Mapping[str, str] | None = None
) -> alt.FacetChart:
    """Figure 3: score (x 100) against synthetic examples per class, a panel per task (``task_titles``:
    task name -> its title), mean ± std over seeds; ``titles`` translate the chart's words."""
    task_titles, shown = task_titles or {}, _shown(titles)
    points = points.assign(
        task=[task_titles.get(t, t) for t in points["task"]],
        low=points["mean"] - points["std"].fillna(0),
        high=points["mean"] + points["std"].fillna(0),
    )
    per_class = shown("synthetic examples per class")
    x = alt.X("per_class:Q", scale=alt.Scale(type="log"), title=per_class, axis=count_axis())
    settings = sorted(points["setting"].dropna().unique())
    color = alt.Color("setting:N", title=shown("setting"), scale=category_scale(settings))
    base = alt.Chart(points).encode(x=x, color=color)
    score = shown("score (x 100)")
    lines = base.mark_line(point=True).encode(
        y=alt.Y("mean:Q", title=score),
        tooltip=[
            alt.Tooltip("task:N", title=shown("task")),
            alt.Tooltip("setting:N", title=shown("setting")),
            alt.Tooltip("per_class:Q", title=shown("examples per class")),
            alt.Tooltip("mean:Q", title=shown("mean"), format=".2f"),
            alt.Tooltip("std:Q", title=shown("std"), format=".2f"),
            alt.Tooltip("seeds:Q", title=shown("seeds")),
        ],
    )
    bands = base.mark_errorbar().encode(y=alt.Y("low:Q", title=score), y2="high:Q")
    layered = alt.layer(lines, bands).properties(width=220, height=180)
    return (
        layered.facet(column=alt.Column("task:N", title=None))
        .resolve_scale(y="independent")
        .properties(title=shown("Data scaling (Figure 3)"))
    )


# --- images --------------------------------------------------------------------------------------


def _spec(chart: alt.TopLevelMixin | Mapping[str, Any]) -> dict[str, Any]:
    """The chart's Vega-Lite spec with a Japanese-capable font unless it sets its own."""
    spec = dict(chart) if isinstance(chart, Mapping) else chart.to_dict()
    config = dict(spec.get("config") or {})
    config.setdefault("font", FONT)
    return {**spec, "config": config}


def chart_svg(chart: alt.TopLevelMixin | Mapping[str, Any]) -> str:
    """The chart as a standalone SVG document (text, so it stays searchable and sharp)."""
    try:
        svg = vl_convert.vegalite_to_svg(_spec(chart), allowed_base_urls=[])
    except ValueError as exc:  # vl-convert reports a bad spec or a refused data URL as ValueError
        raise ChartError(f"cannot draw the chart: {exc}") from exc
    if _UNSAFE_SVG.search(svg):
        raise ChartError("the chart's SVG contains active content; refusing to use it")
    return svg


def chart_png(chart: alt.TopLevelMixin | Mapping[str, Any], *, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes (``scale`` 2: sharp on high-density screens and in slides)."""
    try:
        return vl_convert.vegalite_to_png(_spec(chart), scale=scale, allowed_base_urls=[])
    except ValueError as exc:
        raise ChartError(f"cannot draw the chart: {exc}") from exc


def inline_svg(svg: str) -> str:
    """An SVG document made fit to sit inside HTML: HTML needs no XML namespace declarations, and
    without them the report names no outside address at all."""
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg, count=2)
