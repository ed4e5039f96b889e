"""Display names for NHS organisations.

ODS publishes names in capitals ("BLACKBURN WEST PCN", "NHS BLACKBURN WITH DARWEN CCG"). Pages
show them in title case with NHS acronyms kept, as NHS.UK style does.
"""

import re

ACRONYMS = {
    "NHS",
    "PCN",
    "ICB",
    "ICS",
    "GP",
    "GPS",
    "CCG",
    "STP",
    "UK",
    "HI",
    "MC",
    "PMS",
    "APMS",
    "GMS",
    "NE",
    "NW",
    "SE",
    "SW",
    "NEL",
    "NCL",
    "SWL",
    "SEL",
    "NWL",
    "BNSSG",
    "BSW",
    "HWE",
    "LLR",
    "BOB",
    "CHC",
    "LTD",
    "LLP",
    "PLC",
    "ARRS",
    "VCSE",
    "IMD",
    "LSOA",
    "SMI",
    "LD",
}
SMALL_WORDS = {
    "and",
    "of",
    "the",
    "on",
    "in",
    "at",
    "with",
    "for",
    "upon",
    "by",
    "to",
    "a",
    "an",
}
_TOKEN = re.compile(r"([A-Za-z0-9']+)")


def _is_roman_numeral(word):
    return bool(re.fullmatch(r"(?i)(i{1,3}|iv|v|vi{0,3}|ix|x)", word))


def nhs_title_case(name: str) -> str:
    """Title-case an ODS name, keeping NHS acronyms: 'NHS BLACKBURN WITH DARWEN CCG' ->
    'NHS Blackburn with Darwen CCG'. Mixed-case input is respected word by word when the word is
    already mixed (e.g. 'McKenzie')."""
    if not name:
        return ""
    parts = _TOKEN.split(name.strip())
    out = []
    first_word = True
    for i, part in enumerate(parts):
        if not part or not _TOKEN.fullmatch(part):
            out.append(part)
            continue
        upper = part.upper()
        lower = part.lower()
        bracketed = (
            i > 0 and parts[i - 1].endswith("(") and i + 1 < len(parts) and parts[i + 1].startswith(")")
        )
        if (
            upper in ACRONYMS
            or (part.isupper() and bracketed)  # "(LSA)", "(WREN)": an abbreviation
            or (part.isupper() and _is_roman_numeral(part) and len(part) > 1)
        ):
            word = upper
        elif any(ch.isdigit() for ch in part) and any(ch.isalpha() for ch in part):
            word = upper  # postcode-like or codes such as "U12345", "2A"
        elif not first_word and lower in SMALL_WORDS:
            word = lower
        elif part != upper and part != lower:
            word = part  # already mixed case: trust it
        else:
            word = lower[0].upper() + lower[1:]
            if "'" in word:  # O'NEILL -> O'Neill, but DOCTOR'S -> Doctor's
                head, _, tail = word.partition("'")
                word = head + "'" + (tail.capitalize() if len(tail) > 1 else tail)
        out.append(word)
        first_word = False
    return "".join(out)
