"""English Indices of Deprivation: one *edition* per publication (2019 on LSOA 2011, 2025 on LSOA
2021), replaced whole by each import.

Published layouts recognised by header: IoD2019 File 1, File 2 (domains) and File 7 (all scores,
ranks, deciles); IoD2025 File 1 and File 7; CSV or the published XLSX. The edition follows from
the geography of the LSOA column (`LSOA code (2011)` -> 2019, `(2021)` -> 2025) and must hold
exactly the edition's number of English LSOAs. Also accepted, clearly labelled as *not* a
published layout: the `imd2025_england_lsoa21_scores_ranks_deciles` file with short column names,
the only LSOA-level source of IoD2025 scores here.
"""

import numpy as np
import pandas as pd
from django.utils import timezone

from inequalities.models import Geography, ImdEdition, LsoaDeprivation

from .base import (
    LSOA_ENGLAND,
    Errors,
    Importer,
    Layout,
    Parsed,
    blank,
    mismatch,
    parse_decimal,
    parse_whole_numbers,
    register,
    stripped,
)
from .bulk import load_frame

EDITIONS = {  # census geography -> (edition year, geography, expected English LSOAs, LAD year)
    "2011": (2019, Geography.LSOA11, 32_844, "2019"),
    "2021": (2025, Geography.LSOA21, 33_755, "2024"),
}
IMD = "Index of Multiple Deprivation (IMD)"
WHERE_RANK = "(where 1 is most deprived)"
# The IoD2025 workbook itself truncates the IMD decile header ("... 10% of LSOA", no bracket).
WHERE_DECILE = (
    "(where 1 is most deprived 10% of LSOAs)",
    "(where 1 is most deprived 10% of LSOA)",
    "(where 1 is most deprived 10% of LSOA",
)
DOMAIN_HEADERS = {  # field prefix -> published header prefix
    "income": "Income",
    "employment": "Employment",
    "education": "Education, Skills and Training",
    "health": "Health Deprivation and Disability",
    "crime": "Crime",
    "housing": "Barriers to Housing and Services",
    "living_environment": "Living Environment",
    "idaci": "Income Deprivation Affecting Children Index (IDACI)",
    "idaopi": "Income Deprivation Affecting Older People (IDAOPI)",
}
SEVEN = ["income", "employment", "education", "health", "crime", "housing", "living_environment"]


def _decile(prefix):
    return tuple(f"{prefix} Decile {w}" for w in WHERE_DECILE)


def _base(census, lad_year):
    return {
        "lsoa": f"LSOA code ({census})",
        "lsoa_name": f"LSOA name ({census})",
        "lad_code": f"Local Authority District code ({lad_year})",
        "lad_name": f"Local Authority District name ({lad_year})",
    }


def _domain_deciles(domains):
    return {f"{d}_decile": _decile(DOMAIN_HEADERS[d]) for d in domains}


def _layouts():
    out = []
    for census, (year, _geo, _n, lad_year) in EDITIONS.items():
        label = f"IoD{year}"
        base = _base(census, lad_year)
        out.append(
            Layout(
                name=f"{label} File 1",
                columns={
                    **base,
                    "rank": (f"{IMD} Rank", f"{IMD} Rank {WHERE_RANK}"),
                    "decile": (f"{IMD} Decile", *_decile(IMD)),
                },
            )
        )
        out.append(
            Layout(
                name=f"{label} File 2 (domains)",
                columns={
                    **base,
                    "rank": f"{IMD} Rank {WHERE_RANK}",
                    "decile": _decile(IMD),
                    **{f"{d}_rank": f"{DOMAIN_HEADERS[d]} Rank {WHERE_RANK}" for d in SEVEN},
                    **_domain_deciles(SEVEN),
                },
            )
        )
        out.append(
            Layout(
                name=f"{label} File 7",
                columns={
                    **base,
                    "score": f"{IMD} Score",
                    "rank": f"{IMD} Rank {WHERE_RANK}",
                    "decile": _decile(IMD),
                    # File 7 holds all of File 2's columns too; more required columns = chosen.
                    **{f"{d}_rank": f"{DOMAIN_HEADERS[d]} Rank {WHERE_RANK}" for d in SEVEN},
                    **_domain_deciles(SEVEN + ["idaci", "idaopi"]),
                    "population": (
                        "Total population: mid 2015 (excluding prisoners)",
                        "Total population: mid 2022 (excluding prisoners)",
                        "Total population: mid 2022",
                    ),
                },
            )
        )
    out.append(
        Layout(
            name="IoD2025 scores file (not a published layout)",
            columns={
                "lsoa": "lsoa21_code",
                "score": "IMD_score",
                "rank": "IMD_rank",
                "decile": "IMD_decile",
                "income_decile": "Income_decile",
                "employment_decile": "Employment_decile",
                "education_decile": "Education_decile",
                "health_decile": "Health_decile",
                "crime_decile": "Crime_decile",
                "housing_decile": "Housing_and_Services_decile",
                "living_environment_decile": "Environment_decile",
            },
        )
    )
    return tuple(out)


LAYOUTS = _layouts()
DECILE_FIELDS = ["decile"] + [f"{d}_decile" for d in DOMAIN_HEADERS]


def edition_for_layout(table):
    """(year, geography, expected count) from the LSOA column's census year."""
    if table.layout.name.startswith("IoD2025 scores"):
        return EDITIONS["2021"][:3]
    header = table.headers["lsoa"]
    census = "2021" if "2021" in header else "2011"
    return EDITIONS[census][:3]


