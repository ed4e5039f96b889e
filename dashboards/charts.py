"""Plotly figures for the dashboards: funnel plots and deprivation-decile profiles.

Pure functions over plain numbers (the precomputed aggregates), each returning a
:class:`pcn_portal.charts.Chart` — the figure, the table it plots (for the table beside it and the
CSV download) and a plain-English text alternative. Render with ``chart.html()`` (plotly.js comes
from static/plotly/, never a CDN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboards.statistics import FunnelSignificance, funnel_limits, funnel_significance
from pcn_portal.charts import (
    MDC_COMMON,
    MDC_CONCERN,
    MDC_IMPROVEMENT,
    MDC_NEUTRAL,
    NHS_BLACK,
    NHS_BLUE,
    NHS_DARK_BLUE,
    NHS_DARK_GREY,
    NHS_PURPLE,
    Chart,
    base_layout,
    figure_html,
    number,
    percent,
)

__all__ = ["decile_bar_figure", "figure_html", "funnel_figure"]

DECILES = tuple(range(1, 11))
CORE20_DECILES = (1, 2)


# --- Funnel plot -----------------------------------------------------------------------------


def funnel_figure(
    names: Sequence[str],
    numerators: Sequence[float],
    denominators: Sequence[float],
    *,
    title: str,
    y_title: str,
    x_title: str = "Number of patients (denominator)",
    average: float | None = None,
    average_label: str = "Average",
    higher_is_better: bool | None = None,
    highlight: str | None = None,
    multiplier: float = 100,
) -> Chart:
    """Funnel plot of proportions x/n against n with 95% and 99.8% control limits around
    ``average`` (default: pooled Σx/Σn), the Fingertips method (dashboards.statistics).

    ``higher_is_better`` colours values above the funnel as improvement (blue) and below as
    concern (orange), or the reverse; ``None`` leaves both neutral (purple). Values above point
    up, values below point down, so colour is never the only cue.
    """
    names = list(names)
    x = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    if not (len(names) == len(x) == len(n)) or len(n) == 0:
        raise ValueError("give one name, numerator and denominator per unit, at least one")
    if average is None:
        average = float(x.sum() / n.sum())
    significance = funnel_significance(x, n, average)
    values = x / n * multiplier

    # Draw the funnel over the data's range only (PHE's axis starts at 1 when denominators vary
    # more than twofold, which squashes list sizes of thousands into the corner).
    lines = funnel_limits(np.geomspace(max(1.0, 0.8 * n.min()), 1.05 * n.max(), 100), average, multiplier)
    fig = go.Figure()
    line_styles = [
        ("upper_99_8", "99.8% limits", {"color": NHS_DARK_GREY, "width": 1.5, "dash": "dot"}, True),
        ("lower_99_8", "99.8% limits", {"color": NHS_DARK_GREY, "width": 1.5, "dash": "dot"}, False),
        ("upper_95", "95% limits", {"color": NHS_DARK_GREY, "width": 1.5, "dash": "dash"}, True),
        ("lower_95", "95% limits", {"color": NHS_DARK_GREY, "width": 1.5, "dash": "dash"}, False),
    ]
    for column, name, style, show in line_styles:
        fig.add_trace(
            go.Scatter(
                x=lines.denominator,
                y=lines[column],
                mode="lines",
                name=name,
                legendgroup=name,
                showlegend=show,
                line=style,
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[lines.denominator.iloc[0], lines.denominator.iloc[-1]],
            y=[average * multiplier] * 2,
            mode="lines",
            name=f"{average_label} ({average * multiplier:.1f})",
            line={"color": NHS_BLACK, "width": 2},
            hoverinfo="skip",
        )
    )
    for category, style in _funnel_styles(higher_is_better).items():
        chosen = [i for i, s in enumerate(significance) if s is category]
        if not chosen:
            continue
        fig.add_trace(
            go.Scatter(
                x=n[chosen],
                y=values[chosen],
                mode="markers",
                name=category.value,
                marker={**style, "line": {"color": NHS_BLACK, "width": 1}},
                text=[names[i] for i in chosen],
                customdata=np.column_stack([x[chosen], n[chosen]]),
                hovertemplate=(
                    "%{text}<br>%{y:.1f} (%{customdata[0]:,.0f} of %{customdata[1]:,.0f})<extra></extra>"
                ),
            )
        )
    if highlight is not None and highlight in names:
        i = names.index(highlight)
        fig.add_annotation(
            x=n[i],
            y=values[i],
            text=highlight,
            showarrow=True,
            arrowhead=2,
            arrowcolor=NHS_BLACK,
            font={"color": NHS_BLACK},
            bgcolor="#FFFFFF",
        )
    fig.update_layout(**base_layout(title=title, x_title=x_title, y_title=y_title))
    fig.update_xaxes(rangemode="tozero")

    at_n = funnel_limits(n, average, multiplier)
    table = pd.DataFrame(
        {
            "Name": names,
            "Numerator": x,
            "Denominator": n,
            y_title: values,
            "Lower 99.8% limit": at_n.lower_99_8,
            "Lower 95% limit": at_n.lower_95,
            "Upper 95% limit": at_n.upper_95,
            "Upper 99.8% limit": at_n.upper_99_8,
            "Compared with the funnel": [s.value for s in significance],
        }
    )
    counts = {s: sum(1 for v in significance if v is s) for s in FunnelSignificance}
    text = (
        f"{title}: {len(names)} values plotted against their denominators, around "
        f"{average_label}: {average * multiplier:.1f}. "
        f"Above the 99.8% limits: {counts[FunnelSignificance.HIGH_99_8]}; "
        f"above the 95% limits only: {counts[FunnelSignificance.HIGH_95]}; "
        f"within the 95% limits: {counts[FunnelSignificance.NOT_SIGNIFICANT]}; "
        f"below the 95% limits only: {counts[FunnelSignificance.LOW_95]}; "
        f"below the 99.8% limits: {counts[FunnelSignificance.LOW_99_8]}."
    )
    if highlight is not None and highlight in names:
        i = names.index(highlight)
        text += f" {highlight}: {values[i]:.1f}, {significance[i].value.lower()}."
    return Chart(figure=fig, table=table, text=text)


def _funnel_styles(higher_is_better: bool | None) -> dict:
    if higher_is_better is None:
        high = low = MDC_NEUTRAL
    elif higher_is_better:
        high, low = MDC_IMPROVEMENT, MDC_CONCERN
    else:
        high, low = MDC_CONCERN, MDC_IMPROVEMENT
    return {
        FunnelSignificance.HIGH_99_8: {"color": high, "symbol": "triangle-up", "size": 12},
        FunnelSignificance.HIGH_95: {"color": high, "symbol": "triangle-up", "size": 10, "opacity": 0.7},
        FunnelSignificance.NOT_SIGNIFICANT: {"color": MDC_COMMON, "symbol": "circle", "size": 8},
        FunnelSignificance.LOW_95: {"color": low, "symbol": "triangle-down", "size": 10, "opacity": 0.7},
        FunnelSignificance.LOW_99_8: {"color": low, "symbol": "triangle-down", "size": 12},
    }


# --- Deprivation decile profile --------------------------------------------------------------


def decile_bar_figure(
    counts: Mapping[int, float] | Sequence[float],
    *,
    title: str,
    edition: str,
    unknown: float = 0,
    comparators: Mapping[str, Sequence[float]] | None = None,
    population_label: str = "registered patients",
) -> Chart:
    """Share of ``population_label`` in each national IMD decile (1 = most deprived 10% of
    neighbourhoods in England), Core20 deciles 1-2 in dark blue.

    ``counts`` maps decile → patients (or lists deciles 1-10 in order). Shares are of patients
    whose decile is known; ``unknown`` is shown in the table and the text, never dropped.
    ``comparators`` maps a name ("ICB", "England") to ten shares (0-1), drawn as markers.
    """
    by_decile = _decile_counts(counts)
    known = sum(by_decile)
    shares = [c / known if known else 0.0 for c in by_decile]
    core20 = sum(by_decile[d - 1] for d in CORE20_DECILES)
    fig = go.Figure()
    for label, deciles, colour in (
        ("Core20: deciles 1-2", CORE20_DECILES, NHS_DARK_BLUE),
        ("Deciles 3-10", tuple(range(3, 11)), NHS_BLUE),
    ):
        fig.add_trace(
            go.Bar(
                x=list(deciles),
                y=[shares[d - 1] * 100 for d in deciles],
                name=label,
                marker={"color": colour},
                customdata=[by_decile[d - 1] for d in deciles],
                hovertemplate="Decile %{x}: %{y:.1f}% (%{customdata:,.0f} patients)<extra></extra>",
            )
        )
    symbols = ["diamond", "square", "x", "star"]
    colours = [NHS_BLACK, NHS_PURPLE, NHS_DARK_GREY, MDC_CONCERN]
    comparators = dict(comparators or {})
    for k, (name, comparator_shares) in enumerate(comparators.items()):
        if len(comparator_shares) != 10:
            raise ValueError(f"comparator {name!r} needs ten decile shares")
        fig.add_trace(
            go.Scatter(
                x=list(DECILES),
                y=[s * 100 for s in comparator_shares],
                mode="markers+lines",
                name=name,
                marker={"symbol": symbols[k % 4], "size": 10, "color": colours[k % 4]},
                line={"color": colours[k % 4], "width": 1, "dash": "dot"},
                hovertemplate=f"{name}, decile %{{x}}: %{{y:.1f}}%<extra></extra>",
            )
        )
    fig.update_layout(
        **base_layout(
            title=title,
            x_title=f"National IMD decile ({edition}): 1 = most deprived 10% of neighbourhoods",
            y_title=f"Share of {population_label} (%)",
        ),
        barmode="group",
    )
    fig.update_xaxes(tickmode="array", tickvals=list(DECILES), showgrid=False)

    rows = {
        "IMD decile": [str(d) for d in DECILES],
        "Patients": list(by_decile),
        "Share of patients with a known decile (%)": [s * 100 for s in shares],
    }
    for name, comparator_shares in comparators.items():
        rows[f"{name} share (%)"] = [s * 100 for s in comparator_shares]
    table = pd.DataFrame(rows)
    unknown_row = {"IMD decile": "Deprivation unknown", "Patients": unknown}
    table = pd.concat([table, pd.DataFrame([unknown_row])], ignore_index=True)

    total = known + unknown
    text = (
        f"{title}: {number(total)} {population_label}, {number(known)} with a known {edition} "
        f"decile. Core20 (deciles 1-2, the most deprived 20% of neighbourhoods in England): "
        f"{number(core20)}, {percent(core20 / known if known else None)} of those with a known decile."
    )
    for name, comparator_shares in comparators.items():
        text += f" {name}: {percent(comparator_shares[0] + comparator_shares[1])} in Core20."
    if known:
        largest = max(DECILES, key=lambda d: shares[d - 1])
        text += f" The largest share is in decile {largest} ({percent(shares[largest - 1])})."
    text += f" Deprivation unknown: {number(unknown)} {population_label}."
    return Chart(figure=fig, table=table, text=text)


def _decile_counts(counts) -> list[float]:
    if isinstance(counts, Mapping):
        unexpected = set(counts) - set(DECILES)
        if unexpected:
            raise ValueError(f"deciles run from 1 to 10, got {sorted(unexpected)}")
        values = [float(counts.get(d, 0)) for d in DECILES]
    else:
        values = [float(c) for c in counts]
        if len(values) != 10:
            raise ValueError("give ten decile counts, decile 1 (most deprived) first")
    if any(v < 0 for v in values):
        raise ValueError("counts cannot be negative")
    return values
