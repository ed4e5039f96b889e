"""Replace the dashboard aggregates of an (IMD edition, registration extract) pair.

Reads every input once (`dashboards.sources`), computes with pandas (`dashboards.aggregates`)
and swaps the pair's rows in one transaction: delete, then COPY (PostgreSQL) or batched INSERTs
(`inequalities.importers.bulk.load_frame`). Readers see either the old figures or the new ones.
An advisory lock keeps two refreshes from interleaving.
"""

from __future__ import annotations

import json
import time

from django.db import transaction
from django.utils import timezone

from dashboards import aggregates, sources
from dashboards.models import (
    AggregateSet,
    AreaSummary,
    InequalitySummary,
    PCNOverview,
    PracticeSummary,
    TargetValue,
)
from inequalities.importers.bulk import load_frame
from inequalities.imports import advisory_lock
from inequalities.models import DeprivationProfile, ImdEdition, RegistrationSnapshot
from pcn_portal import versioned_cache


def pairs_with_profiles():
    keys = set(DeprivationProfile.objects.values_list("edition_id", "snapshot_id").distinct())
    editions = ImdEdition.objects.in_bulk({e for e, _ in keys})
    snapshots = RegistrationSnapshot.objects.in_bulk({s for _, s in keys})
    return [(editions[e], snapshots[s]) for e, s in sorted(keys)]


def _json(values):
    return [json.dumps(v, default=str) for v in values]


def _nullable(series):
    return series.astype(object).where(series.notna(), None)


def _write(model, frame, columns, set_id):
    if not len(frame):
        return 0
    frame = frame.assign(aggregate_set_id=set_id)
    for column in columns:
        if column in frame and frame[column].dtype.kind in "fO":
            frame[column] = _nullable(frame[column])
    return load_frame(model, frame, ["aggregate_set_id", *columns])


def refresh_aggregates(*, edition=None, snapshot=None, sii_repetitions=aggregates.SII_REPETITIONS) -> list:
    """Recompute the aggregates of every pair with profiles (or only those of the given edition
    and/or snapshot). Pairs that lost their profiles lose their aggregates. Returns the sets."""
    pairs = [
        (e, s)
        for e, s in pairs_with_profiles()
        if (edition is None or e.pk == edition.pk) and (snapshot is None or s.pk == snapshot.pk)
    ]
    orgs = sources.organisations()
    inputs = {
        "leads": sources.hi_leads(),
        "plans": sources.plans(),
        "measurements": sources.measurements(),
        "returns": sources.priority_returns(),
        "activities": sources.lead_activities(),
    }
    written = []
    with transaction.atomic():
        advisory_lock("dashboards")
        if edition is None and snapshot is None:
            keep = [(e.pk, s.pk) for e, s in pairs]
            stale = AggregateSet.objects.all()
            for e, s in keep:
                stale = stale.exclude(edition_id=e, snapshot_id=s)
            stale.delete()
        for ed, snap in pairs:
            started = time.monotonic()
            tables = aggregates.compute(
                profiles=sources.profiles(ed, snap), orgs=orgs, sii_repetitions=sii_repetitions, **inputs
            )
            agg, _ = AggregateSet.objects.update_or_create(
                edition=ed, snapshot=snap, defaults={"computed_at": timezone.now()}
            )
            for model in (AreaSummary, PCNOverview, PracticeSummary, TargetValue, InequalitySummary):
                model.objects.filter(aggregate_set=agg).delete()
            _write_tables(agg, tables)
            agg.pcn_count = len(tables["pcns"])
            agg.practice_count = len(tables["practices"])
            agg.latest_quarter = tables["latest_quarter"]
            agg.method = tables["method"]
            agg.computed_at = timezone.now()
            agg.duration_ms = int((time.monotonic() - started) * 1000)
            agg.save()
            written.append(agg)
    return written


def _write_tables(agg, tables):
    practices = tables["practices"].copy()
    practices["decile_patients"] = _json(practices["decile_patients"])
    # aggregates.practice_table names exactly the model's fields
    _write(PracticeSummary, practices, list(practices.columns), agg.pk)
    pcns = tables["pcns"].copy()
    for column in ("decile_patients", "plans_by_status", "plans", "lead_activities"):
        pcns[column] = _json(pcns[column])
    pcns["hi_lead_since"] = _nullable(pcns["hi_lead_since"])
    _write(
        PCNOverview,
        pcns,
        [
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
            "lead_activity_count",
            "lead_activities",
            "plans_total",
            "plans_by_status",
            "measures_total",
            "measures_improving",
            "measures_concerning",
            "plans",
        ],
        agg.pk,
    )
    areas = tables["areas"].copy()
    if len(areas):
        areas["decile_patients"] = _json(areas["decile_patients"])
        areas["plans_by_status"] = _json(areas["plans_by_status"])
    _write(
        AreaSummary,
        areas,
        [
            "level",
            "code",
            "name",
            "parent_code",
            "parent_name",
            "pcn_count",
            "practice_count",
            "registered_patients",
            "core20_patients",
            "unknown_patients",
            "core20_share",
            "decile_patients",
            "imd_score",
            "pcns_with_lead",
            "plans_by_status",
            "measures_improving",
            "measures_concerning",
        ],
        agg.pk,
    )
    _write(
        TargetValue,
        tables["targets"],
        [
            "level",
            "code",
            "icb_code",
            "indicator",
            "quarter_start",
            "numerator",
            "denominator",
            "value",
            "lower",
            "upper",
        ],
        agg.pk,
    )
    inequalities = tables["inequalities"].copy()
    if len(inequalities):
        inequalities["numerators"] = _json(inequalities["numerators"])
        inequalities["denominators"] = _json(inequalities["denominators"])
    _write(
        InequalitySummary,
        inequalities,
        list(inequalities.columns),  # aggregates.inequality_table names exactly the model's fields
        agg.pk,
    )


AGGREGATES = "aggregates"  # the versioned-cache namespace of everything built from AggregateSets


def current_set(edition_year=None):
    """The aggregate set pages show: the latest IMD edition with the latest extract (or the given
    edition's latest extract). Read from the cache; one query when an aggregate set has been
    written or deleted since (`dashboards.receivers` bumps the version)."""

    def latest():
        qs = AggregateSet.objects.select_related("edition", "snapshot").order_by(
            "-edition__year", "-snapshot__extract_date"
        )
        if edition_year:
            qs = qs.filter(edition__year=edition_year)
        return qs.first()

    return versioned_cache.get_or_build(
        f"dashboards:current-set:{edition_year or ''}", [AGGREGATES], latest, timeout=60 * 60
    )
