"""A PCN's population workspace (deprivation profile, practices, footprint LSOAs) and its target
populations. Figures come from `inequalities.workspace`; every table names its IMD edition and
registration extract and has a CSV download."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from inequalities import actions_leads, policy
from inequalities import workspace as ws
from inequalities.exports import csv_response
from inequalities.forms_leads import TargetPopulationForm
from inequalities.models import DOMAINS, PlusGroup, TargetPopulation
from inequalities.policy import Permission
from inequalities.views.leads import _pcn_crumbs


def _pct(value):
    return None if value is None else round(100 * value, 1)


def _edition_year(request):
    year = request.GET.get("edition") or ""
    return int(year) if year.isdigit() else None


def pcn_workspace(request, code):
    pcn = policy.get_pcn_or_404(request.user, code)
    data = ws.load_pcn(pcn, _edition_year(request))
    basis = data.basis
    crumbs = _pcn_crumbs(request, pcn)
    if basis is None:
        return render(
            request,
            "inequalities/workspace/workspace.html",
            {"pcn": pcn, "basis": None, "breadcrumbs": crumbs},
        )
    columns, pcn_profile_matches = ws.comparison(data)
    practice_rows = ws.practice_figures(data)
    lsoa_rows = ws.lsoa_rows(data)
    table = request.GET.get("table")
    if request.GET.get("format") == "csv":
        return _workspace_csv(table, pcn, basis, columns, practice_rows, lsoa_rows)
    deciles = [
        {
            "decile": d,
            "cells": [(c.decile_patients[d - 1], _pct(c.shares(c.decile_patients)[d - 1])) for c in columns],
        }
        for d in range(1, 11)
    ]
    quintiles = [
        {
            "quintile": q,
            "cells": [
                (c.quintile_patients[q - 1], _pct(c.shares(c.quintile_patients)[q - 1])) for c in columns
            ],
        }
        for q in range(1, 6)
    ]
    return render(
        request,
        "inequalities/workspace/workspace.html",
        {
            "pcn": pcn,
            "basis": basis,
            "columns": columns,
            "summary": [(c, _pct(c.core20_share)) for c in columns],
            "deciles": deciles,
            "quintiles": quintiles,
            "practice_rows": [dict(r, core20_pct=_pct(r["fig"].core20_share)) for r in practice_rows],
            "lsoa_rows": lsoa_rows[:300],
            "lsoa_count": sum(1 for r in lsoa_rows if r["known"]),
            "unknown_rows": [r for r in lsoa_rows if not r["known"]],
            "unknown_total": sum(r["patients"] for r in lsoa_rows if not r["known"]),
            "domain_labels": [label for _, label in DOMAINS],
            "has_domains": basis.edition.has_domains,
            "computed_pcn_matches": pcn_profile_matches,
            "breadcrumbs": crumbs,
        },
    )


def _workspace_csv(table, pcn, basis, columns, practice_rows, lsoa_rows):
    stamp = [basis.edition.year, basis.snapshot.extract_date.isoformat()]
    head = ["imd_edition", "registrations_extract_date"]
    if table == "practices":
        return csv_response(
            f"{pcn.code}-practice-profiles.csv",
            [
                *head,
                "practice_code",
                "practice_name",
                "registered",
                "unknown_lsoa",
                "core20",
                "core20_share",
                "imd_score",
                *[f"decile_{d}" for d in range(1, 11)],
            ],
            (
                [
                    *stamp,
                    r["practice"].code,
                    r["practice"].display_name,
                    r["fig"].registered_patients,
                    r["fig"].unknown_patients,
                    r["fig"].core20_patients,
                    r["fig"].core20_share,
                    r["fig"].imd_score,
                    *r["fig"].decile_patients,
                ]
                for r in practice_rows
            ),
        )
    if table == "lsoas":
        return csv_response(
            f"{pcn.code}-lsoas.csv",
            [
                *head,
                "lsoa_code",
                "lsoa_name",
                "local_authority",
                "patients",
                "share_of_pcn",
                "imd_decile",
                *[f"{k}_decile" for k, _ in DOMAINS],
            ],
            (
                [
                    *stamp,
                    r["code"],
                    r["name"],
                    r["lad"],
                    r["patients"],
                    r["share"],
                    r["decile"] if r["known"] else "unknown",
                    *r["domains"],
                ]
                for r in lsoa_rows
            ),
        )
    if table == "profile":
        return csv_response(
            f"{pcn.code}-deprivation-profile.csv",
            [
                *head,
                "area",
                "registered",
                "unknown_lsoa",
                "core20",
                "core20_share",
                "imd_score",
                *[f"decile_{d}" for d in range(1, 11)],
                *[f"quintile_{q}" for q in range(1, 6)],
            ],
            (
                [
                    *stamp,
                    c.label,
                    c.registered_patients,
                    c.unknown_patients,
                    c.core20_patients,
                    c.core20_share,
                    c.imd_score,
                    *c.decile_patients,
                    *c.quintile_patients,
                ]
                for c in columns
            ),
        )
    raise Http404("No such table")


# --- Target populations -----------------------------------------------------------------------------


def _population_or_404(pcn, pk):
    population = (
        TargetPopulation.objects.filter(pk=pk, pcn=pcn)
        .select_related("plus_group", "clinical_area")
        .prefetch_related("practices")
        .first()
    )
    if population is None:
        raise Http404("No such target population")
    return population


def target_population_list(request, code):
    pcn = policy.get_pcn_or_404(request.user, code)
    populations = (
        TargetPopulation.objects.filter(pcn=pcn)
        .select_related("plus_group", "clinical_area")
        .prefetch_related("practices")
    )
    if request.GET.get("format") == "csv":
        return csv_response(
            f"{pcn.code}-target-populations.csv",
            [
                "name",
                "core20",
                "practices",
                "lsoas",
                "plus_group",
                "clinical_area",
                "age_group",
                "computed_size",
                "computed_from",
                "estimated_size",
                "estimate_source",
                "rationale",
                "data_sources",
            ],
            (
                [
                    t.name,
                    t.get_core20_scope_display(),
                    " ".join(p.code for p in t.practices.all()),
                    " ".join(t.lsoa_codes),
                    t.plus_group.name if t.plus_group else "",
                    t.clinical_area.name,
                    t.get_age_group_display(),
                    t.computed_size,
                    t.computed_from,
                    t.estimated_size,
                    t.estimate_source,
                    t.rationale,
                    t.data_sources,
                ]
                for t in populations
            ),
        )
    return render(
        request,
        "inequalities/workspace/population_list.html",
        {
            "pcn": pcn,
            "populations": populations,
            "can_edit": policy.has_permission(request.user, Permission.RECORD_HI_ACTIVITY, pcn=pcn),
            "breadcrumbs": _pcn_crumbs(request, pcn),
        },
    )


def target_population_detail(request, code, pk):
    pcn = policy.get_pcn_or_404(request.user, code)
    population = _population_or_404(pcn, pk)
    return render(
        request,
        "inequalities/workspace/population_detail.html",
        {
            "pcn": pcn,
            "population": population,
            "can_edit": policy.has_permission(request.user, Permission.RECORD_HI_ACTIVITY, pcn=pcn),
            "breadcrumbs": _pcn_crumbs(
                request, pcn, ("Target populations", reverse("target_population_list", args=[pcn.code]))
            ),
        },
    )


def target_population_form(request, code, pk=None):
    pcn = policy.get_pcn_or_404(request.user, code, Permission.RECORD_HI_ACTIVITY)
    population = _population_or_404(pcn, pk) if pk else None
    pcn_data = ws.load_pcn(pcn)
    basis, practices = pcn_data.basis, pcn_data.practices
    plus_groups = PlusGroup.objects.filter(Q(icb=None) | Q(icb=pcn.sub_icb.icb_id)).filter(
        Q(retired_at=None) | Q(pk=population.plus_group_id if population else None)
    )
    initial = None
    if population is not None:
        initial = {
            "name": population.name,
            "core20_scope": population.core20_scope,
            "practices": [p.code for p in population.practices.all()],
            "lsoa_codes": " ".join(population.lsoa_codes),
            "plus_group": str(population.plus_group_id or ""),
            "clinical_area": population.clinical_area_id,
            "age_group": population.age_group,
            "estimated_size": population.estimated_size,
            "estimate_source": population.estimate_source,
            "rationale": population.rationale,
            "data_sources": population.data_sources,
        }
    form = TargetPopulationForm(
        request.POST or None,
        initial=initial or {"core20_scope": TargetPopulation.Core20Scope.ALL},
        practices=practices,
        plus_groups=plus_groups,
        footprint=pcn_data.footprint,
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        scope = data["core20_scope"]
        size = None
        if scope != TargetPopulation.Core20Scope.NONE:
            if basis is None:
                form.add_error(
                    "core20_scope",
                    "The Core20 size cannot be computed: no GP registrations or IMD edition is loaded.",
                )
            else:
                size = ws.core20_size(
                    basis,
                    pcn_data.registrations,
                    pcn_data.deprivation,
                    practice_codes=[p.code for p in data["practices"]] if scope == "practices" else None,
                    lsoa_codes=data["lsoa_codes"] if scope == "lsoas" else None,
                )
        if form.is_valid():
            chosen_practices = data.pop("practices") if scope == "practices" else []
            data.pop("practices", None)
            if scope != "lsoas":
                data["lsoa_codes"] = []
            try:
                population = actions_leads.save_target_population(
                    pcn=pcn,
                    by=request.user,
                    population=population,
                    practices=chosen_practices,
                    size=size,
                    **data,
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages[0])
            else:
                messages.success(request, f"Saved the target population {population.name}.")
                return redirect("target_population_detail", code=pcn.code, pk=population.pk)
    return render(
        request,
        "inequalities/workspace/population_form.html",
        {
            "pcn": pcn,
            "population": population,
            "form": form,
            "basis": basis,
            "breadcrumbs": _pcn_crumbs(
                request, pcn, ("Target populations", reverse("target_population_list", args=[pcn.code]))
            ),
        },
    )
