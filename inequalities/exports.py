"""CSV downloads: every table a page shows can be downloaded as exactly what it shows.

Text that a spreadsheet would run as a formula is written with a leading apostrophe
(`pcn_portal.spreadsheet.safe_cell`).
"""

import csv

from django.http import HttpResponse

from pcn_portal.spreadsheet import safe_cell

__all__ = ["csv_response", "safe_cell"]


def csv_response(filename, header, rows):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return response
