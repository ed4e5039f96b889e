"""The GP registrations practice map (`gp-reg-pat-prac-map.csv`): practice -> PCN -> sub-ICB
location -> ICB -> NHS region, with names. Creates or updates every organisation on its code and
moves each practice's current PCN membership to the one the map gives.

Two published layouts: the current one (`SUB_ICB_LOCATION_*`, `ICB_*`) and the one before July
2022 (`CCG_*`, `STP_*`, as in the January 2022 file) — CCGs are stored as sub-ICB locations and
STPs as ICBs, which is what they became. PCN code `U` ("Unallocated") means no PCN. Names are
stored as published; pages title-case them for display (`nhs_title_case`).
"""

import numpy as np
import pandas as pd
from django.utils import timezone

from inequalities.models import ICB, PCN, Practice, Region, SubICB

from .base import (
    ICB_CODE,
    ONS_ICB,
    ONS_REGION,
    ONS_SUB_ICB,
    PCN_CODE,
    PRACTICE_CODE,
    REGION_CODE,
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
from .organisations import set_current_pcns, upsert
from .registrations import parse_extract_date

COMMON = {
    "practice": "PRACTICE_CODE",
    "practice_name": "PRACTICE_NAME",
    "pcn": "PCN_CODE",
    "pcn_name": "PCN_NAME",
    "region_ons": "ONS_COMM_REGION_CODE",
    "region": "COMM_REGION_CODE",
    "region_name": "COMM_REGION_NAME",
}
OPTIONAL = {
    "extract_date": "EXTRACT_DATE",
    "postcode": "PRACTICE_POSTCODE",
    "publication": "PUBLICATION",
}
CURRENT = Layout(
    name="practice map (SUB_ICB_LOCATION/ICB, from July 2022)",
    columns={
        **COMMON,
        "sub_icb_ons": "ONS_SUB_ICB_LOCATION_CODE",
        "sub_icb": "SUB_ICB_LOCATION_CODE",
        "sub_icb_name": "SUB_ICB_LOCATION_NAME",
        "icb_ons": "ONS_ICB_CODE",
        "icb": "ICB_CODE",
        "icb_name": "ICB_NAME",
    },
    optional=OPTIONAL,
)
PRE_2022 = Layout(
    name="practice map (CCG/STP, pre-July 2022)",
    columns={
        **COMMON,
        "sub_icb_ons": "ONS_CCG_CODE",
        "sub_icb": "CCG_CODE",
        "sub_icb_name": "CCG_NAME",
        "icb_ons": "ONS_STP_CODE",
        "icb": "STP_CODE",
        "icb_name": "STP_NAME",
    },
    optional=OPTIONAL,
)
UNALLOCATED = {"", "U"}
CHECKS = [  # field, pattern, what it is
    ("practice", PRACTICE_CODE, "a practice ODS code (a letter and 5 digits)"),
    ("sub_icb", SUB_ICB_CODE, "a sub-ICB location code (3 or 5 characters)"),
    ("sub_icb_ons", ONS_SUB_ICB, "an ONS sub-ICB location code (E38 and 6 digits)"),
    ("icb", ICB_CODE, "an ICB code (Q and 2 characters)"),
    ("icb_ons", ONS_ICB, "an ONS ICB code (E54 and 6 digits)"),
    ("region", REGION_CODE, "an NHS region code (Y and 2 digits)"),
    ("region_ons", ONS_REGION, "an ONS region code (E40 and 6 digits)"),
]


def check_one_parent(errors, table, df, child, parent, what):
    """Each child code must name one parent (and one name) throughout the file."""
    pairs = df[[child, parent]].drop_duplicates()
    clash = pairs[pairs[child].duplicated(keep=False)]
    for code, group in clash.groupby(child, sort=True):
        rows = np.flatnonzero((df[child] == code).to_numpy())
        values = ", ".join(sorted(group[parent].astype(str)))
        errors.add(
            table.line(rows[0]),
            table.headers[parent],
            f"{table.headers[child]} {code} has more than one {what} ({values})",
        )


@register
class PracticeMapImporter(Importer):
    kind = "practice_map"
    layouts = (CURRENT, PRE_2022)

    def parse(self, path, *, source_name, progress=lambda pct, msg: None):
        table = self.read(path, source_name=source_name, progress=progress)
        progress(50, "Validating")
        df = table.frame
        for col in df.columns:
            df[col] = stripped(df[col])
        df["pcn"] = df["pcn"].str.upper()
        errors = Errors(table.file, table.rows)
        for f, pattern, what in CHECKS:
            errors.add_mask(table, blank(df[f]), f, "missing value")
            errors.add_mask(
                table,
                mismatch(df[f], pattern) & ~blank(df[f]),
                f,
                lambda v, what=what: f"'{v}' is not {what}",
            )
        no_pcn = df["pcn"].isin(UNALLOCATED).to_numpy()
        errors.add_mask(
            table,
            mismatch(df["pcn"], PCN_CODE) & ~no_pcn,
            "pcn",
            lambda v: f"'{v}' is not a PCN code (U and 5 digits, or U for unallocated)",
        )
        dup = df["practice"].duplicated(keep="first").to_numpy()
        errors.add_mask(table, dup, "practice", lambda v: f"practice {v} appears more than once")
        check_one_parent(errors, table, df, "sub_icb", "icb", "ICB")
        check_one_parent(errors, table, df, "icb", "region", "region")
        check_one_parent(errors, table, df, "sub_icb", "sub_icb_name", "name")
        check_one_parent(errors, table, df, "icb", "icb_name", "name")
        check_one_parent(errors, table, df, "region", "region_name", "name")
        check_one_parent(errors, table, df.loc[~no_pcn], "pcn", "pcn_name", "name")
        extract_date = None
        if "extract_date" in df:
            dates = {d: parse_extract_date(d) for d in df["extract_date"].unique()}
            bad = [d for d, v in dates.items() if v is None]
            errors.add_mask(
                table,
                df["extract_date"].isin(bad).to_numpy(),
                "extract_date",
                lambda v: f"'{v}' is not an extract date like 01Jan2022",
            )
            good = sorted({v for v in dates.values() if v})
            if len(good) > 1:
                errors.file_error("the file holds several extract dates: import one map at a time")
            extract_date = good[0] if good else None
        errors.raise_if_any(layout=table.layout.name, rows_read=table.rows)
        df["pcn"] = np.where(no_pcn, "", df["pcn"])
        if "postcode" not in df:
            df["postcode"] = ""
        meta = {
            "extract_date": extract_date or timezone.localdate(),
            "practices": int(len(df)),
            "practices_without_pcn": int(no_pcn.sum()),
            "pcns": int(df.loc[~no_pcn, "pcn"].nunique()),
            "sub_icbs": int(df["sub_icb"].nunique()),
            "icbs": int(df["icb"].nunique()),
            "regions": int(df["region"].nunique()),
        }
        warnings = []
        if no_pcn.any():
            warnings.append(f"{int(no_pcn.sum())} practices have no PCN (PCN code U, unallocated)")
        return Parsed(
            layout=table.layout.name,
            rows_read=table.rows,
            rows_accepted=table.rows,
            rows_rejected=0,
            frame=df.reset_index(drop=True),
            warnings=warnings,
            meta=meta,
            source_name=source_name,
        )

    def write(self, parsed, *, run):
        return write_hierarchy(parsed.frame, parsed.meta["extract_date"])


def _first(df, key, cols):
    return df.drop_duplicates(key).set_index(key)[cols].to_dict("index")


def write_hierarchy(df: pd.DataFrame, day) -> dict:
    summary = {}
    regions = {
        code: {"name": v["region_name"], "ons_code": v["region_ons"]}
        for code, v in _first(df, "region", ["region_name", "region_ons"]).items()
    }
    regions, summary["regions_created"], summary["regions_updated"] = upsert(
        Region, regions, ["name", "ons_code"]
    )
    icbs = {
        code: {"name": v["icb_name"], "ons_code": v["icb_ons"], "region_id": regions[v["region"]].pk}
        for code, v in _first(df, "icb", ["icb_name", "icb_ons", "region"]).items()
    }
    icbs, summary["icbs_created"], summary["icbs_updated"] = upsert(
        ICB, icbs, ["name", "ons_code", "region_id"]
    )
    subs = {
        code: {"name": v["sub_icb_name"], "ons_code": v["sub_icb_ons"], "icb_id": icbs[v["icb"]].pk}
        for code, v in _first(df, "sub_icb", ["sub_icb_name", "sub_icb_ons", "icb"]).items()
    }
    subs, summary["sub_icbs_created"], summary["sub_icbs_updated"] = upsert(
        SubICB, subs, ["name", "ons_code", "icb_id"]
    )
    with_pcn = df[df["pcn"] != ""]
    # The map does not give a PCN's own sub-ICB location: take its practices' most common one.
    pcn_sub = with_pcn.groupby("pcn")["sub_icb"].agg(lambda s: s.value_counts().index[0])
    pcn_names = with_pcn.drop_duplicates("pcn").set_index("pcn")["pcn_name"]
    pcns = {code: {"name": pcn_names[code], "sub_icb_id": subs[pcn_sub[code]].pk} for code in pcn_names.index}
    pcns, summary["pcns_created"], summary["pcns_updated"] = upsert(PCN, pcns, ["name", "sub_icb_id"])
    practices = {
        row.practice: {
            "name": row.practice_name,
            "postcode": row.postcode,
            "sub_icb_id": subs[row.sub_icb].pk,
        }
        for row in df[["practice", "practice_name", "postcode", "sub_icb"]].itertuples(index=False)
    }
    practices, summary["practices_created"], summary["practices_updated"] = upsert(
        Practice, practices, ["name", "postcode", "sub_icb_id"]
    )
    summary.update(
        set_current_pcns(
            dict(zip(df["practice"], df["pcn"], strict=True)), practices=practices, pcns=pcns, day=day
        )
    )
    summary["practices"] = len(df)
    summary["pcns"] = len(pcns)
    summary["sub_icbs"] = len(subs)
    summary["icbs"] = len(icbs)
    summary["regions"] = len(regions)
    return summary
