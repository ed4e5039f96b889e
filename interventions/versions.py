"""Freezing a plan into a snapshot (what `interventions.content` compares), and finding the
versions a commissioner needs: the one under decision and the one last decided."""

from decimal import Decimal

from interventions.models import InterventionPlan, PlanDecision


def number_text(value):
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    return str(value)


def date_text(value):
    return f"{value.day} {value:%B %Y}" if value else ""


def snapshot_of(plan):
    """The plan as display text, with its engagement records and measures (JSON-serialisable)."""
    tp = plan.target_population
    size = tp.size if tp else None
    return {
        "title": plan.title,
        "target_population": (f"{tp.name} ({size:,} people)" if size is not None else tp.name) if tp else "",
        "clinical_area": plan.clinical_area.name if plan.clinical_area_id else "",
        "evidence_profile": plan.evidence_profile,
        "evidence_other_data": plan.evidence_other_data,
        "inequality_types": plan.get_inequality_types_display(),
        "inequality_description": plan.inequality_description,
        "engagement_summary": plan.engagement_summary,
        "intervention_what": plan.intervention_what,
        "intervention_by_whom": plan.intervention_by_whom,
        "arrs_roles": list(plan.arrs_roles),
        "partners": plan.partners,
        "resources": plan.resources,
        "start_date": date_text(plan.start_date),
        "end_date": date_text(plan.end_date),
        "risks": plan.risks,
        "equity_could_widen": plan.get_equity_could_widen_display() if plan.equity_could_widen else "",
        "equity_impact": plan.equity_impact,
        "outcome": plan.outcome,
        "qi_approach": plan.qi_approach,
        "pdsa_cycles": number_text(plan.pdsa_cycles),
        "engagement": [
            {
                "id": e.pk,
                "who": e.who,
                "partners": e.partners,
                "method": e.method,
                "held_on": date_text(e.held_on),
                "heard": e.heard,
                "changed_plan": e.changed_plan,
            }
            for e in plan.engagement.all()
        ],
        "measures": [
            {
                "id": m.pk,
                "name": m.name,
                "kind": m.get_kind_display(),
                "numerator_definition": m.numerator_definition,
                "denominator_definition": m.denominator_definition,
                "unit": m.display_unit,
                "direction": m.get_direction_display(),
                "baseline_value": number_text(m.baseline_value),
                "baseline_period": m.baseline_period,
                "target_value": number_text(m.target_value),
                "target_date": date_text(m.target_date),
                "frequency": m.get_frequency_display(),
                "data_source": m.data_source,
                "rebase_at": date_text(m.rebase_at),
            }
            for m in plan.measures.all()
        ],
    }


def current_snapshot(plan):
    plan = (
        InterventionPlan.objects.select_related("target_population", "clinical_area")
        .prefetch_related("engagement", "measures")
        .get(pk=plan.pk)
    )
    return snapshot_of(plan)


def latest_version(plan):
    return plan.versions.select_related("submitted_by").order_by("-number").first()


def last_decided_version(plan, *, before_number=None):
    """The version of the most recent decision (before version `before_number`, if given)."""
    decisions = PlanDecision.objects.filter(plan=plan).select_related("plan_version", "decided_by")
    if before_number is not None:
        decisions = decisions.filter(plan_version__number__lt=before_number)
    decision = decisions.order_by("-plan_version__number", "-id").first()
    return decision
