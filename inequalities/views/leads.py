"""HI leads: nomination and history, the ICB's directory and compliance view, the peer network,
the activity log, and the Core20PLUS5 catalogue with each ICB's PLUS list.

Thin views: access through `inequalities.policy` (404 for what the user may not see), writes
through `inequalities.actions_leads`.
"""

from collections import defaultdict

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from inequalities import actions_leads, policy
from inequalities.exports import csv_response
from inequalities.forms_leads import LeadActivityForm, NominateLeadForm, PlusGroupForm
from inequalities.models import (
    PCN,
    ClinicalArea,
    HILeadNomination,
    LeadActivity,
    Membership,
    PlusGroup,
    TargetPopulation,
)
from inequalities.policy import Permission


def _pcn_crumbs(request, pcn, *extra):
    crumbs = [("Home", reverse("home"))]
    icb = pcn.sub_icb.icb
    if policy.has_permission(request.user, Permission.VIEW_ICB, icb=icb):
        crumbs.append((icb.display_name, reverse("icb_detail", args=[icb.code])))
    crumbs.append((pcn.display_name, reverse("pcn_detail", args=[pcn.code])))
    return crumbs + list(extra)


def _icb_crumbs(request, icb, *extra):
    crumbs = [("Home", reverse("home"))]
    if policy.has_permission(request.user, Permission.VIEW_ICB, icb=icb):
        crumbs.append((icb.display_name, reverse("icb_detail", args=[icb.code])))
    return crumbs + list(extra)


def _person(user):
    return user.get_full_name() or user.email


# --- Nomination --------------------------------------------------------------------------------------


def hi_lead_detail(request, code):
    pcn = policy.get_pcn_or_404(request.user, code)
    terms = HILeadNomination.objects.filter(pcn=pcn).select_related("user", "nominated_by")
    current = next((t for t in terms if t.is_current), None)
    return render(
        request,
        "inequalities/leads/hi_lead_detail.html",
        {
            "pcn": pcn,
            "current": current,
            "terms": terms,
            "can_nominate": policy.has_permission(request.user, Permission.NOMINATE_HI_LEAD, pcn=pcn),
            "can_record": policy.has_permission(request.user, Permission.RECORD_HI_ACTIVITY, pcn=pcn),
            "breadcrumbs": _pcn_crumbs(request, pcn),
        },
    )


