"""What the aggregates are computed from, read set-based into DataFrames (one query each).

* deprivation: profiles and organisations (`inequalities`);
* HI leads: current nominations (`inequalities.HILeadNomination`) and their activity log
  (`inequalities.LeadActivity`);
* plans and measures: `interventions.InterventionPlan`, `Measure`, `Measurement`;
* priority targets: `inequalities.PriorityTargetReturn` (one return per practice per quarter).
"""

from __future__ import annotations

import pandas as pd
from django.db.models import F

from inequalities.models import (
    ICB,
    PCN,
    DeprivationProfile,
    HILeadNomination,
    LeadActivity,
    Practice,
    PracticePCNMembership,
    PriorityTargetReturn,
)
from interventions.models import InterventionPlan, Measurement

PROFILE_COLUMNS = [
    "level",
    "code",
    "name",
    "registered_patients",
    "core20_patients",
    "unknown_patients",
    "decile_patients",
    "imd_score",
]
LEAD_COLUMNS = ["pcn_code", "hi_lead", "since"]
ACTIVITY_COLUMNS = ["pcn_code", "date", "heading", "title"]
PLAN_COLUMNS = ["pcn_code", "plan_id", "title", "status"]
MEASUREMENT_COLUMNS = [
    "plan_id",
    "measure_id",
    "measure",
    "direction",
    "target",
    "rebase_at",
    "period",
    "value",
]
RETURN_COLUMNS = [
    "practice_code",
    "pcn_code",
    "quarter_start",
    "ld_register_14_plus",
    "ld_health_checks",
    "smi_register",
    "smi_health_checks",
    "ethnicity_recorded",
    "list_size",
    "scd_register",
]


def profiles(edition, snapshot) -> pd.DataFrame:
    rows = DeprivationProfile.objects.filter(
        edition=edition, snapshot=snapshot, level__in=["practice", "pcn", "icb", "region", "england"]
    ).values_list(*PROFILE_COLUMNS)
    return pd.DataFrame.from_records(list(rows), columns=PROFILE_COLUMNS)


def organisations() -> dict:
    """PCNs with their parents' codes and names, and each practice's current PCN."""
    pcns = pd.DataFrame.from_records(
        list(
            PCN.objects.values_list(
                "code",
                "name",
                "sub_icb__code",
                "sub_icb__icb__code",
                "sub_icb__icb__name",
                "sub_icb__icb__region__code",
                "sub_icb__icb__region__name",
            )
        ),
        columns=["code", "name", "sub_icb_code", "icb_code", "icb_name", "region_code", "region_name"],
    )
    icbs = pd.DataFrame.from_records(
        list(ICB.objects.values_list("code", "name", "region__code", "region__name")),
        columns=["code", "name", "region_code", "region_name"],
    )
    practice_pcn = {}
    for practice, pcn in (
        PracticePCNMembership.objects.current()
        .order_by("practice_id", "start_date")
        .values_list("practice__code", "pcn__code")
    ):
        practice_pcn[practice] = pcn  # the latest started wins, as in the profiles
    practice_names = dict(Practice.objects.values_list("code", "name"))
    return {"pcns": pcns, "icbs": icbs, "practice_pcn": practice_pcn, "practice_names": practice_names}


def hi_leads() -> pd.DataFrame:
    rows = (
        HILeadNomination.objects.filter(end_date__isnull=True)
        .order_by("start_date")
        .values_list("pcn__code", "user__first_name", "user__last_name", "user__email", "start_date")
    )
    records = [(pcn, f"{first} {last}".strip() or email, since) for pcn, first, last, email, since in rows]
    frame = pd.DataFrame.from_records(records, columns=LEAD_COLUMNS)
    return frame.drop_duplicates("pcn_code", keep="last").reset_index(drop=True)


def lead_activities() -> pd.DataFrame:
    """HI lead activity log entries, newest first, with the heading as people read it."""
    labels = dict(LeadActivity._meta.get_field("heading").choices)
    rows = LeadActivity.objects.order_by("-date", "-recorded_at").values_list(
        "pcn__code", "date", "heading", "title"
    )
    return pd.DataFrame.from_records(
        [(pcn, day, labels.get(heading, heading), title) for pcn, day, heading, title in rows],
        columns=ACTIVITY_COLUMNS,
    )


def plans() -> pd.DataFrame:
    rows = InterventionPlan.objects.order_by("pcn__code", "title").values_list(
        "pcn__code", "pk", "title", "status"
    )
    return pd.DataFrame.from_records(list(rows), columns=PLAN_COLUMNS)


def measurements() -> pd.DataFrame:
    """Every recorded value of every measure, in period order (the SPC input)."""
    rows = (
        Measurement.objects.order_by("measure_id", "period")
        .annotate(
            plan_id=F("measure__plan_id"),
            measure_name=F("measure__name"),
            direction=F("measure__direction"),
            target=F("measure__target_value"),
            rebase_at=F("measure__rebase_at"),
        )
        .values_list(
            "plan_id",
            "measure_id",
            "measure_name",
            "direction",
            "target",
            "rebase_at",
            "period",
            "numerator",
            "denominator",
            "value",
        )
    )
    records = []
    for plan_id, measure_id, name, direction, target, rebase_at, period, num, den, value in rows:
        observed = float(value) if value is not None else (100.0 * num / den if den else None)
        records.append(
            (
                plan_id,
                measure_id,
                name,
                direction,
                None if target is None else float(target),
                rebase_at,
                period,
                observed,
            )
        )
    return pd.DataFrame.from_records(records, columns=MEASUREMENT_COLUMNS)


def priority_returns() -> pd.DataFrame:
    rows = PriorityTargetReturn.objects.values_list("practice__code", "pcn__code", *RETURN_COLUMNS[2:])
    return pd.DataFrame.from_records(list(rows), columns=RETURN_COLUMNS)
