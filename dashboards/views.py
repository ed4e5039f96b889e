"""Dashboard pages: England (and a region), an ICB's overview of its PCNs, a PCN's dashboard.

Thin views: each asks `inequalities.policy` what the user may see, reads the precomputed
aggregate tables (`dashboards.models`) with a fixed number of queries whatever the number of
PCNs, and hands rows to the figure builders (`dashboards.figures`, cached as panels). Filters
live in the URL. `?download=<name>` returns the CSV of exactly what a chart or table shows.
"""

from __future__ import annotations

import hashlib

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

from dashboards import figures, tables
from dashboards.aggregates import INDICATORS
from dashboards.charts import decile_bar_figure, funnel_figure
from dashboards.models import (
    AreaLevel,
    AreaSummary,
    InequalitySummary,
    PCNOverview,
    PracticeSummary,
    TargetValue,
)
from dashboards.panels import panel
from dashboards.refresh import AGGREGATES, current_set
from inequalities import policy, principal
from inequalities.exports import csv_response
from inequalities.models import ICB, PCN
from inequalities.names import nhs_title_case
from pcn_portal import shell, versioned_cache

PCN_PAGE_SIZE = 50
PAGE_CACHE_SECONDS = 60 * 60
PAGE_TEMPLATE = "dashboards/page.html"


def _csv(filename, text):
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _download(request, prefix, panels, table_downloads):
    """Answer ?download=<name> with a panel's CSV or a table's CSV; None when not asked."""
    name = request.GET.get("download")
    if not name:
        return None
    for p in panels:
        if p is not None and p.key == name:
            return _csv(f"{prefix}-{name}.csv", p.csv)
    if name in table_downloads:
        header, rows = table_downloads[name]()
        return csv_response(f"{prefix}-{name}.csv", header, rows)
    raise Http404("No such download")


def _shares(decile_patients):
    known = sum(decile_patients)
    return [d / known if known else 0.0 for d in decile_patients]


def _edition_label(agg):
    return f"IoD{agg.edition.year}"


def _no_figures(request, title, breadcrumbs):
    return render(request, "dashboards/no_figures.html", {"title": title, "breadcrumbs": breadcrumbs})


def _content(request, title, template, context):
    """The page's title, breadcrumbs and main content, rendered once and cached (see `_page`)."""
    return {
        "title": title,
        "breadcrumbs_html": render_to_string(
            "includes/breadcrumbs.html", {"crumbs": context["breadcrumbs"]}, request=request
        ),
        "content": render_to_string(template, context, request=request),
    }


def _serve(request, key, describe, build):
    """Answer a dashboard request: a CSV download, the page, or a note that there are no figures
    yet. `describe()` gives the page's title and breadcrumbs, `build(agg, crumbs)` the page (or
    the download) from the current aggregate set — both only when the cache cannot answer."""
    if request.GET.get("download"):
        return _build_with_current_set(request, describe, build)
    return _page(request, key, lambda: _build_with_current_set(request, describe, build))


def _build_with_current_set(request, describe, build):
    title, crumbs = describe()
    agg = current_set()
    return build(agg, crumbs) if agg is not None else _no_figures(request, title, crumbs)


def _page_entries(request, key):
    """The cache entries a page is served from: its content (per page, filters and `key`) and,
    when it can be cached, its shell. Returns (content key, shell key or None, key -> namespaces)."""
    params = tuple(sorted((k, tuple(v)) for k, v in request.GET.lists()))
    digest = hashlib.sha256(repr((shell.templates_release(), key, params)).encode()).hexdigest()[:40]
    content_key = f"dash-page:{digest}"
    wanted = {content_key: [AGGREGATES, principal.ORGANISATIONS]}
    if not hasattr(request, "_dashboard_shell"):  # once per request (a prefetch asks first)
        namespaces = [principal.namespace(request.user.pk)]
        request._dashboard_shell = shell.entry(request, PAGE_TEMPLATE, namespaces)
    shell_entry = request._dashboard_shell
    if shell_entry is not None:
        wanted[shell_entry[0]] = shell_entry[1]
    return content_key, shell_entry and shell_entry[0], wanted


