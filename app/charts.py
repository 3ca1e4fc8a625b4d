"""Charts shown on pages, each with PNG and SVG downloads (drawn by vl-convert, offline)."""

from __future__ import annotations

import altair as alt
import streamlit as st

from app.i18n import t
from japagen_core.report import chart_png, chart_svg


def chart_with_downloads(chart: alt.TopLevelMixin, name: str, *, key: str) -> None:
    """Show a chart, then two buttons that download it as PNG and SVG (made only when clicked)."""
    st.altair_chart(chart, width="stretch")
    png, svg, _ = st.columns([1, 1, 4])
    png.download_button(
        t("PNG"), data=lambda: chart_png(chart), file_name=f"{name}.png", mime="image/png",
        key=f"{key}_png", on_click="ignore", icon=":material/image:",
    )  # fmt: skip
    svg.download_button(
        t("SVG"), data=lambda: chart_svg(chart).encode("utf-8"), file_name=f"{name}.svg", mime="image/svg+xml",
        key=f"{key}_svg", on_click="ignore", icon=":material/draw:",
    )  # fmt: skip
