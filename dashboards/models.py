"""Precomputed aggregates the dashboard pages read — and nothing else.

One `AggregateSet` per (IMD edition, registration extract) pair that has deprivation profiles.
Every row below belongs to one set and is replaced with it, in one transaction, by
`dashboards.refresh.refresh_aggregates` (a Celery task chained after each import and after each
plan, measurement, HI lead or priority-target change). A page therefore makes a fixed number of
queries whatever the number of PCNs, and can say when its figures were computed and from which
edition and extract.

Rows are denormalised on purpose (codes and names of parents copied in): pages filter and sort
on them without joins. Organisations are referenced by code (explicit `level` + `code` where a
table holds several levels), as `DeprivationProfile` does.
"""

from django.db import models

from inequalities.models import ImdEdition, RegistrationSnapshot


class AggregateSet(models.Model):
    edition = models.ForeignKey(ImdEdition, on_delete=models.CASCADE, related_name="+")
    snapshot = models.ForeignKey(RegistrationSnapshot, on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    pcn_count = models.PositiveIntegerField(default=0)
    practice_count = models.PositiveIntegerField(default=0)
    latest_quarter = models.DateField(null=True, blank=True)  # of the priority-target returns
    method = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-edition__year", "-snapshot__extract_date"]
        constraints = [models.UniqueConstraint(fields=["edition", "snapshot"], name="unique_aggregate_set")]

    def __str__(self):
        return f"Dashboard figures for IMD {self.edition.year} x {self.snapshot.extract_date}"


class AreaLevel(models.TextChoices):
    ICB = "icb", "ICB"
    REGION = "region", "NHS region"
    ENGLAND = "england", "England"


class AreaSummary(models.Model):
    """An ICB, a region or England: the comparators shown beside every PCN."""

    aggregate_set = models.ForeignKey(AggregateSet, on_delete=models.CASCADE, related_name="areas")
    level = models.CharField(max_length=8, choices=AreaLevel.choices)
    code = models.CharField(max_length=12)
    name = models.CharField(max_length=250, blank=True, default="")
    parent_code = models.CharField(max_length=12, blank=True, default="")
    parent_name = models.CharField(max_length=250, blank=True, default="")
    pcn_count = models.PositiveIntegerField(default=0)
    practice_count = models.PositiveIntegerField(default=0)
    registered_patients = models.PositiveBigIntegerField(default=0)
    core20_patients = models.PositiveBigIntegerField(default=0)
    unknown_patients = models.PositiveBigIntegerField(default=0)
    core20_share = models.FloatField(null=True, blank=True)  # of patients with a known decile
    decile_patients = models.JSONField(default=list)
    imd_score = models.FloatField(null=True, blank=True)
    pcns_with_lead = models.PositiveIntegerField(default=0)
    plans_by_status = models.JSONField(default=dict, blank=True)
    measures_improving = models.PositiveIntegerField(default=0)
    measures_concerning = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["level", "name"]
        constraints = [
            models.UniqueConstraint(fields=["aggregate_set", "level", "code"], name="unique_area_summary")
        ]


class PCNOverview(models.Model):
    """One row per PCN: what the ICB overview lists and the PCN dashboard heads with."""

    aggregate_set = models.ForeignKey(AggregateSet, on_delete=models.CASCADE, related_name="pcns")
    code = models.CharField(max_length=12)
    name = models.CharField(max_length=250, blank=True, default="")
    sub_icb_code = models.CharField(max_length=12, blank=True, default="")
    icb_code = models.CharField(max_length=12, blank=True, default="")
    icb_name = models.CharField(max_length=250, blank=True, default="")
    region_code = models.CharField(max_length=12, blank=True, default="")
    region_name = models.CharField(max_length=250, blank=True, default="")
    practice_count = models.PositiveIntegerField(default=0)
    registered_patients = models.PositiveBigIntegerField(default=0)
    core20_patients = models.PositiveBigIntegerField(default=0)
    unknown_patients = models.PositiveBigIntegerField(default=0)
    core20_share = models.FloatField(null=True, blank=True)
    decile_patients = models.JSONField(default=list)
    imd_score = models.FloatField(null=True, blank=True)
    imd_quintile = models.PositiveSmallIntegerField(null=True, blank=True)  # national, among PCNs
    hi_lead = models.CharField(max_length=250, blank=True, default="")  # empty = none nominated
    hi_lead_since = models.DateField(null=True, blank=True)
    lead_activity_count = models.PositiveIntegerField(default=0)  # in the 12 months to computed_at
    lead_activities = models.JSONField(default=list, blank=True)  # the latest three: date, heading, title
    plans_total = models.PositiveIntegerField(default=0)
    plans_by_status = models.JSONField(default=dict, blank=True)
    measures_total = models.PositiveIntegerField(default=0)
    measures_improving = models.PositiveIntegerField(default=0)
    measures_concerning = models.PositiveIntegerField(default=0)
    # Plan details (title, status, each measure's latest SPC state): shown only to the PCN and its
    # ICB, by the PCN dashboard; never on national pages.
    plans = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["aggregate_set", "code"], name="unique_pcn_overview")]
        indexes = [models.Index(fields=["aggregate_set", "icb_code"])]


