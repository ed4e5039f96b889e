"""State changes on organisations and memberships.

Each action is a keyword-only function naming its actor (`by=`), runs in one transaction, checks
the access policy, and writes an audit event. Views and admin call these; nothing else writes.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inequalities import audit, policy
from inequalities.models import ICB_ROLES, PCN_ROLES, Membership, Role
from inequalities.policy import Permission


def _membership_summary(m):
    return {
        "user": m.user.email,
        "role": m.role,
        "pcn": m.pcn.code if m.pcn_id else None,
        "icb": m.icb.code if m.icb_id else None,
        "ended_at": m.ended_at.isoformat() if m.ended_at else None,
    }


def _check_scope(role, pcn, icb):
    role = Role(role)
    if role in PCN_ROLES and (pcn is None or icb is not None):
        raise ValidationError(f"A {role.label} membership needs a PCN and no ICB.")
    if role in ICB_ROLES and (icb is None or pcn is not None):
        raise ValidationError(f"A {role.label} membership needs an ICB and no PCN.")
    if role == Role.ADMINISTRATOR and (pcn is not None or icb is not None):
        raise ValidationError("An administrator membership has no organisation.")


def _may_grant(by, role, pcn, icb):
    # by=None is the system itself (demo loader, management commands); views always pass a user.
    if by is None or policy.is_administrator(by):
        return True
    # A PCN's clinical director grants the PCN's own roles; the HI lead role goes with a
    # nomination (inequalities.actions_leads), so whoever may nominate may grant and end it.
    if pcn is not None and Role(role) == Role.HI_LEAD:
        return policy.has_permission(by, Permission.NOMINATE_HI_LEAD, pcn=pcn)
    return (
        pcn is not None
        and Role(role) in {Role.PCN_MEMBER, Role.CLINICAL_DIRECTOR}
        and policy.has_permission(by, Permission.MANAGE_PCN_MEMBERS, pcn=pcn)
    )


@transaction.atomic
def grant_membership(*, user, role, pcn=None, icb=None, by):
    """Give `user` `role` on `pcn`/`icb`. Granting what is already held changes nothing."""
    _check_scope(role, pcn, icb)
    if not _may_grant(by, role, pcn, icb):
        raise PermissionError("You may not grant this membership.")
    existing = Membership.objects.current().filter(user=user, role=role, pcn=pcn, icb=icb).first()
    if existing:
        return existing
    membership = Membership.objects.create(user=user, role=role, pcn=pcn, icb=icb, granted_by=by)
    audit.record(
        action="membership.granted",
        by=by,
        obj=membership,
        after=_membership_summary(membership),
        pcn=pcn,
        icb=icb,
    )
    policy.forget(user)
    return membership


@transaction.atomic
def end_membership(*, membership, by):
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if not _may_grant(by, membership.role, membership.pcn, membership.icb):
        raise PermissionError("You may not end this membership.")
    if not membership.is_current:
        return membership
    before = _membership_summary(membership)
    membership.ended_at = timezone.now()
    membership.save(update_fields=["ended_at"])
    audit.record(
        action="membership.ended",
        by=by,
        obj=membership,
        before=before,
        after=_membership_summary(membership),
        pcn=membership.pcn,
        icb=membership.icb,
    )
    policy.forget(membership.user)
    return membership


@transaction.atomic
def add_pcn_member(*, email, role, pcn, by, request=None):
    """Grant a PCN role to the person with this email, creating their account if they have none
    and sending them a link to set a password. Returns (membership, created_user)."""
    from allauth.account.models import EmailAddress

    User = get_user_model()
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(username=email[:150], email=email)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
        audit.record(
            action="user.created",
            by=by,
            obj=user,
            label=email,
            after={"email": email},
            pcn=pcn,
        )
    membership = grant_membership(user=user, role=role, pcn=pcn, by=by)
    if created and request is not None:
        transaction.on_commit(lambda: send_set_password_email(user=user, request=request))
    return membership, created


def send_set_password_email(*, user, request):
    """Email a new member a link to choose their password (allauth's reset flow)."""
    from allauth.account.forms import ResetPasswordForm
    from allauth.core.context import request_context

    # on_commit may run after the view returned (e.g. inside an outer transaction): give allauth
    # its request explicitly.
    with request_context(request):
        form = ResetPasswordForm(data={"email": user.email})
        if form.is_valid():
            form.save(request)
