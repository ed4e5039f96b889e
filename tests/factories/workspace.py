"""Factories for IMD editions, LSOA deprivation, registration snapshots and profiles (the rows the
importers and `inequalities.profiles` write), for tests of pages that read them."""

import datetime

import factory

from inequalities.models import (
    DeprivationProfile,
    ImdEdition,
    LsoaDeprivation,
    Registration,
    RegistrationSnapshot,
)


class ImdEditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImdEdition
        django_get_or_create = ("year",)

    year = 2019
    geography = "LSOA11"
    has_scores = True
    has_domains = True


class LsoaDeprivationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LsoaDeprivation

    edition = factory.SubFactory(ImdEditionFactory)
    lsoa_code = factory.Sequence(lambda n: f"E01{n:06d}")
    lsoa_name = factory.LazyAttribute(lambda o: f"Blackburn with Darwen {o.lsoa_code[-3:]}")
    lad_name = "Blackburn with Darwen"
    decile = 5
    rank = factory.LazyAttribute(lambda o: (o.decile - 1) * 3284 + 100)
    score = factory.LazyAttribute(lambda o: round(60 - o.decile * 5.5, 3))
    income_decile = factory.LazyAttribute(lambda o: o.decile)
    health_decile = factory.LazyAttribute(lambda o: min(10, o.decile + 1))


class RegistrationSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegistrationSnapshot
        django_get_or_create = ("extract_date",)

    extract_date = datetime.date(2024, 10, 1)
    geography = "LSOA11"
    publication = "GP_PRAC_PAT_LIST"


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Registration

    snapshot = factory.SubFactory(RegistrationSnapshotFactory)
    practice_code = "A81001"
    lsoa_code = "E01000001"
    patients = 10


class DeprivationProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeprivationProfile

    level = "pcn"
    code = "U00000"
    edition = factory.SubFactory(ImdEditionFactory)
    snapshot = factory.SubFactory(RegistrationSnapshotFactory)
    decile_patients = factory.LazyFunction(lambda: [100] * 10)
    unknown_patients = 0
    registered_patients = factory.LazyAttribute(lambda o: sum(o.decile_patients) + o.unknown_patients)
    core20_patients = factory.LazyAttribute(lambda o: o.decile_patients[0] + o.decile_patients[1])
