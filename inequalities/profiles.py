"""Deprivation profiles: registered patients of every practice, PCN, sub-ICB location, ICB, NHS
region and England by national IMD decile, for each IMD edition x registration snapshot.

`compute_profiles` is pure (DataFrames in, a DataFrame out) and testable without a database;
`recompute_profiles` reads the inputs set-based, computes, and replaces the stored profiles of
each (edition, snapshot) pair in one transaction (COPY on PostgreSQL, batched INSERTs elsewhere).

Rules, stated on every profile in `method`:
* deciles are the edition's **national** deciles; Core20 = deciles 1 and 2;
* patients whose LSOA is blank, Welsh, a pseudo code (`NO2011`, `CLOSED…`) or absent from the
  edition are *unknown*: counted in `registered_patients` and `unknown_patients`, never dropped;
  the Core20 share is of patients with a known decile;
* when the register and the edition are on different census geographies, each register LSOA
  takes the deprivation of the edition LSOA it maps to in the ONS LSOA 2011 <-> 2021 lookup;
  where it maps to several (a 2011 LSOA split in 2021, or 2011 LSOAs merged into one 2021 LSOA),
  it takes that of the median-ranked one (the more deprived of the middle two);
* practice -> PCN uses each practice's current membership (the latest started if several); PCN
  -> sub-ICB -> ICB -> region follow the organisations' parents. A practice with no current PCN
  counts at practice level and for England only;
* the IMD score, where the edition has scores, is the patient-weighted mean LSOA score over
  patients with a known LSOA (as Fingertips computes practice scores); quintile 1 = the most
  deprived fifth of organisations at that level.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from inequalities.models import (
    ICB,
    PCN,
    DeprivationProfile,
    ImdEdition,
    LsoaDeprivation,
    LsoaLookup,
    Practice,
    PracticePCNMembership,
    ProfileLevel,
    Region,
    Registration,
    RegistrationSnapshot,
    SubICB,
)

ENGLAND_CODE = "E92000001"
LEVELS = ["practice", "pcn", "sub_icb", "icb", "region", "england"]
EXPORT_HEADER = [
    "code",
    "name",
    "level",
    "registered_patients",
    "core20_patients",
    "core20_share",
    "unknown_patients",
    "imd_edition",
    "extract_date",
    *[f"decile_{d}" for d in range(1, 11)],
    "imd_score",
    "imd_score_quintile",
    "method",
]


# --- Pure computation ----------------------------------------------------------------------------


def crosswalk(edition_lsoas: pd.DataFrame, lookup: pd.DataFrame, *, edition_geography, register_geography):
    """Deprivation per register LSOA when the edition is on the other census geography.

    `edition_lsoas`: lsoa_code, rank, decile, score. `lookup`: lsoa11_code, lsoa21_code.
    Returns the same columns keyed on register LSOA codes (median-ranked rule, see module doc)."""
    if edition_geography == register_geography:
        return edition_lsoas
    if edition_geography == "LSOA11":
        src, dst = "lsoa11_code", "lsoa21_code"
    else:
        src, dst = "lsoa21_code", "lsoa11_code"
    pairs = lookup[[src, dst]].drop_duplicates()
    joined = pairs.merge(edition_lsoas, left_on=src, right_on="lsoa_code", how="inner")
    joined = joined.sort_values([dst, "rank"], kind="stable")
    grouped = joined.groupby(dst, sort=False)
    pos = grouped.cumcount().to_numpy()
    size = grouped[dst].transform("size").to_numpy()
    chosen = joined[pos == (size - 1) // 2]
    return chosen.drop(columns=["lsoa_code", src]).rename(columns={dst: "lsoa_code"})[
        ["lsoa_code", "rank", "decile", "score"]
    ]


def _as_category(series):
    return series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")


def practice_matrix(registrations: pd.DataFrame, lsoas: pd.DataFrame):
    """Per practice: patients by column 0 = unknown, 1..10 = decile; and the score-weighted sum
    and the patients it covers. Works on categorical codes with `np.bincount` (no Python loop)."""
    practice = _as_category(registrations["practice_code"])
    lsoa = _as_category(registrations["lsoa_code"])
    patients = registrations["patients"].to_numpy(dtype=np.int64)
    lookup = lsoas.set_index("lsoa_code")
    cats = lsoa.cat.categories.astype(str)
    cat_decile = lookup["decile"].reindex(cats).fillna(0).to_numpy(dtype=np.int64)
    cat_score = lookup["score"].reindex(cats).to_numpy(dtype=float) if "score" in lookup else None
    codes = lsoa.cat.codes.to_numpy()
    decile = np.where(codes >= 0, cat_decile[np.maximum(codes, 0)], 0)
    p_codes = practice.cat.codes.to_numpy().astype(np.int64)
    n_p = len(practice.cat.categories)
    counts = np.bincount(p_codes * 11 + decile, weights=patients, minlength=n_p * 11)
    counts = counts.reshape(n_p, 11).astype(np.int64)
    score_sum = np.zeros(n_p)
    score_patients = np.zeros(n_p)
    if cat_score is not None:
        score = np.where(codes >= 0, cat_score[np.maximum(codes, 0)], np.nan)
        has = ~np.isnan(score)
        score_sum = np.bincount(p_codes[has], weights=patients[has] * score[has], minlength=n_p)
        score_patients = np.bincount(p_codes[has], weights=patients[has], minlength=n_p)
    frame = pd.DataFrame(counts, columns=[f"d{i}" for i in range(11)])
    frame.insert(0, "code", practice.cat.categories.astype(str))
    frame["score_sum"] = score_sum
    frame["score_patients"] = score_patients
    return frame[frame[[f"d{i}" for i in range(11)]].sum(axis=1) > 0].reset_index(drop=True)


def compute_profiles(registrations: pd.DataFrame, lsoas: pd.DataFrame, hierarchy: dict) -> pd.DataFrame:
    """One row per organisation at every level: level, code, name, registered_patients,
    core20_patients, unknown_patients, deciles (list of 10), imd_score, imd_score_quintile.

    `hierarchy`: {"practice_pcn": {practice: pcn}, "pcn_parent": {pcn: sub_icb},
    "sub_icb_parent": {...: icb}, "icb_parent": {...: region}, "names": {level: {code: name}}}."""
    prac = practice_matrix(registrations, lsoas)
    value_cols = [f"d{i}" for i in range(11)] + ["score_sum", "score_patients"]
    parts = [prac.assign(level="practice")]
    current = prac.assign(parent=prac["code"].map(hierarchy["practice_pcn"]))
    for level, parent_key in (
        ("pcn", "pcn_parent"),
        ("sub_icb", "sub_icb_parent"),
        ("icb", "icb_parent"),
        ("region", None),
    ):
        grouped = current.dropna(subset=["parent"]).groupby("parent", sort=True)[value_cols].sum()
        grouped = grouped.reset_index().rename(columns={"parent": "code"})
        parts.append(grouped.assign(level=level))
        current = grouped
        if parent_key:
            current = grouped.assign(parent=grouped["code"].map(hierarchy[parent_key]))
    england = prac[value_cols].sum().to_frame().T
    england.insert(0, "code", ENGLAND_CODE)
    parts.append(england.assign(level="england"))
    out = pd.concat(parts, ignore_index=True)
    deciles = out[[f"d{i}" for i in range(1, 11)]].to_numpy(dtype=np.int64)
    out["unknown_patients"] = out["d0"].astype(np.int64)
    out["registered_patients"] = out["unknown_patients"] + deciles.sum(axis=1)
    out["core20_patients"] = deciles[:, 0] + deciles[:, 1]
    out["deciles"] = deciles.tolist()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["imd_score"] = np.where(
            out["score_patients"] > 0, out["score_sum"] / out["score_patients"].replace(0, 1), np.nan
        )
    out["imd_score_quintile"] = pd.array([pd.NA] * len(out), dtype="Int64")
    for level in LEVELS[:-1]:
        rows = (out["level"] == level) & out["imd_score"].notna()
        if rows.sum() >= 5:
            order = (-out.loc[rows, "imd_score"]).rank(method="first")
            out.loc[rows, "imd_score_quintile"] = pd.qcut(order, 5, labels=False).astype(int) + 1
    names = hierarchy.get("names", {})
    out["name"] = [
        "England" if lvl == "england" else names.get(lvl, {}).get(code, "")
        for lvl, code in zip(out["level"], out["code"], strict=True)
    ]
    return out[
        [
            "level",
            "code",
            "name",
            "registered_patients",
            "core20_patients",
            "unknown_patients",
            "deciles",
            "imd_score",
            "imd_score_quintile",
        ]
    ]


# --- Database side -------------------------------------------------------------------------------


def load_hierarchy() -> dict:
    memberships = (
        PracticePCNMembership.objects.current()
        .order_by("practice_id", "start_date")
        .values_list("practice__code", "pcn__code")
    )
    practice_pcn = {}
    for practice, pcn in memberships:  # ordered by start: the latest started wins
        practice_pcn[practice] = pcn
    return {
        "practice_pcn": practice_pcn,
        "pcn_parent": dict(PCN.objects.values_list("code", "sub_icb__code")),
        "sub_icb_parent": dict(SubICB.objects.values_list("code", "icb__code")),
        "icb_parent": dict(ICB.objects.values_list("code", "region__code")),
        "names": {
            "practice": dict(Practice.objects.values_list("code", "name")),
            "pcn": dict(PCN.objects.values_list("code", "name")),
            "sub_icb": dict(SubICB.objects.values_list("code", "name")),
            "icb": dict(ICB.objects.values_list("code", "name")),
            "region": dict(Region.objects.values_list("code", "name")),
        },
    }


def read_registrations(snapshot) -> pd.DataFrame:
    table = connection.ops.quote_name(Registration._meta.db_table)
    dtypes = {"practice_code": "category", "lsoa_code": "category", "patients": np.int64}
    if connection.vendor == "postgresql":
        buf = io.StringIO()
        with connection.cursor() as cursor, connection.wrap_database_errors:
            sql = cursor.cursor.mogrify(
                f"COPY (SELECT practice_code, lsoa_code, patients FROM {table} "  # noqa: S608
                "WHERE snapshot_id = %s) TO STDOUT WITH (FORMAT csv)",
                [snapshot.pk],
            ).decode()
            cursor.cursor.copy_expert(sql, buf)
        buf.seek(0)
        return pd.read_csv(
            buf,
            header=None,
            names=list(dtypes),
            dtype=dtypes,
            keep_default_na=False,
            na_values=[],
        )
    rows = Registration.objects.filter(snapshot=snapshot).values_list(
        "practice_code", "lsoa_code", "patients"
    )
    frame = pd.DataFrame.from_records(list(rows), columns=list(dtypes))
    return frame.astype(dtypes)


def edition_lsoas(edition) -> pd.DataFrame:
    rows = LsoaDeprivation.objects.filter(edition=edition).values_list("lsoa_code", "rank", "decile", "score")
    return pd.DataFrame.from_records(list(rows), columns=["lsoa_code", "rank", "decile", "score"]).astype(
        {"score": float}
    )


def deprivation_for(edition, geography) -> tuple[pd.DataFrame, str]:
    lsoas = edition_lsoas(edition)
    label = f"IoD{edition.year} national deciles"
    if edition.geography == geography:
        return lsoas, f"{label} on the register's LSOA {edition.get_geography_display()[-4:]} codes"
    lookup = pd.DataFrame.from_records(
        list(LsoaLookup.objects.values_list("lsoa11_code", "lsoa21_code")),
        columns=["lsoa11_code", "lsoa21_code"],
    )
    src = edition.get_geography_display()[-4:]
    dst = "2021" if src == "2011" else "2011"
    if not len(lookup):
        return lsoas, (
            f"{label} (LSOA {src}) matched to the register's LSOA {dst} codes by code only: no LSOA "
            "lookup loaded, so changed LSOAs count as unknown"
        )
    mapped = crosswalk(lsoas, lookup, edition_geography=edition.geography, register_geography=geography)
    return mapped, (
        f"{label} (LSOA {src}) applied to LSOA {dst} registrations via the ONS LSOA 2011-2021 lookup; "
        "where an LSOA maps to several, the median-ranked one's decile"
    )


def _profile_frame(computed, *, edition, snapshot, method, now):
    frame = computed.assign(
        edition_id=edition.pk,
        snapshot_id=snapshot.pk,
        method=(method + ". Unknown: blank, non-English, pseudo or absent LSOAs")[:300],
        # As text: pandas would turn a datetime into a Timestamp the database drivers do not take.
        computed_at=now.isoformat(sep=" ")
        if connection.vendor == "postgresql"
        else connection.ops.adapt_datetimefield_value(now),
        decile_patients=[json.dumps(d) for d in computed["deciles"]],
    )
    frame["imd_score"] = frame["imd_score"].astype(object).where(frame["imd_score"].notna(), None)
    frame["imd_score_quintile"] = (
        frame["imd_score_quintile"].astype(object).where(frame["imd_score_quintile"].notna(), None)
    )
    return frame


PROFILE_COLUMNS = [
    "level",
    "code",
    "name",
    "edition_id",
    "snapshot_id",
    "registered_patients",
    "core20_patients",
    "unknown_patients",
    "decile_patients",
    "imd_score",
    "imd_score_quintile",
    "method",
    "computed_at",
]


def recompute_profiles(*, edition=None, snapshot=None, registrations: pd.DataFrame | None = None) -> int:
    """Recompute and replace the profiles of every edition x snapshot pair (or only those of the
    given edition and/or snapshot). `registrations` may pass the snapshot's rows already in memory
    (the registrations import does) to save reading them back. Returns profiles written."""
    from inequalities.importers.bulk import load_frame

    editions = [edition] if edition is not None else list(ImdEdition.objects.all())
    snapshots = [snapshot] if snapshot is not None else list(RegistrationSnapshot.objects.all())
    if not editions or not snapshots:
        return 0
    hierarchy = load_hierarchy()
    now = timezone.now()
    written = 0
    with transaction.atomic():
        for snap in snapshots:
            if registrations is not None and snapshot is not None:
                regs = registrations
            else:
                regs = read_registrations(snap)
            for ed in editions:
                lsoas, method = deprivation_for(ed, snap.geography)
                computed = compute_profiles(regs, lsoas, hierarchy)
                DeprivationProfile.objects.filter(edition=ed, snapshot=snap).delete()
                frame = _profile_frame(computed, edition=ed, snapshot=snap, method=method, now=now)
                written += load_frame(DeprivationProfile, frame, PROFILE_COLUMNS)
    return written


# --- Export --------------------------------------------------------------------------------------


def latest_pair():
    return ImdEdition.objects.order_by("-year").first(), RegistrationSnapshot.objects.order_by(
        "-extract_date"
    ).first()


def export_rows(level, *, edition=None, snapshot=None, codes=None):
    """Rows for `EXPORT_HEADER` (the export command and the ICB pages' CSV download)."""
    if level not in ProfileLevel.values:
        raise ValueError(f"unknown level {level!r}")
    if edition is None or snapshot is None:
        latest_edition, latest_snapshot = latest_pair()
        edition = edition or latest_edition
        snapshot = snapshot or latest_snapshot
    profiles = DeprivationProfile.objects.filter(
        level=level, edition=edition, snapshot=snapshot
    ).select_related("edition", "snapshot")
    if codes is not None:
        profiles = profiles.filter(code__in=codes)
    for p in profiles.order_by("code"):
        share = p.core20_share
        deciles = list(p.decile_patients) + [0] * (10 - len(p.decile_patients))
        yield [
            p.code,
            p.name,
            p.level,
            p.registered_patients,
            p.core20_patients,
            "" if share is None else f"{share:.4f}",
            p.unknown_patients,
            p.edition.year,
            p.snapshot.extract_date.isoformat(),
            *deciles,
            "" if p.imd_score is None else f"{p.imd_score:.3f}",
            "" if p.imd_score_quintile is None else p.imd_score_quintile,
            p.method,
        ]
