"""NHS organisations on their natural keys (ODS codes), from region down to GP practice.

Region -> ICB -> sub-ICB location -> PCN -> practice. Practices belong to a PCN over time
(`PracticePCNMembership` with start and end dates). Every organisation carries open/close dates
and an optional successor for mergers (ICBs merge from April 2026).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from inequalities.names import nhs_title_case


class OrganisationQuerySet(models.QuerySet):
    def open_on(self, day=None):
        day = day or timezone.localdate()
        return self.filter(Q(opened_on__isnull=True) | Q(opened_on__lte=day)).filter(
            Q(closed_on__isnull=True) | Q(closed_on__gt=day)
        )


class Organisation(models.Model):
    code = models.CharField("ODS code", max_length=12, unique=True)
    name = models.CharField(max_length=250)
    ons_code = models.CharField("ONS code", max_length=9, blank=True, default="")
    opened_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    successor = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="predecessors",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()

    level = ""  # set on each subclass: the key used by profiles, audit and URLs

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return f"{self.display_name} ({self.code})"

    @property
    def display_name(self):
        return nhs_title_case(self.name)

    @property
    def is_open(self):
        today = timezone.localdate()
        return (self.opened_on is None or self.opened_on <= today) and (
            self.closed_on is None or self.closed_on > today
        )


class Region(Organisation):
    level = "region"

    class Meta(Organisation.Meta):
        verbose_name = "NHS region"


class ICB(Organisation):
    level = "icb"
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="icbs")

    class Meta(Organisation.Meta):
        verbose_name = "ICB"
        verbose_name_plural = "ICBs"


class SubICB(Organisation):
    level = "sub_icb"
    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="sub_icbs")

    class Meta(Organisation.Meta):
        verbose_name = "sub-ICB location"


class PCN(Organisation):
    level = "pcn"
    sub_icb = models.ForeignKey(SubICB, on_delete=models.PROTECT, related_name="pcns")

    class Meta(Organisation.Meta):
        verbose_name = "PCN"
        verbose_name_plural = "PCNs"

    @property
    def icb(self):
        return self.sub_icb.icb

    def current_practices(self, day=None):
        day = day or timezone.localdate()
        return Practice.objects.filter(
            pcn_memberships__in=PracticePCNMembership.objects.current(day).filter(pcn=self)
        ).distinct()


class Practice(Organisation):
    level = "practice"
    postcode = models.CharField(max_length=10, blank=True, default="")
    # The practice's own parent sub-ICB location (it may differ from its PCN's).
    sub_icb = models.ForeignKey(
        SubICB,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="practices",
    )
    pcns = models.ManyToManyField(PCN, through="PracticePCNMembership", related_name="practices")

    class Meta(Organisation.Meta):
        verbose_name = "GP practice"


class PracticePCNMembershipQuerySet(models.QuerySet):
    def current(self, day=None):
        day = day or timezone.localdate()
        return self.filter(Q(start_date__isnull=True) | Q(start_date__lte=day)).filter(
            Q(end_date__isnull=True) | Q(end_date__gte=day)
        )


class PracticePCNMembership(models.Model):
    """A practice's membership of a PCN between two dates (end date empty = current)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="pcn_memberships")
    pcn = models.ForeignKey(PCN, on_delete=models.CASCADE, related_name="practice_memberships")
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    objects = PracticePCNMembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "pcn", "start_date"],
                name="unique_practice_pcn_start",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="practice_pcn_end_after_start",
            ),
        ]
        ordering = ["practice__code", "start_date"]

    def __str__(self):
        return f"{self.practice.code} in {self.pcn.code} from {self.start_date} to {self.end_date or '—'}"
