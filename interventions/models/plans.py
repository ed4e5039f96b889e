"""TNHI intervention plans: the plan a PCN drafts step by step, its engagement records, the
version frozen at each submission, and the commissioner's decisions.

The plan's state changes only through `interventions.actions`; the rules are in
`interventions.workflow`. `version` is an optimistic-locking counter: every write compares the
version the form was rendered with, under a row lock, and bumps it.
"""

from django.conf import settings
from django.db import models

from interventions.workflow import Status, Transition


class InequalityType(models.TextChoices):
    ACCESS = "access", "Access to services"
    EXPERIENCE = "experience", "Experience of services"
    OUTCOMES = "outcomes", "Health outcomes"


class EquityRisk(models.TextChoices):
    NO = "no", "No, we checked and it should not widen any gap"
    POSSIBLY = "possibly", "Possibly, for some people (say who below)"
    YES = "yes", "Yes, for some people (say who and what the plan does about it below)"


ARRS_ROLES = [
    "Advanced practitioner",
    "Care coordinator",
    "Clinical pharmacist",
    "Dietitian",
    "First contact physiotherapist",
    "GP assistant",
    "Health and wellbeing coach",
    "Mental health practitioner",
    "Nursing associate",
    "Occupational therapist",
    "Paramedic",
    "Pharmacy technician",
    "Physician associate",
    "Podiatrist",
    "Social prescribing link worker",
]


class InterventionPlan(models.Model):
    pcn = models.ForeignKey("inequalities.PCN", on_delete=models.PROTECT, related_name="plans")
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=[(s.value, s.label) for s in Status], default=Status.DRAFT, db_index=True
    )
    version = models.PositiveIntegerField(default=1)

    # 1. Population
    target_population = models.ForeignKey(
        "inequalities.TargetPopulation", null=True, blank=True, on_delete=models.PROTECT, related_name="plans"
    )
    clinical_area = models.ForeignKey(
        "inequalities.ClinicalArea", null=True, blank=True, on_delete=models.PROTECT, related_name="plans"
    )
    # 2. Evidence
    evidence_profile = models.TextField(blank=True, default="")
    evidence_other_data = models.TextField(blank=True, default="")
    inequality_types = models.JSONField(default=list, blank=True)  # InequalityType values
    inequality_description = models.TextField(blank=True, default="")
    # 3. Community engagement (records in EngagementRecord)
    engagement_summary = models.TextField(blank=True, default="")
    # 4. Intervention
    intervention_what = models.TextField(blank=True, default="")
    intervention_by_whom = models.TextField(blank=True, default="")
    arrs_roles = models.JSONField(default=list, blank=True)  # names from ARRS_ROLES
    partners = models.TextField(blank=True, default="")
    resources = models.TextField(blank=True, default="")
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    risks = models.TextField(blank=True, default="")
    equity_could_widen = models.CharField(max_length=10, choices=EquityRisk.choices, blank=True, default="")
    equity_impact = models.TextField(blank=True, default="")
    # 5. Outcome and measurement (measures in Measure)
    outcome = models.TextField(blank=True, default="")
    qi_approach = models.TextField(blank=True, default="")
    pdsa_cycles = models.PositiveSmallIntegerField(null=True, blank=True)

    closing_summary = models.TextField(blank=True, default="")
    withdrawn_reason = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(start_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="plan_end_after_start",
            )
        ]

    def __str__(self):
        return f"{self.title} ({self.pcn.code})"

    @property
    def status_enum(self):
        return Status(self.status)

    def get_inequality_types_display(self):
        labels = dict(InequalityType.choices)
        return [labels.get(v, v) for v in self.inequality_types]


class EngagementRecord(models.Model):
    """One piece of community engagement: who, how, when, what was heard, what it changed."""

    plan = models.ForeignKey(InterventionPlan, on_delete=models.CASCADE, related_name="engagement")
    who = models.TextField(help_text="Groups, community members, community connectors")
    partners = models.TextField(blank=True, default="")  # VCSE organisations and others
    method = models.CharField(max_length=300)
    held_on = models.DateField()
    heard = models.TextField()
    changed_plan = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["held_on", "id"]

    def __str__(self):
        return f"{self.method} on {self.held_on}"


class PlanVersion(models.Model):
    """The plan as submitted: a frozen JSON snapshot (see interventions.content)."""

    plan = models.ForeignKey(InterventionPlan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="unique_plan_version_number")]

    def __str__(self):
        return f"{self.plan.title} version {self.number}"


class PlanDecision(models.Model):
    decision = models.CharField(
        max_length=20,
        choices=[
            (Transition.APPROVE.value, "Approved"),
            (Transition.REQUEST_CHANGES.value, "Changes requested"),
            (Transition.REJECT.value, "Rejected"),
        ],
    )
    plan = models.ForeignKey(InterventionPlan, on_delete=models.CASCADE, related_name="decisions")
    plan_version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="decisions")
    comment = models.TextField(blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            # One decision per submitted version: the second of two concurrent deciders loses.
            models.UniqueConstraint(fields=["plan_version"], name="one_decision_per_version"),
        ]

    def __str__(self):
        return f"{self.get_decision_display()}: {self.plan.title} v{self.plan_version.number}"
