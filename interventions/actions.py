"""State changes on intervention plans, their measures and measurements.

Each action is a keyword-only function naming its actor (`by=`), runs in one transaction, asks the
access policy, applies the rules of `interventions.workflow`, writes an audit event and queues its
emails with `transaction.on_commit`. Views call these; nothing else writes plans.

Optimistic locking: every write to a plan takes `expected_version` — the `InterventionPlan.version`
the person's page was rendered with — re-reads the plan under `select_for_update` and refuses with
`StalePlan` if someone else changed it meanwhile. Of two commissioners deciding at once, the first
to commit wins; the second is told the plan changed and their comment is given back to them.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inequalities import audit, policy
from inequalities.policy import Permission
from interventions import content, notify, workflow
from interventions.measurement_io import check_values
from interventions.models import (
    EngagementRecord,
    InterventionPlan,
    Measure,
    Measurement,
    PlanDecision,
    PlanVersion,
)
from interventions.versions import number_text, snapshot_of
from interventions.workflow import Status, Transition, WorkflowError


class StalePlan(WorkflowError):
    def __init__(self, plan=None):
        super().__init__(
            "The plan has changed since you opened it (someone else saved or decided on it). "
            "Nothing you entered has been lost: check the plan as it is now and try again."
        )
        self.plan = plan


class IncompletePlan(WorkflowError):
    def __init__(self, gaps):
        steps = content.STEPS_BY_SLUG
        super().__init__(
            "The plan is not complete: "
            + "; ".join(f"{steps[slug].title}: {', '.join(items)}" for slug, items in gaps.items())
        )
        self.gaps = gaps


def permissions_on(user, pcn):
    return frozenset(p for p in Permission if policy.has_permission(user, p, pcn=pcn))


def _lock(plan, expected_version):
    locked = InterventionPlan.objects.select_for_update().get(pk=plan.pk)
    if locked.version != int(expected_version):
        raise StalePlan(locked)
    # select_for_update cannot join nullable relations on PostgreSQL; fetch them afterwards.
    return InterventionPlan.objects.select_related("pcn__sub_icb__icb").get(pk=locked.pk)


def _bump(plan, *fields):
    plan.version += 1
    plan.save(update_fields=["version", "updated_at", *fields])


def _audit_value(value):
    if value is None or isinstance(value, (str, int, float, bool, list)):
        return value
    return number_text(value) if not hasattr(value, "isoformat") else value.isoformat()


def _require_edit(plan, by):
    if not policy.has_permission(by, Permission.DRAFT_PLAN, pcn=plan.pcn):
        raise PermissionError("You may not edit plans of this PCN.")
    if not workflow.can_edit(status=plan.status, permissions=permissions_on(by, plan.pcn)):
        raise WorkflowError(f"A plan that is {plan.status_enum.label.lower()} cannot be edited.")


# --- Drafting ------------------------------------------------------------------------------------

EDITABLE_FIELDS = frozenset(name for step in content.STEPS for name, _ in step.fields)


def _check_population(pcn, changes):
    tp = changes.get("target_population")
    if tp is not None and tp.pcn_id != pcn.pk:
        raise ValidationError("The target population must be one of this PCN's.")
    start, end = changes.get("start_date"), changes.get("end_date")
    if start and end and end < start:
        raise ValidationError("The end date must be on or after the start date.")


@transaction.atomic
def create_plan(*, pcn, title, target_population=None, clinical_area=None, by):
    if not policy.has_permission(by, Permission.DRAFT_PLAN, pcn=pcn):
        raise PermissionError("You may not draft plans for this PCN.")
    _check_population(pcn, {"target_population": target_population})
    if clinical_area is None and target_population is not None:
        clinical_area = target_population.clinical_area
    plan = InterventionPlan.objects.create(
        pcn=pcn,
        title=title,
        target_population=target_population,
        clinical_area=clinical_area,
        created_by=by,
    )
    audit.record(
        action="plan.created",
        by=by,
        obj=plan,
        after={
            "title": title,
            "target_population": target_population.name if target_population else None,
            "clinical_area": clinical_area.code if clinical_area else None,
        },
        pcn=pcn,
    )
    return plan


@transaction.atomic
def update_plan(*, plan, changes, expected_version, by):
    """Save one step's fields. Only the fields that changed are audited."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not plan fields: {sorted(unknown)}")
    plan = _lock(plan, expected_version)
    _require_edit(plan, by)
    merged = {"start_date": plan.start_date, "end_date": plan.end_date, **changes}
    _check_population(plan.pcn, merged)
    before, after = {}, {}
    for name, value in changes.items():
        old = getattr(plan, name)
        if old != value:
            before[name], after[name] = _audit_value(old), _audit_value(value)
            setattr(plan, name, value)
    if not after:
        return plan
    _bump(plan, *after.keys())
    audit.record(action="plan.edited", by=by, obj=plan, before=before, after=after, pcn=plan.pcn)
    return plan


