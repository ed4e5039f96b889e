"""State changes for HI leads, PLUS lists, target populations and priority-target returns.

Like `inequalities.actions`: keyword-only functions naming the actor (`by=`; None = the system),
one transaction each, the access policy checked, an audit event written.

Invitations. A nominee without an account is invited the way `actions.add_pcn_member` adds a new
PCN member: an account with an unusable password is created and allauth's password-reset email is
sent (after commit) as the invitation. The HI lead membership is granted at nomination, so it is
already active when they set their password and sign in; the nomination keeps the invitation email
so pages can show "invitation sent" until they do.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inequalities import actions, audit, policy
from inequalities.models import (
    PCN,
    HILeadNomination,
    LeadActivity,
    Membership,
    PlusGroup,
    PriorityTargetReturn,
    Role,
    TargetPopulation,
)
from inequalities.policy import Permission


def _require(by, perm, **scope):
    if by is not None and not policy.has_permission(by, perm, **scope):
        raise PermissionError("You may not do this here.")


def _nomination_summary(n):
    return {
        "pcn": n.pcn.code,
        "user": n.user.email,
        "role_type": n.role_type,
        "job_title": n.job_title,
        "start_date": n.start_date.isoformat(),
        "end_date": n.end_date.isoformat() if n.end_date else None,
        "invitation_email": n.invitation_email,
    }


def _end_lead_membership(*, pcn, user, by):
    for membership in Membership.objects.current().filter(pcn=pcn, user=user, role=Role.HI_LEAD):
        actions.end_membership(membership=membership, by=by)


@transaction.atomic
def nominate_hi_lead(
    *, pcn, by, role_type, start_date, user=None, email="", job_title="", note="", request=None
):
    """Make `user` (or the person with `email`, invited if they have no account) the PCN's HI lead
    from `start_date`. The current lead's term ends on that date and their HI lead membership ends;
    the history stays. Returns the new nomination."""
    _require(by, Permission.NOMINATE_HI_LEAD, pcn=pcn)
    if (user is None) == (not email):
        raise ValidationError("Choose a member of the PCN or give an email address, not both.")
    today = timezone.localdate()
    if start_date > today:
        raise ValidationError("The start date cannot be in the future.")
    PCN.objects.select_for_update().get(pk=pcn.pk)  # one nomination at a time per PCN
    current = HILeadNomination.objects.current().filter(pcn=pcn).select_related("user").first()
    if current and start_date < current.start_date:
        raise ValidationError(
            f"The start date cannot be before the current lead's start ({current.start_date:%d %B %Y})."
        )
    invited = ""
    if user is None:
        User = get_user_model()
        normalised = User.objects.normalize_email(email).strip().lower()
        existing = User.objects.filter(email__iexact=normalised).first()
        if current and existing and existing == current.user:
            raise ValidationError(f"{existing.email} is already the HI lead.")
        membership, created = actions.add_pcn_member(
            email=normalised, role=Role.HI_LEAD, pcn=pcn, by=by, request=request
        )
        user = membership.user
        invited = normalised if created else ""
    elif current and user == current.user:
        raise ValidationError(f"{user.email} is already the HI lead.")
    if current:
        end_hi_lead_term(nomination=current, by=by, end_date=start_date)
    actions.grant_membership(user=user, role=Role.HI_LEAD, pcn=pcn, by=by)
    nomination = HILeadNomination.objects.create(
        pcn=pcn,
        user=user,
        role_type=role_type,
        job_title=job_title,
        start_date=start_date,
        note=note,
        nominated_by=by if getattr(by, "is_authenticated", False) else None,
        invitation_email=invited,
    )
    audit.record(action="hi_lead.nominated", by=by, obj=nomination, after=_nomination_summary(nomination))
    return nomination


@transaction.atomic
def end_hi_lead_term(*, nomination, by, end_date=None):
    """End a HI lead's term (on `end_date`, default today) and their HI lead membership."""
    nomination = (
        HILeadNomination.objects.select_for_update().select_related("pcn", "user").get(pk=nomination.pk)
    )
    _require(by, Permission.NOMINATE_HI_LEAD, pcn=nomination.pcn)
    if not nomination.is_current:
        return nomination
    end_date = end_date or timezone.localdate()
    if end_date < nomination.start_date:
        raise ValidationError("A term cannot end before it starts.")
    before = _nomination_summary(nomination)
    nomination.end_date = end_date
    nomination.ended_by = by if getattr(by, "is_authenticated", False) else None
    nomination.save(update_fields=["end_date", "ended_by"])
    _end_lead_membership(pcn=nomination.pcn, user=nomination.user, by=by)
    audit.record(
        action="hi_lead.term_ended",
        by=by,
        obj=nomination,
        before=before,
        after=_nomination_summary(nomination),
    )
    return nomination


