"""Patients Registered at a GP Practice by LSOA (NHS England), one *snapshot* per extract date.

Layout (`gp-reg-pat-prac-lsoa-all.csv`, plain, gzipped or inside the published zip):
`PUBLICATION, EXTRACT_DATE, PRACTICE_CODE, PRACTICE_NAME, LSOA_CODE, SEX, NUMBER_OF_PATIENTS`
(one extract spells the last `Number of Patients`). Only `SEX = ALL` rows are loaded; by-sex
rows are counted and skipped. LSOA codes may be English, Welsh (`W01…`), blank or a pseudo code
(`NO2011`, `CLOSED…`): all are kept as given, and profiles count the non-English ones as
deprivation unknown. Practices the organisation data does not know are created from the file's
code and name, without a PCN, and listed as warnings.

Speed: every text column is read as a categorical, so code checks, count parsing and the
duplicate check work on a few thousand distinct values and integer codes, not 1.2 M strings.
"""

import re
from datetime import datetime

import numpy as np
import pandas as pd
from django.utils import timezone

from inequalities.models import (
    DeprivationProfile,
    Geography,
    ImdEdition,
    LsoaDeprivation,
    LsoaLookup,
    Practice,
    Registration,
    RegistrationSnapshot,
)

from . import partitions
from .base import (
    PRACTICE_CODE,
    Errors,
    Importer,
    Layout,
    Parsed,
    blank,
    mismatch,
    parse_whole_numbers,
    register,
    stripped,
)
from .bulk import load_frame

LAYOUT = Layout(
    name="GP registrations by LSOA",
    columns={
        "publication": "PUBLICATION",
        "extract_date": "EXTRACT_DATE",
        "practice": "PRACTICE_CODE",
        "practice_name": "PRACTICE_NAME",
        "lsoa": "LSOA_CODE",
        "sex": "SEX",
        "patients": ("NUMBER_OF_PATIENTS", "Number of Patients"),
    },
    categorical=("publication", "extract_date", "practice", "practice_name", "lsoa", "sex", "patients"),
)
# English or Welsh LSOA, blank, or a pseudo code such as NO2011 / NO2021 / CLOSED.
LSOA_IN_REGISTER = re.compile(r"[EW]01\d{6}|NO[A-Z0-9]*|CLOSED[A-Z0-9_ -]*|")
SEXES = {"ALL", "MALE", "FEMALE", "M", "F"}
LAST_2011_LSOA = 33_768  # E01033768: 2021 codes above it are new in the 2021 census geography


def parse_extract_date(text):
    text = str(text).strip()
    for fmt in ("%d%b%Y", "%Y-%m-%d", "%d/%m/%Y", "%Y%m%d"):
        try:
            return datetime.strptime(text.title() if fmt == "%d%b%Y" else text, fmt).date()
        except ValueError:
            continue
    return None


def detect_geography(lsoa_codes) -> tuple[str, str]:
    """Which census geography the register's LSOA codes are in, and why.

    Codes numbered above E01033768 exist only in 2021. Otherwise the codes are compared with
    the LSOA sets the database knows (lookup and IMD editions): codes found only among 2011 LSOAs
    mean 2011, only among 2021 LSOAs mean 2021."""
    codes_index = pd.Index(lsoa_codes, dtype=object).astype(str)
    english = codes_index[np.asarray(codes_index.str.fullmatch(r"E01\d{6}"), dtype=bool)]
    if len(english) and english.str[3:].astype(int).max() > LAST_2011_LSOA:
        return Geography.LSOA21, "codes above E01033768 exist only in LSOA 2021"
    codes = set(english)
    known = {Geography.LSOA11: set(), Geography.LSOA21: set()}
    if LsoaLookup.objects.exists():
        for c11, c21 in LsoaLookup.objects.values_list("lsoa11_code", "lsoa21_code"):
            known[Geography.LSOA11].add(c11)
            known[Geography.LSOA21].add(c21)
    for edition in ImdEdition.objects.all():
        known[edition.geography] |= set(
            LsoaDeprivation.objects.filter(edition=edition).values_list("lsoa_code", flat=True)
        )
    if known[Geography.LSOA11] and known[Geography.LSOA21]:
        only11 = len(codes & (known[Geography.LSOA11] - known[Geography.LSOA21]))
        only21 = len(codes & (known[Geography.LSOA21] - known[Geography.LSOA11]))
        if only21 > only11:
            return Geography.LSOA21, f"{only21} codes exist only in LSOA 2021"
        if only11:
            return Geography.LSOA11, f"{only11} codes exist only in LSOA 2011"
    return Geography.LSOA11, "no code is new in 2021; taken as LSOA 2011"