_ENGAGEMENT_FIELDS = ("who", "partners", "method", "held_on", "heard", "changed_plan")


@transaction.atomic
def add_engagement(*, plan, data, expected_version, by):
    plan = _lock(plan, expected_version)
    _require_edit(plan, by)
    record = EngagementRecord.objects.create(
        plan=plan, **{k: data[k] for k in _ENGAGEMENT_FIELDS if k in data}
    )
    _bump(plan)
    audit.record(
        action="plan.engagement_added",
        by=by,
        obj=plan,
        after={k: _audit_value(getattr(record, k)) for k in _ENGAGEMENT_FIELDS},
        pcn=plan.pcn,
    )
    return record


@transaction.atomic
def remove_engagement(*, record, expected_version, by):
    plan = _lock(record.plan, expected_version)
    _require_edit(plan, by)
    before = {k: _audit_value(getattr(record, k)) for k in _ENGAGEMENT_FIELDS}
    record.delete()
    _bump(plan)
    audit.record(action="plan.engagement_removed", by=by, obj=plan, before=before, pcn=plan.pcn)


MEASURE_FIELDS = (
    "name",
    "kind",
    "numerator_definition",
    "denominator_definition",
    "unit",
    "direction",
    "baseline_value",
    "baseline_period",
    "target_value",
    "target_date",
    "frequency",
    "data_source",
    "rebase_at",
)


def _measure_summary(measure):
    return {k: _audit_value(getattr(measure, k)) for k in MEASURE_FIELDS}


@transaction.atomic
def save_measure(*, plan, data, expected_version, by, measure=None):
    """Add a measure to the plan, or change one (while the plan is being drafted)."""
    plan = _lock(plan, expected_version)
    _require_edit(plan, by)
    if measure is not None:
        measure = Measure.objects.select_for_update().get(pk=measure.pk, plan=plan)
        if measure.measurements.exists() and data.get("kind", measure.kind) != measure.kind:
            raise ValidationError("The measure already has values recorded; its type cannot change.")
    before = _measure_summary(measure) if measure else None
    measure = measure or Measure(plan=plan)
    for name in MEASURE_FIELDS:
        if name in data:
            setattr(measure, name, data[name])
    measure.full_clean(exclude=["plan"])
    measure.save()
    _bump(plan)
    audit.record(
        action="plan.measure_changed" if before else "plan.measure_added",
        by=by,
        obj=plan,
        before=before,
        after=_measure_summary(measure),
        pcn=plan.pcn,
    )
    return measure


@transaction.atomic
def remove_measure(*, measure, expected_version, by):
    plan = _lock(measure.plan, expected_version)
    _require_edit(plan, by)
    if measure.measurements.exists():
        raise ValidationError("The measure has values recorded and cannot be removed.")
    before = _measure_summary(measure)
    measure.delete()
    _bump(plan)
    audit.record(action="plan.measure_removed", by=by, obj=plan, before=before, pcn=plan.pcn)


@transaction.atomic
def set_rebase(*, measure, rebase_at, by):
    """Rebase a measure's SPC limits from a date (recording stage: a change to the process)."""
    plan = InterventionPlan.objects.select_related("pcn__sub_icb__icb").get(pk=measure.plan_id)
    if not workflow.can_record(status=plan.status, permissions=permissions_on(by, plan.pcn)):
        raise PermissionError("You may not change this measure.")
    measure = Measure.objects.select_for_update().get(pk=measure.pk)
    before = _audit_value(measure.rebase_at)
    if measure.rebase_at == rebase_at:
        return measure
    measure.rebase_at = rebase_at
    measure.save(update_fields=["rebase_at"])
    audit.record(
        action="measure.rebased",
        by=by,
        obj=measure,
        label=f"{measure.name} ({plan.title})",
        before={"rebase_at": before},
        after={"rebase_at": _audit_value(rebase_at)},
        pcn=plan.pcn,
    )
    return measure


