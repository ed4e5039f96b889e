"""The demo: real open data (OGL v3) shipped under data/open/, and a user for every role.

Organisations come from NHS England's January 2022 practice map (all of England); deprivation from
IoD2019 File 1; registered patients from the real April 2020 registrations for Pennine Lancashire.
Users sit in Healthier Lancashire and South Cumbria ICB (QE1), which holds the Pennine Lancashire
PCNs, plus one HI lead in another ICB to show that scopes do not leak.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from inequalities import actions, actions_leads
from inequalities.models import ICB, ICB_ROLES, PCN, PCN_ROLES, HILeadNomination, Role

DATA_DIR = Path(settings.BASE_DIR) / "data" / "open"
# A demo-only password, printed on purpose; load_demo refuses to run with DEBUG off.
DEMO_PASSWORD = "Demo-portal-2026!"  # noqa: S105

DEMO_FILES = [
    ("practice_map", "gp-reg-pat-prac-map_01Jan2022.csv.gz"),
    ("imd", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"),
    ("registrations", "gp-reg-pat-prac-lsoa-all_APR2020_pennine_lancashire.csv.gz"),
]


@dataclass(frozen=True)
class DemoUser:
    email: str
    first_name: str
    last_name: str
    role: Role
    scope: str  # PCN or ICB code, "" for administrator


DEMO_USERS = [
    DemoUser("admin@example.nhs.uk", "Ada", "Admin", Role.ADMINISTRATOR, ""),
    DemoUser("cd.blackburnwest@example.nhs.uk", "Cara", "Director", Role.CLINICAL_DIRECTOR, "U34816"),
    DemoUser("lead.blackburnwest@example.nhs.uk", "Harpreet", "Lead", Role.HI_LEAD, "U34816"),
    DemoUser("member.blackburnwest@example.nhs.uk", "Sam", "Member", Role.PCN_MEMBER, "U34816"),
    DemoUser("lead.burnleyeast@example.nhs.uk", "Bilal", "Lead", Role.HI_LEAD, "U31823"),
    DemoUser("analyst.lsc@example.nhs.uk", "Ana", "Analyst", Role.ICB_ANALYST, "QE1"),
    DemoUser("commissioner.lsc@example.nhs.uk", "Colm", "Commissioner", Role.COMMISSIONER, "QE1"),
    DemoUser("lead.stockton@example.nhs.uk", "Tess", "Lead", Role.HI_LEAD, "U89141"),
]


def import_demo_files(stdout=None):
    from inequalities.importers import import_file

    for kind, filename in DEMO_FILES:
        summary = import_file(kind, DATA_DIR / filename, source_name=filename)
        if stdout:
            stdout.write(f"Imported {filename}: {summary}")


@transaction.atomic
def create_demo_users():
    from allauth.account.models import EmailAddress

    User = get_user_model()
    for demo in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=demo.email,
            defaults={"email": demo.email, "first_name": demo.first_name, "last_name": demo.last_name},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_superuser = user.is_staff = demo.role == Role.ADMINISTRATOR
            user.save()
        EmailAddress.objects.get_or_create(
            user=user, email=demo.email, defaults={"primary": True, "verified": True}
        )
        pcn = PCN.objects.get(code=demo.scope) if demo.role in PCN_ROLES else None
        icb = ICB.objects.get(code=demo.scope) if demo.role in ICB_ROLES else None
        actions.grant_membership(user=user, role=demo.role, pcn=pcn, icb=icb, by=None)
        if demo.role == Role.HI_LEAD and not HILeadNomination.objects.current().filter(pcn=pcn).exists():
            # The HI lead is a nomination (with its term), not only a membership.
            actions_leads.nominate_hi_lead(
                pcn=pcn, user=user, role_type="clinical", start_date=timezone.localdate(), by=None
            )


def credentials_table():
    lines = [
        f"Demo sign-ins (password for all: {DEMO_PASSWORD})",
        f"{'email':40} {'role':28} scope",
    ]
    for demo in DEMO_USERS:
        lines.append(f"{demo.email:40} {demo.role.label:28} {demo.scope or 'England'}")
    return "\n".join(lines)
