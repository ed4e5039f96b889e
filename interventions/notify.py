"""Emails about plan transitions, sent after the transaction commits (never for a rolled-back
change). The people concerned:

* a submission: the commissioners of the PCN's ICB;
* a decision: whoever submitted the version, and the PCN's HI lead and clinical directors;
* start, completion, withdrawal: the PCN's HI lead and clinical directors, and the commissioners
  who decided on the plan.

The person who made the change is not emailed about it. One message per recipient, so addresses
are not shared. Links use settings.PORTAL_BASE_URL when it is set (the console backend in the demo
prints them).
"""

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from inequalities.models import Membership, Role
from interventions import workflow
from interventions.workflow import Transition


def _emails(users):
    return {u.email for u in users if u is not None and u.email and u.is_active}


def recipients(*, plan, transition, by):
    icb_id = plan.pcn.sub_icb.icb_id
    leads = {
        m.user
        for m in Membership.objects.current()
        .filter(pcn=plan.pcn, role__in=[Role.HI_LEAD, Role.CLINICAL_DIRECTOR])
        .select_related("user")
    }
    commissioners = {
        m.user
        for m in Membership.objects.current()
        .filter(icb_id=icb_id, role=Role.COMMISSIONER)
        .select_related("user")
    }
    if transition == Transition.SUBMIT:
        people = commissioners
    elif transition in workflow.DECISIONS:
        version = plan.versions.select_related("submitted_by").order_by("-number").first()
        people = leads | ({version.submitted_by} if version else set())
    else:
        deciders = {d.decided_by for d in plan.decisions.select_related("decided_by")}
        people = leads | deciders
    return sorted(_emails(people) - _emails([by]))


def messages(*, plan, transition, by, comment=""):
    rule = workflow.RULES[transition]
    url = getattr(settings, "PORTAL_BASE_URL", "").rstrip("/") + reverse(
        "interventions:plan_detail", args=[plan.pk]
    )
    actor = (by.get_full_name() or by.email) if by else "The portal"
    subject = f"[PCN HI Portal] {plan.pcn.display_name}: “{plan.title}” {rule.target.label.lower()}"
    body = render_to_string(
        "interventions/email/transition.txt",
        {
            "plan": plan,
            "actor": actor,
            "past": rule.past,
            "status": rule.target.label,
            "comment": comment.strip(),
            "url": url,
            "is_submission": transition == Transition.SUBMIT,
        },
    )
    return [
        (subject, body, settings.DEFAULT_FROM_EMAIL, [to])
        for to in recipients(plan=plan, transition=transition, by=by)
    ]


def queue(*, plan, transition, by, comment=""):
    """Work out the messages now (inside the transaction), send them once it commits."""
    batch = messages(plan=plan, transition=transition, by=by, comment=comment)
    if batch:
        transaction.on_commit(lambda: send_mass_mail(batch, fail_silently=False))
