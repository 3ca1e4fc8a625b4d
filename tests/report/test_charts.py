"""Charts as images: what the pages offer as "download as PNG / SVG", offline."""

import altair as alt
import pandas as pd
import pytest

from japagen_core.report import chart_png, chart_svg
from japagen_core.report.charts import ChartError, inline_svg, label_counts_chart, overlap_chart, overlap_parts


def test_png_and_svg_of_a_chart_with_japanese_labels():
    chart = label_counts_chart({"Demo: JNLI": {"entailment": 12, "含意": 3}}, ["entailment"])
    png = chart_png(chart)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    svg = chart_svg(chart)
    assert svg.startswith("<svg") and "含意" in svg and "Examples per label" in svg
    assert not inline_svg(svg).count("xmlns")  # inside HTML the namespaces are not needed


def test_text_in_a_chart_is_escaped():
    parts = overlap_parts([("<script>alert(1)</script>", {"only_gold_mass": 0.2, "both_synthetic_mass": 0.7,
                                                         "only_synthetic_mass": 0.1})])  # fmt: skip
    svg = chart_svg(overlap_chart(parts))
    assert "<script" not in svg and "&lt;script&gt;" in svg


def test_a_chart_never_fetches_data_from_elsewhere():
    chart = alt.Chart("https://example.invalid/data.csv").mark_bar().encode(x="a:Q")
    with pytest.raises(ChartError, match="External data url not allowed"):
        chart_svg(chart)
    with pytest.raises(ChartError, match="cannot draw the chart"):
        chart_png(alt.Chart(pd.DataFrame({"a": [1]})).mark_bar().encode(x="a:Q").to_dict() | {"mark": "nonsense"})
