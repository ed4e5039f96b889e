"""The population workspace and target populations, checked against an independent computation
from the Registration and LsoaDeprivation rows."""

import csv
import datetime
import io
from collections import Counter

import pytest
from django.urls import reverse

from inequalities import actions_leads, catalogue
from inequalities import workspace as ws
from inequalities.models import ClinicalArea, LsoaLookup, PlusGroup, TargetPopulation
from tests.factories import practice_in
from tests.factories.workspace import (
    DeprivationProfileFactory,
    ImdEditionFactory,
    LsoaDeprivationFactory,
    RegistrationFactory,
    RegistrationSnapshotFactory,
)

DECILES = {"E01000001": 1, "E01000002": 2, "E01000003": 5, "E01000004": 10, "E01000005": 1}
SCORES = {"E01000001": 55.0, "E01000002": 40.5, "E01000003": 20.25, "E01000004": 3.5, "E01000005": 60.0}


@pytest.fixture
def data(world):
    edition = ImdEditionFactory(year=2019, geography="LSOA11")
    for code, decile in DECILES.items():
        LsoaDeprivationFactory(
            edition=edition,
            lsoa_code=code,
            decile=decile,
            score=SCORES[code],
            income_decile=decile,
            crime_decile=3,
        )
    snapshot = RegistrationSnapshotFactory(extract_date=datetime.date(2024, 10, 1), geography="LSOA11")
    p1 = world.pcn.current_practices().get()
    p2 = practice_in(world.pcn, name="SECOND SURGERY")
    sibling = world.sibling_pcn.current_practices().get()
    rows = [
        (p1.code, "E01000001", 120),
        (p1.code, "E01000002", 30),
        (p1.code, "E01000003", 200),
        (p1.code, "", 5),  # blank LSOA
        (p1.code, "W01000001", 7),  # Welsh
        (p1.code, "NO2011", 3),  # pseudo code
        (p2.code, "E01000001", 10),
        (p2.code, "E01000004", 300),
        (p2.code, "E01999999", 4),  # not in the edition
        (sibling.code, "E01000005", 1000),  # another PCN: never counted
    ]
    for practice_code, lsoa, patients in rows:
        RegistrationFactory(snapshot=snapshot, practice_code=practice_code, lsoa_code=lsoa, patients=patients)
    return {"edition": edition, "snapshot": snapshot, "p1": p1, "p2": p2, "rows": rows}


def independent(rows, practice_codes, deciles=DECILES):
    """By hand: patients of these practices per decile, and unknown."""
    by_decile, unknown = Counter(), 0
    for practice_code, lsoa, patients in rows:
        if practice_code not in practice_codes:
            continue
        if lsoa in deciles:
            by_decile[deciles[lsoa]] += patients
        else:
            unknown += patients
    return [by_decile[d] for d in range(1, 11)], unknown


def _csv(response):
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_pcn_profile_equals_an_independent_computation_from_the_registrations(client, world, data):
    client.force_login(world.users["hi_lead"])
    response = client.get(reverse("pcn_workspace", args=[world.pcn.code]))
    deciles, unknown = independent(data["rows"], {data["p1"].code, data["p2"].code})
    pcn = response.context["columns"][0]
    assert pcn.decile_patients == deciles == [130, 30, 0, 0, 200, 0, 0, 0, 0, 300]
    assert pcn.unknown_patients == unknown == 19
    assert pcn.core20_patients == 160 and pcn.registered_patients == 679
    assert pcn.core20_share == pytest.approx(160 / 660)
    assert pcn.quintile_patients == [160, 0, 200, 0, 300]
    html = response.content.decode()
    assert "IMD 2019" in html and "1 October 2024" in html and "01 Oct 2024" in html
    assert "19 patients live in an LSOA with no IMD 2019 decile" in html


