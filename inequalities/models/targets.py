"""Priority targets a HI lead champions (DESIGN §1): one quarterly return per practice.

Counts, not rates: the portal computes proportions and their Wilson intervals when it shows them.
A quarter is kept as the first day of the NHS financial quarter (1 April, 1 July, 1 October,
1 January) and shown as e.g. "2025/26 Q1".
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class PriorityTargetReturn(models.Model):
    practice = models.ForeignKey(
        "inequalities.Practice", on_delete=models.CASCADE, related_name="priority_returns"
    )
    # The PCN the practice belonged to when the return was made: it decides who may see it.
    pcn = models.ForeignKey("inequalities.PCN", on_delete=models.CASCADE, related_name="priority_returns")
    quarter_start = models.DateField()
    ld_register_14_plus = models.PositiveIntegerField("LD register aged 14 and over")
    ld_health_checks = models.PositiveIntegerField("LD health checks with a health action plan")
    smi_register = models.PositiveIntegerField("SMI register")
    smi_health_checks = models.PositiveIntegerField("SMI full physical health checks")
    ethnicity_recorded = models.PositiveIntegerField("Patients with ethnicity recorded")
    list_size = models.PositiveIntegerField("Registered patients")
    scd_register = models.PositiveIntegerField("Sickle cell disease register")
    source = models.CharField(max_length=255, blank=True, default="form")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-quarter_start", "practice__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "quarter_start"], name="one_priority_return_per_quarter"
            ),
            models.CheckConstraint(
                condition=Q(ld_health_checks__lte=F("ld_register_14_plus"))
                & Q(smi_health_checks__lte=F("smi_register"))
                & Q(ethnicity_recorded__lte=F("list_size")),
                name="priority_return_numerators_within_denominators",
            ),
        ]

    def __str__(self):
        return f"{self.practice.code} priority targets from {self.quarter_start}"
