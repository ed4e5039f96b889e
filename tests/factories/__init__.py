"""factory_boy factories with hierarchy defaults: a practice builds its PCN, sub-ICB, ICB and
region unless given them."""

import factory
from django.contrib.auth import get_user_model

from inequalities.models import (
    ICB,
    PCN,
    Membership,
    Practice,
    PracticePCNMembership,
    Region,
    Role,
    SubICB,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.nhs.uk")
    email = factory.LazyAttribute(lambda o: o.username)
    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        if not create:
            return
        from allauth.account.models import EmailAddress

        EmailAddress.objects.get_or_create(
            user=obj, email=obj.email, defaults={"primary": True, "verified": True}
        )


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"Y{60 + n % 40:02d}")
    name = factory.Sequence(lambda n: f"REGION {n}")
    ons_code = factory.Sequence(lambda n: f"E4000{n % 10000:04d}")


class ICBFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ICB
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"Q{n:02d}")
    name = factory.Sequence(lambda n: f"NHS TEST {n} INTEGRATED CARE BOARD")
    ons_code = factory.Sequence(lambda n: f"E5400{n % 10000:04d}")
    region = factory.SubFactory(RegionFactory)


class SubICBFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubICB
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{n % 100:02d}X")
    name = factory.Sequence(lambda n: f"NHS TEST SUB ICB {n}")
    icb = factory.SubFactory(ICBFactory)


class PCNFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PCN
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"U{10000 + n:05d}")
    name = factory.Sequence(lambda n: f"TEST {n} PCN")
    sub_icb = factory.SubFactory(SubICBFactory)


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"P{80000 + n:05d}")
    name = factory.Sequence(lambda n: f"TEST {n} MEDICAL CENTRE")
    postcode = "BB1 1AA"
    sub_icb = factory.LazyAttribute(lambda o: o.pcn.sub_icb if o.pcn else SubICBFactory())

    class Params:
        pcn = None

    @factory.post_generation
    def join_pcn(obj, create, extracted, **kwargs):
        pcn = extracted
        if create and pcn is not None:
            PracticePCNMembership.objects.get_or_create(practice=obj, pcn=pcn, start_date=None)


def practice_in(pcn, **kwargs):
    return PracticeFactory(sub_icb=pcn.sub_icb, join_pcn=pcn, **kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.PCN_MEMBER


def user_with_role(role, *, pcn=None, icb=None, **user_kwargs):
    user = UserFactory(**user_kwargs)
    Membership.objects.create(user=user, role=role, pcn=pcn, icb=icb)
    return user
