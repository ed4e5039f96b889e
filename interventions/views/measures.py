"""Outcome measures: the SPC page of one measure, recording values by form or CSV upload,
rebasing the limits, and CSV exports.

SPC comes from `interventions.spc` and its chart from `interventions.charts` (built separately);
`measure_series` and `spc_for` are the only places that call them.
"""

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from inequalities.exports import csv_response
from inequalities.policy import Permission
from interventions import actions, workflow
from interventions.access import get_measure_or_404, get_plan_or_404
from interventions.forms import MeasurementForm, MeasurementUploadForm, RebaseForm
from interventions.measurement_io import UploadError, format_period, parse_upload, period_key, with_gaps
from interventions.models import Measurement
from interventions.versions import number_text
from interventions.views.plans import _plan_crumbs
from interventions.workflow import WorkflowError

try:  # The SPC engine and its chart arrive from the `stats` branch.
    from interventions import charts as spc_charts
    from interventions import spc
except ImportError:  # pragma: no cover - exercised only before that merge
    spc = spc_charts = None


def spc_available():
    return spc is not None and spc_charts is not None


def measure_series(measure, measurements):
    """[(period, observed or None)] with missing periods filled in."""
    return with_gaps([(m.period, m.observed) for m in measurements], measure.frequency)


def spc_for(measure, measurements):
    """(SPCResult, Chart) for the measure, or (None, None) without the SPC modules."""
    if not spc_available():
        return None, None
    series = measure_series(measure, measurements)
    periods = {p for p, _ in series}
    rebase = [measure.rebase_at] if measure.rebase_at in periods else []
    target = float(measure.target_value) if measure.target_value is not None else None
    label = lambda p: format_period(p, measure.frequency)  # noqa: E731
    result = spc.analyse(series, improvement=measure.direction, target=target, rebase_at=rebase, label=label)
    unit = f"{measure.name} ({measure.display_unit})" if measure.display_unit else measure.name
    chart = spc_charts.spc_figure(result, title=measure.name, unit=unit, label=label)
    return result, chart


def _csv_rows(measure, measurements):
    for m in measurements:
        yield [
            measure.plan.pcn.code,
            measure.plan_id,
            measure.pk,
            measure.name,
            period_key(m.period, measure.frequency),
            m.numerator,
            m.denominator,
            number_text(m.value),
            round(m.observed, 4),
            measure.display_unit,
            m.entered_by.email if m.entered_by else "",
            m.updated_at.isoformat(),
        ]


CSV_HEADER = [
    "pcn_code",
    "plan_id",
    "measure_id",
    "measure",
    "period",
    "numerator",
    "denominator",
    "value",
    "observed",
    "unit",
    "entered_by",
    "updated_at",
]


def measure_detail(request, measure_id):
    measure = get_measure_or_404(request.user, measure_id)
    plan = measure.plan
    measurements = list(
        Measurement.objects.filter(measure=measure).select_related("entered_by").order_by("period")
    )
    if request.GET.get("format") == "csv":
        return csv_response(f"measure-{measure.pk}.csv", CSV_HEADER, _csv_rows(measure, measurements))
    result, chart = spc_for(measure, measurements)
    if request.GET.get("format") == "spc-csv" and chart is not None:
        return csv_response(
            f"measure-{measure.pk}-spc.csv", list(chart.table.columns), chart.table.itertuples(index=False)
        )
    perms = actions.permissions_on(request.user, plan.pcn)
    return render(
        request,
        "interventions/measure_detail.html",
        {
            "plan": plan,
            "measure": measure,
            "rows": [(m, format_period(m.period, measure.frequency)) for m in measurements],
            "result": result,
            "chart": chart,
            "chart_html": chart.html(div_id=f"spc-{measure.pk}") if chart is not None else "",
            "spc_available": spc_available(),
            "can_record": workflow.can_record(status=plan.status, permissions=perms),
            "rebase_form": RebaseForm(
                initial={
                    "rebase_at": period_key(measure.rebase_at, measure.frequency) if measure.rebase_at else ""
                },
                measure=measure,
            ),
            "breadcrumbs": _plan_crumbs(request.user, plan),
        },
    )


