"""A PCN's people: its clinical director grants and ends PCN memberships."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from inequalities import actions, policy
from inequalities.forms import AddPCNMemberForm
from inequalities.models import Membership
from inequalities.policy import Permission


def pcn_members(request, code):
    pcn = policy.get_pcn_or_404(request.user, code, Permission.MANAGE_PCN_MEMBERS)
    form = AddPCNMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership, created = actions.add_pcn_member(
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                pcn=pcn,
                by=request.user,
                request=request,
            )
        except (ValidationError, PermissionError) as exc:
            form.add_error(None, str(exc))
        else:
            note = " They have been emailed a link to set their password." if created else ""
            messages.success(
                request,
                f"{membership.user.email} is now {membership.get_role_display()}.{note}",
            )
            return redirect("pcn_members", code=pcn.code)
    members = (
        Membership.objects.current()
        .filter(pcn=pcn)
        .select_related("user", "granted_by")
        .order_by("role", "user__email")
    )
    return render(
        request,
        "inequalities/pcn_members.html",
        {
            "pcn": pcn,
            "members": members,
            "form": form,
            "breadcrumbs": [
                ("Home", reverse("home")),
                (pcn.display_name, reverse("pcn_detail", args=[pcn.code])),
            ],
        },
    )


@require_POST
def end_pcn_membership(request, code, membership_id):
    pcn = policy.get_pcn_or_404(request.user, code, Permission.MANAGE_PCN_MEMBERS)
    membership = Membership.objects.current().filter(pk=membership_id, pcn=pcn).select_related("user").first()
    if membership is None:
        raise Http404("No such membership")
    try:
        actions.end_membership(membership=membership, by=request.user)
    except PermissionError:
        raise Http404("Not found") from None
    messages.success(
        request,
        f"{membership.user.email} is no longer {membership.get_role_display()}.",
    )
    return redirect("pcn_members", code=pcn.code)
