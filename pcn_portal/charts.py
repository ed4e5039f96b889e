"""Shared chart plumbing for every app: the NHS look, colours and the HTML a page embeds.

Figures are built with Plotly's Python API and rendered as a ``<div>`` plus an inline script
calling ``Plotly.newPlot``; plotly.js itself is served from ``static/plotly/plotly.min.js``
(vendored by scripts/vendor_plotly.sh, never a CDN), so a page that embeds a chart loads that
file first:  ``<script src="{% static 'plotly/plotly.min.js' %}"></script>``.

Every chart travels with its data table (exactly what it plots, for the table beside it and the
CSV download) and a plain-English text alternative: :class:`Chart`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from pcn_portal.spreadsheet import safe_cell

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

# NHS identity colours (https://service-manual.nhs.uk/design-system/styles/colour).
NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_BLACK = "#212B32"
NHS_DARK_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_PALE_GREY = "#D8DDE0"
NHS_PURPLE = "#330072"
# Making Data Count icon colours: colour-blind safe as a pair (blue/orange, never red/green).
MDC_IMPROVEMENT = "#41B6E6"
MDC_CONCERN = "#ED8B00"
MDC_COMMON = "#A6A6A6"
MDC_NEUTRAL = "#490092"

FONT = "Frutiger W01, Arial, sans-serif"


@dataclass(frozen=True)
class Chart:
    """A figure with its data table and text alternative."""

    figure: go.Figure
    table: pd.DataFrame
    text: str

    def html(self, *, div_id: str | None = None) -> str:
        return figure_html(self.figure, div_id=div_id)

    def csv(self) -> str:
        """The table as CSV, with text a spreadsheet would run as a formula made inert."""
        table = self.table.copy()
        for column in table.select_dtypes(include=["object", "string"]).columns:
            table[column] = table[column].map(safe_cell)
        return table.to_csv(index=False)


def figure_html(fig: go.Figure, *, div_id: str | None = None) -> str:
    """The figure as an embeddable ``<div>``: no plotly.js bundle (served from static/), no
    Plotly logo, resizing with its container."""
    return fig.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG, div_id=div_id)


def base_layout(*, title: str, x_title: str, y_title: str, height: int = 450) -> dict:
    """Plain layout in the NHS style, with titles in plain English and no heavy template."""
    axis = {
        "showline": True,
        "linecolor": NHS_DARK_GREY,
        "ticks": "outside",
        "tickcolor": NHS_DARK_GREY,
        "gridcolor": NHS_PALE_GREY,
        "zeroline": False,
        "automargin": True,
        "title": {"font": {"size": 14}},
    }
    return {
        "template": "none",
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 18}},
        "font": {"family": FONT, "color": NHS_BLACK, "size": 14},
        "xaxis": {**axis, "title": {**axis["title"], "text": x_title}},
        "yaxis": {**axis, "title": {**axis["title"], "text": y_title}},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
        "margin": {"l": 70, "r": 30, "t": 60, "b": 40},
        "height": height,
        "paper_bgcolor": "#FFFFFF",
        "plot_bgcolor": "#FFFFFF",
        "hoverlabel": {"font": {"family": FONT}},
    }


def percent(value: float | None, decimals: int = 1) -> str:
    """A share (0-1) as a percentage for people: one decimal by default."""
    return "" if value is None else f"{value * 100:.{decimals}f}%"


def number(value: float | None, decimals: int = 0) -> str:
    """A number with thousands separators."""
    return "" if value is None else f"{value:,.{decimals}f}"
