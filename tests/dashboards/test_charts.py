import hashlib
import json
import re
from pathlib import Path

import plotly
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs_version

from dashboards.charts import decile_bar_figure, figure_html, funnel_figure
from dashboards.statistics import FunnelSignificance, funnel_limit
from pcn_portal.charts import MDC_CONCERN, MDC_IMPROVEMENT, MDC_NEUTRAL, NHS_BLUE, NHS_DARK_BLUE

ROOT = Path(__file__).resolve().parents[2]


def traces(fig):
    return {trace.name: trace for trace in fig.data}


# --- figure_html and the vendored bundle -----------------------------------------------------


def test_figure_html_is_a_div_without_plotlyjs_or_cdn():
    html = figure_html(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), div_id="chart-1")
    assert html.startswith("<div")
    assert 'id="chart-1"' in html
    assert "Plotly.newPlot" in html
    assert "<script src" not in html and "cdn.plot.ly" not in html and "cdn" not in html.lower()
    config = json.loads(re.search(r'\{"displaylogo".*?\}', html).group(0))
    assert config == {"displaylogo": False, "responsive": True}


def test_vendored_plotlyjs_is_the_one_the_python_package_ships():
    vendored = ROOT / "static" / "plotly" / "plotly.min.js"
    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert hashlib.sha256(vendored.read_bytes()).digest() == hashlib.sha256(shipped.read_bytes()).digest()
    version = (ROOT / "static" / "plotly" / "VERSION").read_text()
    assert f"plotly.js {get_plotlyjs_version()} " in version
    assert f"plotly {plotly.__version__} " in version
    assert "MIT License" in (ROOT / "static" / "plotly" / "LICENCE.txt").read_text()


# --- funnel ----------------------------------------------------------------------------------

# Five PCNs around a pooled 50%: one far above, one far below, three typical.
NAMES = ["High PCN", "Low PCN", "A", "B", "C"]
NUMERATORS = [900, 200, 2460, 5010, 1480]
DENOMINATORS = [1000, 1000, 5000, 10000, 3000]


def test_funnel_figure_traces_and_titles():
    chart = funnel_figure(
        NAMES,
        NUMERATORS,
        DENOMINATORS,
        title="LD health checks by PCN",
        y_title="Patients with a health check (%)",
        x_title="Patients on the LD register aged 14+",
        average=0.5,
        average_label="ICB average",
        higher_is_better=True,
    )
    fig = chart.figure
    named = traces(fig)
    assert fig.layout.title.text == "LD health checks by PCN"
    assert fig.layout.xaxis.title.text == "Patients on the LD register aged 14+"
    assert fig.layout.yaxis.title.text == "Patients with a health check (%)"
    assert {"95% limits", "99.8% limits", "ICB average (50.0)"} <= set(named)
    high = named[FunnelSignificance.HIGH_99_8.value]
    low = named[FunnelSignificance.LOW_99_8.value]
    assert high.text == ("High PCN",) and high.y == (90,)
    assert low.text == ("Low PCN",) and low.y == (20,)
    assert high.marker.color == MDC_IMPROVEMENT and high.marker.symbol == "triangle-up"
    assert low.marker.color == MDC_CONCERN and low.marker.symbol == "triangle-down"
    assert set(named[FunnelSignificance.NOT_SIGNIFICANT.value].text) == {"A", "B", "C"}
    assert "around ICB average: 50.0." in chart.text


def test_funnel_lines_are_the_fingertips_limits():
    chart = funnel_figure(NAMES, NUMERATORS, DENOMINATORS, title="t", y_title="y", average=0.5)
    fig = chart.figure
    upper95 = next(t for t in fig.data if t.name == "95% limits" and t.showlegend)
    for n, y in zip(upper95.x, upper95.y, strict=True):
        assert y == pytest.approx(funnel_limit(n, 0.5, 0.975, "high") * 100)
    assert min(upper95.x) == pytest.approx(800) and max(upper95.x) == pytest.approx(10500)


