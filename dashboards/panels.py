"""Charts as pages show them: built once per aggregate set and filter, then cached.

A `Panel` is what the chart include renders — the figure's HTML, its text alternative, its table
formatted for people — plus the CSV of that same table. Panels are cached under the aggregate
set's id and computation time, so a refresh of the figures makes new keys and old ones expire.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache

from dashboards.figures import format_table

CACHE_SECONDS = 60 * 60


@dataclass
class Panel:
    key: str  # the ?download= name of its CSV
    title: str
    html: str
    text: str
    headers: list  # (text, is_numeric)
    rows: list  # rows of (text, is_numeric)
    csv: str


def panel(agg, key, title, build, *, params=()):
    """The panel `key` for aggregate set `agg` and the page's filter `params`; `build()` returns
    a Chart and runs only on a cache miss."""
    digest = hashlib.sha256(repr((key, tuple(params))).encode()).hexdigest()[:24]
    cache_key = f"dash:{agg.pk}:{agg.computed_at.timestamp():.6f}:{digest}"
    found = cache.get(cache_key)
    if found is not None:
        return found
    chart = build()
    headers, rows, numeric = format_table(chart.table)
    result = Panel(
        key=key,
        title=title,
        html=chart.html(div_id=f"chart-{key}"),
        text=chart.text,
        headers=list(zip(headers, numeric, strict=True)),
        rows=[list(zip(row, numeric, strict=True)) for row in rows],
        csv=chart.csv(),
    )
    cache.set(cache_key, result, CACHE_SECONDS)
    return result
