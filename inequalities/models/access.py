"""Who may do what where: roles held on organisations.

A `Membership` gives a user one role on one PCN (clinical director, HI lead, PCN member), one ICB
(ICB analyst, commissioner) or everywhere (administrator). What each role permits is decided in
`inequalities.policy`, nowhere else.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Role(models.TextChoices):
    CLINICAL_DIRECTOR = "clinical_director", "PCN clinical director"
    HI_LEAD = "hi_lead", "Health inequalities lead"
    PCN_MEMBER = "pcn_member", "PCN member"
    ICB_ANALYST = "icb_analyst", "ICB analyst"
    COMMISSIONER = "commissioner", "Commissioner"
    ADMINISTRATOR = "administrator", "Administrator"


# Tuples, not sets: the check constraint below lists them, and migrations need a stable order.
PCN_ROLES = (Role.CLINICAL_DIRECTOR, Role.HI_LEAD, Role.PCN_MEMBER)
ICB_ROLES = (Role.ICB_ANALYST, Role.COMMISSIONER)


class MembershipQuerySet(models.QuerySet):
    def current(self):
        now = timezone.now()
        return self.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=now))


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    pcn = models.ForeignKey(
        "inequalities.PCN",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    icb = models.ForeignKey(
        "inequalities.ICB",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="memberships_granted",
    )
    granted_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="membership_scope_matches_role",
                condition=(
                    Q(
                        role__in=[r.value for r in PCN_ROLES],
                        pcn__isnull=False,
                        icb__isnull=True,
                    )
                    | Q(
                        role__in=[r.value for r in ICB_ROLES],
                        icb__isnull=False,
                        pcn__isnull=True,
                    )
                    | Q(
                        role=Role.ADMINISTRATOR.value,
                        pcn__isnull=True,
                        icb__isnull=True,
                    )
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "role", "pcn", "icb"],
                condition=Q(ended_at__isnull=True),
                name="one_current_membership_per_scope",
            ),
        ]
        ordering = ["user__email", "role"]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} — {self.scope}"

    @property
    def scope(self):
        return self.pcn or self.icb or "England"

    @property
    def is_current(self):
        return self.ended_at is None or self.ended_at > timezone.now()
