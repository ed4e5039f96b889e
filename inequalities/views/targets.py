"""Priority targets: quarterly returns per practice (form or CSV upload with a template), shown per
practice and PCN against the thresholds with Wilson 95% intervals, by quarter, and the ICB's PCNs
side by side."""

from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from inequalities import actions_leads, policy
from inequalities import targets as tg
from inequalities.actions_leads import RETURN_FIELDS
from inequalities.exports import csv_response
from inequalities.forms_leads import PriorityReturnForm, PriorityUploadForm
from inequalities.models import PCN, PriorityTargetReturn
from inequalities.policy import Permission
from inequalities.views.leads import _icb_crumbs, _pcn_crumbs


def _pct(v):
    return None if v is None else round(100 * v, 1)


def _cells(counts):
    props = tg.proportions(counts)
    return [
        {
            "target": t,
            "p": props[t.key],
            "value": _pct(props[t.key].value),
            "lower": _pct(props[t.key].lower),
            "upper": _pct(props[t.key].upper),
        }
        for t in tg.TARGETS
    ]


def _proportion_columns():
    cols = []
    for t in tg.TARGETS:
        cols += [
            f"{t.key}_numerator",
            f"{t.key}_denominator",
            f"{t.key}_percent",
            f"{t.key}_lower_95",
            f"{t.key}_upper_95",
            f"{t.key}_status",
        ]
    return cols


def _proportion_values(cells):
    out = []
    for c in cells:
        out += [c["p"].numerator, c["p"].denominator, c["value"], c["lower"], c["upper"], c["p"].status]
    return out


def _quarter_of(request, available):
    asked = request.GET.get("quarter")
    for start in available:
        if tg.quarter_label(start) == asked:
            return start
    return available[0] if available else None


def priority_targets_pcn(request, code):
    pcn = policy.get_pcn_or_404(request.user, code)
    returns = list(PriorityTargetReturn.objects.filter(pcn=pcn).select_related("practice"))
    quarters = sorted({r.quarter_start for r in returns}, reverse=True)
    quarter = _quarter_of(request, quarters)
    current = [r for r in returns if r.quarter_start == quarter]
    practice_rows = [
        {"practice": r.practice, "return": r, "cells": _cells({f: getattr(r, f) for f in RETURN_FIELDS})}
        for r in sorted(current, key=lambda r: r.practice.name)
    ]
    pcn_total = tg.add_counts(current, RETURN_FIELDS)
    by_quarter = defaultdict(list)
    for r in returns:
        by_quarter[r.quarter_start].append(r)
    trend = [
        {
            "quarter": tg.quarter_label(q),
            "practices": len(by_quarter[q]),
            "totals": tg.add_counts(by_quarter[q], RETURN_FIELDS),
            "cells": _cells(tg.add_counts(by_quarter[q], RETURN_FIELDS)),
        }
        for q in sorted(by_quarter)
    ]
    if request.GET.get("format") == "csv":
        if request.GET.get("table") == "trend":
            return csv_response(
                f"{pcn.code}-priority-targets-by-quarter.csv",
                ["quarter", "practices_reporting", "scd_register", *_proportion_columns()],
                (
                    [
                        t["quarter"],
                        t["practices"],
                        t["totals"]["scd_register"],
                        *_proportion_values(t["cells"]),
                    ]
                    for t in trend
                ),
            )
        return csv_response(
            f"{pcn.code}-priority-targets-{tg.quarter_label(quarter).replace('/', '-').replace(' ', '') if quarter else 'none'}.csv",
            ["quarter", "practice_code", "practice_name", "scd_register", *_proportion_columns()],
            (
                [
                    tg.quarter_label(quarter),
                    r["practice"].code,
                    r["practice"].display_name,
                    r["return"].scd_register,
                    *_proportion_values(r["cells"]),
                ]
                for r in practice_rows
            ),
        )
    return render(
        request,
        "inequalities/targets/pcn.html",
        {
            "pcn": pcn,
            "quarter": tg.quarter_label(quarter) if quarter else None,
            "quarters": [tg.quarter_label(q) for q in quarters],
            "targets": tg.TARGETS,
            "practice_rows": practice_rows,
            "pcn_cells": _cells(pcn_total) if current else None,
            "pcn_total": pcn_total,
            "trend": trend,
            "missing": [
                p
                for p in pcn.current_practices().order_by("name")
                if p.pk not in {r.practice_id for r in current}
            ],
            "can_record": policy.has_permission(request.user, Permission.RECORD_MEASUREMENT, pcn=pcn),
            "can_view_icb": policy.has_permission(request.user, Permission.VIEW_ICB, icb=pcn.sub_icb.icb),
            "breadcrumbs": _pcn_crumbs(request, pcn),
        },
    )


