"""Reports for people who do not program: the data (``gather``), one self-contained HTML file
(``render_html``), and charts as SVG / PNG (``chart_svg`` / ``chart_png``)."""

from japagen_core.report.charts import chart_png, chart_svg
from japagen_core.report.data import ReportData, gather
from japagen_core.report.render import render_html

__all__ = ["ReportData", "chart_png", "chart_svg", "gather", "render_html", "write_report"]


def write_report(data: ReportData, out, settings, *, force: bool = False) -> int:
    """Write the report to ``out`` (a path outside ``settings.home``; an existing file only with
    ``force``) atomically; return its size in bytes. Refusals are ``OutputPathError``."""
    from japagen_core.outputs import check_output_path, write_output

    check_output_path(settings, out, force=force)  # before rendering: a refusal should come at once
    encoded = render_html(data).encode("utf-8")
    write_output(settings, out, encoded, force=force)
    return len(encoded)
