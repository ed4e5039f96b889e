import csv

from django.core.management.base import BaseCommand, CommandError

from inequalities.models import ImdEdition, ProfileLevel, RegistrationSnapshot
from inequalities.profiles import EXPORT_HEADER, export_rows


class Command(BaseCommand):
    help = "Write the deprivation profiles of one level as CSV (latest IMD edition and extract by default)."

    def add_arguments(self, parser):
        parser.add_argument("--level", required=True, choices=ProfileLevel.values)
        parser.add_argument("--out", required=True, help="CSV file to write ('-' for standard output)")
        parser.add_argument("--edition", type=int, help="IMD edition year, e.g. 2019")
        parser.add_argument("--extract-date", help="registrations extract date, YYYY-MM-DD")

    def handle(self, *args, level, out, edition, extract_date, **options):
        try:
            ed = ImdEdition.objects.get(year=edition) if edition else None
            snap = RegistrationSnapshot.objects.get(extract_date=extract_date) if extract_date else None
        except (ImdEdition.DoesNotExist, RegistrationSnapshot.DoesNotExist) as exc:
            raise CommandError(str(exc)) from None
        rows = list(export_rows(level, edition=ed, snapshot=snap))
        if out == "-":
            self._write(self.stdout, rows)
        else:
            with open(out, "w", newline="", encoding="utf-8") as fh:
                self._write(fh, rows)
            self.stderr.write(f"{len(rows)} {level} profiles written to {out}")

    def _write(self, fh, rows):
        writer = csv.writer(fh)
        writer.writerow(EXPORT_HEADER)
        writer.writerows(rows)
