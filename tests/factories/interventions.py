"""Factories for Core20PLUS5 target populations and intervention plans.

`complete_plan(pcn)` builds a draft with every step filled in, ready to submit."""

import datetime

import factory

from inequalities.models import ClinicalArea, TargetPopulation
from interventions.models import EngagementRecord, InterventionPlan, Measure
from tests.factories import PCNFactory


class ClinicalAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClinicalArea
        django_get_or_create = ("code",)

    code = "hypertension"
    name = "Hypertension case-finding"
    group = ClinicalArea.Group.ADULT


class TargetPopulationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TargetPopulation

    pcn = factory.SubFactory(PCNFactory)
    name = factory.Sequence(lambda n: f"Core20 adults, population {n}")
    core20_scope = TargetPopulation.Core20Scope.ALL
    clinical_area = factory.SubFactory(ClinicalAreaFactory)
    computed_size = 4210
    computed_from = "IoD2019, registrations extract 1 Jan 2022"


class InterventionPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InterventionPlan

    pcn = factory.SubFactory(PCNFactory)
    title = factory.Sequence(lambda n: f"Blood pressure checks in Core20 neighbourhoods {n}")
    target_population = factory.SubFactory(TargetPopulationFactory, pcn=factory.SelfAttribute("..pcn"))
    clinical_area = factory.LazyAttribute(lambda o: o.target_population.clinical_area)


class EngagementRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EngagementRecord

    plan = factory.SubFactory(InterventionPlanFactory)
    who = "Mosque committee and the South Asian women's group"
    partners = "Community CVS (VCSE)"
    method = "Two listening sessions with an interpreter"
    held_on = datetime.date(2025, 3, 12)
    heard = "Evening appointments are hard to reach; people trust the community centre."
    changed_plan = "Checks moved to the community centre on Saturdays."


class MeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measure

    plan = factory.SubFactory(InterventionPlanFactory)
    name = "Blood pressure recorded in the last 5 years"
    kind = "proportion"
    numerator_definition = "Core20 adults aged 40+ with a BP reading in the last 5 years"
    denominator_definition = "Core20 adults aged 40+ on the register"
    direction = "higher"
    baseline_value = 61
    baseline_period = "Year to March 2025"
    target_value = 75
    target_date = datetime.date(2026, 3, 31)
    frequency = "monthly"
    data_source = "EMIS searches, monthly"


def complete_plan(pcn, **kwargs):
    """A draft plan with every step complete."""
    plan = InterventionPlanFactory(
        pcn=pcn,
        evidence_profile="58% of our patients live in Core20 LSOAs (IoD2019, extract Jan 2022).",
        inequality_types=["access", "outcomes"],
        inequality_description="Hypertension is under-diagnosed in the most deprived neighbourhoods.",
        intervention_what="Pop-up BP checks at community venues",
        intervention_by_whom="Health and wellbeing coaches with the practice nurses",
        arrs_roles=["Health and wellbeing coach"],
        start_date=datetime.date(2025, 4, 1),
        end_date=datetime.date(2026, 3, 31),
        risks="Venue availability",
        equity_could_widen="possibly",
        equity_impact="Men of working age may still miss out: add evening sessions.",
        outcome="More Core20 adults have a BP reading and, if raised, a diagnosis.",
        qi_approach="Monthly PDSA cycles reviewed at the PCN board",
        pdsa_cycles=4,
        **kwargs,
    )
    EngagementRecordFactory(plan=plan)
    MeasureFactory(plan=plan)
    return plan
