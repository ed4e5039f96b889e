"""Tables of the dashboard pages: filters and sorting from the URL, and each table's CSV — the
same rows and columns the page shows, with raw numbers."""

from __future__ import annotations

from dataclasses import dataclass

from dashboards.aggregates import INDICATORS
from dashboards.figures import STATUS_LABELS, STATUS_ORDER
from inequalities.names import nhs_title_case
from interventions.spc import Variation

PCN_FIELDS = [
    "id",
    "aggregate_set_id",
    "code",
    "name",
    "sub_icb_code",
    "icb_code",
    "icb_name",
    "region_code",
    "region_name",
    "practice_count",
    "registered_patients",
    "core20_patients",
    "unknown_patients",
    "core20_share",
    "decile_patients",
    "imd_score",
    "imd_quintile",
    "hi_lead",
    "hi_lead_since",
    "plans_total",
    "plans_by_status",
    "measures_total",
    "measures_improving",
    "measures_concerning",
]
SORTS = {
    "name": "PCN",
    "practice_count": "Practices",
    "registered_patients": "Registered patients",
    "core20_share": "Core20 share",
    "imd_quintile": "IMD quintile",
    "hi_lead": "HI lead",
    "plans_total": "Plans",
    "measures_improving": "Measures improving",
    "measures_concerning": "Measures of concern",
}


def query_without(request, *names):
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


@dataclass
class PCNFilter:
    q: str = ""
    quintile: int | None = None
    lead: str = ""  # "yes", "no" or ""
    icb: str = ""
    sort: str = "name"
    descending: bool = False

    @classmethod
    def from_request(cls, request, *, icb_codes=None):
        get = request.GET
        quintile = get.get("quintile", "")
        icb = get.get("icb", "")
        return cls(
            q=get.get("q", "").strip()[:100],
            quintile=int(quintile) if quintile in {"1", "2", "3", "4", "5"} else None,
            lead=get.get("lead", "") if get.get("lead", "") in {"yes", "no"} else "",
            icb=icb if icb_codes is not None and icb in icb_codes else "",
            sort=get.get("sort", "name") if get.get("sort", "name") in SORTS else "name",
            descending=get.get("dir") == "desc",
        )

    def key(self):
        return (self.q.lower(), self.quintile, self.lead, self.icb, self.sort, self.descending)

    @property
    def active(self):
        return bool(self.q or self.quintile or self.lead or self.icb)

    def apply(self, rows):
        q = self.q.lower()
        out = [
            r
            for r in rows
            if (not q or q in r.name.lower() or q in r.code.lower())
            and (self.quintile is None or r.imd_quintile == self.quintile)
            and (not self.lead or (self.lead == "yes") == bool(r.hi_lead))
            and (not self.icb or r.icb_code == self.icb)
        ]

        def value(r):
            v = getattr(r, self.sort)
            return v.lower() if isinstance(v, str) else v

        present = [r for r in out if getattr(r, self.sort) not in (None, "")]
        absent = [r for r in out if getattr(r, self.sort) in (None, "")]
        present.sort(key=lambda r: (r.name.lower(), r.code))
        present.sort(key=value, reverse=self.descending)  # stable: ties stay in name order
        absent.sort(key=lambda r: (r.name.lower(), r.code))
        return present + absent

    def apply_queryset(self, qs):
        from django.db.models import F, Q

        if self.q:
            qs = qs.filter(Q(name__icontains=self.q) | Q(code__icontains=self.q))
        if self.quintile is not None:
            qs = qs.filter(imd_quintile=self.quintile)
        if self.lead == "yes":
            qs = qs.exclude(hi_lead="")
        elif self.lead == "no":
            qs = qs.filter(hi_lead="")
        if self.icb:
            qs = qs.filter(icb_code=self.icb)
        field = F(self.sort)
        order = field.desc(nulls_last=True) if self.descending else field.asc(nulls_last=True)
        return qs.order_by(order, "name", "code")


def sort_links(request, pcn_filter):
    """Header links that sort by each column (again: reverse), keeping the filters."""
    links = {}
    for field, label in SORTS.items():
        params = request.GET.copy()
        params.pop("download", None)
        params["sort"] = field
        descending = pcn_filter.sort == field and not pcn_filter.descending
        if descending:
            params["dir"] = "desc"
        else:
            params.pop("dir", None)
        current = pcn_filter.sort == field
        links[field] = {
            "label": label,
            "href": "?" + params.urlencode(),
            "aria_sort": ("descending" if pcn_filter.descending else "ascending") if current else "none",
        }
    return links


def plans_summary(by_status):
    return "; ".join(f"{STATUS_LABELS[k]}: {by_status[k]}" for k, _ in STATUS_ORDER if by_status.get(k))


PCN_CSV_HEADER = [
    "pcn_code",
    "pcn_name",
    "icb_code",
    "practices",
    "registered_patients",
    "core20_patients",
    "core20_share_percent",
    "unknown_patients",
    "imd_score",
    "imd_national_quintile",
    "hi_lead",
    "plans",
    "plans_by_status",
    "measures_improving",
    "measures_concerning",
    "imd_edition",
    "extract_date",
]


def pcn_csv(rows, agg):
    def lines():
        for r in rows:
            yield [
                r.code,
                nhs_title_case(r.name),
                r.icb_code,
                r.practice_count,
                r.registered_patients,
                r.core20_patients,
                "" if r.core20_share is None else f"{r.core20_share * 100:.1f}",
                r.unknown_patients,
                "" if r.imd_score is None else f"{r.imd_score:.1f}",
                r.imd_quintile,
                r.hi_lead,
                r.plans_total,
                plans_summary(r.plans_by_status),
                r.measures_improving,
                r.measures_concerning,
                agg.edition.year,
                agg.snapshot.extract_date.isoformat(),
            ]

    return PCN_CSV_HEADER, lines()


