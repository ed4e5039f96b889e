"""Cells a spreadsheet will not run: every CSV the portal writes passes its cells through here.

Text that a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage
return) is written with a leading apostrophe, so a typed title cannot become a formula in Excel;
numbers, including negative ones, are written as they are.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value