class PracticeSummary(models.Model):
    aggregate_set = models.ForeignKey(AggregateSet, on_delete=models.CASCADE, related_name="practices")
    code = models.CharField(max_length=12)
    name = models.CharField(max_length=250, blank=True, default="")
    pcn_code = models.CharField(max_length=12, blank=True, default="")
    icb_code = models.CharField(max_length=12, blank=True, default="")
    registered_patients = models.PositiveBigIntegerField(default=0)
    core20_patients = models.PositiveBigIntegerField(default=0)
    unknown_patients = models.PositiveBigIntegerField(default=0)
    core20_share = models.FloatField(null=True, blank=True)
    decile_patients = models.JSONField(default=list)
    imd_score = models.FloatField(null=True, blank=True)
    imd_quintile = models.PositiveSmallIntegerField(null=True, blank=True)  # national, among practices

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["aggregate_set", "code"], name="unique_practice_summary")
        ]
        indexes = [models.Index(fields=["aggregate_set", "pcn_code"])]


class TargetValue(models.Model):
    """A priority target (LD and SMI health checks, ethnicity recorded, ...) for one PCN, ICB or
    England in one quarter, with its Wilson 95% interval: the funnel plots' and trends' input."""

    aggregate_set = models.ForeignKey(AggregateSet, on_delete=models.CASCADE, related_name="targets")
    level = models.CharField(max_length=8)  # pcn, icb, england
    code = models.CharField(max_length=12)
    icb_code = models.CharField(max_length=12, blank=True, default="")
    indicator = models.CharField(max_length=24)
    quarter_start = models.DateField()
    numerator = models.PositiveBigIntegerField()
    denominator = models.PositiveBigIntegerField()
    value = models.FloatField(null=True, blank=True)  # proportion 0-1
    lower = models.FloatField(null=True, blank=True)
    upper = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["indicator", "quarter_start"]
        indexes = [
            models.Index(fields=["aggregate_set", "level", "code"]),
            models.Index(fields=["aggregate_set", "icb_code", "indicator"]),
        ]


class InequalitySummary(models.Model):
    """A priority target across the national deprivation quintiles of practices in an area:
    Q1 (most deprived) to Q5, gap and ratio, SII and RII with simulated 95% intervals."""

    aggregate_set = models.ForeignKey(AggregateSet, on_delete=models.CASCADE, related_name="inequalities")
    level = models.CharField(max_length=8, choices=AreaLevel.choices)
    code = models.CharField(max_length=12)
    indicator = models.CharField(max_length=24)
    quarter_start = models.DateField()
    numerators = models.JSONField(default=list)  # five, Q1 first
    denominators = models.JSONField(default=list)
    gap = models.FloatField(null=True, blank=True)
    gap_lower = models.FloatField(null=True, blank=True)
    gap_upper = models.FloatField(null=True, blank=True)
    ratio = models.FloatField(null=True, blank=True)
    sii = models.FloatField(null=True, blank=True)
    sii_lower = models.FloatField(null=True, blank=True)
    sii_upper = models.FloatField(null=True, blank=True)
    rii = models.FloatField(null=True, blank=True)
    rii_lower = models.FloatField(null=True, blank=True)
    rii_upper = models.FloatField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["indicator"]
        indexes = [models.Index(fields=["aggregate_set", "level", "code"])]
