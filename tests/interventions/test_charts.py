from datetime import date

import pytest

from interventions.charts import spc_figure
from interventions.spc import analyse
from pcn_portal.charts import MDC_COMMON, MDC_CONCERN, MDC_IMPROVEMENT


def months(values):
    return [(date(2024 + (i // 12), i % 12 + 1, 1), v) for i, v in enumerate(values)]


def traces(fig):
    return {trace.name: trace for trace in fig.data}


def test_spc_figure_has_lines_markers_and_plain_titles():
    # 8,16 x6 then 40: the last value is above the upper limit (see test_spc).
    result = analyse(months([8, 16] * 6 + [40]), improvement="higher", target=20)
    chart = spc_figure(result, title="LD health checks", unit="Patients with a health check (%)")
    fig = chart.figure
    named = traces(fig)
    assert {"Value", "Mean", "Process limits", "2-sigma lines", "Common cause"} <= set(named)
    assert "Special cause: improvement" in named and "Special cause: concern" not in named
    assert fig.layout.title.text == "LD health checks"
    assert fig.layout.xaxis.title.text == "Period"
    assert fig.layout.yaxis.title.text == "Patients with a health check (%)"
    assert named["Special cause: improvement"].y == (40,)
    assert named["Special cause: improvement"].marker.color == MDC_IMPROVEMENT
    assert named["Common cause"].marker.color == MDC_COMMON
    assert len(named["Common cause"].y) == 12
    limits = [v for v in named["Process limits"].y if v is not None]
    assert limits == pytest.approx(
        [result.segments[0].lower_limit] * 2 + [result.segments[0].upper_limit] * 2
    )
    assert named["Process limits"].line.dash == "dash"
    assert named["2-sigma lines"].line.dash == "dot"
    assert named["Target (20)"].y == (20, 20)
    assert "above the upper process limit" in named["Special cause: improvement"].text[0]


def test_spc_figure_concern_is_orange_diamond():
    result = analyse(months([8, 16] * 6 + [40]), improvement="lower")
    named = traces(spc_figure(result, title="t", unit="u").figure)
    concern = named["Special cause: concern"]
    assert concern.marker.color == MDC_CONCERN and concern.marker.symbol == "diamond"
    assert "Target" not in " ".join(named)


def test_spc_figure_run_chart_shows_median_not_limits():
    result = analyse(months([3, 4, 3, 5, 4]), improvement="higher")
    named = traces(spc_figure(result, title="t", unit="u").figure)
    assert "Median" in named
    assert "Process limits" not in named and "Mean" not in named


def test_spc_figure_marks_rebase():
    values = [11, 9] * 6 + [21, 19] * 6
    points = months(values)
    result = analyse(points, improvement="higher", rebase_at=[points[12][0]])
    fig = spc_figure(result, title="t", unit="u").figure
    assert [a.text for a in fig.layout.annotations] == ["Limits recalculated"]
    assert fig.layout.shapes[0].x0 == points[12][0]
    means = traces(fig)["Mean"].y
    assert [v for v in means if v is not None] == [10, 10, 20, 20]  # two segments, a gap between


def test_spc_figure_table_and_text_alternative():
    result = analyse(months([8, 16] * 6 + [40, None]), improvement="higher")
    chart = spc_figure(result, title="t", unit="Rate per 1,000", target=30, label=lambda d: f"{d:%b %Y}")
    assert list(chart.table.columns[:2]) == ["Period", "Rate per 1,000"]
    assert len(chart.table) == 14
    assert chart.table.iloc[0]["Period"] == "Jan 2024"
    assert chart.table["Target"].eq(30).all()
    assert chart.text.startswith("13 values from")
    assert chart.text.endswith("Target shown: 30.")
    assert chart.csv().splitlines()[0].startswith("Period,Rate per 1,000") is False  # quoted: has a comma
    assert chart.csv().splitlines()[0].startswith('Period,"Rate per 1,000"')


def test_spc_figure_without_values():
    chart = spc_figure(analyse([], improvement="higher"), title="t", unit="u")
    assert chart.text == "No values have been recorded yet."
    assert chart.table.empty
    assert 'class="plotly-graph-div"' in chart.html()
