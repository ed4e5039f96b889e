"""The access policy: the one place that decides who may do what, on which organisation.

Every view, export, API endpoint and background job asks this module. Two questions:

* ``has_permission(user, perm, pcn=..., icb=...)`` — may this user do P here?
* ``pcns_for(user, perm)`` / ``icbs_for(user, perm)`` / ``audit_events_for(user)`` — which objects
  of this kind may the user see (querysets, so lists and exports filter in SQL)?

``get_pcn_or_404`` / ``get_icb_or_404`` answer 404 — never 403 — for an object the user may not
see, so its existence does not leak (ADR 0003).

Roles reach down, never up or sideways: a PCN role covers its PCN; an ICB role covers the ICB and
every PCN under it; an administrator covers everything. National aggregate statistics are open to
every signed-in user (``VIEW_NATIONAL``).
"""

import re
from enum import StrEnum

from django.db.models import Q
from django.http import Http404

from inequalities import principal
from inequalities.models import ICB, ICB_ROLES, PCN, AuditEvent, Membership, Role
from pcn_portal import versioned_cache


class Permission(StrEnum):
    VIEW_NATIONAL = "view_national"  # aggregate statistics for all of England
    VIEW_PCN = "view_pcn"  # a PCN's page, data, plans and records
    VIEW_ICB = "view_icb"  # an ICB's page listing its PCNs in full
    VIEW_AUDIT = "view_audit"  # the audit trail (an ICB's, or all for administrators)
    MANAGE_PCN_MEMBERS = "manage_pcn_members"  # grant and end PCN memberships
    NOMINATE_HI_LEAD = "nominate_hi_lead"
    RECORD_HI_ACTIVITY = "record_hi_activity"
    RUN_IMPORTS = "run_imports"  # national data imports and their history
    EDIT_PLUS_LIST = "edit_plus_list"
    DRAFT_PLAN = "draft_plan"
    SUBMIT_PLAN = "submit_plan"
    DECIDE_PLAN = "decide_plan"
    RECORD_MEASUREMENT = "record_measurement"


ROLE_DESCRIPTIONS = {
    Role.CLINICAL_DIRECTOR: "Leads the PCN: everything a HI lead may do, and nominates the HI lead.",
    Role.HI_LEAD: "Sees the PCN's data, chooses populations, drafts and submits plans, records results.",
    Role.PCN_MEMBER: "Sees the PCN's data and drafts plans; cannot submit.",
    Role.ICB_ANALYST: "Sees every PCN in the ICB, runs data imports, keeps the ICB's PLUS list.",
    Role.COMMISSIONER: "Sees every PCN in the ICB; approves, sends back or rejects plans.",
    Role.ADMINISTRATOR: "Manages users, organisations and memberships everywhere.",
}

_PCN_READER = {Permission.VIEW_NATIONAL, Permission.VIEW_PCN}

ROLE_PERMISSIONS = {
    Role.PCN_MEMBER: _PCN_READER | {Permission.DRAFT_PLAN},
    Role.HI_LEAD: _PCN_READER
    | {
        Permission.DRAFT_PLAN,
        Permission.SUBMIT_PLAN,
        Permission.RECORD_MEASUREMENT,
        Permission.RECORD_HI_ACTIVITY,
    },
    Role.CLINICAL_DIRECTOR: _PCN_READER
    | {
        Permission.DRAFT_PLAN,
        Permission.SUBMIT_PLAN,
        Permission.RECORD_MEASUREMENT,
        Permission.RECORD_HI_ACTIVITY,
        Permission.NOMINATE_HI_LEAD,
        Permission.MANAGE_PCN_MEMBERS,
    },
    Role.ICB_ANALYST: _PCN_READER
    | {
        Permission.VIEW_ICB,
        Permission.VIEW_AUDIT,
        Permission.RUN_IMPORTS,
        Permission.EDIT_PLUS_LIST,
    },
    Role.COMMISSIONER: _PCN_READER | {Permission.VIEW_ICB, Permission.DECIDE_PLAN},
    Role.ADMINISTRATOR: set(Permission),
}


