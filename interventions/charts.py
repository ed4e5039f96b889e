"""Plotly figures for intervention outcome measures: the Making Data Count SPC chart.

Pure functions: an :class:`interventions.spc.SPCResult` in, a :class:`pcn_portal.charts.Chart`
(figure, data table, text alternative) out. Drawing conventions, following Making Data Count:
values joined by a grey line, the mean solid, the process limits dashed and the 2-sigma lines
dotted (both only once a segment has 12 values; a run chart shows its median dashed instead),
special-cause values coloured blue for improvement and orange for concern, each with its own
marker shape so colour is never the only cue, the target as a purple long-dashed line, and a
vertical line where limits were recalculated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from interventions.spc import ChartType, SPCResult, format_number, period_label
from pcn_portal.charts import (
    MDC_COMMON,
    MDC_CONCERN,
    MDC_IMPROVEMENT,
    NHS_BLACK,
    NHS_DARK_GREY,
    NHS_MID_GREY,
    NHS_PURPLE,
    Chart,
    base_layout,
)

MARKERS = {
    "common": {"name": "Common cause", "color": MDC_COMMON, "symbol": "circle", "size": 8},
    "improvement": {
        "name": "Special cause: improvement",
        "color": MDC_IMPROVEMENT,
        "symbol": "circle",
        "size": 11,
    },
    "concern": {"name": "Special cause: concern", "color": MDC_CONCERN, "symbol": "diamond", "size": 12},
}


def spc_figure(
    result: SPCResult,
    *,
    title: str,
    unit: str,
    target: float | None = None,
    x_title: str = "Period",
    label: Callable[[Any], str] | None = None,
) -> Chart:
    """The SPC chart of ``result``. ``unit`` names the y axis in plain English (for example
    "Patients with a health check (%)"); ``target`` defaults to the result's own target."""
    label = label or period_label
    target = result.target if target is None else target
    fig = go.Figure()
    recorded = result.recorded_points

    fig.add_trace(
        go.Scatter(
            x=[p.period for p in result.points],
            y=[p.value for p in result.points],
            mode="lines",
            name="Value",
            line={"color": NHS_MID_GREY, "width": 2},
            connectgaps=False,
            hoverinfo="skip",
            showlegend=False,
        )
    )
    _add_segment_lines(fig, result)
    for key, style in MARKERS.items():
        chosen = [p for p in recorded if _category(p) == key]
        if not chosen:
            continue
        fig.add_trace(
            go.Scatter(
                x=[p.period for p in chosen],
                y=[p.value for p in chosen],
                mode="markers",
                name=style["name"],
                marker={
                    "color": style["color"],
                    "symbol": style["symbol"],
                    "size": style["size"],
                    "line": {"color": NHS_BLACK, "width": 1},
                },
                text=[p.explanation for p in chosen],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    if target is not None and result.points:
        fig.add_trace(
            go.Scatter(
                x=[result.points[0].period, result.points[-1].period],
                y=[target, target],
                mode="lines",
                name=f"Target ({format_number(target)})",
                line={"color": NHS_PURPLE, "width": 2, "dash": "longdash"},
                hoverinfo="skip",
            )
        )
    for segment in result.segments[1:]:
        fig.add_shape(
            type="line",
            x0=segment.start_period,
            x1=segment.start_period,
            y0=0,
            y1=1,
            yref="paper",
            line={"color": NHS_DARK_GREY, "width": 1, "dash": "dot"},
        )
        fig.add_annotation(
            x=segment.start_period,
            y=1,
            yref="paper",
            text="Limits recalculated",
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
            font={"size": 12, "color": NHS_DARK_GREY},
        )
    fig.update_layout(**base_layout(title=title, x_title=x_title, y_title=unit))

    table = pd.DataFrame(result.rows(label=label)).rename(
        columns={
            "period": x_title,
            "value": unit,
            "centre_line": "Centre line (mean, or median for a run chart)",
            "lower_process_limit": "Lower process limit",
            "upper_process_limit": "Upper process limit",
            "variation": "Variation",
            "explanation": "Explanation",
        }
    )
    if table.empty:
        table = pd.DataFrame(columns=[x_title, unit, "Explanation"])
    if target is not None:
        table["Target"] = target
    text = result.summary
    if target is not None and target != result.target:
        text += f" Target shown: {format_number(target)}."
    return Chart(figure=fig, table=table, text=text)


def _category(point) -> str:
    if point.variation.is_improvement:
        return "improvement"
    if point.variation.is_concern:
        return "concern"
    return "common"


def _add_segment_lines(fig: go.Figure, result: SPCResult) -> None:
    """Centre lines and limits, one trace per kind with a gap between segments, so that the
    legend names each line once and rebased limits are visibly separate."""
    lines = {
        "Mean": {"color": NHS_BLACK, "width": 2},
        "Median": {"color": NHS_BLACK, "width": 2, "dash": "dash"},
        "Process limits": {"color": NHS_DARK_GREY, "width": 1.5, "dash": "dash"},
        "2-sigma lines": {"color": NHS_MID_GREY, "width": 1, "dash": "dot"},
    }
    xs: dict[str, list] = {name: [] for name in lines}
    ys: dict[str, list] = {name: [] for name in lines}

    def add(name, start, end, value):
        xs[name] += [start, end, None]
        ys[name] += [value, value, None]

    for segment in result.segments:
        if segment.n_values == 0:
            continue
        start, end = segment.start_period, segment.end_period
        if segment.chart_type is ChartType.XMR:
            add("Mean", start, end, segment.mean)
            for value in (segment.lower_limit, segment.upper_limit):
                add("Process limits", start, end, value)
            for value in (segment.lower_two_sigma, segment.upper_two_sigma):
                add("2-sigma lines", start, end, value)
        else:
            add("Median", start, end, segment.median)
    for name, style in lines.items():
        if xs[name]:
            fig.add_trace(
                go.Scatter(x=xs[name], y=ys[name], mode="lines", name=name, line=style, hoverinfo="skip")
            )