def _page(request, key, build):
    """Serve a page from the cache: its content per page and filters (plus the `key` given: the
    organisation, and the user where links depend on who is looking), built from the current
    aggregates and organisations; its shell — the NHS header with the user's email, menu and
    sign-out form — per user, browser and path (`pcn_portal.shell`). Both come back in one cache
    round trip (with the organisation too, when the view prefetched it: `_prefetch`); a refresh
    of the aggregates, a change to organisations or to the user's memberships rebuilds them
    (`pcn_portal.versioned_cache`)."""
    content_key, shell_key, wanted = _page_entries(request, key)
    found = versioned_cache.get_entries(wanted)
    page, versions = found[content_key]
    if page is versioned_cache.MISSING:
        page = build()
        if isinstance(page, HttpResponse):
            return page
        # Kept as UTF-8, ready to send (pcn_portal.shell.assemble).
        page = {
            **page,
            "breadcrumbs_html": page["breadcrumbs_html"].encode(),
            "content": page["content"].encode(),
        }
        versioned_cache.put(content_key, versions, page, PAGE_CACHE_SECONDS, large=True)
    if shell_key is None:
        return render(
            request,
            PAGE_TEMPLATE,
            {
                "title": page["title"],
                "breadcrumbs_html": page["breadcrumbs_html"].decode(),
                "content": page["content"].decode(),
            },
        )
    parts, versions = found[shell_key]
    if parts is versioned_cache.MISSING:
        parts = shell.render_parts(request, PAGE_TEMPLATE)
        versioned_cache.put(shell_key, versions, parts, shell.TIMEOUT_SECONDS)
    return HttpResponse(
        shell.assemble(
            parts,
            title=page["title"],
            breadcrumbs_html=page["breadcrumbs_html"],
            content_html=page["content"],
        )
    )


def _prefetch(request, model, code, key):
    """Fetch the organisation a page is about together with the page's entries (one cache round
    trip instead of two). `key` is the page's likely key; a wrong guess costs one more trip."""
    if request.GET.get("download"):
        return versioned_cache.prefetch({})
    return versioned_cache.prefetch({**policy.org_cache_entry(model, code), **_page_entries(request, key)[2]})


# --- England / region ----------------------------------------------------------------------------


def england(request):
    # Links to PCN and ICB pages depend on who is looking: the user is part of the key.
    return _serve(
        request,
        ("england", request.user.pk),
        lambda: ("England dashboard", [("Home", reverse("home"))]),
        lambda agg, crumbs: _england(request, agg, crumbs),
    )


