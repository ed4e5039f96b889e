"""The dashboard aggregates, computed from plain DataFrames (no database): testable on small
frames and set-based on England-size ones (~6,300 practices, ~1,250 PCNs).

`compute(...)` returns one DataFrame per table of `dashboards.models`. The rules:

* deprivation comes from the stored deprivation profiles (national IMD deciles; Core20 = deciles
  1-2; the Core20 share is of patients with a known decile, unknowns kept and shown);
* **national quintiles** of practices and of PCNs rank every one in England by IMD score (the
  patient-weighted mean LSOA score) when the edition has scores, otherwise by the
  patient-weighted mean decile; quintile 1 = the most deprived fifth;
* a PCN's practices are the practices whose current PCN it is (as in the profiles);
* measures: the latest SPC state of each measure (`interventions.spc.analyse`, XmR from 12
  values, a run chart before); "improving" and "concerning" count measures whose latest point is
  special-cause improvement or concern;
* priority targets: per quarter, numerators and denominators summed from practice returns to
  PCN, ICB and England, with Wilson 95% intervals;
* inequality summaries: in the latest quarter, a target across the national deprivation
  quintiles of the practices of an ICB, a region and England — Q1-Q5 gap (Newcombe interval) and
  ratio, SII and RII with intervals simulated as PHEindicatormethods does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from dashboards.statistics import quintile_gap_for_proportions, sii_for_proportions, wilson_interval
from interventions.spc import Variation, analyse

ENGLAND_CODE = "E92000001"
SII_REPETITIONS = 100_000


@dataclass(frozen=True)
class Indicator:
    key: str
    title: str
    numerator: str
    denominator: str
    numerator_label: str
    denominator_label: str
    threshold: float | None  # the national ambition, as a proportion
    threshold_label: str = ""


INDICATORS = {
    i.key: i
    for i in (
        Indicator(
            "ld_checks",
            "Learning disability annual health checks",
            "ld_health_checks",
            "ld_register_14_plus",
            "Health checks with a health action plan",
            "People on the learning disability register aged 14 and over",
            0.75,
            "75% national ambition",
        ),
        Indicator(
            "smi_checks",
            "Severe mental illness physical health checks",
            "smi_health_checks",
            "smi_register",
            "Full annual physical health checks",
            "People on the SMI register",
            0.60,
            "60% national ambition",
        ),
        Indicator(
            "ethnicity",
            "Ethnicity recorded",
            "ethnicity_recorded",
            "list_size",
            "Patients with ethnicity recorded (including 'chose not to state')",
            "Registered patients",
            1.0,
            "Every patient",
        ),
    )
}


# --- Helpers --------------------------------------------------------------------------------------


def _deciles(frame):
    return np.array(
        [list(d) + [0] * (10 - len(d)) for d in frame["decile_patients"]], dtype=np.int64
    ).reshape(-1, 10)


def core20_share(core20, registered, unknown):
    known = np.asarray(registered, dtype=float) - np.asarray(unknown, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(known > 0, np.asarray(core20, dtype=float) / np.where(known > 0, known, 1), np.nan)
    return share


def national_quintiles(frame: pd.DataFrame) -> pd.Series:
    """Quintile 1-5 (1 = most deprived fifth) of each row of a profile frame."""
    if not len(frame):
        return pd.Series([], dtype="Int64")
    deciles = _deciles(frame)
    known = deciles.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_decile = np.where(
            known > 0, (deciles * np.arange(1, 11)).sum(axis=1) / np.maximum(known, 1), np.nan
        )
    scores = frame["imd_score"].astype(float)
    key = scores.to_numpy() if scores.notna().all() else -mean_decile  # higher = more deprived
    key = pd.Series(key, index=frame.index)
    out = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    has = key.notna()
    if has.sum() >= 5:
        order = (-key[has]).rank(method="first")
        out[has] = (pd.qcut(order, 5, labels=False) + 1).astype(int)
    return out


def quintile_method(profiles: pd.DataFrame) -> str:
    scored = profiles.loc[profiles["level"] == "practice", "imd_score"].notna().all()
    basis = "IMD score (patient-weighted mean LSOA score)" if scored else "patient-weighted mean IMD decile"
    return f"National quintiles of practices and of PCNs by {basis}; quintile 1 = most deprived fifth."


def measure_states(measurements: pd.DataFrame) -> pd.DataFrame:
    """The latest SPC state of each measure: plan_id, measure_id, measure, variation, period,
    value, points."""
    columns = ["plan_id", "measure_id", "measure", "variation", "period", "value", "points"]
    if not len(measurements):
        return pd.DataFrame(columns=columns)
    rows = []
    for measure_id, series in measurements.groupby("measure_id", sort=True):
        series = series.sort_values("period")
        first = series.iloc[0]
        rebase = [first["rebase_at"]] if pd.notna(first["rebase_at"]) and first["rebase_at"] else []
        result = analyse(
            list(zip(series["period"], series["value"], strict=True)),
            improvement=first["direction"],
            target=None if pd.isna(first["target"]) else float(first["target"]),
            rebase_at=rebase,
        )
        last = series.iloc[-1]
        rows.append(
            (
                first["plan_id"],
                measure_id,
                first["measure"],
                result.variation.value,
                last["period"],
                None if pd.isna(last["value"]) else float(last["value"]),
                len(series),
            )
        )
    return pd.DataFrame.from_records(rows, columns=columns)


# --- The tables -----------------------------------------------------------------------------------


def compute(
    *,
    profiles: pd.DataFrame,
    orgs: dict,
    leads: pd.DataFrame,
    plans: pd.DataFrame,
    measurements: pd.DataFrame,
    returns: pd.DataFrame,
    activities: pd.DataFrame | None = None,
    today=None,
    sii_repetitions: int = SII_REPETITIONS,
) -> dict:
    practices = practice_table(profiles, orgs)
    pcns = pcn_table(profiles, orgs, practices, leads, plans, measure_states(measurements))
    add_lead_activity(pcns, activities, today or date.today())
    areas = area_table(profiles, orgs, pcns, practices)
    targets, latest_quarter = target_table(returns, orgs)
    inequalities = inequality_table(returns, practices, orgs, latest_quarter, sii_repetitions)
    return {
        "practices": practices,
        "pcns": pcns,
        "areas": areas,
        "targets": targets,
        "inequalities": inequalities,
        "latest_quarter": latest_quarter,
        "method": quintile_method(profiles),
    }


def practice_table(profiles, orgs) -> pd.DataFrame:
    prac = profiles[profiles["level"] == "practice"].reset_index(drop=True).copy()
    pcn_icb = dict(zip(orgs["pcns"]["code"], orgs["pcns"]["icb_code"], strict=True))
    prac["pcn_code"] = [orgs["practice_pcn"].get(c, "") for c in prac["code"]]
    prac["icb_code"] = [pcn_icb.get(c, "") for c in prac["pcn_code"]]
    names = orgs.get("practice_names", {})
    prac["name"] = [n or names.get(c, "") for c, n in zip(prac["code"], prac["name"], strict=True)]
    prac["core20_share"] = core20_share(
        prac["core20_patients"], prac["registered_patients"], prac["unknown_patients"]
    )
    prac["imd_quintile"] = national_quintiles(prac)
    return prac[
        [
            "code",
            "name",
            "pcn_code",
            "icb_code",
            "registered_patients",
            "core20_patients",
            "unknown_patients",
            "core20_share",
            "decile_patients",
            "imd_score",
            "imd_quintile",
        ]
    ]


def _plan_json(plans, states):
    """Per PCN: [{title, status, measures: [{measure, variation, period, value, points}]}]."""
    by_plan = {}
    for row in states.itertuples(index=False):
        by_plan.setdefault(row.plan_id, []).append(
            {
                "measure": row.measure,
                "variation": row.variation,
                "period": None if row.period is None else str(row.period),
                "value": row.value,
                "points": int(row.points),
            }
        )
    out = {}
    for row in plans.itertuples(index=False):
        out.setdefault(row.pcn_code, []).append(
            {
                "id": int(row.plan_id),
                "title": row.title,
                "status": row.status,
                "measures": by_plan.get(row.plan_id, []),
            }
        )
    return out


def pcn_table(profiles, orgs, practices, leads, plans, states) -> pd.DataFrame:
    pcn_profiles = profiles[profiles["level"] == "pcn"].set_index("code")
    frame = orgs["pcns"].copy()
    frame = frame[frame["code"].isin(pcn_profiles.index)].reset_index(drop=True)
    for column in [
        "registered_patients",
        "core20_patients",
        "unknown_patients",
        "decile_patients",
        "imd_score",
    ]:
        frame[column] = frame["code"].map(pcn_profiles[column])
    if frame["name"].eq("").any():
        frame["name"] = frame["name"].where(frame["name"] != "", frame["code"].map(pcn_profiles["name"]))
    frame["core20_share"] = core20_share(
        frame["core20_patients"], frame["registered_patients"], frame["unknown_patients"]
    )
    frame["imd_quintile"] = national_quintiles(frame)
    frame["practice_count"] = frame["code"].map(practices.groupby("pcn_code").size()).fillna(0).astype(int)

    lead_names = dict(zip(leads["pcn_code"], leads["hi_lead"], strict=True))
    lead_since = dict(zip(leads["pcn_code"], leads["since"], strict=True))
    frame["hi_lead"] = [lead_names.get(c) or "" for c in frame["code"]]
    frame["hi_lead_since"] = pd.Series([lead_since.get(c) for c in frame["code"]], dtype=object)

    counts = plans.groupby(["pcn_code", "status"]).size() if len(plans) else pd.Series(dtype=int)
    by_status = {}
    for (pcn, status), n in counts.items():
        by_status.setdefault(pcn, {})[status] = int(n)
    frame["plans_by_status"] = [by_status.get(c, {}) for c in frame["code"]]
    frame["plans_total"] = [sum(d.values()) for d in frame["plans_by_status"]]

    plan_pcn = dict(zip(plans["plan_id"], plans["pcn_code"], strict=True)) if len(plans) else {}
    states = states.assign(pcn_code=states["plan_id"].map(plan_pcn))
    variation = states["variation"].map(lambda v: Variation(v))
    tallies = (
        pd.DataFrame(
            {
                "pcn_code": states["pcn_code"],
                "total": 1,
                "improving": variation.map(lambda v: v.is_improvement).astype(int),
                "concerning": variation.map(lambda v: v.is_concern).astype(int),
            }
        )
        .groupby("pcn_code")[["total", "improving", "concerning"]]
        .sum()
    )
    frame["measures_total"] = frame["code"].map(tallies["total"]).fillna(0).astype(int)
    frame["measures_improving"] = frame["code"].map(tallies["improving"]).fillna(0).astype(int)
    frame["measures_concerning"] = frame["code"].map(tallies["concerning"]).fillna(0).astype(int)
    plan_json = _plan_json(plans, states)
    frame["plans"] = [plan_json.get(c, []) for c in frame["code"]]
    return frame


def add_lead_activity(pcns, activities, today, latest=3):
    """Per PCN: activity log entries in the 12 months to `today`, and the latest few."""
    counts, recent = {}, {}
    if activities is not None and len(activities):
        since = today - timedelta(days=365)
        for row in activities.sort_values("date", ascending=False, kind="stable").itertuples(index=False):
            if since < row.date <= today:
                counts[row.pcn_code] = counts.get(row.pcn_code, 0) + 1
            entries = recent.setdefault(row.pcn_code, [])
            if len(entries) < latest:
                entries.append({"date": row.date.isoformat(), "heading": row.heading, "title": row.title})
    pcns["lead_activity_count"] = [counts.get(c, 0) for c in pcns["code"]]
    pcns["lead_activities"] = [recent.get(c, []) for c in pcns["code"]]
    return pcns


def area_table(profiles, orgs, pcns, practices) -> pd.DataFrame:
    rows = []
    icb_names = dict(zip(orgs["icbs"]["code"], orgs["icbs"]["name"], strict=True))
    icb_region = dict(zip(orgs["icbs"]["code"], orgs["icbs"]["region_code"], strict=True))
    region_names = dict(zip(orgs["icbs"]["region_code"], orgs["icbs"]["region_name"], strict=True))
    pcn_region = pcns.assign(region_code=pcns["icb_code"].map(icb_region))
    practice_region = practices.assign(region_code=practices["icb_code"].map(icb_region))
    for level, key in (("icb", "icb_code"), ("region", "region_code"), ("england", None)):
        level_profiles = profiles[profiles["level"] == level]
        group_pcns = pcn_region.groupby(key) if key else None
        group_practices = practice_region.groupby(key) if key else None
        for p in level_profiles.itertuples(index=False):
            if key:
                mine = group_pcns.get_group(p.code) if p.code in group_pcns.groups else pcn_region.iloc[:0]
                practice_count = (
                    len(group_practices.get_group(p.code)) if p.code in group_practices.groups else 0
                )
            else:
                mine, practice_count = pcn_region, int((practices["pcn_code"] != "").sum())
            by_status = {}
            for d in mine["plans_by_status"]:
                for status, n in d.items():
                    by_status[status] = by_status.get(status, 0) + n
            name = p.name or (icb_names.get(p.code) if level == "icb" else region_names.get(p.code, ""))
            parent = icb_region.get(p.code, "") if level == "icb" else ""
            rows.append(
                {
                    "level": level,
                    "code": p.code,
                    "name": "England" if level == "england" else (name or ""),
                    "parent_code": parent,
                    "parent_name": region_names.get(parent, "") if parent else "",
                    "pcn_count": len(mine),
                    "practice_count": practice_count,
                    "registered_patients": p.registered_patients,
                    "core20_patients": p.core20_patients,
                    "unknown_patients": p.unknown_patients,
                    "decile_patients": list(p.decile_patients),
                    "imd_score": p.imd_score,
                    "pcns_with_lead": int((mine["hi_lead"] != "").sum()),
                    "plans_by_status": by_status,
                    "measures_improving": int(mine["measures_improving"].sum()),
                    "measures_concerning": int(mine["measures_concerning"].sum()),
                }
            )
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["core20_share"] = core20_share(
            frame["core20_patients"], frame["registered_patients"], frame["unknown_patients"]
        )
    return frame


def target_table(returns, orgs):
    """(frame of level, code, icb_code, indicator, quarter_start, numerator, denominator, value,
    lower, upper; the latest quarter or None)."""
    columns = [
        "level",
        "code",
        "icb_code",
        "indicator",
        "quarter_start",
        "numerator",
        "denominator",
        "value",
        "lower",
        "upper",
    ]
    if not len(returns):
        return pd.DataFrame(columns=columns), None
    pcn_icb = dict(zip(orgs["pcns"]["code"], orgs["pcns"]["icb_code"], strict=True))
    data = returns.assign(icb_code=[pcn_icb.get(c, "") for c in returns["pcn_code"]], england=ENGLAND_CODE)
    parts = []
    for indicator in INDICATORS.values():
        for level, key in (("pcn", "pcn_code"), ("icb", "icb_code"), ("england", "england")):
            keys = [key, "quarter_start"] if level != "pcn" else [key, "icb_code", "quarter_start"]
            summed = data.groupby(keys, as_index=False)[[indicator.numerator, indicator.denominator]].sum()
            summed = summed.rename(
                columns={key: "code", indicator.numerator: "numerator", indicator.denominator: "denominator"}
            )
            if level == "icb":
                summed["icb_code"] = summed["code"]
            elif level == "england":
                summed["icb_code"] = ""
            summed["level"] = level
            summed["indicator"] = indicator.key
            parts.append(summed)
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[frame["denominator"] > 0].reset_index(drop=True)
    x = frame["numerator"].to_numpy(dtype=float)
    n = frame["denominator"].to_numpy(dtype=float)
    limits = wilson_interval(x, n, 0.95)
    frame["value"] = x / n
    frame["lower"] = np.asarray(limits.lower, dtype=float)
    frame["upper"] = np.asarray(limits.upper, dtype=float)
    return frame[columns], max(returns["quarter_start"])


def inequality_table(returns, practices, orgs, quarter, repetitions) -> pd.DataFrame:
    columns = [
        "level",
        "code",
        "indicator",
        "quarter_start",
        "numerators",
        "denominators",
        "gap",
        "gap_lower",
        "gap_upper",
        "ratio",
        "sii",
        "sii_lower",
        "sii_upper",
        "rii",
        "rii_lower",
        "rii_upper",
        "note",
    ]
    if quarter is None or not len(returns):
        return pd.DataFrame(columns=columns)
    icb_region = dict(zip(orgs["icbs"]["code"], orgs["icbs"]["region_code"], strict=True))
    quintile = dict(zip(practices["code"], practices["imd_quintile"], strict=True))
    latest = returns[returns["quarter_start"] == quarter].copy()
    pcn_icb = dict(zip(orgs["pcns"]["code"], orgs["pcns"]["icb_code"], strict=True))
    latest["icb_code"] = latest["pcn_code"].map(pcn_icb)
    latest["region_code"] = latest["icb_code"].map(icb_region)
    latest["england"] = ENGLAND_CODE
    latest["quintile"] = latest["practice_code"].map(quintile)
    latest = latest[latest["quintile"].notna()]
    rows = []
    for level, key in (("icb", "icb_code"), ("region", "region_code"), ("england", "england")):
        for code, group in latest.dropna(subset=[key]).groupby(key, sort=True):
            for indicator in INDICATORS.values():
                by_q = group.groupby("quintile")[[indicator.numerator, indicator.denominator]].sum()
                by_q = by_q.reindex([1, 2, 3, 4, 5], fill_value=0)
                x = by_q[indicator.numerator].to_numpy(dtype=float)
                n = by_q[indicator.denominator].to_numpy(dtype=float)
                row = dict.fromkeys(columns)
                row.update(
                    level=level,
                    code=code,
                    indicator=indicator.key,
                    quarter_start=quarter,
                    numerators=[int(v) for v in x],
                    denominators=[int(v) for v in n],
                    note="",
                )
                if np.any(n <= 0):
                    row["note"] = "Not every deprivation quintile has practices with returns here."
                else:
                    gap = quintile_gap_for_proportions(x, n)
                    row.update(gap=gap.gap, gap_lower=gap.gap_lower, gap_upper=gap.gap_upper, ratio=gap.ratio)
                    p = x / n
                    if np.any((p <= 0) | (p >= 1)):
                        row["note"] = "SII not computed: a quintile is at 0% or 100%."
                    else:
                        sii = sii_for_proportions(x, n, repetitions=repetitions)
                        row.update(
                            sii=sii.sii,
                            sii_lower=sii.sii_lower,
                            sii_upper=sii.sii_upper,
                            rii=sii.rii,
                            rii_lower=sii.rii_lower,
                            rii_upper=sii.rii_upper,
                        )
                rows.append(row)
    return pd.DataFrame(rows, columns=columns)