def area_csv(areas):
    header = [
        "icb_code",
        "icb_name",
        "region_code",
        "pcns",
        "practices",
        "registered_patients",
        "core20_patients",
        "core20_share_percent",
        "unknown_patients",
        "imd_score",
        "pcns_with_hi_lead",
    ]
    return header, (
        [
            a.code,
            nhs_title_case(a.name),
            a.parent_code,
            a.pcn_count,
            a.practice_count,
            a.registered_patients,
            a.core20_patients,
            "" if a.core20_share is None else f"{a.core20_share * 100:.1f}",
            a.unknown_patients,
            "" if a.imd_score is None else f"{a.imd_score:.1f}",
            a.pcns_with_lead,
        ]
        for a in areas
    )


def _pct(v):
    return "" if v is None else f"{v * 100:.1f}"


def inequality_display(rows):
    out = []
    for r in rows:
        indicator = INDICATORS.get(r.indicator)
        if indicator is None:
            continue
        values = [(x / n * 100) if n else None for x, n in zip(r.numerators, r.denominators, strict=True)]
        out.append(
            {
                "indicator": indicator.title,
                "quarter": r.quarter_start,
                "q1": values[0],
                "q5": values[-1],
                "gap": None if r.gap is None else r.gap * 100,
                "gap_lower": None if r.gap_lower is None else r.gap_lower * 100,
                "gap_upper": None if r.gap_upper is None else r.gap_upper * 100,
                "ratio": r.ratio,
                "sii": None if r.sii is None else r.sii * 100,
                "sii_lower": None if r.sii_lower is None else r.sii_lower * 100,
                "sii_upper": None if r.sii_upper is None else r.sii_upper * 100,
                "rii": r.rii,
                "rii_lower": r.rii_lower,
                "rii_upper": r.rii_upper,
                "note": r.note,
            }
        )
    return out


INEQUALITY_HEADER = [
    "indicator",
    "quarter_start",
    "q1_percent",
    "q5_percent",
    "gap_points",
    "gap_lower",
    "gap_upper",
    "ratio",
    "sii_points",
    "sii_lower",
    "sii_upper",
    "rii",
    "rii_lower",
    "rii_upper",
    "note",
]


def inequality_csv(rows):
    def fmt(v, d=1):
        return "" if v is None else f"{v:.{d}f}"

    return INEQUALITY_HEADER, (
        [
            d["indicator"],
            d["quarter"].isoformat(),
            fmt(d["q1"]),
            fmt(d["q5"]),
            fmt(d["gap"]),
            fmt(d["gap_lower"]),
            fmt(d["gap_upper"]),
            fmt(d["ratio"], 2),
            fmt(d["sii"]),
            fmt(d["sii_lower"]),
            fmt(d["sii_upper"]),
            fmt(d["rii"], 2),
            fmt(d["rii_lower"], 2),
            fmt(d["rii_upper"], 2),
            d["note"],
        ]
        for d in inequality_display(rows)
    )


def plans_display(plans):
    out = []
    for plan in plans:
        measures = []
        for m in plan.get("measures", []):
            try:
                variation = Variation(m["variation"])
                label = variation.label
                tag = "blue" if variation.is_improvement else "orange" if variation.is_concern else "grey"
            except ValueError:
                label, tag = m["variation"], "grey"
            measures.append({**m, "label": label, "tag": tag})
        out.append(
            {**plan, "status_label": STATUS_LABELS.get(plan["status"], plan["status"]), "measures": measures}
        )
    return out


def plans_csv(plans):
    header = ["plan", "status", "measure", "latest_period", "latest_value", "values_recorded", "spc_state"]
    rows = []
    for plan in plans_display(plans):
        if not plan["measures"]:
            rows.append([plan["title"], plan["status_label"], "", "", "", "", ""])
        for m in plan["measures"]:
            rows.append(
                [
                    plan["title"],
                    plan["status_label"],
                    m["measure"],
                    m["period"] or "",
                    "" if m["value"] is None else f"{m['value']:.1f}",
                    m["points"],
                    m["label"],
                ]
            )
    return header, rows


def targets_display(latest):
    out = []
    for indicator, t in latest:
        out.append(
            {
                "title": indicator.title,
                "quarter": t.quarter_start,
                "numerator": t.numerator,
                "denominator": t.denominator,
                "value": t.value * 100,
                "lower": t.lower * 100,
                "upper": t.upper * 100,
                "threshold": None if indicator.threshold is None else indicator.threshold * 100,
                "threshold_label": indicator.threshold_label,
                "met": indicator.threshold is None or t.value >= indicator.threshold,
            }
        )
    return out


def targets_csv(latest):
    header = [
        "target",
        "quarter_start",
        "numerator",
        "denominator",
        "percent",
        "lower_95",
        "upper_95",
        "threshold_percent",
        "meets_threshold",
    ]
    return header, (
        [
            d["title"],
            d["quarter"].isoformat(),
            d["numerator"],
            d["denominator"],
            f"{d['value']:.1f}",
            f"{d['lower']:.1f}",
            f"{d['upper']:.1f}",
            "" if d["threshold"] is None else f"{d['threshold']:.0f}",
            "yes" if d["met"] else "no",
        ]
        for d in targets_display(latest)
    )
