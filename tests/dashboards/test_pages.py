"""Dashboard pages on fixture data: figures against an independent computation from the
registrations, CSVs against the tables shown, fixed query counts, refresh triggers, access."""

import csv
import io
from collections import defaultdict
from datetime import date
from html.parser import HTMLParser

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboards.figures import format_table
from dashboards.models import AggregateSet, PCNOverview
from inequalities import audit
from inequalities.models import LsoaDeprivation, PracticePCNMembership, Registration
from interventions.models import InterventionPlan
from tests.cache import clear_portal_cache
from tests.dashboards.builders import add_pcns, load_deprivation, nominate_lead


@pytest.fixture
def dash(world):
    add_pcns(world, 3)
    nominate_lead(world)
    load_deprivation()
    return world


def independent_counts():
    """Per PCN, ICB and England: (patients by decile 1-10, unknown), by plain loops over rows."""
    decile = dict(LsoaDeprivation.objects.values_list("lsoa_code", "decile"))
    pcn_of = {}
    for m in PracticePCNMembership.objects.select_related("pcn__sub_icb__icb", "practice"):
        pcn_of[m.practice.code] = (m.pcn.code, m.pcn.sub_icb.icb.code)
    out = defaultdict(lambda: ([0] * 10, [0]))
    for reg in Registration.objects.all():
        pcn, icb = pcn_of[reg.practice_code]
        d = decile.get(reg.lsoa_code)
        for key in (("pcn", pcn), ("icb", icb), ("england", "E92000001"), ("practice", reg.practice_code)):
            if d is None:
                out[key][1][0] += reg.patients
            else:
                out[key][0][d - 1] += reg.patients
    return out


def core20_share(counts):
    deciles, _ = counts
    return (deciles[0] + deciles[1]) / sum(deciles)


class Tables(HTMLParser):
    """Cells of every <table data-table=...> in a page."""

    def __init__(self):
        super().__init__()
        self.tables, self.current, self.row, self.cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self.current = attrs["data-table"]
            self.tables[self.current] = []
        elif self.current and tag == "tr":
            self.row = []
        elif self.current and tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.current = None
        elif tag in ("td", "th") and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.current].append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def page_tables(response):
    parser = Tables()
    parser.feed(response.content.decode())
    return parser.tables


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def _login(client, world, role):
    client.force_login(world.users[role])


# --- Figures against an independent computation ---------------------------------------------


def test_england_page_figures_equal_independent_computation(client, dash):
    _login(client, dash, "pcn_member")
    expected = independent_counts()
    response = client.get(reverse("dashboards:england"))
    assert response.status_code == 200
    nation = response.context["nation"]
    assert nation.core20_share == pytest.approx(core20_share(expected[("england", "E92000001")]))
    assert nation.unknown_patients == expected[("england", "E92000001")][1][0]
    rows = read_csv(client.get(reverse("dashboards:england") + "?download=icb-core20"))
    assert rows[0] == ["ICB", "Registered patients", "Core20 share (%)"]
    by_name = {r[0]: float(r[2]) for r in rows[1:]}
    assert by_name["Healthier Lancashire and South Cumbria"] == pytest.approx(
        100 * core20_share(expected[("icb", "QE1")])
    )
    assert len(by_name) == 2
    # The England decile profile lists every decile and the unknowns.
    deciles = read_csv(client.get(reverse("dashboards:england") + "?download=deciles"))
    assert [int(float(r[1])) for r in deciles[1:11]] == expected[("england", "E92000001")][0]
    assert int(float(deciles[11][1])) == expected[("england", "E92000001")][1][0]


def test_icb_overview_rows_equal_independent_computation(client, dash):
    _login(client, dash, "icb_analyst")
    expected = independent_counts()
    response = client.get(reverse("dashboards:icb", args=[dash.icb.code]))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) == 5  # pcn, sibling and three more; never the other ICB's
    for row in rows:
        assert row.core20_share == pytest.approx(core20_share(expected[("pcn", row.code)]))
        assert (
            row.registered_patients == sum(expected[("pcn", row.code)][0]) + expected[("pcn", row.code)][1][0]
        )
    leads = {r.code: r.hi_lead for r in rows}
    lead = dash.users["hi_lead"]
    assert leads[dash.pcn.code] == f"{lead.first_name} {lead.last_name}".strip()  # the nomination
    assert not leads[dash.sibling_pcn.code]


