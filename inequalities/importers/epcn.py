"""ODS ePCN files: practice -> PCN memberships with dates, and PCN details.

Two layouts under one kind (the file's header decides):

* **ePCN core partner details** (sheet `PCN Core Partner Details`, or CSV): one row per practice
  to PCN relationship with start and end dates (`YYYYMMDD`; an empty end = current). For every
  practice in the file its memberships become exactly the file's rows (history included).
* **ePCN PCN details** (`PCNDetails`): PCN name, parent sub-ICB location, open and close dates.

The ePCN files carry no ICB or region, so sub-ICB locations come from the practice map: a PCN whose
parent sub-ICB location the portal does not know cannot be created, and its rows are skipped with
a warning (an existing PCN is still updated). XLSX headers hold line breaks: white space is
normalised before matching.
"""

from datetime import datetime

import numpy as np
import pandas as pd

from inequalities.models import PCN, Practice, PracticePCNMembership, SubICB

from .base import (
    PCN_CODE,
    PRACTICE_CODE,
    SUB_ICB_CODE,
    Errors,
    Importer,
    Layout,
    Parsed,
    blank,
    mismatch,
    register,
    stripped,
)
from .organisations import upsert

CORE = Layout(
    name="ePCN core partner details",
    columns={
        "practice": "Partner Organisation Code",
        "practice_name": "Partner Name",
        "practice_sub_icb": "Practice Parent Sub ICB Loc Code",
        "practice_sub_icb_name": "Practice Parent Sub ICB Loc Name",
        "pcn": "PCN Code",
        "pcn_name": "PCN Name",
        "pcn_sub_icb": "PCN Parent Sub ICB Loc Code",
        "pcn_sub_icb_name": "PCN Parent Sub ICB Loc Name",
        "start": "Practice to PCN Relationship Start Date",
        "end": "Practice to PCN Relationship End Date",
    },
)
DETAILS = Layout(
    name="ePCN PCN details",
    columns={
        "pcn": "PCN Code",
        "pcn_name": "PCN Name",
        "pcn_sub_icb": "Current Sub ICB Loc Code",
        "pcn_sub_icb_name": "Sub ICB Location",
        "open": "Open Date",
        "close": "Close Date",
    },
    optional={"postcode": "Postcode"},
)