def test_funnel_table_and_text():
    chart = funnel_figure(
        NAMES, NUMERATORS, DENOMINATORS, title="Checks", y_title="Checked (%)", highlight="A"
    )
    table = chart.table
    assert list(table["Name"]) == NAMES
    assert table.loc[0, "Checked (%)"] == pytest.approx(90)
    # Pooled average (Σx/Σn = 10050/20000) drives the limits when none is given.
    assert table.loc[3, "Upper 95% limit"] == pytest.approx(
        funnel_limit(10000, 10050 / 20000, 0.975, "high") * 100
    )
    assert table.loc[1, "Compared with the funnel"] == FunnelSignificance.LOW_99_8.value
    assert "Above the 99.8% limits: 1;" in chart.text and "below the 99.8% limits: 1." in chart.text
    assert chart.text.endswith("A: 49.2, within 95% limits.")
    assert [a.text for a in chart.figure.layout.annotations] == ["A"]
    assert chart.csv().startswith("Name,Numerator,Denominator,Checked (%)")


def test_funnel_without_direction_is_neutral():
    named = traces(funnel_figure(NAMES, NUMERATORS, DENOMINATORS, title="t", y_title="y").figure)
    assert named[FunnelSignificance.HIGH_99_8.value].marker.color == MDC_NEUTRAL
    assert named[FunnelSignificance.LOW_99_8.value].marker.color == MDC_NEUTRAL


def test_funnel_rejects_mismatched_input():
    with pytest.raises(ValueError):
        funnel_figure(["a"], [1, 2], [3, 4], title="t", y_title="y")


# --- decile profile --------------------------------------------------------------------------

COUNTS = {1: 3000, 2: 2000, 3: 1500, 4: 1000, 5: 800, 6: 600, 7: 500, 8: 300, 9: 200, 10: 100}  # 10,000


def test_decile_bar_figure_shares_colours_and_titles():
    england = [0.1] * 10
    chart = decile_bar_figure(
        COUNTS, title="Blackburn West PCN", edition="IoD2019", unknown=250, comparators={"England": england}
    )
    fig = chart.figure
    named = traces(fig)
    assert fig.layout.title.text == "Blackburn West PCN"
    assert (
        fig.layout.xaxis.title.text
        == "National IMD decile (IoD2019): 1 = most deprived 10% of neighbourhoods"
    )
    assert fig.layout.yaxis.title.text == "Share of registered patients (%)"
    core20 = named["Core20: deciles 1-2"]
    assert core20.x == (1, 2) and core20.y == pytest.approx((30, 20))
    assert core20.marker.color == NHS_DARK_BLUE
    assert named["Deciles 3-10"].marker.color == NHS_BLUE
    assert named["Deciles 3-10"].y == pytest.approx((15, 10, 8, 6, 5, 3, 2, 1))
    assert named["England"].y == pytest.approx((10,) * 10)


def test_decile_bar_table_keeps_unknown_and_text_says_core20():
    chart = decile_bar_figure(list(COUNTS.values()), title="PCN", edition="IoD2025", unknown=250)
    table = chart.table
    assert list(table["IMD decile"]) == [str(d) for d in range(1, 11)] + ["Deprivation unknown"]
    assert table["Patients"].sum() == 10_250
    assert table.iloc[0]["Share of patients with a known decile (%)"] == pytest.approx(30)
    assert "10,250 registered patients, 10,000 with a known IoD2025 decile" in chart.text
    assert "5,000, 50.0% of those with a known decile" in chart.text
    assert chart.text.endswith("Deprivation unknown: 250 registered patients.")


def test_decile_bar_with_no_known_deciles():
    chart = decile_bar_figure([0] * 10, title="Empty", edition="IoD2019", unknown=40)
    assert "0 with a known IoD2019 decile" in chart.text
    assert "Deprivation unknown: 40" in chart.text


@pytest.mark.parametrize("counts", [[1] * 9, {0: 5}, {1: -1}])
def test_decile_bar_rejects_bad_counts(counts):
    with pytest.raises(ValueError):
        decile_bar_figure(counts, title="t", edition="IoD2019")


def test_chart_csv_makes_formulas_inert_and_keeps_numbers():
    import csv
    import io

    import pandas as pd

    from pcn_portal.charts import Chart

    table = pd.DataFrame(
        {"Plan": ['=HYPERLINK("http://x")', "Blood pressure", "-1", None], "Value (%)": [1.5, -2.0, 3.0, 4.0]}
    )
    rows = list(csv.reader(io.StringIO(Chart(go.Figure(), table, "text").csv())))
    assert rows == [
        ["Plan", "Value (%)"],
        ['\'=HYPERLINK("http://x")', "1.5"],
        ["Blood pressure", "-2.0"],
        ["-1", "3.0"],
        ["", "4.0"],
    ]