def test_pcn_dashboard_deciles_equal_independent_counts(client, dash):
    _login(client, dash, "hi_lead")
    expected = independent_counts()
    url = reverse("dashboards:pcn", args=[dash.pcn.code])
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["row"].core20_share == pytest.approx(
        core20_share(expected[("pcn", dash.pcn.code)])
    )
    rows = read_csv(client.get(url + "?download=deciles"))
    assert [int(float(r[1])) for r in rows[1:11]] == expected[("pcn", dash.pcn.code)][0]
    assert rows[0][3:] == ["Healthier Lancashire and South Cumbria share (%)", "England share (%)"]
    icb_deciles, _ = expected[("icb", "QE1")]
    assert [float(r[3]) for r in rows[1:11]] == pytest.approx(
        [100 * d / sum(icb_deciles) for d in icb_deciles]
    )
    practices = read_csv(client.get(url + "?download=practices"))
    assert len(practices) - 1 == len(response.context["panels"][1].rows)


def test_pages_say_when_and_from_what_figures_were_computed(client, dash):
    _login(client, dash, "commissioner")
    agg = AggregateSet.objects.get()
    for url in (
        reverse("dashboards:england"),
        reverse("dashboards:icb", args=[dash.icb.code]),
        reverse("dashboards:pcn", args=[dash.pcn.code]),
    ):
        text = client.get(url).content.decode()
        assert "English Indices of Deprivation 2025" in text
        assert "1 October 2025" in text
        assert f"{agg.computed_at:%Y}" in text
        # The fixture's snapshot records no practices against the ones it knows: partial totals.
        assert 'id="coverage-note"' in text and "Figures cover only the registrations imported" in text


def test_pages_do_not_warn_when_the_extract_covers_the_practices(client, dash):
    from inequalities.models import Practice, RegistrationSnapshot

    RegistrationSnapshot.objects.update(practice_count=Practice.objects.count())
    _login(client, dash, "commissioner")
    text = client.get(reverse("dashboards:icb", args=[dash.icb.code])).content.decode()
    assert "English Indices of Deprivation 2025" in text and 'id="coverage-note"' not in text


# --- Filters and sorting in the URL -----------------------------------------------------------


def test_icb_overview_filter_and_sort_come_from_the_url(client, dash):
    _login(client, dash, "icb_analyst")
    url = reverse("dashboards:icb", args=[dash.icb.code])
    everything = client.get(url).context["rows"]
    by_share = client.get(url + "?sort=core20_share&dir=desc").context["rows"]
    shares = [r.core20_share for r in by_share]
    assert shares == sorted(shares, reverse=True)
    quintile = everything[0].imd_quintile
    narrowed = client.get(url + f"?quintile={quintile}").context["rows"]
    assert 0 < len(narrowed) < len(everything)
    assert {r.imd_quintile for r in narrowed} == {quintile}
    led = client.get(url + "?lead=yes").context["rows"]
    assert [r.code for r in led] == [dash.pcn.code]
    # The chart follows the filter, and its CSV is of the filtered PCNs.
    rows = read_csv(client.get(url + f"?quintile={quintile}&download=core20"))
    assert len(rows) - 1 == len(narrowed)


def test_england_pcn_list_filters_by_region_icb_and_name(client, dash):
    _login(client, dash, "pcn_member")
    url = reverse("dashboards:england")
    assert client.get(url).context["page"].paginator.count == 9
    assert client.get(url + "?region=Y63").context["page"].paginator.count == 4
    assert client.get(url + f"?icb={dash.icb.code}").context["page"].paginator.count == 5
    assert [p.code for p in client.get(url + "?q=darwen").context["page"]] == [dash.sibling_pcn.code]
    assert client.get(url + "?region=NOPE").status_code == 404


# --- CSV downloads match the tables -----------------------------------------------------------


@pytest.mark.parametrize("page", ["england", "icb", "pcn"])
def test_every_chart_csv_matches_its_table(client, dash, page):
    _login(client, dash, "administrator")
    url = {
        "england": reverse("dashboards:england"),
        "icb": reverse("dashboards:icb", args=[dash.icb.code]),
        "pcn": reverse("dashboards:pcn", args=[dash.pcn.code]),
    }[page]
    response = client.get(url)
    shown = page_tables(response)
    panels = list(response.context["panels"])
    assert panels
    for p in panels:
        downloaded = pd.read_csv(io.StringIO(client.get(url + f"?download={p.key}").content.decode()))
        headers, rows, _ = format_table(downloaded)
        assert [headers, *rows] == shown[p.key], p.key
        assert f'id="chart-{p.key}"' in response.content.decode()


def test_pcn_list_csv_matches_the_icb_table(client, dash):
    _login(client, dash, "icb_analyst")
    url = reverse("dashboards:icb", args=[dash.icb.code]) + "?sort=core20_share&dir=desc"
    shown = page_tables(client.get(url))["pcns"][1:]
    rows = read_csv(client.get(url + "&download=pcns"))[1:]
    assert [r[0] for r in rows] == [cells[0].split()[-1] for cells in shown]
    assert [f"{float(r[6]):.1f}%" for r in rows] == [cells[3] for cells in shown]
    assert [f"{int(r[4]):,}" for r in rows] == [cells[2] for cells in shown]