def test_practice_profiles_and_population_weighted_imd_score(client, world, data):
    client.force_login(world.users["icb_analyst"])
    url = reverse("pcn_workspace", args=[world.pcn.code])
    rows = {r["practice_code"]: r for r in _csv(client.get(url + "?format=csv&table=practices"))}
    p1 = rows[data["p1"].code]
    expected_score = (55.0 * 120 + 40.5 * 30 + 20.25 * 200) / 350  # over patients with a scored LSOA
    assert float(p1["imd_score"]) == pytest.approx(expected_score)
    assert (p1["registered"], p1["unknown_lsoa"], p1["core20"]) == ("365", "15", "150")
    assert p1["imd_edition"] == "2019" and p1["registrations_extract_date"] == "2024-10-01"
    assert rows[data["p2"].code]["core20"] == "10"


def test_footprint_lsoas_are_ranked_by_patients_with_deciles_and_unknowns_shown(client, world, data):
    client.force_login(world.users["hi_lead"])
    rows = _csv(client.get(reverse("pcn_workspace", args=[world.pcn.code]) + "?format=csv&table=lsoas"))
    known = [
        (r["lsoa_code"], int(r["patients"]), r["imd_decile"]) for r in rows if r["imd_decile"] != "unknown"
    ]
    assert known == [
        ("E01000004", 300, "10"),
        ("E01000003", 200, "5"),
        ("E01000001", 130, "1"),
        ("E01000002", 30, "2"),
    ]
    unknown = {r["lsoa_code"]: int(r["patients"]) for r in rows if r["imd_decile"] == "unknown"}
    assert unknown == {"W01000001": 7, "E01999999": 4, "NO2011": 3, "(blank)": 5}
    assert sum(int(r["patients"]) for r in rows) == 679
    first = rows[0]
    assert first["income_decile"] == "10" and first["crime_decile"] == "3"
    assert "E01000005" not in {r["lsoa_code"] for r in rows}  # the sibling PCN's patients


def test_precomputed_profiles_give_the_icb_and_england_comparison(client, world, data):
    deciles, unknown = independent(data["rows"], {data["p1"].code, data["p2"].code})
    common = {"edition": data["edition"], "snapshot": data["snapshot"]}
    DeprivationProfileFactory(
        level="pcn", code=world.pcn.code, decile_patients=deciles, unknown_patients=unknown, **common
    )
    DeprivationProfileFactory(
        level="icb", code=world.icb.code, decile_patients=[1000] * 10, unknown_patients=50, **common
    )
    DeprivationProfileFactory(
        level="england", code="E92000001", decile_patients=[5000] * 10, imd_score=21.7, **common
    )
    DeprivationProfileFactory(
        level="icb",
        code=world.icb.code,
        decile_patients=[1] * 10,
        edition=ImdEditionFactory(year=2025, geography="LSOA21"),
        snapshot=data["snapshot"],
    )
    client.force_login(world.users["commissioner"])
    url = reverse("pcn_workspace", args=[world.pcn.code])
    response = client.get(url)
    assert [c.label for c in response.context["columns"]] == [
        "Blackburn West PCN",
        "Healthier Lancashire and South Cumbria",
        "England",
    ]
    assert response.context["computed_pcn_matches"]
    rows = _csv(client.get(url + "?format=csv&table=profile"))
    assert [r["core20"] for r in rows] == ["160", "2000", "10000"]
    assert rows[1]["core20_share"] == "0.2" and rows[1]["unknown_lsoa"] == "50"
    assert {r["imd_edition"] for r in rows} == {"2019"}


def test_registrations_on_lsoa_2021_take_the_most_deprived_2011_counterpart(world, data):
    snapshot = RegistrationSnapshotFactory(extract_date=datetime.date(2025, 1, 1), geography="LSOA21")
    LsoaLookup.objects.create(lsoa11_code="E01000001", lsoa21_code="E01100001", change="U")
    LsoaLookup.objects.create(lsoa11_code="E01000002", lsoa21_code="E01100002", change="M")  # decile 2
    LsoaLookup.objects.create(lsoa11_code="E01000003", lsoa21_code="E01100002", change="M")  # decile 5
    for lsoa, patients in [("E01100001", 11), ("E01100002", 22), ("E01199999", 5)]:
        RegistrationFactory(
            snapshot=snapshot, practice_code=data["p1"].code, lsoa_code=lsoa, patients=patients
        )
    basis = ws.choose_basis()
    assert basis.snapshot == snapshot and basis.edition == data["edition"]  # no 2021 edition: falls back
    regs = ws.registrations_frame(snapshot, [data["p1"].code])
    counts, unknown = ws.decile_counts(regs, ws.deprivation_frame(basis, regs["lsoa_code"]))
    assert counts == [11, 22, 0, 0, 0, 0, 0, 0, 0, 0] and unknown == 5