@register
class ImdImporter(Importer):
    kind = "imd"
    layouts = LAYOUTS

    def parse(self, path, *, source_name, progress=lambda pct, msg: None):
        table = self.read(path, source_name=source_name, progress=progress)
        progress(50, "Validating")
        year, geography, expected = edition_for_layout(table)
        df = table.frame
        errors = Errors(table.file, table.rows)
        out = {}
        lsoa = stripped(df["lsoa"])
        errors.add_mask(table, blank(lsoa), "lsoa", "missing LSOA code")
        errors.add_mask(
            table,
            mismatch(lsoa, LSOA_ENGLAND) & ~blank(lsoa),
            "lsoa",
            lambda v: f"'{v}' is not an English LSOA code (E01 and 6 digits)",
        )
        dup = lsoa.duplicated(keep="first").to_numpy() & ~blank(lsoa)
        errors.add_mask(table, dup, "lsoa", lambda v: f"LSOA {v} appears more than once")
        out["lsoa_code"] = lsoa.to_numpy()
        for f in ("lsoa_name", "lad_code", "lad_name"):
            out[f] = stripped(df[f]).to_numpy() if f in df else np.full(len(df), "", dtype=object)

        rank, non_numeric, not_whole = parse_whole_numbers(df["rank"])
        errors.add_mask(table, non_numeric, "rank", lambda v: f"'{v}' is not a number")
        errors.add_mask(table, not_whole, "rank", lambda v: f"'{v}' is not a whole number")
        errors.add_mask(
            table,
            ~non_numeric & ~not_whole & ((rank < 1) | (rank > expected)),
            "rank",
            lambda v: f"rank {v} is outside 1-{expected:,}",
        )
        out["rank"] = rank
        present = [f for f in DECILE_FIELDS if f in df]
        for f in present:
            values, non_numeric, not_whole = parse_whole_numbers(df[f])
            bad = non_numeric | not_whole | (values < 1) | (values > 10)
            errors.add_mask(table, bad, f, lambda v: f"decile '{v}' is not a whole number from 1 to 10")
            out[f] = values
        if "score" in df:
            score, bad = parse_decimal(df["score"])
            errors.add_mask(table, bad, "score", lambda v: f"score '{v}' is not a number")
            out["score"] = score
        if table.rows != expected:
            errors.file_error(
                f"{table.rows:,} LSOAs where the IoD{year} edition (LSOA {geography.label[-4:]}) has "
                f"{expected:,}: the file is incomplete or not the national file"
            )
        errors.raise_if_any(layout=table.layout.name, rows_read=table.rows)
        frame = pd.DataFrame(out)
        sizes = frame["decile"].value_counts().sort_index()
        meta = {
            "edition": year,
            "geography": str(geography),
            "lsoas": int(len(frame)),
            "decile_sizes": [int(sizes.get(d, 0)) for d in range(1, 11)],
            "core20_lsoas": int((frame["decile"] <= 2).sum()),
            "has_scores": "score" in frame,
            "has_domains": any(f != "decile" for f in present),
        }
        return Parsed(
            layout=table.layout.name,
            rows_read=table.rows,
            rows_accepted=table.rows,
            rows_rejected=0,
            frame=frame,
            meta=meta,
            source_name=source_name,
        )

    def write(self, parsed, *, run):
        meta = parsed.meta
        edition, created = ImdEdition.objects.get_or_create(
            year=meta["edition"], defaults={"geography": meta["geography"]}
        )
        replaced = 0 if created else edition.lsoas.count()
        frame = parsed.frame.copy()
        if replaced and (frame["lsoa_name"] == "").all():
            # The scores file has no names: keep those of the file it replaces.
            old = pd.DataFrame.from_records(
                edition.lsoas.values_list("lsoa_code", "lsoa_name", "lad_code", "lad_name"),
                columns=["lsoa_code", "lsoa_name", "lad_code", "lad_name"],
            ).set_index("lsoa_code")
            for col in ("lsoa_name", "lad_code", "lad_name"):
                frame[col] = frame["lsoa_code"].map(old[col]).fillna("")
        edition.lsoas.all().delete()
        # Profiles on the old figures are recomputed after this write (same transaction).
        edition.profiles.all().delete()
        edition.geography = meta["geography"]
        edition.lsoa_count = meta["lsoas"]
        edition.has_scores = meta["has_scores"]
        edition.has_domains = meta["has_domains"]
        edition.layout = parsed.layout
        edition.source_name = parsed.source_name
        edition.sha256 = run.sha256 if run is not None else ""
        edition.imported_at = timezone.now()
        edition.save()
        frame["edition_id"] = edition.pk
        columns = ["edition_id", "lsoa_code", "lsoa_name", "lad_code", "lad_name", "rank"]
        columns += [c for c in DECILE_FIELDS if c in frame]
        if "score" in frame:
            columns.append("score")
        load_frame(LsoaDeprivation, frame, columns)
        parsed.meta["edition_id"] = edition.pk
        return {"edition": meta["edition"], "lsoas": meta["lsoas"], "replaced": replaced, **meta}

    def refresh_profiles(self, parsed, summary):
        from inequalities.profiles import recompute_profiles

        return recompute_profiles(edition=ImdEdition.objects.get(year=parsed.meta["edition"]))
