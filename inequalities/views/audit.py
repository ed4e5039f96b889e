from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from inequalities import policy
from inequalities.exports import csv_response
from inequalities.forms import AuditFilterForm
from inequalities.policy import Permission


def audit_trail(request):
    if not policy.has_permission(request.user, Permission.VIEW_AUDIT):
        raise Http404("Not found")
    events = policy.audit_events_for(request.user).select_related("actor")
    form = AuditFilterForm(request.GET or None)
    if form.is_valid():
        if form.cleaned_data["action"]:
            events = events.filter(action__icontains=form.cleaned_data["action"])
        if form.cleaned_data["actor"]:
            events = events.filter(actor_label__icontains=form.cleaned_data["actor"])
        if form.cleaned_data["icb"]:
            events = events.filter(icb_code__iexact=form.cleaned_data["icb"])
    if request.GET.get("format") == "csv":
        return csv_response(
            "audit-trail.csv",
            [
                "at",
                "actor",
                "action",
                "object_type",
                "object_id",
                "object",
                "icb",
                "pcn",
                "ip",
                "before",
                "after",
            ],
            (
                [
                    e.at.isoformat(),
                    e.actor_label,
                    e.action,
                    e.object_type,
                    e.object_id,
                    e.object_label,
                    e.icb_code,
                    e.pcn_code,
                    e.ip_address,
                    e.before,
                    e.after,
                ]
                for e in events.iterator()
            ),
        )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "inequalities/audit.html",
        {"page": page, "form": form, "query": query.urlencode()},
    )
