"""Outcome measures of a plan and the values recorded for them, one per measure and period.

A measure is either a proportion (numerator over denominator, shown as a percentage) or a single
value with a unit. The observed value is derived when read (`Measurement.observed`), never stored.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class MeasureKind(models.TextChoices):
    PROPORTION = "proportion", "Numerator and denominator (shown as a percentage)"
    VALUE = "value", "A single value with a unit"


class Direction(models.TextChoices):
    # Values match interventions.spc.Improvement.
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


class Measure(models.Model):
    plan = models.ForeignKey(
        "interventions.InterventionPlan", on_delete=models.CASCADE, related_name="measures"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=MeasureKind.choices, default=MeasureKind.PROPORTION)
    numerator_definition = models.TextField(blank=True, default="")
    denominator_definition = models.TextField(blank=True, default="")
    unit = models.CharField(max_length=40, blank=True, default="")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    baseline_value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    baseline_period = models.CharField(max_length=100, blank=True, default="")
    target_value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    target_date = models.DateField(null=True, blank=True)
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY)
    data_source = models.CharField(max_length=300, blank=True, default="")
    rebase_at = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "id"]

    def __str__(self):
        return self.name

    @property
    def is_proportion(self):
        return self.kind == MeasureKind.PROPORTION

    @property
    def display_unit(self):
        return "%" if self.is_proportion else self.unit


class Measurement(models.Model):
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="measurements")
    period = models.DateField(help_text="The first day of the period")
    numerator = models.PositiveIntegerField(null=True, blank=True)
    denominator = models.PositiveIntegerField(null=True, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["measure", "period"]
        constraints = [
            models.UniqueConstraint(fields=["measure", "period"], name="one_measurement_per_period"),
            models.CheckConstraint(
                condition=(
                    Q(numerator__isnull=False, denominator__gt=0, value__isnull=True)
                    | Q(numerator__isnull=True, denominator__isnull=True, value__isnull=False)
                ),
                name="measurement_fraction_or_value",
            ),
            models.CheckConstraint(
                condition=Q(numerator__isnull=True) | Q(numerator__lte=models.F("denominator")),
                name="measurement_numerator_within_denominator",
            ),
        ]

    def __str__(self):
        return f"{self.measure.name} {self.period}"

    @property
    def observed(self):
        """The plotted value: a percentage for a proportion, else the value itself."""
        if self.value is not None:
            return float(self.value)
        return 100.0 * self.numerator / self.denominator