def _england(request, agg, crumbs):
    region_code = request.GET.get("region", "")
    areas = list(AreaSummary.objects.filter(aggregate_set=agg))
    regions = sorted((a for a in areas if a.level == AreaLevel.REGION), key=lambda a: a.name)
    region = next((a for a in regions if a.code == region_code), None)
    if region_code and region is None:
        raise Http404("No such region")
    nation = next((a for a in areas if a.level == AreaLevel.ENGLAND), None)
    icbs = sorted(
        (a for a in areas if a.level == AreaLevel.ICB and (region is None or a.parent_code == region.code)),
        key=lambda a: a.name,
    )
    scope = nhs_title_case(region.name) if region else "England"

    pcn_filter = tables.PCNFilter.from_request(request, icb_codes={a.code for a in icbs})
    pcns = PCNOverview.objects.filter(aggregate_set=agg).only(*tables.PCN_FIELDS)
    if region is not None:
        pcns = pcns.filter(region_code=region.code)
    all_shares = list(pcns.values_list("core20_share", flat=True))
    listed = pcn_filter.apply_queryset(pcns)
    page = Paginator(listed, PCN_PAGE_SIZE).get_page(request.GET.get("page"))

    params = (agg.pk, region_code)
    panels = [
        panel(
            agg,
            "icb-core20",
            f"Core20 share of each ICB in {scope}",
            lambda: figures.core20_ranked_figure(
                [nhs_title_case(a.name) for a in icbs],
                [a.core20_share for a in icbs],
                [a.registered_patients for a in icbs],
                title=f"Core20 share of registered patients by ICB, {scope}",
                unit="ICB",
                references={
                    "England": nation.core20_share if nation else None,
                    **({scope: region.core20_share} if region else {}),
                },
            ),
            params=params,
        ),
        panel(
            agg,
            "deciles",
            f"Registered patients by IMD decile, {scope}",
            lambda: decile_bar_figure(
                (region or nation).decile_patients,
                title=f"Registered patients by national IMD decile, {scope}",
                edition=_edition_label(agg),
                unknown=(region or nation).unknown_patients,
                comparators={"England": _shares(nation.decile_patients)} if region else None,
            ),
            params=params,
        ),
        panel(
            agg,
            "pcn-distribution",
            f"Core20 share of PCNs in {scope}",
            lambda: figures.core20_distribution_figure(
                all_shares,
                title=f"How many PCNs have each Core20 share, {scope}",
                marks={"England": nation.core20_share} if nation and nation.core20_share is not None else {},
            ),
            params=params,
        ),
    ]
    response = _download(
        request,
        f"england{'-' + region_code if region_code else ''}",
        panels,
        {
            "icbs": lambda: tables.area_csv(icbs),
            "pcns": lambda: tables.pcn_csv(listed, agg),
        },
    )
    if response is not None:
        return response
    visible = set(policy.pcns_for(request.user).values_list("code", flat=True))
    visible_icbs = set(policy.icbs_for(request.user).values_list("code", flat=True))
    return _content(
        request,
        f"{scope} dashboard",
        "dashboards/england.html",
        {
            "agg": agg,
            "scope": scope,
            "region": region,
            "regions": regions,
            "nation": nation,
            "icbs": icbs,
            "panels": panels,
            "page": page,
            "pcn_filter": pcn_filter,
            "visible_pcns": visible,
            "visible_icbs": visible_icbs,
            "query_without_page": tables.query_without(request, "page"),
            "breadcrumbs": crumbs
            if region is None
            else [*crumbs, ("England dashboard", reverse("dashboards:england"))],
        },
    )


# --- ICB overview -------------------------------------------------------------------------------


def icb_overview(request, code):
    with _prefetch(request, ICB, code, ("icb", code)):
        return _icb_overview(request, code)


def _icb_overview(request, code):
    icb = policy.get_icb_or_404(request.user, code)
    return _serve(
        request,
        ("icb", icb.code),
        lambda: (f"{icb.display_name} overview", _dashboard_crumbs()),
        lambda agg, crumbs: _icb(request, agg, icb, crumbs),
    )


def _dashboard_crumbs():
    return [("Home", reverse("home")), ("England dashboard", reverse("dashboards:england"))]