def test_workspace_without_data_says_so(client, world):
    client.force_login(world.users["hi_lead"])
    html = client.get(reverse("pcn_workspace", args=[world.pcn.code])).content.decode()
    assert "No GP registrations or IMD edition has been imported yet" in html


# --- Target populations ---------------------------------------------------------------------------------------


@pytest.fixture
def areas(db):
    catalogue.seed(ClinicalArea, PlusGroup)
    return {a.code: a for a in ClinicalArea.objects.all()}


def _post_population(client, world, **fields):
    payload = {
        "name": "Core20 hypertension",
        "core20_scope": "all",
        "clinical_area": ClinicalArea.objects.get(code="hypertension").pk,
        "age_group": "adults",
        "rationale": "Lowest BP control in deciles 1-2",
        "data_sources": "CVDPREVENT; GP registrations",
        **fields,
    }
    return client.post(reverse("target_population_add", args=[world.pcn.code]), payload)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, 160),
        ({"core20_scope": "practices", "practices": ["SECOND"]}, 10),
        ({"core20_scope": "lsoas", "lsoa_codes": "e01000002, E01000003"}, 30),
    ],
    ids=["all", "practices", "lsoas"],
)
def test_core20_target_population_size_comes_from_the_registers(client, world, data, areas, fields, expected):
    if fields.get("practices") == ["SECOND"]:
        fields = {**fields, "practices": [data["p2"].code]}
    client.force_login(world.users["hi_lead"])
    response = _post_population(client, world, **fields)
    assert response.status_code == 302, response.context["form"].errors
    population = TargetPopulation.objects.get()
    codes = {data["p1"].code, data["p2"].code}
    if fields.get("core20_scope") == "practices":
        codes = {data["p2"].code}
    rows = [
        r for r in data["rows"] if fields.get("core20_scope") != "lsoas" or r[1] in {"E01000002", "E01000003"}
    ]
    by_hand, _ = independent(rows, codes)
    assert population.computed_size == by_hand[0] + by_hand[1] == expected
    assert population.computed_from == "IMD 2019 · GP registrations extracted 01 Oct 2024"
    detail = client.get(
        reverse("target_population_detail", args=[world.pcn.code, population.pk])
    ).content.decode()
    assert f"{expected} Core20 patients" in detail


def test_plus_group_population_takes_an_estimate_with_its_source(client, world, data, areas):
    client.force_login(world.users["clinical_director"])
    carers = PlusGroup.objects.get(name="Carers")
    response = _post_population(client, world, core20_scope="none", plus_group=carers.pk)
    assert response.status_code == 200
    assert "Enter an estimated size" in response.content.decode()
    response = _post_population(
        client,
        world,
        core20_scope="none",
        plus_group=carers.pk,
        estimated_size=450,
        estimate_source="Carers register",
    )
    assert response.status_code == 302
    population = TargetPopulation.objects.get()
    assert (population.computed_size, population.estimated_size, population.size) == (None, 450, 450)


def test_lsoas_outside_the_footprint_are_refused(client, world, data, areas):
    client.force_login(world.users["hi_lead"])
    response = _post_population(client, world, core20_scope="lsoas", lsoa_codes="E01000005")
    assert (
        response.status_code == 200 and "Not where the PCN&#x27;s patients live" in response.content.decode()
    )
    assert not TargetPopulation.objects.exists()