def priority_targets_enter(request, code):
    pcn = policy.get_pcn_or_404(request.user, code, Permission.RECORD_MEASUREMENT)
    practices = list(pcn.current_practices().order_by("name"))
    form = PriorityReturnForm(request.POST or None, practices=practices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        row = {
            "practice": data["practice"],
            "quarter_start": data["quarter_start"],
            **{f: data[f] for f in RETURN_FIELDS},
        }
        try:
            actions_leads.save_priority_returns(pcn=pcn, rows=[row], source="form", by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc.messages[0])
        else:
            messages.success(
                request, f"Saved the {data['quarter']} return for {data['practice'].display_name}."
            )
            return redirect(reverse("priority_targets_pcn", args=[pcn.code]) + f"?quarter={data['quarter']}")
    return render(
        request,
        "inequalities/targets/enter.html",
        {
            "pcn": pcn,
            "form": form,
            "count_fields": [form[f] for f in RETURN_FIELDS],
            "breadcrumbs": _pcn_crumbs(
                request, pcn, ("Priority targets", reverse("priority_targets_pcn", args=[pcn.code]))
            ),
        },
    )


def priority_targets_upload(request, code):
    pcn = policy.get_pcn_or_404(request.user, code, Permission.RECORD_MEASUREMENT)
    form = PriorityUploadForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        practices = {p.code: p for p in pcn.current_practices()}
        rows, errors = tg.parse_returns_csv(upload.read(), filename=upload.name, practices_by_code=practices)
        if not errors:
            created, updated = actions_leads.save_priority_returns(
                pcn=pcn, rows=rows, source=f"upload: {upload.name}"[:255], by=request.user
            )
            messages.success(
                request,
                f"Read {len(rows)} returns from {upload.name}: {created} new, {updated} replaced, "
                f"{len(rows) - created - updated} unchanged.",
            )
            return redirect("priority_targets_pcn", code=pcn.code)
    return render(
        request,
        "inequalities/targets/upload.html",
        {
            "pcn": pcn,
            "form": form,
            "errors": errors[:200],
            "error_count": len(errors),
            "columns": tg.CSV_COLUMNS,
            "breadcrumbs": _pcn_crumbs(
                request, pcn, ("Priority targets", reverse("priority_targets_pcn", args=[pcn.code]))
            ),
        },
        status=400 if errors else 200,
    )


def priority_targets_template(request, code):
    pcn = policy.get_pcn_or_404(request.user, code, Permission.RECORD_MEASUREMENT)
    start, label = tg.recent_quarters(timezone.localdate(), 2)[1]  # the quarter just ended
    response = HttpResponse(
        tg.template_csv(pcn.current_practices().order_by("code"), label),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{pcn.code}-priority-targets-template.csv"'
    return response


def priority_targets_icb(request, code):
    icb = policy.get_icb_or_404(request.user, code, Permission.VIEW_ICB)
    pcns = list(PCN.objects.filter(sub_icb__icb=icb).order_by("name"))
    returns = list(PriorityTargetReturn.objects.filter(pcn__in=pcns))
    quarters = sorted({r.quarter_start for r in returns}, reverse=True)
    quarter = _quarter_of(request, quarters)
    grouped = defaultdict(list)
    for r in returns:
        if r.quarter_start == quarter:
            grouped[r.pcn_id].append(r)
    rows = [
        {
            "pcn": p,
            "practices": len(grouped[p.pk]),
            "cells": _cells(tg.add_counts(grouped[p.pk], RETURN_FIELDS)) if grouped[p.pk] else None,
        }
        for p in pcns
    ]
    if request.GET.get("format") == "csv":
        return csv_response(
            f"{icb.code}-priority-targets.csv",
            ["quarter", "pcn_code", "pcn_name", "practices_reporting", *_proportion_columns()],
            (
                [
                    tg.quarter_label(quarter) if quarter else "",
                    r["pcn"].code,
                    r["pcn"].display_name,
                    r["practices"],
                    *(_proportion_values(r["cells"]) if r["cells"] else []),
                ]
                for r in rows
            ),
        )
    return render(
        request,
        "inequalities/targets/icb.html",
        {
            "icb": icb,
            "rows": rows,
            "targets": tg.TARGETS,
            "quarter": tg.quarter_label(quarter) if quarter else None,
            "quarters": [tg.quarter_label(q) for q in quarters],
            "breadcrumbs": _icb_crumbs(request, icb),
        },
    )
