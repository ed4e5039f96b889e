"""ICB pages: the commissioner's queue of plans awaiting decision, and plans of one clinical area
compared across the ICB's PCNs (small multiples of their measures) so QI can learn between PCNs."""

from collections import defaultdict

from django.db.models import Count
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from inequalities import policy
from inequalities.exports import csv_response
from inequalities.models import ClinicalArea
from inequalities.policy import Permission
from interventions.measurement_io import period_key
from interventions.models import InterventionPlan, Measure, Measurement, PlanVersion
from interventions.versions import number_text
from interventions.views.measures import spc_for
from interventions.workflow import Status

COMPARED = [Status.APPROVED, Status.ACTIVE, Status.COMPLETED]


def queue(request):
    if not policy.has_permission(request.user, Permission.DECIDE_PLAN):
        raise Http404("Not found")
    icbs = policy.icbs_for(request.user, Permission.DECIDE_PLAN)
    plans = list(
        InterventionPlan.objects.filter(status=Status.SUBMITTED, pcn__sub_icb__icb__in=icbs)
        .select_related("pcn__sub_icb__icb", "clinical_area", "target_population")
        .annotate(version_count=Count("versions"))
        .order_by("submitted_at", "id")
    )
    latest = {
        v.plan_id: v
        for v in PlanVersion.objects.filter(plan__in=plans)
        .select_related("submitted_by")
        .order_by("plan_id", "number")
    }
    now = timezone.now()
    rows = [
        {
            "plan": p,
            "version": latest.get(p.pk),
            "days": (now - p.submitted_at).days if p.submitted_at else None,
            "mine": latest.get(p.pk) is not None and latest[p.pk].submitted_by_id == request.user.pk,
        }
        for p in plans
    ]
    if request.GET.get("format") == "csv":
        return csv_response(
            "plans-awaiting-decision.csv",
            [
                "plan_id",
                "title",
                "pcn_code",
                "pcn_name",
                "icb_code",
                "clinical_area",
                "version",
                "submitted_by",
                "submitted_at",
                "days_waiting",
            ],
            (
                [
                    r["plan"].pk,
                    r["plan"].title,
                    r["plan"].pcn.code,
                    r["plan"].pcn.display_name,
                    r["plan"].pcn.sub_icb.icb.code,
                    r["plan"].clinical_area.name if r["plan"].clinical_area else "",
                    r["version"].number if r["version"] else "",
                    r["version"].submitted_by.email if r["version"] and r["version"].submitted_by else "",
                    r["plan"].submitted_at.isoformat() if r["plan"].submitted_at else "",
                    r["days"],
                ]
                for r in rows
            ),
        )
    return render(
        request,
        "interventions/queue.html",
        {"rows": rows, "breadcrumbs": [("Home", reverse("home"))]},
    )


def compare(request, code):
    icb = policy.get_icb_or_404(request.user, code)
    plans_here = InterventionPlan.objects.filter(pcn__sub_icb__icb=icb, status__in=COMPARED)
    areas = list(ClinicalArea.objects.filter(plans__in=plans_here).distinct().order_by("name"))
    area = next((a for a in areas if a.code == request.GET.get("area")), areas[0] if areas else None)
    plans = (
        list(plans_here.filter(clinical_area=area).select_related("pcn").order_by("pcn__name", "title"))
        if area
        else []
    )
    measures = list(Measure.objects.filter(plan__in=plans).order_by("plan__pcn__name", "plan_id", "id"))
    by_measure = defaultdict(list)
    for m in Measurement.objects.filter(measure__in=measures).order_by("measure_id", "period"):
        by_measure[m.measure_id].append(m)
    plan_by_id = {p.pk: p for p in plans}
    if request.GET.get("format") == "csv":
        return csv_response(
            f"{icb.code}-{area.code if area else 'none'}-measures.csv",
            [
                "pcn_code",
                "pcn_name",
                "plan_id",
                "plan",
                "measure_id",
                "measure",
                "unit",
                "period",
                "observed",
            ],
            (
                [
                    plan_by_id[ms.plan_id].pcn.code,
                    plan_by_id[ms.plan_id].pcn.display_name,
                    ms.plan_id,
                    plan_by_id[ms.plan_id].title,
                    ms.pk,
                    ms.name,
                    ms.display_unit,
                    period_key(m.period, ms.frequency),
                    round(m.observed, 4),
                ]
                for ms in measures
                for m in by_measure[ms.pk]
            ),
        )
    panels = []
    for ms in measures:
        ms.plan = plan_by_id[ms.plan_id]
        values = by_measure[ms.pk]
        result, chart = spc_for(ms, values)
        if chart is not None:
            chart.figure.update_layout(height=320, title={"text": f"{ms.plan.pcn.display_name}: {ms.name}"})
        panels.append(
            {
                "measure": ms,
                "plan": ms.plan,
                "n": len(values),
                "latest": values[-1] if values else None,
                "target": number_text(ms.target_value),
                "result": result,
                "chart_html": chart.html(div_id=f"spc-{ms.pk}") if chart is not None else "",
            }
        )
    return render(
        request,
        "interventions/compare.html",
        {
            "icb": icb,
            "areas": areas,
            "area": area,
            "plans": plans,
            "panels": panels,
            "breadcrumbs": [
                ("Home", reverse("home")),
                (icb.display_name, reverse("icb_detail", args=[icb.code])),
            ],
        },
    )