def _icb(request, agg, icb, crumbs):
    comparators = {
        a.level: a
        for a in AreaSummary.objects.filter(aggregate_set=agg).filter(
            level__in=[AreaLevel.ICB, AreaLevel.ENGLAND], code__in=[icb.code, "E92000001"]
        )
    }
    icb_area, nation = comparators.get(AreaLevel.ICB), comparators.get(AreaLevel.ENGLAND)
    all_pcns = list(PCNOverview.objects.filter(aggregate_set=agg, icb_code=icb.code).only(*tables.PCN_FIELDS))
    pcn_filter = tables.PCNFilter.from_request(request)
    rows = pcn_filter.apply(all_pcns)
    shown_codes = [p.code for p in rows]
    params = (icb.code, pcn_filter.key())

    targets = list(
        TargetValue.objects.filter(aggregate_set=agg, quarter_start=agg.latest_quarter, icb_code=icb.code)
        if agg.latest_quarter
        else []
    )
    inequality_rows = list(
        InequalitySummary.objects.filter(aggregate_set=agg, level=AreaLevel.ICB, code=icb.code)
    )
    names = {p.code: nhs_title_case(p.name) for p in rows}

    panels = [
        panel(
            agg,
            "core20",
            "Core20 share of each PCN",
            lambda: figures.core20_ranked_figure(
                [names[c] for c in shown_codes],
                [p.core20_share for p in rows],
                [p.registered_patients for p in rows],
                title=f"Core20 share of registered patients by PCN, {icb.display_name}",
                unit="PCN",
                references={
                    icb.display_name: icb_area.core20_share if icb_area else None,
                    "England": nation.core20_share if nation else None,
                },
            ),
            params=params,
        )
    ]
    panels.append(
        panel(
            agg,
            "plan-status",
            "Plans by status",
            lambda: figures.plan_status_figure(
                [names[c] for c in shown_codes],
                [p.plans_by_status for p in rows],
                title=f"Intervention plans by status and PCN, {icb.display_name}",
            ),
            params=params,
        )
    )
    funnel_panels = []
    for key, indicator in INDICATORS.items():
        pcn_values = [t for t in targets if t.indicator == key and t.level == "pcn" and t.code in names]
        icb_value = next((t for t in targets if t.indicator == key and t.level == "icb"), None)
        if not pcn_values or icb_value is None:
            continue
        funnel_panels.append(
            panel(
                agg,
                f"funnel-{key}",
                indicator.title,
                lambda pcn_values=pcn_values, icb_value=icb_value, indicator=indicator: funnel_figure(
                    [names[t.code] for t in pcn_values],
                    [t.numerator for t in pcn_values],
                    [t.denominator for t in pcn_values],
                    title=f"{indicator.title} by PCN, quarter starting {agg.latest_quarter:%B %Y}",
                    y_title=f"{indicator.title} (%)",
                    x_title=indicator.denominator_label,
                    average=icb_value.numerator / icb_value.denominator,
                    average_label=f"{icb.display_name} average",
                    higher_is_better=True,
                ),
                params=params,
            )
        )
    quintile_panels = [
        panel(
            agg,
            f"quintiles-{row.indicator}",
            INDICATORS[row.indicator].title,
            lambda row=row: figures.quintile_figure(
                row.indicator,
                row.numerators,
                row.denominators,
                title=(
                    f"{INDICATORS[row.indicator].title} by practice deprivation quintile, {icb.display_name}, "
                    f"quarter starting {row.quarter_start:%B %Y}"
                ),
            ),
            params=(icb.code,),
        )
        for row in inequality_rows
        if row.indicator in INDICATORS
    ]
    all_panels = panels + funnel_panels + quintile_panels
    response = _download(
        request,
        f"{icb.code}-overview",
        all_panels,
        {
            "pcns": lambda: tables.pcn_csv(rows, agg),
            "inequalities": lambda: tables.inequality_csv(inequality_rows),
        },
    )
    if response is not None:
        return response
    return _content(
        request,
        f"{icb.display_name} – PCN overview",
        "dashboards/icb.html",
        {
            "agg": agg,
            "icb": icb,
            "icb_area": icb_area,
            "nation": nation,
            "rows": rows,
            "total_pcns": len(all_pcns),
            "pcn_filter": pcn_filter,
            "sort_links": tables.sort_links(request, pcn_filter),
            "panels": panels,
            "funnel_panels": funnel_panels,
            "quintile_panels": quintile_panels,
            "inequality_rows": tables.inequality_display(inequality_rows),
            "breadcrumbs": crumbs,
        },
    )


# --- PCN dashboard ------------------------------------------------------------------------------


def pcn_dashboard(request, code):
    # The breadcrumbs (part of the content) name the ICB overview for those who may open it:
    # likely so for anyone with an ICB role, never for anyone else.
    likely_icb_viewer = policy.has_permission(request.user, policy.Permission.VIEW_ICB)
    with _prefetch(request, PCN, code, ("pcn", code, likely_icb_viewer)):
        return _pcn_dashboard(request, code)


def _pcn_dashboard(request, code):
    pcn = policy.get_pcn_or_404(request.user, code)
    icb = pcn.sub_icb.icb
    icb_viewer = policy.has_permission(request.user, policy.Permission.VIEW_ICB, icb=icb)

    def describe():
        crumbs = _dashboard_crumbs()
        if icb_viewer:
            crumbs.append((f"{icb.display_name} overview", reverse("dashboards:icb", args=[icb.code])))
        return f"{pcn.display_name} dashboard", crumbs

    return _serve(
        request,
        ("pcn", pcn.code, icb_viewer),
        describe,
        lambda agg, crumbs: _pcn(request, agg, pcn, icb, crumbs),
    )