# --- Transitions ---------------------------------------------------------------------------------


def _status_change(plan, transition, by, *, extra=None, comment=""):
    rule = workflow.RULES[transition]
    audit.record(
        action=f"plan.{transition.value}",
        by=by,
        obj=plan,
        before={"status": plan.status},
        after={"status": rule.target.value, "version": plan.version + 1, **(extra or {})},
        pcn=plan.pcn,
    )
    plan.status = rule.target.value
    _bump(plan, "status")
    notify.queue(plan=plan, transition=transition, by=by, comment=comment)


@transaction.atomic
def submit(*, plan, expected_version, by):
    """Freeze the plan as a new version and send it to the ICB's commissioners."""
    plan = _lock(plan, expected_version)
    workflow.check(
        Transition.SUBMIT, status=plan.status, permissions=permissions_on(by, plan.pcn), actor_id=by.pk
    )
    plan = (
        InterventionPlan.objects.select_related("pcn__sub_icb__icb", "target_population", "clinical_area")
        .prefetch_related("engagement", "measures")
        .get(pk=plan.pk)
    )
    snapshot = snapshot_of(plan)
    gaps = content.missing(snapshot)
    if gaps:
        raise IncompletePlan(gaps)
    number = plan.versions.count() + 1
    version = PlanVersion.objects.create(plan=plan, number=number, snapshot=snapshot, submitted_by=by)
    plan.submitted_at = timezone.now()
    plan.save(update_fields=["submitted_at"])
    _status_change(plan, Transition.SUBMIT, by, extra={"plan_version": number})
    return version


@transaction.atomic
def decide(*, plan, decision, comment="", expected_version, by):
    """A commissioner approves, requests changes to, or rejects the version under decision."""
    decision = Transition(decision)
    if decision not in workflow.DECISIONS:
        raise ValueError(f"{decision} is not a decision")
    plan = _lock(plan, expected_version)
    version = plan.versions.order_by("-number").first()
    workflow.check(
        decision,
        status=plan.status,
        permissions=permissions_on(by, plan.pcn),
        actor_id=by.pk,
        submitter_id=version.submitted_by_id if version else None,
        text=comment,
    )
    made = PlanDecision.objects.create(
        plan=plan, plan_version=version, decision=decision.value, comment=comment.strip(), decided_by=by
    )
    _status_change(
        plan,
        decision,
        by,
        extra={"plan_version": version.number, "comment": comment.strip()},
        comment=comment.strip(),
    )
    return made


@transaction.atomic
def start(*, plan, expected_version, by):
    plan = _lock(plan, expected_version)
    workflow.check(
        Transition.START, status=plan.status, permissions=permissions_on(by, plan.pcn), actor_id=by.pk
    )
    _status_change(plan, Transition.START, by)
    return plan


@transaction.atomic
def complete(*, plan, summary, expected_version, by):
    plan = _lock(plan, expected_version)
    workflow.check(
        Transition.COMPLETE,
        status=plan.status,
        permissions=permissions_on(by, plan.pcn),
        actor_id=by.pk,
        text=summary,
    )
    plan.closing_summary = summary.strip()
    plan.save(update_fields=["closing_summary"])
    _status_change(
        plan, Transition.COMPLETE, by, extra={"closing_summary": plan.closing_summary}, comment=summary
    )
    return plan


@transaction.atomic
def withdraw(*, plan, reason, expected_version, by):
    plan = _lock(plan, expected_version)
    workflow.check(
        Transition.WITHDRAW,
        status=plan.status,
        permissions=permissions_on(by, plan.pcn),
        actor_id=by.pk,
        text=reason,
    )
    plan.withdrawn_reason = reason.strip()
    plan.save(update_fields=["withdrawn_reason"])
    _status_change(plan, Transition.WITHDRAW, by, extra={"reason": plan.withdrawn_reason}, comment=reason)
    return plan


TRANSITION_ACTIONS = {
    Transition.START: lambda *, plan, text, expected_version, by: start(
        plan=plan, expected_version=expected_version, by=by
    ),
    Transition.COMPLETE: lambda *, plan, text, expected_version, by: complete(
        plan=plan, summary=text, expected_version=expected_version, by=by
    ),
    Transition.WITHDRAW: lambda *, plan, text, expected_version, by: withdraw(
        plan=plan, reason=text, expected_version=expected_version, by=by
    ),
}


