"""The Core20PLUS5 catalogue as data: clinical areas with their national ambitions, and the
national starter list of PLUS groups (DESIGN §1; NHS England, Core20PLUS5 adults and children and
young people). Loaded by the data migration `0004_seed_core20plus5` and by `seed()` in tests.

`seed` takes the model classes so that the migration can pass its historical models. It is
idempotent: it matches clinical areas on `code` and national PLUS groups on `name`, and updates
their wording without touching anything an ICB added.
"""

CLINICAL_AREAS = [
    # (code, name, group, description, national ambition)
    (
        "maternity",
        "Maternity",
        "adult",
        "Care for women and birthing people before, during and after birth.",
        "Continuity of carer for 75% of women from Black, Asian and minority ethnic communities and "
        "from the most deprived groups.",
    ),
    (
        "smi",
        "Severe mental illness (SMI)",
        "adult",
        "People living with schizophrenia, bipolar disorder and other psychoses, who die on average "
        "15 to 20 years earlier than the general population.",
        "Annual physical health checks for at least 60% of people living with SMI, bringing SMI in "
        "line with the success seen in learning disabilities.",
    ),
    (
        "respiratory",
        "Chronic respiratory disease",
        "adult",
        "A clear focus on chronic obstructive pulmonary disease (COPD).",
        "Drive up uptake of COVID-19, flu and pneumonia vaccines to reduce infective exacerbations "
        "and emergency hospital admissions due to them.",
    ),
    (
        "early-cancer",
        "Early cancer diagnosis",
        "adult",
        "Finding cancer at an earlier stage, when treatment is more likely to succeed.",
        "75% of cancers diagnosed at stage 1 or 2 by 2028.",
    ),
    (
        "hypertension",
        "Hypertension case-finding",
        "adult",
        "Finding people with high blood pressure, and optimal management of blood pressure and "
        "lipids to reduce the risk of heart attack and stroke.",
        "77% of people with hypertension treated to target (NICE guidance) by March 2024, rising to "
        "80% by March 2025; optimal lipid management for people at high cardiovascular risk.",
    ),
    (
        "smoking",
        "Smoking cessation",
        "cross_cutting",
        "Tobacco dependence treatment: smoking cessation positively affects all five adult areas.",
        "Smokefree England by 2030 (adult smoking prevalence of 5% or less); tobacco dependence "
        "treatment offered to every smoker admitted to hospital.",
    ),
    (
        "cyp-asthma",
        "Asthma (children and young people)",
        "cyp",
        "Children and young people with asthma.",
        "Address over-reliance on reliever medications and decrease the number of asthma attacks.",
    ),
    (
        "cyp-diabetes",
        "Diabetes (children and young people)",
        "cyp",
        "Children and young people with type 1 or type 2 diabetes.",
        "More real-time continuous glucose monitors and insulin pumps for children in the most "
        "deprived quintiles and from ethnic minority backgrounds; more children and young people "
        "with type 2 diabetes receiving annual health checks.",
    ),
    (
        "cyp-epilepsy",
        "Epilepsy (children and young people)",
        "cyp",
        "Children and young people with epilepsy.",
        "Access to epilepsy specialist nurses, within the first year of care for those with a "
        "learning disability or autism.",
    ),
    (
        "cyp-oral-health",
        "Oral health (children and young people)",
        "cyp",
        "Tooth decay is the most common reason for hospital admission in children aged 6 to 10.",
        "Address the backlog of tooth extractions in hospital for children under 10.",
    ),
    (
        "cyp-mental-health",
        "Mental health (children and young people)",
        "cyp",
        "Children and young people's access to mental health services.",
        "Improve access rates to children and young people's mental health services for 0 to "
        "17 year olds, for certain ethnic groups, ages, genders and levels of deprivation.",
    ),
]

NATIONAL_PLUS_GROUPS = [
    (
        "Ethnic minority communities",
        "People from ethnic minority communities, who may have poorer access, experience or outcomes.",
    ),
    (
        "People experiencing homelessness",
        "An inclusion health group: rough sleepers and people in temporary or insecure housing.",
    ),
    ("Gypsy, Roma and Traveller communities", "An inclusion health group."),
    ("Sex workers", "An inclusion health group."),
    ("Vulnerable migrants and asylum seekers", "An inclusion health group, including refugees."),
    (
        "People in contact with the justice system",
        "An inclusion health group: people in or recently released from prison, or on probation.",
    ),
    (
        "People with a learning disability and autistic people",
        "People on a learning disability register and autistic people.",
    ),
    ("People with multiple long-term conditions", "Multimorbidity: two or more long-term conditions."),
    (
        "Coastal communities",
        "People living in coastal towns, where deprivation and poor health often cluster.",
    ),
    ("Carers", "Unpaid carers of family members or friends."),
]


def seed(ClinicalArea, PlusGroup):
    """Create or update the clinical areas and the national PLUS starter list."""
    for position, (code, name, group, description, ambition) in enumerate(CLINICAL_AREAS):
        ClinicalArea.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "group": group,
                "description": description,
                "national_ambition": ambition,
                "position": position,
                "active": True,
            },
        )
    for name, description in NATIONAL_PLUS_GROUPS:
        PlusGroup.objects.update_or_create(icb=None, name=name, defaults={"description": description})