def test_another_icbs_plus_group_cannot_be_chosen(world, data, areas):
    theirs = actions_leads.add_plus_group(icb=world.other_icb, name="Fishing communities", by=None)
    with pytest.raises(Exception, match="another ICB"):
        actions_leads.save_target_population(
            pcn=world.pcn,
            by=world.users["hi_lead"],
            name="x",
            core20_scope="none",
            plus_group=theirs,
            clinical_area=areas["smi"],
            age_group="adults",
            lsoa_codes=[],
        )


def test_editing_a_population_recomputes_its_size_and_is_audited(client, world, data, areas):
    client.force_login(world.users["hi_lead"])
    _post_population(client, world)
    population = TargetPopulation.objects.get()
    url = reverse("target_population_edit", args=[world.pcn.code, population.pk])
    payload = {
        "name": "Core20 of the second surgery",
        "core20_scope": "practices",
        "practices": [data["p2"].code],
        "clinical_area": areas["smi"].pk,
        "age_group": "adults",
    }
    assert client.post(url, payload).status_code == 302
    population.refresh_from_db()
    assert population.computed_size == 10 and population.clinical_area == areas["smi"]
    from inequalities.models import AuditEvent

    assert [
        e.action for e in AuditEvent.objects.filter(action__startswith="target_population").order_by("pk")
    ] == [
        "target_population.created",
        "target_population.edited",
    ]


def test_pcn_member_cannot_define_populations(world, areas):
    with pytest.raises(PermissionError):
        actions_leads.save_target_population(
            pcn=world.pcn,
            by=world.users["pcn_member"],
            name="x",
            core20_scope="all",
            clinical_area=areas["smi"],
            age_group="adults",
            lsoa_codes=[],
        )


# --- Pure parts, no database ------------------------------------------------------------------------------


def _frames():
    import pandas as pd

    regs = pd.DataFrame(
        [("A1", "L1", 10), ("A1", "L2", 30), ("A2", "L1", 5), ("A2", "", 2), ("A2", "L9", 3)],
        columns=["practice_code", "lsoa_code", "patients"],
    )
    dep = pd.DataFrame(
        [("L1", 1, 50.0), ("L2", 6, 10.0)],
        columns=["lsoa_code", "decile", "score"],
    )
    return regs, dep


def test_decile_counts_keep_unknown_patients_apart():
    regs, dep = _frames()
    assert ws.decile_counts(regs, dep) == ([15, 0, 0, 0, 0, 30, 0, 0, 0, 0], 5)
    assert ws.decile_counts(regs.iloc[0:0], dep) == ([0] * 10, 0)


def test_population_weighted_score_uses_patients_with_a_scored_lsoa():
    regs, dep = _frames()
    assert ws.population_weighted_score(regs, dep) == pytest.approx((50 * 15 + 10 * 30) / 45)
    assert ws.population_weighted_score(regs, dep.assign(score=None)) is None


def test_lsoa_table_sums_practices_and_ranks_by_patients():
    regs, dep = _frames()
    table = ws.lsoa_table(regs, dep)
    assert list(table["lsoa_code"]) == ["L2", "L1", "L9", ""]
    assert list(table["patients"]) == [30, 15, 3, 2]
    assert list(table["known"]) == [True, True, False, False]
    assert table["share"].sum() == pytest.approx(1.0)


def test_profile_figures_quintiles_and_core20_share():
    fig = ws.ProfileFigures("X", [10, 20, 30, 40, 0, 0, 0, 0, 0, 100], unknown_patients=7)
    assert fig.quintile_patients == [30, 70, 0, 0, 100]
    assert (fig.core20_patients, fig.known_patients, fig.registered_patients) == (30, 200, 207)
    assert fig.core20_share == 0.15
    assert ws.ProfileFigures("empty", [0] * 10, 0).core20_share is None


def test_population_form_errors_link_to_the_practice_checkboxes(client, world, data, areas):
    client.force_login(world.users["hi_lead"])
    html = _post_population(client, world, core20_scope="practices").content.decode()
    assert '<a href="#id_practices_0">Choose at least one practice.</a>' in html
    assert 'id="id_practices_0"' in html and 'aria-describedby="id_practices-error"' in html
