import pytest

from inequalities.exports import csv_response, safe_cell


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("-3.5", "-3.5"),
        (-3.5, -3.5),
        ("Blackburn West PCN", "Blackburn West PCN"),
        (None, ""),
    ],
)
def test_csv_cells_cannot_become_spreadsheet_formulas(value, written):
    assert safe_cell(value) == written


def test_csv_response_writes_safe_cells():
    body = csv_response("x.csv", ["title"], [["=1+1"], ["plain"]]).content.decode()
    assert body.splitlines() == ["title", "'=1+1", "plain"]
