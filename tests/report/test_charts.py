"""Charts as images: what the pages offer as "download as PNG / SVG", offline."""

import re

import altair as alt
import pandas as pd
import pytest

from japagen_core.report import chart_png, chart_svg
from japagen_core.report.charts import (
    CATEGORY_COLOURS,
    DARK_CELL_SHARE,
    HEAT_SCHEME,
    OVERLAP_COLOURS,
    ChartError,
    _wrap,
    category_scale,
    confusion_cell_size,
    confusion_chart,
    inline_svg,
    label_counts_chart,
    overlap_chart,
    overlap_parts,
)


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


# -- charts people can read (issue 17) ----------------------------------------------------------------------

JNLI = ["entailment (含意)", "contradiction (矛盾)", "neutral (中立)"]


def _layers(chart) -> list[dict]:
    return chart.to_dict()["layer"]


def test_confusion_matrix_has_horizontal_wrapped_labels_with_the_full_label_in_the_tooltip():
    chart = confusion_chart([[40, 3, 2], [5, 30, 1], [0, 9, 12]], JNLI)
    heat = _layers(chart)[0]
    x_axis = heat["encoding"]["x"]["axis"]
    assert x_axis["labelAngle"] == 0
    assert "contradiction" in x_axis["labelExpr"] and "(\\u77db\\u76fe)" in x_axis["labelExpr"]  # two lines
    tooltip = heat["encoding"]["tooltip"][1]
    assert (tooltip["field"], tooltip["title"]) == ("predicted", "predicted")  # the full label, uncut
    assert _wrap("contradiction (矛盾)", 13) == ["contradiction", "(矛盾)"]
    assert _wrap("personal_finance", 10) == ["personal_", "finance"]
    assert all(len(line) <= 8 for line in _wrap("a" * 30, 8))
    svg = chart_svg(chart)  # Vega draws the wrapped lines, each whole
    assert '<tspan>contradiction</tspan><tspan x="0" dy="12">(矛盾)</tspan>' in svg and "矛..." not in svg


def test_confusion_matrix_cells_grow_with_fewer_labels_and_numbers_contrast_with_their_cell():
    three = confusion_chart([[40, 3, 2], [5, 30, 1], [0, 9, 12]], JNLI).to_dict()
    nine = confusion_chart([[int(i == j) * 100 for j in range(9)] for i in range(9)], [f"l{i}" for i in range(9)])
    assert three["width"]["step"] == three["height"]["step"] == confusion_cell_size(3)
    assert confusion_cell_size(3) > confusion_cell_size(9) >= 40 and confusion_cell_size(30) == 40
    assert nine.to_dict()["width"]["step"] == confusion_cell_size(9)
    heat, numbers = three["layer"]
    assert heat["encoding"]["color"]["scale"]["scheme"] == HEAT_SCHEME
    colour = numbers["encoding"]["color"]
    assert colour["condition"]["value"] == "white" and colour["value"] == "black"
    assert colour["condition"]["test"] == f"(datum.examples > {DARK_CELL_SHARE * 40})"  # dark: over half the max
    assert numbers["encoding"]["text"]["format"] == ",d"
    assert heat["encoding"]["color"]["legend"] == {"format": "d", "tickMinStep": 1}


def test_confusion_matrix_refuses_counts_that_do_not_fit_its_labels():
    with pytest.raises(ChartError, match="3 labels needs 3x3 counts"):
        confusion_chart([[1, 2], [3, 4]], JNLI)


def test_examples_per_label_gives_each_set_its_own_scale_with_whole_counts():
    counts = {"JGLUE JNLI train": {"entailment": 40_000, "contradiction": 50_000, "neutral": 30_000},
              "kadg": {"entailment": 3, "contradiction": 2, "neutral": 1}}  # fmt: skip
    spec = label_counts_chart(counts, ["entailment", "contradiction", "neutral"]).to_dict()
    assert spec["resolve"]["scale"]["x"] == "independent" and spec["columns"] == 1
    assert spec["spec"]["encoding"]["x"]["axis"] == {"format": ",d", "tickMinStep": 1}
    assert spec["facet"]["header"]["labelAngle"] == 0
    assert "JGLUE JNLI train (n = 120,000)" in spec["facet"]["sort"] and "kadg (n = 6)" in spec["facet"]["sort"]
    svg = chart_svg(label_counts_chart(counts, ["entailment", "contradiction", "neutral"]))
    ticks = re.findall(r">([0-9.,]+)</text>", svg)
    assert "50,000" in ticks and "3" in ticks and not [n for n in ticks if "." in n]  # whole numbers only


def test_one_colour_scheme_for_labels_settings_and_figure_2():
    labels = label_counts_chart({"a": {"x": 1, "y": 2}}, ["x", "y"]).to_dict()["spec"]["encoding"]["color"]["scale"]
    assert labels == {"domain": ["x", "y"], "range": list(CATEGORY_COLOURS[:2])}
    parts = overlap_parts([("a", {"only_gold_mass": 0.2, "both_synthetic_mass": 0.7, "only_synthetic_mass": 0.1})])
    english = overlap_chart(parts).to_dict()["encoding"]["color"]["scale"]
    titles = {"only in gold": "ゴールドのみ", "in both": "両方", "only in this set": "このセットのみ"}
    japanese = overlap_chart(parts, titles=titles).to_dict()["encoding"]["color"]["scale"]
    assert english["range"] == japanese["range"] == list(OVERLAP_COLOURS)
    assert japanese["domain"] == ["ゴールドのみ", "両方", "このセットのみ"]  # the same colour per part in any language
    assert category_scale([f"s{i}" for i in range(12)]).to_dict()["range"][10] == CATEGORY_COLOURS[0]


def test_every_grade_of_a_score_task_keeps_its_bar_label():
    counts = {"Demo: JSTS train": {str(grade): 5 for grade in range(6)}}
    spec = label_counts_chart(counts, [str(g) for g in range(6)]).to_dict()
    assert spec["spec"]["encoding"]["y"]["axis"]["labelOverlap"] is False  # "0" to "5", none hidden
