"""The report's charts as Altair specs, and their conversion to SVG and PNG with vl-convert (offline:
the Vega runtime is bundled, and external data URLs are refused).

The builders take plain frames and records, so the pages can show the same charts with
``st.altair_chart`` and offer them for download with ``chart_png`` / ``chart_svg``.
"""

from __future__ import annotations

import json
import re
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


def label_counts_chart(counts: Mapping[str, Mapping[str, int]], label_order: list[str]) -> alt.Chart:
    """Examples per label of each dataset (dataset name -> label -> rows), as stacked bars."""
    frame = pd.DataFrame(
        [{"dataset": d, "label": label, "examples": n} for d, per in counts.items() for label, n in per.items()],
        columns=["dataset", "label", "examples"],
    )
    order = [*label_order, *sorted(set(frame["label"]) - set(label_order))]
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("dataset:N", title=None, sort=list(counts), axis=alt.Axis(labelLimit=320)),
            x=alt.X("examples:Q", title="examples"),
            color=alt.Color("label:N", sort=order, title="label"),
            order=alt.Order("label_rank:Q"),
            tooltip=["dataset", "label", "examples"],
        )
        .transform_calculate(label_rank=f"indexof({json.dumps(order)}, datum.label)")
        .properties(width=480, height=alt.Step(22), title="Examples per label")
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


def overlap_chart(parts: pd.DataFrame) -> alt.Chart:
    """Figure 2: per dataset, the share of gold's tokens it misses, shares both, and invents."""
    return (
        alt.Chart(parts)
        .mark_bar()
        .encode(
            y=alt.Y("dataset:N", title=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X("share of its tokens:Q", axis=alt.Axis(format="%")),
            color=alt.Color("part:N", title=None, sort=list(OVERLAP_PARTS)),
            yOffset=alt.YOffset("part:N", sort=list(OVERLAP_PARTS)),
            tooltip=["dataset", "part", alt.Tooltip("share of its tokens:Q", format=".1%")],
        )
        .properties(width=480, height=alt.Step(14), title="Token overlap with gold (Figure 2)")
    )


def scaling_chart(points: pd.DataFrame, titles: Mapping[str, str] | None = None) -> alt.FacetChart:
    """Figure 3: score (x 100) against synthetic examples per class, a panel per task, mean ± std."""
    titles = titles or {}
    points = points.assign(
        task=[titles.get(t, t) for t in points["task"]],
        low=points["mean"] - points["std"].fillna(0),
        high=points["mean"] + points["std"].fillna(0),
    )
    x = alt.X("per_class:Q", scale=alt.Scale(type="log"), title="synthetic examples per class")
    base = alt.Chart(points).encode(x=x, color=alt.Color("setting:N", title="setting"))
    lines = base.mark_line(point=True).encode(
        y=alt.Y("mean:Q", title="score (x 100)"),
        tooltip=["task", "setting", "per_class", alt.Tooltip("mean:Q", format=".2f"), "seeds"],
    )
    bands = base.mark_errorbar().encode(y=alt.Y("low:Q", title="score (x 100)"), y2="high:Q")
    layered = alt.layer(lines, bands).properties(width=220, height=180)
    return (
        layered.facet(column=alt.Column("task:N", title=None))
        .resolve_scale(y="independent")
        .properties(title="Data scaling (Figure 3)")
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