@register
class RegistrationsImporter(Importer):
    kind = "registrations"
    layouts = (LAYOUT,)
    zip_member_pattern = r"lsoa-all"

    def parse(self, path, *, source_name, progress=lambda pct, msg: None):
        table = self.read(path, source_name=source_name, progress=progress)
        progress(50, "Validating")
        df = table.frame
        n = table.rows
        errors = Errors(table.file, n)
        for f in ("practice", "lsoa", "sex", "extract_date"):
            df[f] = stripped(df[f])
        # SEX is judged per category (ALL, MALE, FEMALE in any case), then mapped to rows by code.
        sex_codes = df["sex"].cat.codes.to_numpy()
        sex_cats = df["sex"].cat.categories.astype(str).str.upper().to_numpy(dtype=object)
        sex_ok = np.append(np.isin(sex_cats, list(SEXES)), False)  # last: a missing value
        sex_all = np.append(sex_cats == "ALL", False)
        bad_sex = ~sex_ok[np.where(sex_codes < 0, len(sex_cats), sex_codes)]
        errors.add_mask(table, bad_sex, "sex", lambda v: f"'{v}' is not a sex value (ALL, MALE, FEMALE)")
        keep = sex_all[np.where(sex_codes < 0, len(sex_cats), sex_codes)]

        errors.add_mask(table, blank(df["practice"]), "practice", "missing practice code")
        errors.add_mask(
            table,
            mismatch(df["practice"], PRACTICE_CODE) & ~blank(df["practice"]),
            "practice",
            lambda v: f"'{v}' is not a practice ODS code (a letter and 5 digits)",
        )
        errors.add_mask(
            table,
            mismatch(df["lsoa"], LSOA_IN_REGISTER, allow_blank=True),
            "lsoa",
            lambda v: f"'{v}' is not an LSOA code (E01/W01 and 6 digits) or a known pseudo code",
        )
        patients, non_numeric, not_whole = parse_whole_numbers(df["patients"])
        errors.add_mask(table, non_numeric, "patients", lambda v: f"'{v}' is not a number of patients")
        errors.add_mask(
            table,
            not_whole,
            "patients",
            lambda v: f"'{v}' is not a whole number of patients (0 or more)",
        )
        # One extract date per file.
        dates = {}
        for cat in df["extract_date"].cat.categories:
            dates[cat] = parse_extract_date(cat)
        bad_dates = [c for c, d in dates.items() if d is None]
        errors.add_mask(
            table,
            df["extract_date"].isin(bad_dates).to_numpy() | df["extract_date"].isna().to_numpy(),
            "extract_date",
            lambda v: f"'{v}' is not an extract date like 04JAN2021",
        )
        used = {d for c, d in dates.items() if d is not None and (df["extract_date"] == c).any()}
        if len(used) > 1:
            errors.file_error(
                "the file holds several extract dates ("
                + ", ".join(sorted(d.isoformat() for d in used))
                + "): import one extract at a time"
            )
        # Duplicate practice x LSOA among the rows loaded.
        p_codes = df["practice"].cat.codes.to_numpy().astype(np.int64)
        l_codes = df["lsoa"].cat.codes.to_numpy().astype(np.int64)
        key = p_codes * (len(df["lsoa"].cat.categories) + 1) + l_codes
        key = np.where(keep, key, -1 - np.arange(n))  # rows not loaded never clash
        dup = pd.Series(key).duplicated(keep="first").to_numpy()
        if dup.any():
            first_line = {}
            order = np.flatnonzero(~pd.Series(key).duplicated(keep="first").to_numpy())
            dup_keys = set(key[dup][:1000].tolist())
            for i in order:
                if key[i] in dup_keys:
                    first_line[key[i]] = table.line(i)
            prac = df["practice"].astype(str).to_numpy()
            lsoa = df["lsoa"].astype(str).to_numpy()
            for i in np.flatnonzero(dup)[:100]:
                errors.add(
                    table.line(i),
                    table.headers["lsoa"],
                    f"duplicate row for practice {prac[i]} and LSOA '{lsoa[i]}' "
                    f"(first at line {first_line.get(key[i], '?')})",
                )
            errors.count += int(dup.sum()) - min(int(dup.sum()), 100)
            errors.bad_rows |= dup
        if not keep.any() and not errors.count:
            errors.file_error("no rows with SEX = ALL")
        errors.raise_if_any(layout=table.layout.name, rows_read=n)

        progress(80, "Checking practices")
        extract_date = next(iter(used))
        if keep.all():
            frame = pd.DataFrame(
                {"practice_code": df["practice"], "lsoa_code": df["lsoa"], "patients": patients}
            )
        else:
            rows = df.loc[keep, ["practice", "lsoa"]]
            frame = pd.DataFrame(
                {
                    "practice_code": rows["practice"].cat.remove_unused_categories(),
                    "lsoa_code": rows["lsoa"].cat.remove_unused_categories(),
                    "patients": patients[keep],
                }
            ).reset_index(drop=True)
        lsoa_cats = frame["lsoa_code"].cat.categories.astype(str)
        english = np.asarray(lsoa_cats.str.fullmatch(r"E01\d{6}"), dtype=bool)
        not_english = ~english[frame["lsoa_code"].cat.codes.to_numpy()] if len(lsoa_cats) else None
        geography, why = detect_geography(lsoa_cats.tolist())
        # The name on each practice's first loaded row.
        loaded = np.flatnonzero(keep)
        _, first = np.unique(df["practice"].cat.codes.to_numpy()[loaded], return_index=True)
        first_row = loaded[first]
        names = pd.Series(
            df["practice_name"].astype(object).to_numpy()[first_row],
            index=df["practice"].astype(object).to_numpy()[first_row],
        ).astype(str)
        known = set(Practice.objects.values_list("code", flat=True))
        unknown = sorted(set(names.index) - known)
        warnings = []
        if unknown:
            warnings.append(
                f"{len(unknown)} practices in the file are not in the organisation data; they were "
                "created from the file's code and name without a PCN (closed or merged practices, "
                "or the practice map is older than the file)"
            )
            warnings += [f"practice {c} ({names[c].strip()}) created without a PCN" for c in unknown[:100]]
        publication = str(df["publication"].iloc[0]).strip()
        total = int(frame["patients"].sum())
        unknown_patients = (
            int(frame["patients"].to_numpy()[not_english].sum()) if not_english is not None else 0
        )
        meta = {
            "extract_date": extract_date,
            "publication": publication,
            "geography": str(geography),
            "geography_reason": why,
            "practices": int(len(names)),
            "patients": total,
            "unknown_lsoa_patients": unknown_patients,
            "rows_skipped_by_sex": int(n - keep.sum()),
            "unknown_practices": unknown,
            "practice_names": {c: names[c].strip() for c in unknown},
        }
        return Parsed(
            layout=table.layout.name,
            rows_read=n,
            rows_accepted=int(keep.sum()),
            rows_rejected=0,
            frame=frame,
            warnings=warnings,
            meta=meta,
            source_name=source_name,
        )

    def write(self, parsed, *, run):
        meta = parsed.meta
        snapshot, created = RegistrationSnapshot.objects.get_or_create(
            extract_date=meta["extract_date"], defaults={"geography": meta["geography"]}
        )
        replaced = 0 if created else snapshot.row_count
        partitioned = partitions.is_partitioned()
        if not created:
            # Profiles of the old rows go; they are recomputed after this write.
            DeprivationProfile.objects.filter(snapshot=snapshot).delete()
            if not partitioned:
                # A single set-based DELETE (no dependants, no signals).
                Registration.objects.filter(snapshot=snapshot).delete()
        snapshot.publication = meta["publication"]
        snapshot.geography = meta["geography"]
        snapshot.layout = parsed.layout
        snapshot.source_name = parsed.source_name
        snapshot.sha256 = run.sha256 if run is not None else ""
        snapshot.row_count = len(parsed.frame)
        snapshot.practice_count = meta["practices"]
        snapshot.patient_count = meta["patients"]
        snapshot.unknown_lsoa_patients = meta["unknown_lsoa_patients"]
        snapshot.imported_at = timezone.now()
        snapshot.save()
        # Practices created between parse and write are not created twice.
        existing = set(
            Practice.objects.filter(code__in=meta["unknown_practices"]).values_list("code", flat=True)
        )
        new = [
            Practice(code=c, name=meta["practice_names"][c] or c)
            for c in meta["unknown_practices"]
            if c not in existing
        ]
        Practice.objects.bulk_create(new, batch_size=1000)
        if partitioned:
            partitions.swap_in(snapshot.pk, parsed.frame)
        else:
            frame = parsed.frame.assign(snapshot_id=snapshot.pk)
            load_frame(Registration, frame, ["snapshot_id", "practice_code", "lsoa_code", "patients"])
        parsed.meta["snapshot_id"] = snapshot.pk
        return {
            "extract_date": meta["extract_date"].isoformat(),
            "snapshot_id": snapshot.pk,
            "rows": len(parsed.frame),
            "replaced_rows": replaced,
            "practices": meta["practices"],
            "practices_created": len(new),
            "patients": meta["patients"],
            "unknown_lsoa_patients": meta["unknown_lsoa_patients"],
            "geography": meta["geography"],
            "rows_skipped_by_sex": meta["rows_skipped_by_sex"],
        }

    def refresh_profiles(self, parsed, summary):
        from inequalities.profiles import recompute_profiles

        snapshot = RegistrationSnapshot.objects.get(pk=summary["snapshot_id"])
        return recompute_profiles(snapshot=snapshot, registrations=parsed.frame)