def parse_dates(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """YYYYMMDD (or YYYY-MM-DD) -> array of date|None, and a mask of unreadable values."""
    values = np.empty(len(series), dtype=object)
    bad = np.zeros(len(series), dtype=bool)
    cache = {}
    for i, text in enumerate(series.to_numpy()):
        text = str(text).strip()
        if text not in cache:
            parsed = None
            if text:
                for fmt in ("%Y%m%d", "%Y-%m-%d"):
                    try:
                        parsed = datetime.strptime(text, fmt).date()
                        break
                    except ValueError:
                        continue
            cache[text] = (parsed, bool(text) and parsed is None)
        values[i], bad[i] = cache[text]
    return values, bad


def _check_codes(errors, table, df, checks):
    for f, pattern, what in checks:
        errors.add_mask(table, blank(df[f]), f, "missing value")
        errors.add_mask(
            table, mismatch(df[f], pattern) & ~blank(df[f]), f, lambda v, what=what: f"'{v}' is not {what}"
        )


@register
class EpcnImporter(Importer):
    kind = "epcn"
    layouts = (CORE, DETAILS)

    def parse(self, path, *, source_name, progress=lambda pct, msg: None):
        table = self.read(path, source_name=source_name, progress=progress)
        progress(50, "Validating")
        df = table.frame
        for col in df.columns:
            df[col] = stripped(df[col])
        errors = Errors(table.file, table.rows)
        known_subs = set(SubICB.objects.values_list("code", flat=True))
        known_pcns = set(PCN.objects.values_list("code", flat=True))
        warnings = []
        if table.layout is CORE:
            _check_codes(
                errors,
                table,
                df,
                [
                    ("practice", PRACTICE_CODE, "a practice ODS code (a letter and 5 digits)"),
                    ("pcn", PCN_CODE, "a PCN code (U and 5 digits)"),
                    ("practice_sub_icb", SUB_ICB_CODE, "a sub-ICB location code"),
                    ("pcn_sub_icb", SUB_ICB_CODE, "a sub-ICB location code"),
                ],
            )
            start, bad_start = parse_dates(df["start"])
            end, bad_end = parse_dates(df["end"])
            errors.add_mask(table, bad_start, "start", lambda v: f"'{v}' is not a date (YYYYMMDD)")
            errors.add_mask(table, bad_end, "end", lambda v: f"'{v}' is not a date (YYYYMMDD)")
            errors.add_mask(table, blank(df["start"]), "start", "missing start date")
            before = np.array([bool(s and e and e < s) for s, e in zip(start, end, strict=True)], dtype=bool)
            errors.add_mask(table, before, "end", lambda v: f"end date {v} is before the start date")
            df["start"], df["end"] = start, end
            dup = df.duplicated(["practice", "pcn", "start"], keep="first").to_numpy()
            errors.add_mask(
                table, dup, "start", "the same practice, PCN and start date appear on an earlier line"
            )
            errors.raise_if_any(layout=table.layout.name, rows_read=table.rows)
            creatable = df["pcn"].isin(known_pcns) | df["pcn_sub_icb"].isin(known_subs)
            skipped = df.loc[~creatable]
            for code, group in list(skipped.groupby("pcn"))[:100]:
                warnings.append(
                    f"PCN {code} ({group['pcn_name'].iloc[0]}): parent sub-ICB location "
                    f"{group['pcn_sub_icb'].iloc[0]} is not known (import the practice map first); "
                    f"{len(group)} rows skipped"
                )
            frame = df.loc[creatable].reset_index(drop=True)
            current = frame["end"].isna()
            meta = {
                "file": "core partner details",
                "relationships": int(len(frame)),
                "current": int(current.sum()),
                "practices": int(frame["practice"].nunique()),
                "pcns": int(frame["pcn"].nunique()),
                "skipped_rows": int(len(skipped)),
            }
        else:
            _check_codes(
                errors,
                table,
                df,
                [
                    ("pcn", PCN_CODE, "a PCN code (U and 5 digits)"),
                    ("pcn_sub_icb", SUB_ICB_CODE, "a sub-ICB location code"),
                ],
            )
            opened, bad_open = parse_dates(df["open"])
            closed, bad_close = parse_dates(df["close"])
            errors.add_mask(table, bad_open, "open", lambda v: f"'{v}' is not a date (YYYYMMDD)")
            errors.add_mask(table, bad_close, "close", lambda v: f"'{v}' is not a date (YYYYMMDD)")
            df["open"], df["close"] = opened, closed
            dup = df["pcn"].duplicated(keep="first").to_numpy()
            errors.add_mask(table, dup, "pcn", lambda v: f"PCN {v} appears more than once")
            errors.raise_if_any(layout=table.layout.name, rows_read=table.rows)
            creatable = df["pcn"].isin(known_pcns) | df["pcn_sub_icb"].isin(known_subs)
            skipped = df.loc[~creatable]
            for row in skipped.head(100).itertuples(index=False):
                warnings.append(
                    f"PCN {row.pcn} ({row.pcn_name}): sub-ICB location {row.pcn_sub_icb} is not known "
                    "(import the practice map first); skipped"
                )
            frame = df.loc[creatable].reset_index(drop=True)
            meta = {
                "file": "PCN details",
                "pcns": int(len(frame)),
                "open": int(frame["close"].isna().sum()),
                "skipped_rows": int(len(skipped)),
            }
        if len(skipped) > 100:
            warnings.append(f"... and {len(skipped) - 100} more rows skipped")
        return Parsed(
            layout=table.layout.name,
            rows_read=table.rows,
            rows_accepted=int(len(frame)),
            rows_rejected=int(len(skipped)),
            frame=frame,
            warnings=warnings,
            meta=meta,
            source_name=source_name,
        )

    def write(self, parsed, *, run):
        if parsed.layout == CORE.name:
            return write_core(parsed.frame)
        return write_details(parsed.frame)


def _subs():
    return dict(SubICB.objects.values_list("code", "pk"))


def write_details(df):
    subs = _subs()
    rows = {}
    for row in df.itertuples(index=False):
        values = {"name": row.pcn_name, "opened_on": row.open, "closed_on": row.close}
        if row.pcn_sub_icb in subs:
            values["sub_icb_id"] = subs[row.pcn_sub_icb]
        rows[row.pcn] = values
    with_sub = {c: v for c, v in rows.items() if "sub_icb_id" in v}
    without = {c: v for c, v in rows.items() if "sub_icb_id" not in v}
    _, created, updated = upsert(PCN, with_sub, ["name", "opened_on", "closed_on", "sub_icb_id"])
    _, _, updated2 = upsert(PCN, without, ["name", "opened_on", "closed_on"]) if without else ({}, 0, 0)
    return {"pcns": len(rows), "pcns_created": created, "pcns_updated": updated + updated2}


def write_core(df):
    subs = _subs()
    # A PCN's name and parent: from its current rows first, else its latest.
    ordered = df.assign(_current=df["end"].isna()).sort_values(
        ["_current", "start"], ascending=[False, False], kind="stable"
    )
    pcn_rows = ordered.drop_duplicates("pcn")
    pcns_with = {
        r.pcn: {"name": r.pcn_name, "sub_icb_id": subs[r.pcn_sub_icb]}
        for r in pcn_rows.itertuples(index=False)
        if r.pcn_sub_icb in subs
    }
    pcns_without = {
        r.pcn: {"name": r.pcn_name} for r in pcn_rows.itertuples(index=False) if r.pcn_sub_icb not in subs
    }
    pcns, pcns_created, pcns_updated = upsert(PCN, pcns_with, ["name", "sub_icb_id"])
    if pcns_without:
        more, _, updated = upsert(PCN, pcns_without, ["name"])
        pcns.update(more)
        pcns_updated += updated
    prac_rows = ordered.drop_duplicates("practice")
    with_sub = {
        r.practice: {"name": r.practice_name, "sub_icb_id": subs[r.practice_sub_icb]}
        for r in prac_rows.itertuples(index=False)
        if r.practice_sub_icb in subs
    }
    without = {
        r.practice: {"name": r.practice_name}
        for r in prac_rows.itertuples(index=False)
        if r.practice_sub_icb not in subs
    }
    practices, practices_created, practices_updated = upsert(Practice, with_sub, ["name", "sub_icb_id"])
    if without:
        more, created, updated = upsert(Practice, without, ["name"])
        practices.update(more)
        practices_created += created
        practices_updated += updated
    # Memberships of the listed practices become exactly the file's rows.
    desired = {(practices[r.practice].pk, pcns[r.pcn].pk, r.start): r.end for r in df.itertuples(index=False)}
    existing = {
        (m.practice_id, m.pcn_id, m.start_date): m
        for m in PracticePCNMembership.objects.filter(practice_id__in={k[0] for k in desired})
    }
    stale = [m.pk for key, m in existing.items() if key not in desired]
    changed = []
    for key, end in desired.items():
        m = existing.get(key)
        if m is not None and m.end_date != end:
            m.end_date = end
            changed.append(m)
    new = [
        PracticePCNMembership(practice_id=k[0], pcn_id=k[1], start_date=k[2], end_date=end)
        for k, end in desired.items()
        if k not in existing
    ]
    PracticePCNMembership.objects.filter(pk__in=stale).delete()
    PracticePCNMembership.objects.bulk_update(changed, ["end_date"], batch_size=1000)
    PracticePCNMembership.objects.bulk_create(new, batch_size=1000)
    return {
        "relationships": len(desired),
        "memberships_created": len(new),
        "memberships_updated": len(changed),
        "memberships_removed": len(stale),
        "pcns_created": pcns_created,
        "pcns_updated": pcns_updated,
        "practices_created": practices_created,
        "practices_updated": practices_updated,
    }
