"""A PCN's population workspace: who its registered patients are, by national IMD decile.

Reads, never writes. Two sources:

* `DeprivationProfile` rows (precomputed by `inequalities.profiles` at import time) for the PCN, its
  ICB, England and each practice — the comparison tables.
* `Registration` rows of the PCN's current practices joined to `LsoaDeprivation` — the PCN's
  footprint LSOA by LSOA, Core20 sizes for target populations, and the PCN's own profile when it has
  not been precomputed yet. One PCN is a few thousand rows: read into pandas in two queries.

Geography: an IMD edition is tied to one LSOA geography (IoD2019: LSOA 2011, IoD2025: LSOA 2021).
When the registrations are coded in the other geography, each registration LSOA takes the
deprivation of its counterpart through the ONS best-fit lookup; where one LSOA maps to several
(a merged 2021 LSOA has several 2011 parents; a split 2011 LSOA several 2021 children) it takes the
most deprived counterpart (lowest rank). Patients whose LSOA is blank, not English, a pseudo code
or absent from the edition are counted as *deprivation unknown* and shown, never dropped.
"""

import math
from dataclasses import dataclass

import pandas as pd

from inequalities.models import (
    DOMAINS,
    DeprivationProfile,
    ImdEdition,
    LsoaDeprivation,
    LsoaLookup,
    ProfileLevel,
    Registration,
    RegistrationSnapshot,
)

DOMAIN_COLUMNS = [f"{key}_decile" for key, _ in DOMAINS]
CORE20_DECILES = (1, 2)


@dataclass(frozen=True)
class Basis:
    """Which data a figure rests on: one IMD edition and one registration extract."""

    edition: ImdEdition
    snapshot: RegistrationSnapshot

    @property
    def label(self):
        return f"IMD {self.edition.year} · GP registrations extracted {self.snapshot.extract_date:%d %b %Y}"


def choose_basis(edition_year=None, extract_date=None):
    """The latest registration extract (or the one asked for) and the latest IMD edition on the
    same geography (or the year asked for). None when either is missing."""
    snapshots = RegistrationSnapshot.objects.order_by("-extract_date")
    if extract_date:
        snapshots = snapshots.filter(extract_date=extract_date)
    snapshot = snapshots.first()
    if snapshot is None:
        return None
    editions = ImdEdition.objects.order_by("-year")
    if edition_year:
        edition = editions.filter(year=edition_year).first()
    else:
        edition = editions.filter(geography=snapshot.geography).first() or editions.first()
    return Basis(edition, snapshot) if edition else None


# --- Registrations x deprivation (pure parts take DataFrames) ----------------------------------------


def registrations_frame(snapshot, practice_codes):
    rows = Registration.objects.filter(snapshot=snapshot, practice_code__in=list(practice_codes)).values_list(
        "practice_code", "lsoa_code", "patients"
    )
    return pd.DataFrame(list(rows), columns=["practice_code", "lsoa_code", "patients"])


def deprivation_frame(basis, lsoa_codes):
    """Deprivation for registration LSOA codes, on the registrations' geography: one row per code
    found, with `decile`, `rank`, `score`, names and domain deciles."""
    codes = sorted({c for c in lsoa_codes if c})
    columns = ["lsoa_code", "lsoa_name", "lad_name", "score", "rank", "decile", *DOMAIN_COLUMNS]
    if not codes:
        return pd.DataFrame(columns=columns)
    same = basis.edition.geography == basis.snapshot.geography
    if same:
        mapping = pd.DataFrame({"lsoa_code": codes, "edition_code": codes})
    else:
        if basis.snapshot.geography == "LSOA21":
            pairs = LsoaLookup.objects.filter(lsoa21_code__in=codes).values_list("lsoa21_code", "lsoa11_code")
        else:
            pairs = LsoaLookup.objects.filter(lsoa11_code__in=codes).values_list("lsoa11_code", "lsoa21_code")
        mapping = pd.DataFrame(list(pairs), columns=["lsoa_code", "edition_code"])
    rows = LsoaDeprivation.objects.filter(
        edition=basis.edition, lsoa_code__in=sorted(set(mapping["edition_code"]))
    ).values_list("lsoa_code", "lsoa_name", "lad_name", "score", "rank", "decile", *DOMAIN_COLUMNS)
    dep = pd.DataFrame(list(rows), columns=["edition_code", *columns[1:]])
    merged = mapping.merge(dep, on="edition_code").sort_values(["lsoa_code", "rank"])
    merged = merged.drop_duplicates("lsoa_code", keep="first")  # the most deprived counterpart
    if not same:
        merged["lsoa_name"] = merged["lsoa_name"] + " (" + merged["edition_code"] + ")"
    return merged[columns].reset_index(drop=True)


