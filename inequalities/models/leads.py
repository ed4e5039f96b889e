"""Health inequalities (HI) leads: who each PCN nominated, when, and what they record doing.

A `HILeadNomination` is one term of one person as a PCN's HI lead (start and end dates). The
current lead is the nomination with no end date; a database constraint allows one per PCN.
Nominating a new lead ends the previous term, so the history stays. The lead's powers come from a
`Membership(role=HI_LEAD)` granted and ended alongside the nomination (`inequalities.actions_leads`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class HILeadNominationQuerySet(models.QuerySet):
    def current(self):
        return self.filter(end_date__isnull=True)


class HILeadNomination(models.Model):
    class RoleType(models.TextChoices):
        CLINICAL = "clinical", "Clinical"
        NON_CLINICAL = "non_clinical", "Non-clinical"

    pcn = models.ForeignKey("inequalities.PCN", on_delete=models.CASCADE, related_name="hi_lead_nominations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hi_lead_terms")
    role_type = models.CharField("Role", max_length=12, choices=RoleType.choices)
    job_title = models.CharField(max_length=120, blank=True, default="")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True, default="")
    nominated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    nominated_at = models.DateTimeField(default=timezone.now)
    # Set when the nominee had no account: the address the invitation (set-password email) went to.
    invitation_email = models.EmailField(blank=True, default="")
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = HILeadNominationQuerySet.as_manager()

    class Meta:
        ordering = ["pcn", "-start_date", "-nominated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pcn"], condition=Q(end_date__isnull=True), name="one_current_hi_lead_per_pcn"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="hi_lead_term_ends_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.user.email} HI lead of {self.pcn.code} from {self.start_date}"

    @property
    def is_current(self):
        return self.end_date is None

    @property
    def invitation_pending(self):
        return bool(self.invitation_email) and not self.user.has_usable_password()

    def days_in_post(self, today=None):
        today = today or timezone.localdate()
        return ((self.end_date or today) - self.start_date).days


class LeadActivity(models.Model):
    """One dated thing a HI lead did, under the headings of the HI lead role (DESIGN §1)."""

    class Heading(models.TextChoices):
        SHARING_KNOWLEDGE = (
            "sharing_knowledge",
            "Sharing local HI knowledge from dashboards and PHM analytics",
        )
        PRIORITY_TARGETS = "priority_targets", "Championing the priority targets"
        TNHI = "tnhi", "Progressing the TNHI service"
        ADVOCACY = "advocacy", "Advocating for resources for those with most need"
        ARRS = "arrs", "ARRS recruitment that supports HI work"
        ANCHOR = "anchor", "The PCN as an anchor organisation"
        EQUITABLE_STAFF = "equitable_staff", "Equitable recruitment and treatment of staff"
        SHARING_LEARNING = "sharing_learning", "Sharing learning between PCNs"

    pcn = models.ForeignKey("inequalities.PCN", on_delete=models.CASCADE, related_name="lead_activities")
    heading = models.CharField(max_length=20, choices=Heading.choices)
    date = models.DateField()
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-recorded_at"]
        verbose_name_plural = "lead activities"

    def __str__(self):
        return f"{self.date}: {self.title} ({self.pcn.code})"