def test_unknown_download_is_not_found(client, dash):
    _login(client, dash, "pcn_member")
    assert client.get(reverse("dashboards:england") + "?download=nope").status_code == 404


# --- Query counts do not grow with the number of PCNs ----------------------------------------


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_pcns(client, world, django_assert_max_num_queries):
    add_pcns(world, 2)
    load_deprivation(year=2019, extract=date(2025, 7, 1))
    client.force_login(world.users["administrator"])
    urls = [
        reverse("dashboards:england"),
        reverse("dashboards:icb", args=[world.icb.code]),
        reverse("dashboards:pcn", args=[world.pcn.code]),
    ]
    clear_portal_cache()  # cold, as for the large run below: the session and user are read too
    small = [_queries(client, u) for u in urls]
    assert PCNOverview.objects.filter(aggregate_set__edition__year=2019).count() == 7
    add_pcns(world, 40)
    load_deprivation(year=2025, extract=date(2025, 10, 1))
    latest = PCNOverview.objects.filter(
        aggregate_set__edition__year=2025, aggregate_set__snapshot__extract_date=date(2025, 10, 1)
    )
    assert latest.count() == 87
    clear_portal_cache()
    large = [_queries(client, u) for u in urls]
    assert large == small, (small, large)
    for url, count in zip(urls, small, strict=True):
        with django_assert_max_num_queries(count):
            client.get(url)  # warm: cached panels, no more queries than cold
    assert max(small) <= 15


# --- Refresh triggers -------------------------------------------------------------------------


@pytest.fixture
def eager_tasks():
    """Run queued tasks in this process even when REDIS_URL is set (the worker test below covers
    the real worker)."""
    from pcn_portal.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_aggregates_refresh_after_profiles_are_recomputed(
    world, eager_tasks, django_capture_on_commit_callbacks
):
    from inequalities.tasks import recompute_profiles_task

    load_deprivation()
    AggregateSet.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        recompute_profiles_task()
    assert len([c for c in callbacks if hasattr(c, "dashboards_reasons")]) == 1  # one refresh queued
    agg = AggregateSet.objects.get()
    assert agg.pcn_count == 3


@pytest.mark.worker
def test_worker_refreshes_aggregates_after_profiles_are_recomputed(celery_worker_process, world):
    """Through Redis and a real worker: the profile recompute's audit event queues the refresh,
    which the worker runs after the recompute commits."""
    import time

    from inequalities.tasks import recompute_profiles_task

    load_deprivation()
    AggregateSet.objects.all().delete()
    recompute_profiles_task.delay()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not AggregateSet.objects.exists():
        time.sleep(0.5)
    agg = AggregateSet.objects.get()
    assert agg.pcn_count == 3
    assert PCNOverview.objects.filter(aggregate_set=agg).count() == 3