def lsoa_table(registrations, deprivation):
    """The footprint: patients per LSOA (all practices together), most patients first, with the
    LSOA's decile and domain deciles; LSOAs without deprivation are flagged `known=False`."""
    if registrations.empty:
        return pd.DataFrame(columns=["lsoa_code", "patients", "share", "known", "decile"])
    per_lsoa = registrations.groupby("lsoa_code", as_index=False)["patients"].sum()
    table = per_lsoa.merge(deprivation, on="lsoa_code", how="left")
    table["known"] = table["decile"].notna()
    total = table["patients"].sum()
    table["share"] = table["patients"] / total if total else 0.0
    return table.sort_values(["patients", "lsoa_code"], ascending=[False, True]).reset_index(drop=True)


def decile_counts(registrations, deprivation):
    """Registered patients by decile (1..10), and unknown, for the given registration rows."""
    if registrations.empty:
        return [0] * 10, 0
    merged = registrations.merge(deprivation[["lsoa_code", "decile"]], on="lsoa_code", how="left")
    known = merged[merged["decile"].notna()]
    by_decile = known.groupby(known["decile"].astype(int))["patients"].sum()
    counts = [int(by_decile.get(d, 0)) for d in range(1, 11)]
    return counts, int(merged.loc[merged["decile"].isna(), "patients"].sum())


@dataclass
class ProfileFigures:
    """One column of the comparison: counts by decile and the derived figures."""

    label: str
    decile_patients: list
    unknown_patients: int
    imd_score: float | None = None
    source: str = "precomputed"

    @classmethod
    def from_profile(cls, label, profile):
        deciles = list(profile.decile_patients) + [0] * (10 - len(profile.decile_patients))
        return cls(label, deciles[:10], int(profile.unknown_patients), profile.imd_score)

    @property
    def known_patients(self):
        return sum(self.decile_patients)

    @property
    def registered_patients(self):
        return self.known_patients + self.unknown_patients

    @property
    def quintile_patients(self):
        d = self.decile_patients
        return [d[i] + d[i + 1] for i in range(0, 10, 2)]

    @property
    def core20_patients(self):
        return sum(self.decile_patients[d - 1] for d in CORE20_DECILES)

    @property
    def core20_share(self):
        return self.core20_patients / self.known_patients if self.known_patients else None

    def shares(self, counts):
        known = self.known_patients
        return [c / known if known else None for c in counts]


def population_weighted_score(registrations, deprivation):
    """Σ over LSOAs of (LSOA IMD score × share of the list living there), over patients whose LSOA
    has a score (Fingertips' method); None without scores."""
    merged = registrations.merge(deprivation[["lsoa_code", "score"]], on="lsoa_code", how="inner")
    merged = merged[merged["score"].notna()]
    total = merged["patients"].sum()
    if not total:
        return None
    return float((merged["score"] * merged["patients"]).sum() / total)


def profiles_for(basis, level, codes):
    return {
        p.code: p
        for p in DeprivationProfile.objects.filter(
            edition=basis.edition, snapshot=basis.snapshot, level=level, code__in=list(codes)
        )
    }


def england_profile(basis):
    return DeprivationProfile.objects.filter(
        edition=basis.edition, snapshot=basis.snapshot, level=ProfileLevel.ENGLAND
    ).first()


