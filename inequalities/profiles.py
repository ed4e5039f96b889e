"""Deprivation profiles (placeholder until the computation lands)."""


def recompute_profiles(*, edition=None, snapshot=None, registrations=None) -> int:
    return 0