def _memberships(user):
    """The user's current memberships, loaded once per user object (i.e. once per request)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_policy_memberships", None)
    if cached is None:
        cached = list(Membership.objects.current().filter(user=user).select_related("pcn__sub_icb"))
        user._policy_memberships = cached
    return cached


def forget(user):
    """Drop the per-user cache after memberships change within one request."""
    if hasattr(user, "_policy_memberships"):
        del user._policy_memberships


def is_administrator(user):
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or any(m.role == Role.ADMINISTRATOR for m in _memberships(user))


def roles_of(user):
    return {Role(m.role) for m in _memberships(user)}


def has_icb_role(user):
    return any(m.role in ICB_ROLES for m in _memberships(user))


def has_permission(user, perm, *, pcn=None, icb=None):
    """May `user` do `perm` on `pcn` (or `icb`)? With neither, may they do it anywhere?"""
    perm = Permission(perm)
    if is_administrator(user):
        return True
    memberships = _memberships(user)
    if pcn is not None:
        icb_id = pcn.sub_icb.icb_id
        return any(
            perm in ROLE_PERMISSIONS[Role(m.role)]
            and (m.pcn_id == pcn.pk or (m.icb_id is not None and m.icb_id == icb_id))
            for m in memberships
        )
    if icb is not None:
        return any(perm in ROLE_PERMISSIONS[Role(m.role)] and m.icb_id == icb.pk for m in memberships)
    return any(perm in ROLE_PERMISSIONS[Role(m.role)] for m in memberships)


def _scopes(user, perm):
    pcn_ids, icb_ids = set(), set()
    for m in _memberships(user):
        if perm in ROLE_PERMISSIONS[Role(m.role)]:
            if m.pcn_id:
                pcn_ids.add(m.pcn_id)
            if m.icb_id:
                icb_ids.add(m.icb_id)
    return pcn_ids, icb_ids


def pcns_for(user, perm=Permission.VIEW_PCN):
    """PCNs on which the user may do `perm`."""
    perm = Permission(perm)
    if is_administrator(user):
        return PCN.objects.all()
    pcn_ids, icb_ids = _scopes(user, perm)
    if not pcn_ids and not icb_ids:
        return PCN.objects.none()
    return PCN.objects.filter(Q(pk__in=pcn_ids) | Q(sub_icb__icb_id__in=icb_ids))


def icbs_for(user, perm=Permission.VIEW_ICB):
    """ICBs on which the user may do `perm` (ICB-scoped roles only)."""
    perm = Permission(perm)
    if is_administrator(user):
        return ICB.objects.all()
    _, icb_ids = _scopes(user, perm)
    return ICB.objects.filter(pk__in=icb_ids)


def icbs_belonged_to(user):
    """ICBs the user belongs to: through an ICB role, or a PCN role on one of its PCNs (everyone
    "in the ICB", e.g. for its directory of HI leads and its PLUS list). Administrators: all."""
    if is_administrator(user):
        return ICB.objects.all()
    icb_ids = {m.icb_id for m in _memberships(user) if m.icb_id}
    icb_ids |= {m.pcn.sub_icb.icb_id for m in _memberships(user) if m.pcn_id}
    return ICB.objects.filter(pk__in=icb_ids)


def belongs_to_icb(user, icb):
    return is_administrator(user) or icbs_belonged_to(user).filter(pk=icb.pk).exists()


def get_icb_belonged_or_404(user, code):
    icb = _by_code(ICB, code, "region")
    if icb is None or not belongs_to_icb(user, icb):
        raise Http404("No such ICB")
    return icb


def audit_events_for(user):
    if is_administrator(user):
        return AuditEvent.objects.all()
    codes = list(icbs_for(user, Permission.VIEW_AUDIT).values_list("code", flat=True))
    return AuditEvent.objects.filter(icb_code__in=codes) if codes else AuditEvent.objects.none()


_ORG_CODE = re.compile(r"[A-Za-z0-9]{1,16}")


def _by_code(model, code, related):
    """The organisation with this ODS code (None if there is none), from the cache: every
    organisation page looks one up, and they change only with imports and admin edits, which bump
    the version (`inequalities.principal.ORGANISATIONS`)."""

    def lookup():
        return model.objects.select_related(related).filter(code=code).first()

    entry = org_cache_entry(model, code)
    if not entry:
        return None  # no organisation has such a code
    ((key, namespaces),) = entry.items()
    return versioned_cache.get_or_build(key, namespaces, lookup, timeout=60 * 60)


def org_cache_entry(model, code):
    """The cache entry of an organisation looked up by code ({} for a code no organisation has),
    for pages that fetch it together with their own entries (`versioned_cache.prefetch`)."""
    if not _ORG_CODE.fullmatch(code or ""):
        return {}
    return {f"org:{model._meta.model_name}:{code}": [principal.ORGANISATIONS]}


def get_pcn_or_404(user, code, perm=Permission.VIEW_PCN):
    pcn = _by_code(PCN, code, "sub_icb__icb__region")
    if pcn is None or not has_permission(user, perm, pcn=pcn):
        raise Http404("No such PCN")
    return pcn


def get_icb_or_404(user, code, perm=Permission.VIEW_ICB):
    icb = _by_code(ICB, code, "region")
    if icb is None or not has_permission(user, perm, icb=icb):
        raise Http404("No such ICB")
    return icb


def require(user, perm, **scope):
    """Raise 404 unless the user may do `perm` (for actions whose object is already visible)."""
    if not has_permission(user, perm, **scope):
        raise Http404("Not found")
