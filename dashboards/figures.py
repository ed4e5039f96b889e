"""The dashboard pages' figures, built from aggregate rows: each returns a
:class:`pcn_portal.charts.Chart` (figure, the table it plots — also its CSV download — and a
text alternative). Pure functions over plain values; no database.

Colours: NHS blue for values, black and purple reference lines with distinct dash styles, and
for categories (plan status) the Okabe-Ito palette, which stays distinguishable with every common
colour-vision deficiency; every category is also named in the legend and the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboards.aggregates import INDICATORS
from pcn_portal.charts import (
    NHS_BLACK,
    NHS_BLUE,
    NHS_DARK_BLUE,
    NHS_DARK_GREY,
    NHS_PURPLE,
    Chart,
    base_layout,
    number,
    percent,
)

# Okabe & Ito (2008), colour-blind safe categorical palette.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
REFERENCE_STYLES = [
    {"color": NHS_BLACK, "dash": "dash", "width": 2},
    {"color": NHS_PURPLE, "dash": "dot", "width": 2},
    {"color": NHS_DARK_GREY, "dash": "dashdot", "width": 2},
]
STATUS_ORDER = [
    ("draft", "Draft"),
    ("submitted", "Awaiting decision"),
    ("changes_requested", "Changes requested"),
    ("approved", "Approved"),
    ("active", "Active"),
    ("completed", "Completed"),
    ("rejected", "Rejected"),
    ("withdrawn", "Withdrawn"),
]
STATUS_LABELS = dict(STATUS_ORDER)


def _height(rows: int) -> int:
    return max(350, min(2400, 120 + 22 * rows))


def core20_ranked_figure(
    names: Sequence[str],
    shares: Sequence[float | None],
    patients: Sequence[int],
    *,
    title: str,
    unit: str,
    references: Mapping[str, float | None] | None = None,
) -> Chart:
    """Horizontal bars of Core20 share (0-1), most deprived at the top, with reference lines
    (e.g. the ICB and England). ``unit`` names what each bar is ("PCN", "ICB")."""
    rows = sorted(
        ((n, s, p) for n, s, p in zip(names, shares, patients, strict=True) if s is not None),
        key=lambda r: (-r[1], r[0]),
    )
    y = [r[0] for r in rows]
    x = [r[1] * 100 for r in rows]
    fig = go.Figure(
        go.Bar(
            x=x,
            y=y,
            orientation="h",
            name=f"Core20 share of each {unit}",
            marker={"color": NHS_BLUE},
            customdata=[r[2] for r in rows],
            hovertemplate="%{y}: %{x:.1f}% of %{customdata:,.0f} patients<extra></extra>",
        )
    )
    references = {k: v for k, v in (references or {}).items() if v is not None}
    # Reference lines span the plot on a hidden 0-1 axis, however many bars there are.
    for k, (label, share) in enumerate(references.items()):
        fig.add_trace(
            go.Scatter(
                x=[share * 100, share * 100],
                y=[0, 1],
                yaxis="y2",
                mode="lines",
                name=f"{label}: {share * 100:.1f}%",
                line=REFERENCE_STYLES[k % len(REFERENCE_STYLES)],
                hoverinfo="skip",
            )
        )
    layout = base_layout(
        title=title,
        x_title="Share of registered patients living in Core20 neighbourhoods (%)",
        y_title=unit,
        height=_height(len(rows)) + 40,
    )
    layout["legend"] = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0}
    layout["margin"] = {**layout["margin"], "t": 100}
    fig.update_layout(
        **layout, yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True}
    )
    fig.update_yaxes(autorange="reversed", type="category", selector={"anchor": "x"})
    fig.update_layout(yaxis={"autorange": "reversed", "type": "category"})
    table = pd.DataFrame(
        {
            unit: y,
            "Registered patients": [r[2] for r in rows],
            "Core20 share (%)": x,
        }
    )
    text = f"{title}: {len(rows)} {unit}s ranked by Core20 share."
    if rows:
        text += (
            f" Highest: {rows[0][0]} ({percent(rows[0][1])}); lowest: {rows[-1][0]} ({percent(rows[-1][1])})."
        )
    for label, share in references.items():
        above = sum(1 for r in rows if r[1] > share)
        text += f" {label}: {percent(share)}; {above} of {len(rows)} above it."
    return Chart(figure=fig, table=table, text=text)


def core20_distribution_figure(
    shares: Sequence[float | None], *, title: str, marks: Mapping[str, float]
) -> Chart:
    """How many PCNs have each Core20 share (5-point bands), with named PCNs marked."""
    values = np.array([s * 100 for s in shares if s is not None], dtype=float)
    edges = np.arange(0, 105, 5)
    counts, _ = np.histogram(values, bins=edges)
    labels = [f"{a}-{a + 5}%" for a in edges[:-1]]
    fig = go.Figure(
        go.Bar(
            x=[a + 2.5 for a in edges[:-1]],
            y=counts,
            width=4.6,
            name="PCNs",
            marker={"color": NHS_BLUE},
            customdata=labels,
            hovertemplate="%{customdata}: %{y:,} PCNs<extra></extra>",
        )
    )
    top = int(counts.max()) if len(counts) else 1
    for k, (label, share) in enumerate(marks.items()):
        fig.add_trace(
            go.Scatter(
                x=[share * 100, share * 100],
                y=[0, top],
                mode="lines",
                name=f"{label}: {share * 100:.1f}%",
                line=REFERENCE_STYLES[k % len(REFERENCE_STYLES)],
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        **base_layout(
            title=title,
            x_title="Share of registered patients living in Core20 neighbourhoods (%)",
            y_title="Number of PCNs",
        )
    )
    table = pd.DataFrame({"Core20 share band": labels, "PCNs": counts})
    text = f"{title}: {number(len(values))} PCNs. " + "; ".join(
        f"{n:,} PCNs between {lab}" for lab, n in zip(labels, counts, strict=True) if n
    )
    for label, share in marks.items():
        text += f". {label}: {percent(share)}"
    return Chart(figure=fig, table=table, text=text + ".")


def plan_status_figure(names: Sequence[str], by_status: Sequence[Mapping[str, int]], *, title: str) -> Chart:
    """Stacked bars: each PCN's plans by status."""
    statuses = [(k, lab) for k, lab in STATUS_ORDER if any(d.get(k) for d in by_status)]
    fig = go.Figure()
    for k, (key, label) in enumerate(statuses):
        fig.add_trace(
            go.Bar(
                x=[d.get(key, 0) for d in by_status],
                y=list(names),
                orientation="h",
                name=label,
                marker={"color": OKABE_ITO[k % len(OKABE_ITO)], "line": {"color": NHS_BLACK, "width": 0.5}},
                hovertemplate=f"%{{y}}: %{{x}} {label.lower()}<extra></extra>",
            )
        )
    fig.update_layout(
        **base_layout(title=title, x_title="Number of plans", y_title="PCN", height=_height(len(names))),
        barmode="stack",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    table = pd.DataFrame({"PCN": list(names)})
    for key, label in statuses:
        table[label] = [d.get(key, 0) for d in by_status]
    total = sum(sum(d.values()) for d in by_status)
    with_plan = sum(1 for d in by_status if sum(d.values()))
    text = f"{title}: {total:,} plans across {with_plan} of {len(names)} PCNs. " + "; ".join(
        f"{label}: {sum(d.get(key, 0) for d in by_status):,}" for key, label in statuses
    )
    return Chart(figure=fig, table=table, text=text.rstrip(" ") + ".")


def practices_figure(
    names: Sequence[str],
    shares: Sequence[float | None],
    patients: Sequence[int],
    *,
    title: str,
    references: Mapping[str, float | None],
) -> Chart:
    """The PCN's practices side by side: Core20 share of each, with the PCN, ICB and England."""
    chart = core20_ranked_figure(names, shares, patients, title=title, unit="Practice", references=references)
    return chart


def target_trend_figure(
    indicator_key: str,
    quarters: Sequence,
    values: Sequence[float],
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    title: str,
    comparators: Mapping[str, Mapping] | None = None,
) -> Chart:
    """A priority target by quarter with Wilson 95% intervals, the national threshold and
    comparators ({name: {quarter: value}})."""
    indicator = INDICATORS[indicator_key]
    labels = [q.strftime("%b %Y") if hasattr(q, "strftime") else str(q) for q in quarters]
    v = np.array(values, dtype=float) * 100
    lo = np.array(lower, dtype=float) * 100
    hi = np.array(upper, dtype=float) * 100
    fig = go.Figure(
        go.Scatter(
            x=labels,
            y=v,
            mode="lines+markers",
            name="This PCN",
            line={"color": NHS_DARK_BLUE, "width": 2},
            marker={"size": 9, "symbol": "circle"},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": hi - v,
                "arrayminus": v - lo,
                "color": NHS_DARK_GREY,
            },
            hovertemplate="%{x}: %{y:.1f}%<extra></extra>",
        )
    )
    comparators = comparators or {}
    for k, (name, by_quarter) in enumerate(comparators.items()):
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=[by_quarter.get(q, np.nan) * 100 for q in quarters],
                mode="lines+markers",
                name=name,
                line=REFERENCE_STYLES[(k + 1) % len(REFERENCE_STYLES)],
                marker={"symbol": ["diamond", "square", "x"][k % 3], "size": 8},
                hovertemplate=f"{name}, %{{x}}: %{{y:.1f}}%<extra></extra>",
            )
        )
    if indicator.threshold is not None:
        fig.add_trace(
            go.Scatter(
                x=[labels[0], labels[-1]] if labels else [],
                y=[indicator.threshold * 100] * 2,
                mode="lines",
                name=indicator.threshold_label,
                line=REFERENCE_STYLES[0],
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        **base_layout(title=title, x_title="Quarter starting", y_title=f"{indicator.title} (%)", height=380)
    )
    fig.update_yaxes(range=[0, 105])
    table = pd.DataFrame(
        {
            "Quarter starting": labels,
            f"{indicator.title} (%)": v,
            "Lower 95% limit (%)": lo,
            "Upper 95% limit (%)": hi,
        }
    )
    for name, by_quarter in comparators.items():
        table[f"{name} (%)"] = [by_quarter.get(q, np.nan) * 100 for q in quarters]
    text = f"{title}: {len(labels)} quarters."
    if labels:
        text += f" Latest ({labels[-1]}): {v[-1]:.1f}% (95% interval {lo[-1]:.1f}% to {hi[-1]:.1f}%)."
        if indicator.threshold is not None:
            met = "meets" if v[-1] >= indicator.threshold * 100 else "is below"
            text += f" It {met} the {indicator.threshold_label.lower()} ({indicator.threshold * 100:.0f}%)."
    return Chart(figure=fig, table=table, text=text)


def quintile_figure(
    indicator_key: str, numerators: Sequence[int], denominators: Sequence[int], *, title: str
) -> Chart:
    """A priority target in each national deprivation quintile of practices, with Wilson 95%
    intervals."""
    from dashboards.statistics import wilson_interval

    indicator = INDICATORS[indicator_key]
    x = np.array(numerators, dtype=float)
    n = np.array(denominators, dtype=float)
    safe = np.where(n > 0, n, 1)
    values = np.where(n > 0, x / safe * 100, np.nan)
    limits = wilson_interval(np.where(n > 0, x, 0), safe)
    lo = np.where(n > 0, np.asarray(limits.lower) * 100, np.nan)
    hi = np.where(n > 0, np.asarray(limits.upper) * 100, np.nan)
    labels = ["Q1 most deprived", "Q2", "Q3", "Q4", "Q5 least deprived"]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=values,
            name=indicator.title,
            marker={"color": [NHS_DARK_BLUE, NHS_BLUE, NHS_BLUE, NHS_BLUE, NHS_BLUE]},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": hi - values,
                "arrayminus": values - lo,
                "color": NHS_BLACK,
            },
            hovertemplate="%{x}: %{y:.1f}%<extra></extra>",
        )
    )
    fig.update_layout(
        **base_layout(
            title=title,
            x_title="National deprivation quintile of the practice",
            y_title=f"{indicator.title} (%)",
            height=380,
        )
    )
    table = pd.DataFrame(
        {
            "Practice deprivation quintile": labels,
            indicator.numerator_label: x.astype(int),
            indicator.denominator_label: n.astype(int),
            "Value (%)": values,
            "Lower 95% limit (%)": lo,
            "Upper 95% limit (%)": hi,
        }
    )
    text = f"{title}: " + "; ".join(
        f"{lab} {'no practices' if np.isnan(val) else f'{val:.1f}%'}"
        for lab, val in zip(labels, values, strict=True)
    )
    return Chart(figure=fig, table=table, text=text + ".")


def format_table(table: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """The chart's table for people: (headers, rows of strings, numeric flags per column).
    Percentages (columns named "(%)") one decimal with a % sign; counts with thousands
    separators; other numbers one decimal."""
    headers = [str(c) for c in table.columns]
    numeric = [pd.api.types.is_numeric_dtype(table[c]) for c in table.columns]
    rows = []
    for record in table.itertuples(index=False, name=None):
        cells = []
        for header, is_number, value in zip(headers, numeric, record, strict=True):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                cells.append("–")
            elif not is_number:
                cells.append(str(value))
            elif "(%)" in header:
                cells.append(f"{float(value):.1f}%")
            elif float(value).is_integer():
                cells.append(f"{int(value):,}")
            else:
                cells.append(f"{float(value):,.1f}")
        rows.append(cells)
    return headers, rows, numeric
