"""Reports for people who do not program: the data (``gather``), one self-contained HTML file
(``render_html``), and charts as SVG / PNG (``chart_svg`` / ``chart_png``)."""

from japagen_core.report.charts import chart_png, chart_svg
from japagen_core.report.data import ReportData, gather
from japagen_core.report.render import render_html

__all__ = ["ReportData", "chart_png", "chart_svg", "gather", "render_html", "write_report"]


def write_report(data: ReportData, out) -> int:
    """Write the report to ``out`` (a path) atomically; return its size in bytes."""
    import os
    from pathlib import Path

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    encoded = render_html(data).encode("utf-8")
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_bytes(encoded)
    os.replace(tmp, out)
    return len(encoded)
