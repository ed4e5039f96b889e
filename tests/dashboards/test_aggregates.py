"""The dashboard aggregates on small DataFrames, against sums and formulas worked out here."""

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboards import aggregates
from dashboards.statistics import sii_for_proportions

QUARTER = date(2025, 7, 1)


def _profile(level, code, deciles, unknown=0, score=None, name=""):
    deciles = list(deciles)
    return {
        "level": level,
        "code": code,
        "name": name,
        "registered_patients": sum(deciles) + unknown,
        "core20_patients": deciles[0] + deciles[1],
        "unknown_patients": unknown,
        "decile_patients": deciles,
        "imd_score": score,
    }


def _world(n_practices=10):
    """Ten practices, two per PCN, five PCNs in two ICBs (one region). Practice k lives mostly
    in decile 1 + k (so practice 0 is the most deprived)."""
    practices = []
    for k in range(n_practices):
        deciles = [0] * 10
        deciles[k % 10] = 1000 + 10 * k
        deciles[(k + 5) % 10] = 200
        practices.append(_profile("practice", f"P{k:05d}", deciles, unknown=k, score=60.0 - 5 * k))
    pcn_of = {f"P{k:05d}": f"U{k // 2:05d}" for k in range(n_practices)}
    pcns = pd.DataFrame(
        {
            "code": [f"U{j:05d}" for j in range(n_practices // 2)],
            "name": [f"PCN {j}" for j in range(n_practices // 2)],
            "sub_icb_code": "00A",
            "icb_code": ["QAA" if j < 3 else "QBB" for j in range(n_practices // 2)],
            "icb_name": ["ICB A" if j < 3 else "ICB B" for j in range(n_practices // 2)],
            "region_code": "Y01",
            "region_name": "REGION",
        }
    )
    rows = list(practices)
    frame = pd.DataFrame(rows)
    for level, key in (("pcn", pcn_of), ("icb", None), ("region", None), ("england", None)):
        if level == "pcn":
            groups = {}
            for p in practices:
                groups.setdefault(key[p["code"]], []).append(p)
        elif level == "icb":
            pcn_icb = dict(zip(pcns["code"], pcns["icb_code"], strict=True))
            groups = {}
            for p in practices:
                groups.setdefault(pcn_icb[pcn_of[p["code"]]], []).append(p)
        elif level == "region":
            groups = {"Y01": practices}
        else:
            groups = {aggregates.ENGLAND_CODE: practices}
        for code, members in groups.items():
            deciles = np.sum([m["decile_patients"] for m in members], axis=0).tolist()
            unknown = sum(m["unknown_patients"] for m in members)
            rows.append(_profile(level, code, deciles, unknown=unknown, score=None))
    frame = pd.DataFrame(rows)
    orgs = {
        "pcns": pcns,
        "icbs": pd.DataFrame(
            {
                "code": ["QAA", "QBB"],
                "name": ["ICB A", "ICB B"],
                "region_code": "Y01",
                "region_name": "REGION",
            }
        ),
        "practice_pcn": pcn_of,
        "practice_names": {},
    }
    return frame, orgs


def _empty(columns):
    return pd.DataFrame(columns=columns)


def _compute(profiles, orgs, *, leads=None, plans=None, measurements=None, returns=None):
    from dashboards import sources

    return aggregates.compute(
        profiles=profiles,
        orgs=orgs,
        leads=leads if leads is not None else _empty(sources.LEAD_COLUMNS),
        plans=plans if plans is not None else _empty(sources.PLAN_COLUMNS),
        measurements=measurements if measurements is not None else _empty(sources.MEASUREMENT_COLUMNS),
        returns=returns if returns is not None else _empty(sources.RETURN_COLUMNS),
        sii_repetitions=2000,
    )


def test_pcn_table_sums_its_practices_and_shares_exclude_unknown():
    profiles, orgs = _world()
    tables = _compute(profiles, orgs)
    pcns = tables["pcns"].set_index("code")
    # PCN U00001 = practices 2 and 3: deciles 3 and 4 (1,020 and 1,030), plus 200 each in 8 and 9.
    row = pcns.loc["U00001"]
    assert row["registered_patients"] == 1020 + 200 + 2 + 1030 + 200 + 3
    assert row["unknown_patients"] == 5
    assert row["core20_patients"] == 0
    assert row["practice_count"] == 2
    first = pcns.loc["U00000"]  # practices 0 (decile 1) and 1 (decile 2)
    assert first["core20_share"] == pytest.approx((1000 + 1010) / (1000 + 1010 + 400))


def test_national_quintiles_put_the_most_deprived_fifth_first():
    profiles, orgs = _world()
    practices = _compute(profiles, orgs)["practices"].set_index("code")
    # Scores fall with k: practices 0-1 are quintile 1, 8-9 quintile 5.
    assert [int(practices.loc[f"P{k:05d}", "imd_quintile"]) for k in range(10)] == [
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
    ]


def test_quintiles_without_scores_rank_by_mean_decile():
    profiles, orgs = _world()
    profiles["imd_score"] = None
    tables = _compute(profiles, orgs)
    practices = tables["practices"].set_index("code")
    assert int(practices.loc["P00000", "imd_quintile"]) == 1
    assert int(practices.loc["P00009", "imd_quintile"]) == 5
    assert "mean IMD decile" in tables["method"]


def test_area_table_counts_pcns_practices_and_leads():
    profiles, orgs = _world()
    leads = pd.DataFrame(
        {"pcn_code": ["U00000", "U00003"], "hi_lead": ["A Lead", "B Lead"], "since": [None, None]}
    )
    areas = _compute(profiles, orgs, leads=leads)["areas"].set_index(["level", "code"])
    assert areas.loc[("icb", "QAA"), "pcn_count"] == 3
    assert areas.loc[("icb", "QAA"), "practice_count"] == 6
    assert areas.loc[("icb", "QAA"), "pcns_with_lead"] == 1
    assert areas.loc[("england", aggregates.ENGLAND_CODE), "pcns_with_lead"] == 2
    assert areas.loc[("icb", "QBB"), "parent_code"] == "Y01"


def test_measures_count_latest_special_cause_by_pcn():
    profiles, orgs = _world()
    plans = pd.DataFrame(
        {
            "pcn_code": ["U00000", "U00000"],
            "plan_id": [1, 2],
            "title": ["A", "B"],
            "status": ["active", "draft"],
        }
    )
    periods = [date(2024, m, 1) for m in range(1, 13)] + [date(2025, m, 1) for m in range(1, 4)]
    steady = [50, 51, 49, 50, 52, 48, 50, 51, 49, 50, 50, 51, 49, 50, 51]
    rising = [*steady[:12], 50, 51, 90]  # the last point is far above the upper limit
    rows = []
    for measure_id, series, plan_id in ((10, steady, 1), (11, rising, 1), (12, rising, 2)):
        direction = "lower" if measure_id == 12 else "higher"
        for period, value in zip(periods, series, strict=True):
            rows.append((plan_id, measure_id, f"M{measure_id}", direction, None, None, period, float(value)))
    measurements = pd.DataFrame.from_records(
        rows,
        columns=["plan_id", "measure_id", "measure", "direction", "target", "rebase_at", "period", "value"],
    )
    tables = _compute(profiles, orgs, plans=plans, measurements=measurements)
    row = tables["pcns"].set_index("code").loc["U00000"]
    assert row["plans_by_status"] == {"active": 1, "draft": 1}
    assert row["measures_total"] == 3
    assert row["measures_improving"] == 1  # M11: higher is better
    assert row["measures_concerning"] == 1  # M12: lower is better
    states = {m["measure"]: m["variation"] for p in row["plans"] for m in p["measures"]}
    assert states == {"M10": "common_cause", "M11": "improvement_high", "M12": "concern_high"}


def _returns(n_practices=10, quarters=(date(2025, 4, 1), QUARTER)):
    rows = []
    for q, quarter in enumerate(quarters):
        for k in range(n_practices):
            register = 40 + 3 * k
            rows.append(
                {
                    "practice_code": f"P{k:05d}",
                    "pcn_code": f"U{k // 2:05d}",
                    "quarter_start": quarter,
                    "ld_register_14_plus": register,
                    "ld_health_checks": min(register, 10 + 2 * k + 5 * q),
                    "smi_register": 60 + k,
                    "smi_health_checks": 30 + k,
                    "ethnicity_recorded": 900 + 5 * k,
                    "list_size": 1000,
                    "scd_register": k,
                }
            )
    return pd.DataFrame(rows)


def test_targets_sum_returns_with_wilson_intervals():
    profiles, orgs = _world()
    returns = _returns()
    tables = _compute(profiles, orgs, returns=returns)
    assert tables["latest_quarter"] == QUARTER
    targets = tables["targets"]
    icb = targets[
        (targets["level"] == "icb")
        & (targets["code"] == "QAA")
        & (targets["indicator"] == "ld_checks")
        & (targets["quarter_start"] == QUARTER)
    ].iloc[0]
    latest = returns[
        (returns["quarter_start"] == QUARTER) & returns["pcn_code"].isin(["U00000", "U00001", "U00002"])
    ]
    x, n = latest["ld_health_checks"].sum(), latest["ld_register_14_plus"].sum()
    assert (icb["numerator"], icb["denominator"]) == (x, n)
    z = 1.959963984540054
    lower = (2 * x + z**2 - z * math.sqrt(z**2 + 4 * x * (1 - x / n))) / (2 * (n + z**2))
    assert icb["value"] == pytest.approx(x / n)
    assert icb["lower"] == pytest.approx(lower, rel=1e-9)
    pcn_rows = targets[(targets["level"] == "pcn") & (targets["indicator"] == "ethnicity")]
    assert set(pcn_rows["icb_code"]) == {"QAA", "QBB"}


def test_inequality_summary_uses_practice_quintiles_of_the_latest_quarter():
    profiles, orgs = _world()
    returns = _returns()
    tables = _compute(profiles, orgs, returns=returns)
    summary = tables["inequalities"]
    england = summary[(summary["level"] == "england") & (summary["indicator"] == "ld_checks")].iloc[0]
    latest = returns[returns["quarter_start"] == QUARTER]
    # Practices 2q and 2q+1 form quintile q+1 (scores fall with k).
    x = [int(latest.iloc[2 * q : 2 * q + 2]["ld_health_checks"].sum()) for q in range(5)]
    n = [int(latest.iloc[2 * q : 2 * q + 2]["ld_register_14_plus"].sum()) for q in range(5)]
    assert england["numerators"] == x
    assert england["denominators"] == n
    assert england["gap"] == pytest.approx(x[0] / n[0] - x[4] / n[4])
    assert england["ratio"] == pytest.approx((x[0] / n[0]) / (x[4] / n[4]))
    expected = sii_for_proportions(x, n, repetitions=2000)
    assert england["sii"] == pytest.approx(expected.sii)
    assert england["rii_lower"] == pytest.approx(expected.rii_lower)
    # ICB B has practices 6-9 only: quintiles 1-3 are empty there.
    icb_b = summary[(summary["level"] == "icb") & (summary["code"] == "QBB")].iloc[0]
    assert pd.isna(icb_b["sii"]) and "Not every deprivation quintile" in icb_b["note"]


def test_lead_activity_counts_the_last_twelve_months_and_keeps_the_latest_three():
    profiles, orgs = _world()
    activities = pd.DataFrame(
        {
            "pcn_code": ["U00000"] * 5 + ["U00001"],
            "date": [
                date(2025, 9, 1),
                date(2025, 6, 1),
                date(2025, 1, 1),
                date(2024, 12, 1),
                date(2024, 9, 1),
                date(2025, 2, 2),
            ],
            "heading": ["Championing the priority targets"] * 6,
            "title": ["e", "d", "c", "b", "a", "x"],
        }
    )
    tables = aggregates.compute(
        profiles=profiles,
        orgs=orgs,
        leads=_empty(["pcn_code", "hi_lead", "since"]),
        plans=_empty(["pcn_code", "plan_id", "title", "status"]),
        measurements=_empty(
            ["plan_id", "measure_id", "measure", "direction", "target", "rebase_at", "period", "value"]
        ),
        returns=_empty(["practice_code", "pcn_code", "quarter_start"]),
        activities=activities,
        today=date(2025, 10, 1),
        sii_repetitions=2000,
    )
    pcns = tables["pcns"].set_index("code")
    assert pcns.loc["U00000", "lead_activity_count"] == 4  # 1 Sep 2024 is more than a year before
    assert [a["title"] for a in pcns.loc["U00000", "lead_activities"]] == ["e", "d", "c"]
    assert pcns.loc["U00002", "lead_activity_count"] == 0
