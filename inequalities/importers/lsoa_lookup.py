"""ONS LSOA 2011 -> 2021 lookup, so that an IMD edition on one census geography can be applied to
a GP register coded in the other. Two layouts: ONS's own (`LSOA11CD`, `LSOA21CD`, `CHGIND`) and
the renamed copy (`lsoa11_code`, `change_code`, `lsoa21_code`). The whole table is replaced."""

import numpy as np

from inequalities.models import LsoaLookup

from .base import LSOA_ANY, Errors, Importer, Layout, Parsed, blank, mismatch, register, stripped
from .bulk import load_frame

ONS = Layout(
    name="ONS LSOA 2011 to 2021 lookup",
    columns={"lsoa11": "LSOA11CD", "lsoa21": "LSOA21CD", "change": "CHGIND"},
    optional={"lsoa11_name": "LSOA11NM", "lsoa21_name": "LSOA21NM"},
)
RENAMED = Layout(
    name="LSOA 2011 to 2021 lookup (renamed columns)",
    columns={"lsoa11": "lsoa11_code", "change": "change_code", "lsoa21": "lsoa21_code"},
    optional={"lsoa11_name": "lsoa11_name", "lsoa21_name": "lsoa21_name"},
)
CHANGES = {"U", "S", "M", "X"}


@register
class LsoaLookupImporter(Importer):
    kind = "lsoa_lookup"
    layouts = (ONS, RENAMED)

    def parse(self, path, *, source_name, progress=lambda pct, msg: None):
        table = self.read(path, source_name=source_name, progress=progress)
        df = table.frame
        for f in ("lsoa11", "lsoa21", "change"):
            df[f] = stripped(df[f])
        df["change"] = df["change"].str.upper()
        errors = Errors(table.file, table.rows)
        for f, census in (("lsoa11", "2011"), ("lsoa21", "2021")):
            errors.add_mask(table, blank(df[f]), f, "missing LSOA code")
            errors.add_mask(
                table,
                mismatch(df[f], LSOA_ANY) & ~blank(df[f]),
                f,
                lambda v, census=census: f"'{v}' is not an LSOA {census} code (E01/W01 and 6 digits)",
            )
        errors.add_mask(
            table,
            ~df["change"].isin(CHANGES).to_numpy(),
            "change",
            lambda v: f"'{v}' is not a change indicator (U, S, M or X)",
        )
        dup = df.duplicated(["lsoa11", "lsoa21"], keep="first").to_numpy()
        errors.add_mask(table, dup, "lsoa21", lambda v: f"duplicate pair for LSOA 2021 {v}")
        errors.raise_if_any(layout=table.layout.name, rows_read=table.rows)
        frame = df[["lsoa11", "lsoa21", "change"]].rename(
            columns={"lsoa11": "lsoa11_code", "lsoa21": "lsoa21_code"}
        )
        counts = frame["change"].value_counts().to_dict()
        return Parsed(
            layout=table.layout.name,
            rows_read=table.rows,
            rows_accepted=table.rows,
            rows_rejected=0,
            frame=frame.reset_index(drop=True),
            meta={
                "changes": {k: int(v) for k, v in sorted(counts.items())},
                "england_pairs": int(np.sum(frame["lsoa11_code"].str.startswith("E01"))),
            },
            source_name=source_name,
        )

    def write(self, parsed, *, run):
        deleted, _ = LsoaLookup.objects.all().delete()
        load_frame(LsoaLookup, parsed.frame, ["lsoa11_code", "lsoa21_code", "change"])
        return {"pairs": len(parsed.frame), "replaced": deleted, **parsed.meta}