def core20_size(basis, registrations, deprivation, *, practice_codes=None, lsoa_codes=None):
    """Patients in national deciles 1-2 among the given registrations, optionally only of some
    practices or living in some LSOAs. Returns (size, label naming the data)."""
    rows = registrations
    if practice_codes is not None:
        rows = rows[rows["practice_code"].isin(list(practice_codes))]
    if lsoa_codes is not None:
        rows = rows[rows["lsoa_code"].isin(list(lsoa_codes))]
    counts, _ = decile_counts(rows, deprivation)
    return sum(counts[d - 1] for d in CORE20_DECILES), basis.label


# --- One PCN's workspace: what the page and the population form read ------------------------------------


@dataclass
class PcnData:
    """A PCN's current practices and their registrations joined to deprivation, on one basis."""

    pcn: object
    basis: Basis | None
    practices: list
    registrations: pd.DataFrame | None = None
    deprivation: pd.DataFrame | None = None

    @property
    def footprint(self):
        return set(self.registrations["lsoa_code"]) if self.registrations is not None else set()


def load_pcn(pcn, edition_year=None):
    basis = choose_basis(edition_year)
    practices = list(pcn.current_practices().order_by("name"))
    if basis is None:
        return PcnData(pcn, None, practices)
    registrations = registrations_frame(basis.snapshot, [p.code for p in practices])
    deprivation = deprivation_frame(basis, registrations["lsoa_code"].unique())
    return PcnData(pcn, basis, practices, registrations, deprivation)


def comparison(data):
    """Columns for the PCN, its ICB and England (those precomputed), and whether the PCN's
    precomputed profile agrees with the registrations read here (True when there is none)."""
    pcn, basis = data.pcn, data.basis
    icb = pcn.sub_icb.icb
    deciles, unknown = decile_counts(data.registrations, data.deprivation)
    profile = profiles_for(basis, ProfileLevel.PCN, [pcn.code]).get(pcn.code)
    if profile is not None:
        columns = [ProfileFigures.from_profile(pcn.display_name, profile)]
        matches = list(profile.decile_patients) == deciles and profile.unknown_patients == unknown
    else:
        score = population_weighted_score(data.registrations, data.deprivation)
        columns = [
            ProfileFigures(pcn.display_name, deciles, unknown, score, "computed from the registrations below")
        ]
        matches = True
    icb_profile = profiles_for(basis, ProfileLevel.ICB, [icb.code]).get(icb.code)
    if icb_profile:
        columns.append(ProfileFigures.from_profile(icb.display_name, icb_profile))
    england = england_profile(basis)
    if england:
        columns.append(ProfileFigures.from_profile("England", england))
    return columns, matches


def practice_figures(data):
    """Each current practice's figures: its precomputed profile, else computed from its rows."""
    profiles = profiles_for(data.basis, ProfileLevel.PRACTICE, [p.code for p in data.practices])
    rows = []
    for practice in data.practices:
        profile = profiles.get(practice.code)
        if profile is not None:
            fig = ProfileFigures.from_profile(practice.display_name, profile)
        else:
            regs = data.registrations[data.registrations["practice_code"] == practice.code]
            deciles, unknown = decile_counts(regs, data.deprivation)
            score = population_weighted_score(regs, data.deprivation)
            fig = ProfileFigures(practice.display_name, deciles, unknown, score, "computed")
        rows.append({"practice": practice, "fig": fig})
    return rows


def _clean(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def lsoa_rows(data):
    """The footprint as plain rows for the page and the CSV (unknown LSOAs included)."""
    rows = []
    for r in lsoa_table(data.registrations, data.deprivation).to_dict("records"):
        known = bool(r["known"])
        rows.append(
            {
                "code": r["lsoa_code"] or "(blank)",
                "name": _clean(r.get("lsoa_name")),
                "lad": _clean(r.get("lad_name")),
                "patients": int(r["patients"]),
                "share": float(r["share"]),
                "known": known,
                "decile": int(r["decile"]) if known else None,
                "domains": [None if _clean(r.get(c)) is None else int(r[c]) for c in DOMAIN_COLUMNS],
            }
        )
    return rows
