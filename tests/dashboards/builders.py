"""Small, deterministic deprivation data for dashboard tests: an IMD edition over 50 LSOAs,
registrations for every practice of the `world` (plus extra PCNs when asked), profiles and
aggregates computed through the real code paths."""

from datetime import date

from dashboards.refresh import refresh_aggregates
from inequalities.models import (
    PCN,
    Geography,
    ImdEdition,
    LsoaDeprivation,
    Practice,
    PracticePCNMembership,
    Registration,
    RegistrationSnapshot,
)
from inequalities.profiles import recompute_profiles
from tests.factories import PCNFactory, practice_in

LSOAS = [f"E01{i:06d}" for i in range(1, 51)]


def decile_of(i):
    return 1 + (i % 10)


def add_pcns(world, per_icb):
    """`per_icb` more PCNs (two practices each) in each of the world's ICBs."""
    for sub in (world.pcn.sub_icb, world.other_pcn.sub_icb):
        for _ in range(per_icb):
            pcn = PCNFactory(sub_icb=sub)
            practice_in(pcn)
            practice_in(pcn)
    return PCN.objects.count()


def load_deprivation(*, year=2025, extract=date(2025, 10, 1)):
    """Edition + registrations for every practice with a current PCN; profiles and dashboard
    aggregates computed."""
    edition = ImdEdition.objects.create(year=year, geography=Geography.LSOA21, lsoa_count=50, has_scores=True)
    LsoaDeprivation.objects.bulk_create(
        LsoaDeprivation(
            edition=edition,
            lsoa_code=code,
            rank=1000 * decile_of(i) + i,
            decile=decile_of(i),
            score=80.0 - 7.5 * decile_of(i) + (i % 3),
        )
        for i, code in enumerate(LSOAS)
    )
    snapshot = RegistrationSnapshot.objects.create(extract_date=extract, geography=Geography.LSOA21)
    rows = []
    codes = sorted(
        PracticePCNMembership.objects.current().values_list("practice__code", flat=True).distinct()
    )
    for k, code in enumerate(codes):
        for j in range(6):
            lsoa = LSOAS[(7 * k + 3 * j) % len(LSOAS)]
            rows.append(
                Registration(
                    snapshot=snapshot, practice_code=code, lsoa_code=lsoa, patients=100 + 37 * j + 11 * k
                )
            )
        rows.append(Registration(snapshot=snapshot, practice_code=code, lsoa_code="", patients=5 + k))
    Registration.objects.bulk_create(rows)
    recompute_profiles()
    refresh_aggregates(sii_repetitions=2000)
    return edition, snapshot


def nominate_lead(world, pcn=None, role="hi_lead"):
    """A current HI lead nomination (the portal's record of who the lead is)."""
    from inequalities.models import HILeadNomination

    return HILeadNomination.objects.create(
        pcn=pcn or world.pcn, user=world.users[role], role_type="clinical", start_date=date(2025, 4, 1)
    )


def practice_codes_of(pcn):
    return sorted(Practice.objects.filter(pcn_memberships__pcn=pcn).values_list("code", flat=True))
