import pytest

from inequalities.names import nhs_title_case


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BLACKBURN WEST PCN", "Blackburn West PCN"),
        ("NHS BLACKBURN WITH DARWEN CCG", "NHS Blackburn with Darwen CCG"),
        ("LYTHAM ST ANNE'S & ANSDELL (LSA) PCN", "Lytham St Anne's & Ansdell (LSA) PCN"),
        ("THE DENSHAM SURGERY", "The Densham Surgery"),
        ("BLACKBURN RD.MEDICAL CTR.", "Blackburn Rd.Medical Ctr."),
        ("NHS Tees Valley CCG", "NHS Tees Valley CCG"),
        ("O'NEILL GP PRACTICE", "O'Neill GP Practice"),
        ("BARNET 5 PCN", "Barnet 5 PCN"),
        ("", ""),
    ],
)
def test_nhs_title_case_keeps_acronyms(raw, expected):
    assert nhs_title_case(raw) == expected
