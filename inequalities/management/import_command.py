"""The shared body of the `import_*` management commands.

Each command is a one-line subclass naming its kind. It goes through the same orchestrator as the
upload page and the schedule (`inequalities.imports`), so every command import leaves an
`ImportRun` record, an audit trail and the same all-or-nothing write. By default the run executes
in this process and the command prints its outcome, exiting non-zero when the file is rejected or
the import fails; `--background` queues it for the Celery worker instead.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from inequalities.imports import execute_run, start_import
from inequalities.models import ImportRun


class ImportCommand(BaseCommand):
    kind = ""

    @property
    def help(self):
        return f"Import a file of {ImportRun.Kind(self.kind).label} data (CSV, XLSX or ZIP as published)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the file to import")
        parser.add_argument(
            "--background",
            action="store_true",
            help="queue the run for the Celery worker and return at once",
        )
        parser.add_argument(
            "--user",
            metavar="EMAIL",
            help="record the run as started by this person (who must be allowed to run imports)",
        )

    def handle(self, *args, path, background, user, **options):
        by = None
        if user:
            by = get_user_model().objects.filter(email__iexact=user).first()
            if by is None:
                raise CommandError(f"No user with the email {user}.")
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            run = start_import(kind=self.kind, path=file, by=by, trigger="command", enqueue=background)
        except (PermissionError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        run.refresh_from_db()  # without a broker a queued run has already executed eagerly
        if background and not run.is_finished:
            self.stdout.write(
                f"Import run {run.pk} queued for the worker; follow it at "
                f"{reverse('imports:detail', args=[run.pk])}"
            )
            return
        if not run.is_finished:
            execute_run(run.pk, recompute_inline=True)
            run.refresh_from_db()
        self.report(run)

    def report(self, run):
        out = self.stdout
        line = f"Import run {run.pk} ({run.kind}) of {run.source_name}: {run.get_status_display()}"
        out.write(self.style.SUCCESS(line) if run.status != run.Status.FAILED else line)
        if run.layout:
            out.write(f"  layout: {run.layout}")
        duration = run.duration_seconds
        took = f" in {duration:.1f} s" if duration is not None else ""
        out.write(
            f"  rows: {run.rows_read:,} read, {run.rows_accepted:,} accepted, "
            f"{run.rows_rejected:,} rejected{took}"
        )
        if run.progress_message:
            out.write(f"  {run.progress_message}")
        for key, value in run.summary.items():
            out.write(f"  {key}: {value}")
        for warning in run.warnings:
            out.write(self.style.WARNING(f"  warning: {warning}"))
        if run.status == run.Status.FAILED:
            for error in run.errors:
                self.stderr.write(error)
            if run.error_count > len(run.errors):
                self.stderr.write(f"... and {run.error_count - len(run.errors):,} more")
            raise CommandError(
                f"Import run {run.pk} failed with {run.error_count:,} "
                f"problem{'s' if run.error_count != 1 else ''}; nothing was changed."
            )