@transaction.atomic
def record_lead_activity(*, pcn, heading, date, title, description="", by):
    _require(by, Permission.RECORD_HI_ACTIVITY, pcn=pcn)
    if date > timezone.localdate():
        raise ValidationError("An activity cannot be dated in the future.")
    activity = LeadActivity.objects.create(
        pcn=pcn,
        heading=LeadActivity.Heading(heading),
        date=date,
        title=title,
        description=description,
        recorded_by=by if getattr(by, "is_authenticated", False) else None,
    )
    audit.record(
        action="hi_lead.activity_recorded",
        by=by,
        obj=activity,
        after={"heading": activity.heading, "date": date.isoformat(), "title": title},
    )
    return activity


# --- PLUS lists ------------------------------------------------------------------------------------


def _plus_summary(g):
    return {
        "icb": g.icb.code if g.icb_id else None,
        "name": g.name,
        "description": g.description,
        "retired_at": g.retired_at.isoformat() if g.retired_at else None,
    }


def _check_plus_name(*, icb, name, exclude=None):
    clash = PlusGroup.objects.filter(icb=icb, name__iexact=name.strip())
    national = PlusGroup.objects.filter(icb=None, name__iexact=name.strip())
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists() or national.exists():
        raise ValidationError(f"There is already a PLUS group called {name.strip()!r}.")