# --- Outcome measurements ------------------------------------------------------------------------


def _measurement_summary(m):
    if m is None:
        return None
    return {
        "period": m.period.isoformat(),
        "numerator": m.numerator,
        "denominator": m.denominator,
        "value": number_text(m.value),
    }


def _require_record(measure, by):
    # The plan's state as committed, not as the caller's copy remembers it.
    plan = InterventionPlan.objects.select_related("pcn__sub_icb__icb").get(pk=measure.plan_id)
    perms = permissions_on(by, plan.pcn)
    if Permission.RECORD_MEASUREMENT not in perms:
        raise PermissionError("You may not record measurements for this PCN.")
    if not workflow.can_record(status=plan.status, permissions=perms):
        raise WorkflowError(
            f"Measurements are recorded once the plan is approved; this plan is {plan.status_enum.label.lower()}."
        )


@transaction.atomic
def record_measurement(*, measure, period, numerator=None, denominator=None, value=None, by):
    """Record (or correct) the value of one period. Returns (measurement, created, changed)."""
    _require_record(measure, by)
    problems = check_values(
        is_proportion=measure.is_proportion, numerator=numerator, denominator=denominator, value=value
    )
    if problems:
        raise ValidationError({k: [v] for k, v in problems.items()})
    existing = Measurement.objects.select_for_update().filter(measure=measure, period=period).first()
    before = _measurement_summary(existing)
    m = existing or Measurement(measure=measure, period=period)
    m.numerator, m.denominator, m.value = numerator, denominator, value
    m.entered_by = by
    after = _measurement_summary(m)
    if before == after:
        return existing, False, False
    m.save()
    audit.record(
        action="measurement.updated" if existing else "measurement.recorded",
        by=by,
        obj=m,
        label=f"{measure.name}, {period:%b %Y} ({measure.plan.title})",
        before=before,
        after=after,
        pcn=measure.plan.pcn,
    )
    return m, existing is None, True


@transaction.atomic
def upload_measurements(*, measure, rows, filename, by, batch_size=500):
    """Write checked rows (interventions.measurement_io.parse_upload) in bulk: new periods are
    added, changed ones corrected, identical ones left alone; one audit event lists every change.
    Returns {"added": n, "updated": n, "unchanged": n}."""
    _require_record(measure, by)
    existing = {m.period: m for m in Measurement.objects.select_for_update().filter(measure=measure)}
    new, changed, before, after = [], [], {}, {}
    for row in rows:
        old = existing.get(row.period)
        m = old or Measurement(measure=measure, period=row.period)
        old_summary = _measurement_summary(old)
        m.numerator, m.denominator, m.value, m.entered_by = row.numerator, row.denominator, row.value, by
        new_summary = _measurement_summary(m)
        if old_summary == new_summary:
            continue
        key = row.period.isoformat()
        before[key], after[key] = old_summary, new_summary
        (changed if old else new).append(m)
    Measurement.objects.bulk_create(new, batch_size=batch_size)
    now = timezone.now()
    for m in changed:
        m.updated_at = now
    Measurement.objects.bulk_update(
        changed, ["numerator", "denominator", "value", "entered_by", "updated_at"], batch_size=batch_size
    )
    counts = {"added": len(new), "updated": len(changed), "unchanged": len(rows) - len(new) - len(changed)}
    if new or changed:
        audit.record(
            action="measurement.uploaded",
            by=by,
            obj=measure,
            label=f"{measure.name} ({measure.plan.title}) from {filename}",
            before={k: v for k, v in before.items() if v is not None},
            after={"file": filename, **counts, "values": after},
            pcn=measure.plan.pcn,
        )
    return counts


# Status values exposed to callers that only need the enum.
__all__ = [
    "IncompletePlan",
    "StalePlan",
    "Status",
    "WorkflowError",
    "add_engagement",
    "complete",
    "create_plan",
    "decide",
    "record_measurement",
    "remove_engagement",
    "remove_measure",
    "save_measure",
    "set_rebase",
    "start",
    "submit",
    "update_plan",
    "upload_measurements",
    "withdraw",
]
