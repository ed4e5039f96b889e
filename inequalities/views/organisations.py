"""Organisation pages: my organisations, England, a region, an ICB, a PCN.

Views stay thin: they ask `inequalities.policy` what the user may see and read querysets.
"""

from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from inequalities import policy
from inequalities.exports import csv_response
from inequalities.models import (
    ICB,
    PCN,
    Membership,
    PracticePCNMembership,
    Region,
    Role,
    SubICB,
)
from inequalities.policy import Permission


def home(request):
    memberships = (
        Membership.objects.current()
        .filter(user=request.user)
        .select_related("pcn__sub_icb__icb", "icb__region")
        .order_by("role")
    )
    return render(
        request,
        "inequalities/home.html",
        {
            "memberships": memberships,
            "is_administrator": policy.is_administrator(request.user),
        },
    )


def _current_practice_counts():
    today = timezone.localdate()
    current = Q(practice_memberships__end_date__isnull=True) | Q(practice_memberships__end_date__gte=today)
    return Count("practice_memberships", filter=current, distinct=True)


def national(request):
    """England: every region and ICB with counts. Names and counts are public; links go only where
    the user may look."""
    visible_icbs = set(policy.icbs_for(request.user).values_list("pk", flat=True))
    icbs = ICB.objects.select_related("region").annotate(
        pcn_count=Count("sub_icbs__pcns", distinct=True),
        practice_count=Count("sub_icbs__practices", distinct=True),
    )
    regions = Region.objects.prefetch_related(Prefetch("icbs", queryset=icbs.order_by("name")))
    rows = [{"region": r, "icbs": [(icb, icb.pk in visible_icbs) for icb in r.icbs.all()]} for r in regions]
    if request.GET.get("format") == "csv":
        return csv_response(
            "england-icbs.csv",
            [
                "region_code",
                "region_name",
                "icb_code",
                "icb_ons_code",
                "icb_name",
                "pcns",
                "practices",
            ],
            (
                [
                    r["region"].code,
                    r["region"].display_name,
                    icb.code,
                    icb.ons_code,
                    icb.display_name,
                    icb.pcn_count,
                    icb.practice_count,
                ]
                for r in rows
                for icb, _ in r["icbs"]
            ),
        )
    return render(
        request,
        "inequalities/national.html",
        {"rows": rows, "breadcrumbs": [("Home", reverse("home"))]},
    )


def region_detail(request, code):
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise Http404("No such region")
    visible_icbs = set(policy.icbs_for(request.user).values_list("pk", flat=True))
    icbs = region.icbs.annotate(
        pcn_count=Count("sub_icbs__pcns", distinct=True),
        sub_icb_count=Count("sub_icbs", distinct=True),
    ).order_by("name")
    return render(
        request,
        "inequalities/region_detail.html",
        {
            "region": region,
            "icbs": [(icb, icb.pk in visible_icbs) for icb in icbs],
            "breadcrumbs": [
                ("Home", reverse("home")),
                ("England", reverse("national")),
            ],
        },
    )


def _hi_leads_by_pcn(pcn_ids):
    leads = {}
    for m in (
        Membership.objects.current()
        .filter(role=Role.HI_LEAD, pcn_id__in=pcn_ids)
        .select_related("user")
        .order_by("granted_at")
    ):
        leads[m.pcn_id] = m
    return leads


def icb_detail(request, code):
    icb = policy.get_icb_or_404(request.user, code)
    pcns = list(
        PCN.objects.filter(sub_icb__icb=icb)
        .select_related("sub_icb")
        .annotate(practice_count=_current_practice_counts())
        .order_by("sub_icb__name", "name")
    )
    leads = _hi_leads_by_pcn([p.pk for p in pcns])
    rows = [{"pcn": p, "lead": leads.get(p.pk)} for p in pcns]
    if request.GET.get("format") == "csv":
        return csv_response(
            f"{icb.code}-pcns.csv",
            [
                "pcn_code",
                "pcn_name",
                "sub_icb_code",
                "sub_icb_name",
                "practices",
                "hi_lead_email",
            ],
            (
                [
                    r["pcn"].code,
                    r["pcn"].display_name,
                    r["pcn"].sub_icb.code,
                    r["pcn"].sub_icb.display_name,
                    r["pcn"].practice_count,
                    r["lead"].user.email if r["lead"] else "",
                ]
                for r in rows
            ),
        )
    sub_icbs = SubICB.objects.filter(icb=icb).order_by("name")
    return render(
        request,
        "inequalities/icb_detail.html",
        {
            "icb": icb,
            "rows": rows,
            "sub_icbs": sub_icbs,
            "lead_count": sum(1 for r in rows if r["lead"]),
            "can_view_audit": policy.has_permission(request.user, Permission.VIEW_AUDIT, icb=icb),
            "breadcrumbs": [
                ("Home", reverse("home")),
                ("England", reverse("national")),
                (
                    icb.region.display_name,
                    reverse("region_detail", args=[icb.region.code]),
                ),
            ],
        },
    )


def pcn_detail(request, code):
    pcn = policy.get_pcn_or_404(request.user, code)
    today = timezone.localdate()
    memberships = (
        PracticePCNMembership.objects.current(today)
        .filter(pcn=pcn)
        .select_related("practice")
        .order_by("practice__name")
    )
    if request.GET.get("format") == "csv":
        return csv_response(
            f"{pcn.code}-practices.csv",
            ["practice_code", "practice_name", "postcode", "member_since"],
            (
                [
                    m.practice.code,
                    m.practice.display_name,
                    m.practice.postcode,
                    m.start_date,
                ]
                for m in memberships
            ),
        )
    lead = _hi_leads_by_pcn([pcn.pk]).get(pcn.pk)
    icb = pcn.sub_icb.icb
    can_view_icb = policy.has_permission(request.user, Permission.VIEW_ICB, icb=icb)
    breadcrumbs = [("Home", reverse("home"))]
    if can_view_icb:
        breadcrumbs.append((icb.display_name, reverse("icb_detail", args=[icb.code])))
    return render(
        request,
        "inequalities/pcn_detail.html",
        {
            "pcn": pcn,
            "icb": icb,
            "memberships": memberships,
            "lead": lead,
            "can_manage_members": policy.has_permission(request.user, Permission.MANAGE_PCN_MEMBERS, pcn=pcn),
            "can_view_icb": can_view_icb,
            "breadcrumbs": breadcrumbs,
        },
    )