@transaction.atomic
def add_plus_group(*, icb, name, description="", by):
    _require(by, Permission.EDIT_PLUS_LIST, icb=icb)
    _check_plus_name(icb=icb, name=name)
    group = PlusGroup.objects.create(
        icb=icb,
        name=name.strip(),
        description=description,
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    audit.record(action="plus_group.added", by=by, obj=group, after=_plus_summary(group), icb=icb)
    return group


@transaction.atomic
def edit_plus_group(*, group, name, description, by):
    group = PlusGroup.objects.select_for_update(of=("self",)).select_related("icb").get(pk=group.pk)
    if group.icb_id is None:
        raise PermissionError("The national starter list cannot be edited here.")
    _require(by, Permission.EDIT_PLUS_LIST, icb=group.icb)
    _check_plus_name(icb=group.icb, name=name, exclude=group)
    before = _plus_summary(group)
    group.name, group.description = name.strip(), description
    group.save(update_fields=["name", "description"])
    audit.record(
        action="plus_group.edited", by=by, obj=group, before=before, after=_plus_summary(group), icb=group.icb
    )
    return group


@transaction.atomic
def retire_plus_group(*, group, by):
    """Retire an ICB's PLUS group: it is no longer offered, and stays on populations that use it."""
    group = PlusGroup.objects.select_for_update(of=("self",)).select_related("icb").get(pk=group.pk)
    if group.icb_id is None:
        raise PermissionError("The national starter list cannot be retired here.")
    _require(by, Permission.EDIT_PLUS_LIST, icb=group.icb)
    if group.retired_at:
        return group
    before = _plus_summary(group)
    group.retired_at = timezone.now()
    group.save(update_fields=["retired_at"])
    audit.record(
        action="plus_group.retired",
        by=by,
        obj=group,
        before=before,
        after=_plus_summary(group),
        icb=group.icb,
    )
    return group


# --- Target populations ----------------------------------------------------------------------------


def _population_summary(tp):
    return {
        "pcn": tp.pcn.code,
        "name": tp.name,
        "core20_scope": tp.core20_scope,
        "practices": sorted(p.code for p in tp.practices.all()),
        "lsoa_codes": tp.lsoa_codes,
        "plus_group": tp.plus_group.name if tp.plus_group_id else None,
        "clinical_area": tp.clinical_area.code,
        "age_group": tp.age_group,
        "computed_size": tp.computed_size,
        "computed_from": tp.computed_from,
        "estimated_size": tp.estimated_size,
        "estimate_source": tp.estimate_source,
    }


@transaction.atomic
def save_target_population(*, pcn, by, population=None, practices=(), size=None, **fields):
    """Create (population None) or update a target population. `size` is the register count
    from `inequalities.workspace.core20_size` — (patients, "IMD ... · registrations ...") — or None
    when the population has no Core20 part."""
    _require(by, Permission.RECORD_HI_ACTIVITY, pcn=pcn)
    plus_group = fields.get("plus_group")
    if plus_group is not None and plus_group.icb_id not in (None, pcn.sub_icb.icb_id):
        raise ValidationError("That PLUS group belongs to another ICB.")
    if fields.get("core20_scope") == TargetPopulation.Core20Scope.NONE and plus_group is None:
        raise ValidationError("Choose Core20, a PLUS group, or both.")
    before = None
    if population is None:
        population = TargetPopulation(
            pcn=pcn, created_by=by if getattr(by, "is_authenticated", False) else None
        )
    else:
        population = TargetPopulation.objects.select_for_update().get(pk=population.pk, pcn=pcn)
        before = _population_summary(population)
    for name, value in fields.items():
        setattr(population, name, value)
    population.computed_size, population.computed_from = size if size else (None, "")
    population.save()
    population.practices.set(practices)
    audit.record(
        action="target_population.created" if before is None else "target_population.edited",
        by=by,
        obj=population,
        before=before,
        after=_population_summary(population),
    )
    return population


# --- Priority-target returns -----------------------------------------------------------------------

RETURN_FIELDS = [
    "ld_register_14_plus",
    "ld_health_checks",
    "smi_register",
    "smi_health_checks",
    "ethnicity_recorded",
    "list_size",
    "scd_register",
]


@transaction.atomic
def save_priority_returns(*, pcn, rows, source, by):
    """Write validated returns (dicts with `practice`, `quarter_start` and the counts) for practices
    of `pcn`: a practice's return for a quarter replaces the one before. All or nothing."""
    _require(by, Permission.RECORD_MEASUREMENT, pcn=pcn)
    existing = {
        (r.practice_id, r.quarter_start): r
        for r in PriorityTargetReturn.objects.select_for_update().filter(
            pcn=pcn, quarter_start__in={row["quarter_start"] for row in rows}
        )
    }
    entered_by = by if getattr(by, "is_authenticated", False) else None
    to_create, to_update, changes = [], [], []
    for row in rows:
        practice, quarter = row["practice"], row["quarter_start"]
        if not isinstance(quarter, datetime.date):
            raise ValidationError("quarter_start must be a date")
        counts = {f: row[f] for f in RETURN_FIELDS}
        current = existing.get((practice.pk, quarter))
        if current is None:
            to_create.append(
                PriorityTargetReturn(
                    practice=practice,
                    pcn=pcn,
                    quarter_start=quarter,
                    source=source,
                    entered_by=entered_by,
                    **counts,
                )
            )
            changes.append(
                {"practice": practice.code, "quarter_start": quarter.isoformat(), "before": None, **counts}
            )
        else:
            before = {f: getattr(current, f) for f in RETURN_FIELDS}
            if before == counts:
                continue
            for f, v in counts.items():
                setattr(current, f, v)
            current.source, current.entered_by, current.entered_at = source, entered_by, timezone.now()
            to_update.append(current)
            changes.append(
                {"practice": practice.code, "quarter_start": quarter.isoformat(), "before": before, **counts}
            )
    PriorityTargetReturn.objects.bulk_create(to_create, batch_size=500)
    PriorityTargetReturn.objects.bulk_update(
        to_update, [*RETURN_FIELDS, "source", "entered_by", "entered_at"], batch_size=500
    )
    if changes:
        audit.record(
            action="priority_targets.recorded",
            by=by,
            obj=pcn,
            label=f"{len(changes)} practice return(s) from {source}"[:300],
            after={"source": source, "returns": changes},
        )
    return len(to_create), len(to_update)