def hi_lead_nominate(request, code):
    pcn = policy.get_pcn_or_404(request.user, code, Permission.NOMINATE_HI_LEAD)
    member_ids = Membership.objects.current().filter(pcn=pcn).values("user_id")
    members = get_user_model().objects.filter(pk__in=member_ids, is_active=True).order_by("email")
    form = NominateLeadForm(request.POST or None, members=members)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            nomination = actions_leads.nominate_hi_lead(
                pcn=pcn,
                by=request.user,
                user=data["user"],
                email=data["email"],
                role_type=data["role_type"],
                job_title=data["job_title"],
                start_date=data["start_date"],
                note=data["note"],
                request=request,
            )
        except (ValidationError, PermissionError) as exc:
            form.add_error(None, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
        else:
            invited = (
                " They have been emailed an invitation to set a password."
                if nomination.invitation_email
                else ""
            )
            messages.success(request, f"{_person(nomination.user)} is now the HI lead.{invited}")
            return redirect("hi_lead_detail", code=pcn.code)
    current = HILeadNomination.objects.current().filter(pcn=pcn).select_related("user").first()
    return render(
        request,
        "inequalities/leads/hi_lead_nominate.html",
        {
            "pcn": pcn,
            "form": form,
            "current": current,
            "breadcrumbs": _pcn_crumbs(request, pcn, ("HI lead", reverse("hi_lead_detail", args=[pcn.code]))),
        },
    )


@require_POST
def hi_lead_end(request, code):
    pcn = policy.get_pcn_or_404(request.user, code, Permission.NOMINATE_HI_LEAD)
    current = HILeadNomination.objects.current().filter(pcn=pcn).first()
    if current is None:
        raise Http404("No current HI lead")
    try:
        actions_leads.end_hi_lead_term(nomination=current, by=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"{_person(current.user)}'s term as HI lead has ended.")
    return redirect("hi_lead_detail", code=pcn.code)


# --- The ICB's directory and compliance view --------------------------------------------------------


def _current_leads(pcn_ids):
    return {
        n.pcn_id: n
        for n in HILeadNomination.objects.current().filter(pcn_id__in=pcn_ids).select_related("user")
    }


def icb_lead_directory(request, code):
    """Current HI leads of the ICB's PCNs: for everyone in the ICB."""
    icb = policy.get_icb_belonged_or_404(request.user, code)
    leads = (
        HILeadNomination.objects.current()
        .filter(pcn__sub_icb__icb=icb)
        .select_related("user", "pcn")
        .order_by("pcn__name")
    )
    if request.GET.get("format") == "csv":
        return csv_response(
            f"{icb.code}-hi-leads.csv",
            ["pcn_code", "pcn_name", "name", "role", "job_title", "email", "since"],
            (
                [
                    n.pcn.code,
                    n.pcn.display_name,
                    _person(n.user),
                    n.get_role_type_display(),
                    n.job_title,
                    n.user.email,
                    n.start_date.isoformat(),
                ]
                for n in leads
            ),
        )
    return render(
        request,
        "inequalities/leads/directory.html",
        {"icb": icb, "leads": leads, "breadcrumbs": _icb_crumbs(request, icb)},
    )


def icb_lead_compliance(request, code):
    """Every PCN of the ICB: its current lead or none, for analysts and commissioners."""
    icb = policy.get_icb_or_404(request.user, code, Permission.VIEW_ICB)
    pcns = list(PCN.objects.filter(sub_icb__icb=icb).select_related("sub_icb").order_by("name"))
    leads = _current_leads([p.pk for p in pcns])
    last_activity = defaultdict(lambda: None)
    for pcn_id, date in (
        LeadActivity.objects.filter(pcn__in=pcns).values_list("pcn_id", "date").order_by("date")
    ):
        last_activity[pcn_id] = date
    today = timezone.localdate()
    rows = [
        {
            "pcn": p,
            "lead": leads.get(p.pk),
            "days": (today - leads[p.pk].start_date).days if p.pk in leads else None,
            "last_activity": last_activity[p.pk],
        }
        for p in pcns
    ]
    if request.GET.get("format") == "csv":
        return csv_response(
            f"{icb.code}-hi-lead-compliance.csv",
            [
                "pcn_code",
                "pcn_name",
                "sub_icb_code",
                "status",
                "lead_name",
                "lead_email",
                "since",
                "days_since_nomination",
                "last_activity",
            ],
            (
                [
                    r["pcn"].code,
                    r["pcn"].display_name,
                    r["pcn"].sub_icb.code,
                    "nominated" if r["lead"] else "no lead nominated",
                    _person(r["lead"].user) if r["lead"] else "",
                    r["lead"].user.email if r["lead"] else "",
                    r["lead"].start_date.isoformat() if r["lead"] else "",
                    r["days"],
                    r["last_activity"].isoformat() if r["last_activity"] else "",
                ]
                for r in rows
            ),
        )
    return render(
        request,
        "inequalities/leads/compliance.html",
        {
            "icb": icb,
            "rows": rows,
            "with_lead": sum(1 for r in rows if r["lead"]),
            "without_lead": sum(1 for r in rows if not r["lead"]),
            "breadcrumbs": _icb_crumbs(request, icb),
        },
    )


# --- Peer network -----------------------------------------------------------------------------------


def peer_network(request):
    """Other HI leads in the user's ICB(s) and region(s), with their PCNs' focus areas."""
    own_pcns = list(
        policy.pcns_for(request.user, Permission.RECORD_HI_ACTIVITY).select_related("sub_icb__icb")
    )
    if not own_pcns:
        raise Http404("Not found")
    own_icbs = {p.sub_icb.icb_id for p in own_pcns}
    own_regions = {p.sub_icb.icb.region_id for p in own_pcns}
    leads = (
        HILeadNomination.objects.current()
        .filter(pcn__sub_icb__icb__region_id__in=own_regions)
        .exclude(user=request.user)
        .select_related("user", "pcn__sub_icb__icb__region")
        .order_by("pcn__sub_icb__icb__name", "pcn__name")
    )
    focus = defaultdict(set)
    for pcn_id, area in (
        TargetPopulation.objects.filter(pcn__in=[n.pcn_id for n in leads])
        .values_list("pcn_id", "clinical_area__name")
        .distinct()
    ):
        focus[pcn_id].add(area)
    rows = [
        {"lead": n, "same_icb": n.pcn.sub_icb.icb_id in own_icbs, "focus": sorted(focus[n.pcn_id])}
        for n in leads
    ]
    area = request.GET.get("area", "")
    if area:
        rows = [r for r in rows if area in r["focus"]]
    if request.GET.get("format") == "csv":
        return csv_response(
            "hi-lead-peers.csv",
            ["icb_code", "icb_name", "pcn_code", "pcn_name", "name", "email", "focus_areas"],
            (
                [
                    r["lead"].pcn.sub_icb.icb.code,
                    r["lead"].pcn.sub_icb.icb.display_name,
                    r["lead"].pcn.code,
                    r["lead"].pcn.display_name,
                    _person(r["lead"].user),
                    r["lead"].user.email,
                    "; ".join(r["focus"]),
                ]
                for r in rows
            ),
        )
    return render(
        request,
        "inequalities/leads/peers.html",
        {
            "in_icb": [r for r in rows if r["same_icb"]],
            "in_region": [r for r in rows if not r["same_icb"]],
            "areas": ClinicalArea.objects.filter(active=True),
            "area": area,
            "breadcrumbs": [("Home", reverse("home"))],
        },
    )


# --- Activity log -----------------------------------------------------------------------------------


def _activity_csv(filename, activities):
    return csv_response(
        filename,
        ["pcn_code", "date", "heading", "title", "description", "recorded_by"],
        (
            [
                a.pcn.code,
                a.date.isoformat(),
                a.get_heading_display(),
                a.title,
                a.description,
                a.recorded_by.email if a.recorded_by else "",
            ]
            for a in activities
        ),
    )


def lead_activity(request, code):
    pcn = policy.get_pcn_or_404(request.user, code)
    activities = LeadActivity.objects.filter(pcn=pcn).select_related("recorded_by", "pcn")
    heading = request.GET.get("heading", "")
    if heading in LeadActivity.Heading.values:
        activities = activities.filter(heading=heading)
    if request.GET.get("format") == "csv":
        return _activity_csv(f"{pcn.code}-hi-lead-activity.csv", activities)
    return render(
        request,
        "inequalities/leads/activity.html",
        {
            "pcn": pcn,
            "activities": activities,
            "headings": LeadActivity.Heading.choices,
            "heading": heading,
            "can_record": policy.has_permission(request.user, Permission.RECORD_HI_ACTIVITY, pcn=pcn),
            "breadcrumbs": _pcn_crumbs(request, pcn, ("HI lead", reverse("hi_lead_detail", args=[pcn.code]))),
        },
    )


def lead_activity_add(request, code):
    pcn = policy.get_pcn_or_404(request.user, code, Permission.RECORD_HI_ACTIVITY)
    form = LeadActivityForm(request.POST or None, initial={"date": timezone.localdate().isoformat()})
    if request.method == "POST" and form.is_valid():
        try:
            actions_leads.record_lead_activity(pcn=pcn, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("date", exc.messages[0])
        else:
            messages.success(request, "Activity recorded.")
            return redirect("lead_activity", code=pcn.code)
    return render(
        request,
        "inequalities/leads/activity_form.html",
        {
            "pcn": pcn,
            "form": form,
            "breadcrumbs": _pcn_crumbs(
                request, pcn, ("Activity log", reverse("lead_activity", args=[pcn.code]))
            ),
        },
    )


def icb_lead_activity(request, code):
    icb = policy.get_icb_or_404(request.user, code, Permission.VIEW_ICB)
    activities = LeadActivity.objects.filter(pcn__sub_icb__icb=icb).select_related("recorded_by", "pcn")
    if request.GET.get("format") == "csv":
        return _activity_csv(f"{icb.code}-hi-lead-activity.csv", activities)
    return render(
        request,
        "inequalities/leads/icb_activity.html",
        {"icb": icb, "activities": activities[:500], "breadcrumbs": _icb_crumbs(request, icb)},
    )


# --- Core20PLUS5 catalogue and PLUS lists -----------------------------------------------------------


def core20plus5(request):
    areas = ClinicalArea.objects.filter(active=True)
    return render(
        request,
        "inequalities/leads/core20plus5.html",
        {
            "groups": [
                (label, [a for a in areas if a.group == value]) for value, label in ClinicalArea.Group.choices
            ],
            "national_plus": PlusGroup.objects.filter(icb=None, retired_at=None),
            "my_icbs": policy.icbs_belonged_to(request.user).order_by("name")[:50],
            "breadcrumbs": [("Home", reverse("home"))],
        },
    )


def plus_list(request, code):
    icb = policy.get_icb_belonged_or_404(request.user, code)
    national = PlusGroup.objects.filter(icb=None)
    own = PlusGroup.objects.filter(icb=icb).select_related("created_by")
    show_retired = request.GET.get("retired") == "1"
    if not show_retired:
        national, own = national.filter(retired_at=None), own.filter(retired_at=None)
    if request.GET.get("format") == "csv":
        return csv_response(
            f"{icb.code}-plus-groups.csv",
            ["list", "name", "description", "retired_on"],
            (
                [
                    "national" if g.icb_id is None else icb.code,
                    g.name,
                    g.description,
                    g.retired_at.date().isoformat() if g.retired_at else "",
                ]
                for g in [*national, *own]
            ),
        )
    return render(
        request,
        "inequalities/leads/plus_list.html",
        {
            "icb": icb,
            "national": national,
            "own": own,
            "show_retired": show_retired,
            "can_edit": policy.has_permission(request.user, Permission.EDIT_PLUS_LIST, icb=icb),
            "breadcrumbs": _icb_crumbs(request, icb),
        },
    )


def _own_group_or_404(icb, group_id):
    group = PlusGroup.objects.filter(pk=group_id, icb=icb).first()
    if group is None:
        raise Http404("No such PLUS group")
    return group


def plus_group_form(request, code, group_id=None):
    icb = policy.get_icb_or_404(request.user, code, Permission.EDIT_PLUS_LIST)
    group = _own_group_or_404(icb, group_id) if group_id else None
    initial = {"name": group.name, "description": group.description} if group else None
    form = PlusGroupForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if group is None:
                group = actions_leads.add_plus_group(icb=icb, by=request.user, **form.cleaned_data)
            else:
                group = actions_leads.edit_plus_group(group=group, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("name", exc.messages[0])
        else:
            messages.success(request, f"Saved the PLUS group {group.name}.")
            return redirect("plus_list", code=icb.code)
    return render(
        request,
        "inequalities/leads/plus_group_form.html",
        {
            "icb": icb,
            "group": group,
            "form": form,
            "breadcrumbs": _icb_crumbs(request, icb, ("PLUS groups", reverse("plus_list", args=[icb.code]))),
        },
    )


@require_POST
def plus_group_retire(request, code, group_id):
    icb = policy.get_icb_or_404(request.user, code, Permission.EDIT_PLUS_LIST)
    group = actions_leads.retire_plus_group(group=_own_group_or_404(icb, group_id), by=request.user)
    messages.success(request, f"Retired the PLUS group {group.name}. Populations that use it keep it.")
    return redirect("plus_list", code=icb.code)