def _measure_crumbs(request, measure):
    return _plan_crumbs(request.user, measure.plan) + [
        (measure.name, reverse("interventions:measure_detail", args=[measure.pk]))
    ]


def measurement_record(request, measure_id):
    measure = get_measure_or_404(request.user, measure_id, Permission.RECORD_MEASUREMENT)
    initial = {}
    if period := request.GET.get("period"):
        try:
            existing = Measurement.objects.filter(measure=measure, period=date.fromisoformat(period)).first()
        except ValueError:
            existing = None
        if existing:
            initial = {
                "period": period_key(existing.period, measure.frequency),
                "numerator": existing.numerator,
                "denominator": existing.denominator,
                "value": number_text(existing.value),
            }
    form = MeasurementForm(request.POST or None, initial=initial, measure=measure)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _, created, changed = actions.record_measurement(
                measure=measure,
                period=data["period"],
                numerator=data.get("numerator"),
                denominator=data.get("denominator"),
                value=data.get("value"),
                by=request.user,
            )
        except (WorkflowError, ValidationError) as exc:
            form.add_error(None, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
        else:
            label = format_period(data["period"], measure.frequency)
            if not changed:
                messages.success(request, f"{label} already had these values: nothing changed.")
            else:
                messages.success(request, f"{label} has been {'recorded' if created else 'corrected'}.")
            return redirect("interventions:measure_detail", measure_id=measure.pk)
    return render(
        request,
        "interventions/measurement_form.html",
        {
            "measure": measure,
            "plan": measure.plan,
            "form": form,
            "breadcrumbs": _measure_crumbs(request, measure),
        },
    )


def measurement_upload(request, measure_id):
    measure = get_measure_or_404(request.user, measure_id, Permission.RECORD_MEASUREMENT)
    form = MeasurementUploadForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = parse_upload(
                upload.read(),
                filename=upload.name,
                is_proportion=measure.is_proportion,
                frequency=measure.frequency,
            )
            counts = actions.upload_measurements(
                measure=measure, rows=rows, filename=upload.name, by=request.user
            )
        except UploadError as exc:
            errors = exc.errors
        except WorkflowError as exc:
            errors = [str(exc)]
        else:
            messages.success(
                request,
                f"{upload.name}: {counts['added']} added, {counts['updated']} corrected, "
                f"{counts['unchanged']} unchanged.",
            )
            return redirect("interventions:measure_detail", measure_id=measure.pk)
    columns = "period,numerator,denominator" if measure.is_proportion else "period,value"
    return render(
        request,
        "interventions/measurement_upload.html",
        {
            "measure": measure,
            "plan": measure.plan,
            "form": form,
            "errors": errors,
            "columns": columns,
            "breadcrumbs": _measure_crumbs(request, measure),
        },
    )


def measure_rebase(request, measure_id):
    measure = get_measure_or_404(request.user, measure_id, Permission.RECORD_MEASUREMENT)
    if request.method != "POST":
        return redirect("interventions:measure_detail", measure_id=measure.pk)
    form = RebaseForm(request.POST, measure=measure)
    if form.is_valid():
        try:
            actions.set_rebase(measure=measure, rebase_at=form.cleaned_data["rebase_at"], by=request.user)
        except (PermissionError, WorkflowError) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "The limits have been updated.")
    else:
        messages.error(request, form.errors["rebase_at"][0])
    return redirect("interventions:measure_detail", measure_id=measure.pk)


def plan_measures_csv(request, pk):
    plan = get_plan_or_404(request.user, pk)
    measures = {m.pk: m for m in plan.measures.all()}
    measurements = (
        Measurement.objects.filter(measure__plan=plan)
        .select_related("entered_by")
        .order_by("measure_id", "period")
    )

    def rows():
        for m in measurements:
            measure = measures[m.measure_id]
            measure.plan = plan
            yield from _csv_rows(measure, [m])

    return csv_response(f"plan-{plan.pk}-measurements.csv", CSV_HEADER, rows())