def _pcn(request, agg, pcn, icb, crumbs):
    row = PCNOverview.objects.filter(aggregate_set=agg, code=pcn.code).first()
    if row is None:
        return _no_figures(request, f"{pcn.display_name} dashboard", crumbs)
    areas = {
        a.level: a
        for a in AreaSummary.objects.filter(aggregate_set=agg).filter(
            level__in=[AreaLevel.ICB, AreaLevel.ENGLAND], code__in=[icb.code, "E92000001"]
        )
    }
    icb_area, nation = areas.get(AreaLevel.ICB), areas.get(AreaLevel.ENGLAND)
    practices = list(PracticeSummary.objects.filter(aggregate_set=agg, pcn_code=pcn.code))
    targets = list(
        TargetValue.objects.filter(aggregate_set=agg)
        .filter(code__in=[pcn.code, icb.code, "E92000001"], level__in=["pcn", "icb", "england"])
        .order_by("quarter_start")
    )
    params = (pcn.code,)
    comparators = {}
    if icb_area:
        comparators[icb.display_name] = _shares(icb_area.decile_patients)
    if nation:
        comparators["England"] = _shares(nation.decile_patients)
    panels = [
        panel(
            agg,
            "deciles",
            "Registered patients by IMD decile",
            lambda: decile_bar_figure(
                row.decile_patients,
                title=f"Registered patients by national IMD decile, {pcn.display_name}",
                edition=_edition_label(agg),
                unknown=row.unknown_patients,
                comparators=comparators,
            ),
            params=params,
        ),
        panel(
            agg,
            "practices",
            "Practices side by side",
            lambda: figures.practices_figure(
                [nhs_title_case(p.name) or p.code for p in practices],
                [p.core20_share for p in practices],
                [p.registered_patients for p in practices],
                title=f"Core20 share of each practice in {pcn.display_name}",
                references={
                    pcn.display_name: row.core20_share,
                    icb.display_name: icb_area.core20_share if icb_area else None,
                    "England": nation.core20_share if nation else None,
                },
            ),
            params=params,
        ),
    ]
    target_panels = []
    latest_targets = []
    for key, indicator in INDICATORS.items():
        mine = [t for t in targets if t.indicator == key and t.level == "pcn" and t.code == pcn.code]
        if not mine:
            continue
        latest_targets.append((indicator, mine[-1]))
        by_level = {
            lvl: {t.quarter_start: t.value for t in targets if t.indicator == key and t.level == lvl}
            for lvl in ("icb", "england")
        }
        target_panels.append(
            panel(
                agg,
                f"target-{key}",
                indicator.title,
                lambda mine=mine, indicator=indicator, key=key, by_level=by_level: (
                    figures.target_trend_figure(
                        key,
                        [t.quarter_start for t in mine],
                        [t.value for t in mine],
                        [t.lower for t in mine],
                        [t.upper for t in mine],
                        title=f"{indicator.title}, {pcn.display_name}, by quarter",
                        comparators={icb.display_name: by_level["icb"], "England": by_level["england"]},
                    )
                ),
                params=params,
            )
        )
    response = _download(
        request,
        f"{pcn.code}-dashboard",
        panels + target_panels,
        {
            "plans": lambda: tables.plans_csv(row.plans),
            "targets": lambda: tables.targets_csv(latest_targets),
        },
    )
    if response is not None:
        return response
    return _content(
        request,
        f"{pcn.display_name} – dashboard",
        "dashboards/pcn.html",
        {
            "agg": agg,
            "pcn": pcn,
            "icb": icb,
            "row": row,
            "icb_area": icb_area,
            "nation": nation,
            "panels": panels,
            "target_panels": target_panels,
            "latest_targets": tables.targets_display(latest_targets),
            "plans": tables.plans_display(row.plans),
            "breadcrumbs": crumbs,
        },
    )
