"""Plans under the access policy: a plan is visible exactly where its PCN is (its own people and
its ICB's analysts and commissioners); anything else answers 404 (ADR 0001)."""

from django.http import Http404

from inequalities import policy
from inequalities.policy import Permission
from interventions.models import InterventionPlan, Measure


def visible_plans(user, perm=Permission.VIEW_PCN):
    return InterventionPlan.objects.filter(pcn__in=policy.pcns_for(user, perm))


def get_plan_or_404(user, pk, perm=Permission.VIEW_PCN):
    plan = (
        InterventionPlan.objects.select_related(
            "pcn__sub_icb__icb__region", "target_population", "clinical_area", "created_by"
        )
        .filter(pk=pk)
        .first()
    )
    if plan is None or not policy.has_permission(user, perm, pcn=plan.pcn):
        raise Http404("No such plan")
    return plan


def get_measure_or_404(user, pk, perm=Permission.VIEW_PCN):
    measure = (
        Measure.objects.select_related("plan__pcn__sub_icb__icb__region", "plan__clinical_area")
        .filter(pk=pk)
        .first()
    )
    if measure is None or not policy.has_permission(user, perm, pcn=measure.plan.pcn):
        raise Http404("No such measure")
    return measure