def test_one_refresh_per_transaction_and_none_for_other_events(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        audit.record(action="plan.submitted", label="a plan")
        audit.record(action="measurement.uploaded", label="twelve values")
        audit.record(action="hi_lead.nominated", label="a lead")
        audit.record(action="user.signed_in", label="not a trigger")
    assert len(callbacks) == 1
    assert callbacks[0].dashboards_reasons == {"plan.submitted", "measurement.uploaded", "hi_lead.nominated"}
    with django_capture_on_commit_callbacks() as callbacks:
        audit.record(action="import.queued", label="not yet")
    assert callbacks == []


# --- Activity from other parts of the portal (plans, measures, priority targets) --------------


@pytest.fixture
def activity(dash):
    """Priority-target returns, plans, measures and measurements stored as their apps store them;
    then the aggregates refreshed."""
    from dashboards.refresh import refresh_aggregates
    from inequalities.models import LeadActivity, PriorityTargetReturn
    from interventions.models import InterventionPlan, Measure, Measurement

    practices = list(
        PracticePCNMembership.objects.select_related("practice", "pcn").order_by("practice__code")
    )
    returns = []
    for quarter, bump in ((date(2025, 4, 1), 0), (date(2025, 7, 1), 4)):
        for k, m in enumerate(practices):
            register = 30 + 4 * k
            returns.append(
                PriorityTargetReturn(
                    practice=m.practice,
                    pcn=m.pcn,
                    quarter_start=quarter,
                    ld_register_14_plus=register,
                    ld_health_checks=min(register, 12 + 2 * k + bump),
                    smi_register=50 + k,
                    smi_health_checks=20 + k + bump,
                    ethnicity_recorded=800 + 7 * k,
                    list_size=1000,
                    scd_register=k % 3,
                )
            )
    PriorityTargetReturn.objects.bulk_create(returns)
    LeadActivity.objects.create(
        pcn=dash.pcn, heading="priority_targets", date=timezone.localdate(), title="LD health check clinic"
    )
    plans = [
        InterventionPlan.objects.create(
            pcn=dash.pcn, title="Hypertension case-finding in Core20", status="active"
        ),
        InterventionPlan.objects.create(pcn=dash.pcn, title="Smoking cessation outreach", status="submitted"),
        InterventionPlan.objects.create(pcn=dash.sibling_pcn, title="SMI checks", status="draft"),
    ]
    measure = Measure.objects.create(
        plan=plans[0], name="Blood pressure checks (%)", direction="higher", target_value=75
    )
    periods = [date(2024, m, 1) for m in range(1, 13)] + [date(2025, 1, 1)]
    values = [50, 51, 49, 50, 52, 48, 50, 51, 49, 50, 50, 51, 80]
    Measurement.objects.bulk_create(
        Measurement(measure=measure, period=p, numerator=v, denominator=100)
        for p, v in zip(periods, values, strict=True)
    )
    refresh_aggregates(sii_repetitions=2000)
    return pd.DataFrame.from_records(
        [
            {
                "pcn_code": r.pcn.code,
                "quarter_start": r.quarter_start,
                "ld_health_checks": r.ld_health_checks,
                "ld_register_14_plus": r.ld_register_14_plus,
            }
            for r in returns
        ]
    )


def test_icb_overview_shows_funnels_and_inequality_summary(client, dash, activity):
    _login(client, dash, "commissioner")
    url = reverse("dashboards:icb", args=[dash.icb.code])
    response = client.get(url)
    keys = {p.key for p in response.context["funnel_panels"]}
    assert keys == {"funnel-ld_checks", "funnel-smi_checks", "funnel-ethnicity"}
    # The funnel's average is the ICB's own rate in the latest quarter.
    latest = activity[activity["quarter_start"] == date(2025, 7, 1)]
    icb_pcns = set(PCNOverview.objects.filter(icb_code=dash.icb.code).values_list("code", flat=True))
    mine = latest[latest["pcn_code"].isin(icb_pcns)]
    average = mine["ld_health_checks"].sum() / mine["ld_register_14_plus"].sum()
    assert f"average ({average * 100:.1f})" in response.content.decode()
    funnel = read_csv(client.get(url + "?download=funnel-ld_checks"))
    assert len(funnel) - 1 == len(icb_pcns)
    assert response.context["inequality_rows"]
    plan_status = read_csv(client.get(url + "?download=plan-status"))
    assert plan_status[0] == ["PCN", "Draft", "Awaiting decision", "Active"]


def test_pcn_dashboard_shows_plans_spc_state_and_targets(client, dash, activity):
    _login(client, dash, "pcn_member")
    url = reverse("dashboards:pcn", args=[dash.pcn.code])
    text = client.get(url).content.decode()
    assert "Hypertension case-finding in Core20</a>" in text
    plan = InterventionPlan.objects.get(title="Hypertension case-finding in Core20")
    assert reverse("interventions:plan_detail", args=[plan.pk]) in text
    assert "Special cause variation: improvement (higher values)" in text
    assert "1 recorded in the 12 months" in text and "LD health check clinic" in text
    targets = read_csv(client.get(url + "?download=targets"))
    ld = next(r for r in targets if r[0] == "Learning disability annual health checks")
    latest = activity[
        (activity["quarter_start"] == date(2025, 7, 1)) & (activity["pcn_code"] == dash.pcn.code)
    ]
    assert int(ld[2]) == latest["ld_health_checks"].sum()
    assert ld[7] == "75"
    trend = read_csv(client.get(url + "?download=target-ld_checks"))
    assert [r[0] for r in trend[1:]] == ["Apr 2025", "Jul 2025"]


def test_plan_details_stay_off_national_pages(client, dash, activity):
    _login(client, dash, "administrator")
    text = client.get(reverse("dashboards:england")).content.decode()
    assert "Hypertension case-finding" not in text
    assert "Smoking cessation outreach" not in text
    sibling = client.get(reverse("dashboards:pcn", args=[dash.sibling_pcn.code])).content.decode()
    assert "Hypertension case-finding" not in sibling  # another PCN's plan


def test_pcn_of_another_icb_is_not_found_even_with_figures(client, dash):
    _login(client, dash, "hi_lead")
    assert client.get(reverse("dashboards:pcn", args=[dash.other_pcn.code])).status_code == 404
    assert client.get(reverse("dashboards:pcn", args=[dash.sibling_pcn.code])).status_code == 404
    assert client.get(reverse("dashboards:icb", args=[dash.icb.code])).status_code == 404
