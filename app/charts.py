"""Charts shown on pages, each with PNG and SVG downloads (drawn by vl-convert, offline).

The pages draw with the report's builders (japagen_core.report.charts), with their words in the UI
language: the same colours, scales and axes on screen, in the HTML report and in a downloaded image.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import altair as alt
import pandas as pd
import streamlit as st

from app.i18n import t
from japagen_core.report import chart_png, chart_svg
from japagen_core.report.charts import confusion_chart, label_counts_chart, overlap_chart, scaling_chart


def chart_titles() -> dict[str, str]:
    """The English words the report's charts show, in the UI language."""
    return {
        "examples": t("examples"), "dataset": t("dataset"), "label": t("label"), "part": t("part"),
        "only in gold": t("only in gold"), "in both": t("in both"), "only in this set": t("only in this set"),
        "share of its tokens": t("share of its tokens"), "Examples per label": t("Examples per label"),
        "Token overlap with gold (Figure 2)": t("Token overlap with gold (Figure 2)"),
        "assigned": t("assigned"), "predicted": t("predicted"), "Confusion matrix": t("Confusion matrix"),
        "synthetic examples per class": t("synthetic examples per class"), "setting": t("setting"),
        "score (x 100)": t("score (x 100)"), "task": t("task"), "examples per class": t("examples per class"),
        "mean": t("mean"), "std": t("std"), "seeds": t("seeds"),
        "Data scaling (Figure 3)": t("Data scaling (Figure 3)"),
    }  # fmt: skip


def label_counts_figure(counts: Mapping[str, Mapping[str, int]], label_order: list[str]) -> alt.FacetChart:
    """Examples per label, a panel per dataset with its own scale."""
    return label_counts_chart(counts, label_order, titles=chart_titles())


def overlap_figure(parts: pd.DataFrame) -> alt.Chart:
    """Figure 2 (``parts`` from ``overlap_parts``), in the report's colours."""
    return overlap_chart(parts, titles=chart_titles())


def confusion_figure(
    matrix: Iterable[Iterable[int]], labels: Iterable[str], *, select: str | None = None
) -> alt.LayerChart:
    """A confusion matrix that reads at its own size (labels as shown, in the UI language); ``select``
    names its one-cell click selection."""
    return confusion_chart(matrix, labels, titles=chart_titles(), select=select)


def scaling_figure(points: pd.DataFrame, task_titles: Mapping[str, str]) -> alt.FacetChart:
    """Figure 3 (``points`` from ``training.results.scaling_points``), in the UI language."""
    return scaling_chart(points, task_titles, titles=chart_titles())


def chart_with_downloads(
    chart: alt.TopLevelMixin, name: str, *, key: str, width: Literal["stretch", "content"] = "stretch"
) -> None:
    """Show a chart, then two buttons that download it as PNG and SVG (made only when clicked). A chart
    whose cells have a size of their own (the confusion matrix) keeps it with ``width="content"``."""
    st.altair_chart(chart, width=width)
    png, svg, _ = st.columns([1, 1, 4])
    png.download_button(
        t("PNG"), data=lambda: chart_png(chart), file_name=f"{name}.png", mime="image/png",
        key=f"{key}_png", on_click="ignore", icon=":material/image:",
    )  # fmt: skip
    svg.download_button(
        t("SVG"), data=lambda: chart_svg(chart).encode("utf-8"), file_name=f"{name}.svg", mime="image/svg+xml",
        key=f"{key}_svg", on_click="ignore", icon=":material/draw:",
    )  # fmt: skip
