"""Core20PLUS5: the catalogue of clinical areas, PLUS groups (national starter list and each
ICB's own), and the target populations a PCN chooses from them.

Clinical areas and PLUS groups are data, not code. Retired PLUS groups stay on old plans.
"""

from django.conf import settings
from django.db import models


class AgeGroup(models.TextChoices):
    ADULTS = "adults", "Adults"
    CYP = "cyp", "Children and young people"


class ClinicalArea(models.Model):
    class Group(models.TextChoices):
        ADULT = "adult", "Adult clinical area"
        CYP = "cyp", "Children and young people's clinical area"
        CROSS_CUTTING = "cross_cutting", "Cross-cutting theme"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    group = models.CharField(max_length=16, choices=Group.choices)
    description = models.TextField(blank=True, default="")
    national_ambition = models.TextField(blank=True, default="")
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["group", "position", "name"]

    def __str__(self):
        return self.name


class PlusGroup(models.Model):
    """A PLUS population group: national starter list (icb empty) or one ICB's own."""

    icb = models.ForeignKey(
        "inequalities.ICB", null=True, blank=True, on_delete=models.CASCADE, related_name="plus_groups"
    )
    name = models.CharField(max_length=160)
    description = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["icb", "name"], name="unique_plus_group_name_per_icb"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_national(self):
        return self.icb_id is None


class TargetPopulation(models.Model):
    """A population a PCN chooses to focus on: Core20 (all, or chosen practices or LSOAs) and/or
    a PLUS group, with a clinical area and an age group. The size comes from the registers where
    it can (`computed_size`, with the IMD edition and extract used) and from an entered estimate
    with its source where it cannot (PLUS groups)."""

    class Core20Scope(models.TextChoices):
        NONE = "none", "Not Core20"
        ALL = "all", "All Core20 patients of the PCN"
        PRACTICES = "practices", "Core20 patients of chosen practices"
        LSOAS = "lsoas", "Core20 patients living in chosen neighbourhoods (LSOAs)"

    pcn = models.ForeignKey("inequalities.PCN", on_delete=models.CASCADE, related_name="target_populations")
    name = models.CharField(max_length=160)
    core20_scope = models.CharField(max_length=10, choices=Core20Scope.choices, default=Core20Scope.ALL)
    practices = models.ManyToManyField("inequalities.Practice", blank=True, related_name="+")
    lsoa_codes = models.JSONField(default=list, blank=True)
    plus_group = models.ForeignKey(
        PlusGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="target_populations"
    )
    clinical_area = models.ForeignKey(
        ClinicalArea, on_delete=models.PROTECT, related_name="target_populations"
    )
    age_group = models.CharField(max_length=8, choices=AgeGroup.choices, default=AgeGroup.ADULTS)
    computed_size = models.PositiveIntegerField(null=True, blank=True)
    computed_from = models.CharField(max_length=200, blank=True, default="")  # edition + extract
    estimated_size = models.PositiveIntegerField(null=True, blank=True)
    estimate_source = models.CharField(max_length=300, blank=True, default="")
    rationale = models.TextField(blank=True, default="")
    data_sources = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pcn", "name"]

    def __str__(self):
        return f"{self.name} ({self.pcn.code})"

    @property
    def size(self):
        return self.computed_size if self.computed_size is not None else self.estimated_size
