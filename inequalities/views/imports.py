"""Data imports: upload a file, watch its run, read its errors, browse the history.

Only people who may run imports (ICB analysts, administrators) see these pages; everyone else
gets 404. Views are thin: `inequalities.imports.start_import` does the work."""

import re

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from inequalities import imports, policy
from inequalities.exports import csv_response
from inequalities.import_forms import ImportUploadForm
from inequalities.models import AuditEvent, ImportRun
from inequalities.policy import Permission

_ERROR_PARTS = re.compile(r"^(?P<file>[^:]*):(?P<line>\d+): (?P<column>[^:]*): (?P<problem>.*)$", re.S)


def _require_imports(user):
    if not policy.has_permission(user, Permission.RUN_IMPORTS):
        raise Http404("Not found")


def _crumbs(*extra):
    return [("Home", reverse("home")), ("Data imports", reverse("imports:index")), *extra]


def index(request):
    _require_imports(request.user)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        run = imports.start_import(
            kind=form.cleaned_data["kind"],
            uploaded_file=form.cleaned_data["file"],
            by=request.user,
            trigger="upload",
        )
        return redirect("imports:detail", run_id=run.pk)
    runs = ImportRun.objects.select_related("created_by")
    if request.GET.get("format") == "csv":
        return csv_response(
            "import-runs.csv",
            [
                "id",
                "kind",
                "status",
                "trigger",
                "started_by",
                "created_at",
                "started_at",
                "finished_at",
                "duration_s",
                "source_name",
                "size_bytes",
                "sha256",
                "layout",
                "rows_read",
                "rows_accepted",
                "rows_rejected",
                "error_count",
            ],
            (
                [
                    r.pk,
                    r.kind,
                    r.status,
                    r.trigger,
                    r.created_by.email if r.created_by else "system",
                    r.created_at.isoformat(),
                    r.started_at.isoformat() if r.started_at else None,
                    r.finished_at.isoformat() if r.finished_at else None,
                    r.duration_seconds,
                    r.source_name,
                    r.size_bytes,
                    r.sha256,
                    r.layout,
                    r.rows_read,
                    r.rows_accepted,
                    r.rows_rejected,
                    r.error_count,
                ]
                for r in runs.iterator()
            ),
        )
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "inequalities/imports/index.html",
        {
            "form": form,
            "page": page,
            "current": current_data(),
            "breadcrumbs": [("Home", reverse("home"))],
        },
    )


def _run_or_404(request, run_id):
    _require_imports(request.user)
    return get_object_or_404(ImportRun.objects.select_related("created_by"), pk=run_id)


def split_error(run, message):
    """'file:line: column: problem' -> its parts; a file-level message keeps only the problem."""
    match = _ERROR_PARTS.match(message)
    if match:
        return match.groupdict()
    return {"file": run.source_name, "line": None, "column": None, "problem": message}


def _display(value):
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_display(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_display(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def _summary_items(run):
    return [(str(key).replace("_", " ").capitalize(), _display(value)) for key, value in run.summary.items()]


def current_data():
    """The latest successful import of each kind: what the portal's figures are built on."""
    latest = []
    for kind in ImportRun.Kind:
        run = (
            ImportRun.objects.filter(kind=kind, status=ImportRun.Status.SUCCEEDED)
            .select_related("created_by")
            .order_by("-finished_at", "-pk")
            .first()
        )
        latest.append((kind, run))
    return latest


def detail(request, run_id):
    run = _run_or_404(request, run_id)
    # The follow-on recompute leaves an audit event on the run (inequalities.tasks).
    recomputed = (
        AuditEvent.objects.filter(
            action="profiles.recomputed", object_type=ImportRun._meta.label, object_id=str(run.pk)
        )
        .order_by("-at")
        .first()
        if run.status == ImportRun.Status.SUCCEEDED
        else None
    )
    return render(
        request,
        "inequalities/imports/detail.html",
        {
            "run": run,
            "errors": [split_error(run, e) for e in run.errors],
            "summary_items": _summary_items(run),
            "recomputed": recomputed,
            "stale_after_minutes": settings.IMPORT_STALE_AFTER_SECONDS // 60,
            "breadcrumbs": _crumbs(),
        },
    )


def status_payload(run):
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "is_finished": run.is_finished,
        "progress": run.progress,
        "progress_message": run.progress_message,
        "rows_read": run.rows_read,
        "rows_accepted": run.rows_accepted,
        "rows_rejected": run.rows_rejected,
        "error_count": run.error_count,
        "heartbeat_at": run.heartbeat_at.isoformat() if run.heartbeat_at else None,
        "detail_url": reverse("imports:detail", args=[run.pk]),
    }


@never_cache
def status(request, run_id):
    return JsonResponse(status_payload(_run_or_404(request, run_id)))


def errors_csv(request, run_id):
    run = _run_or_404(request, run_id)
    rows = []
    for number, message in enumerate(run.errors, start=1):
        parts = split_error(run, message)
        rows.append(
            [run.pk, number, parts["file"], parts["line"], parts["column"], parts["problem"], message]
        )
    return csv_response(
        f"import-run-{run.pk}-errors.csv",
        ["run", "number", "file", "line", "column", "problem", "message"],
        rows,
    )


def summary_csv(request, run_id):
    run = _run_or_404(request, run_id)
    return csv_response(
        f"import-run-{run.pk}-summary.csv",
        ["run", "figure", "value"],
        ([run.pk, key, value] for key, value in run.summary.items()),
    )
