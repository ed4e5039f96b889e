"""Helpers for tests that sign in: the factories' password and a real TOTP code."""

import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password
TOTP_PERIOD = 30  # allauth's default MFA_TOTP_PERIOD


def current_totp_code(secret):
    """The code an authenticator app shows now for `secret`, computed with allauth's own HOTP
    function. Waits out the last moments of a period so the code cannot expire between
    computing and checking it (allauth's tolerance is 0 periods)."""
    if TOTP_PERIOD - time.time() % TOTP_PERIOD < 1.5:
        time.sleep(TOTP_PERIOD - time.time() % TOTP_PERIOD + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // TOTP_PERIOD))


def use_private_cache(settings, name):
    """Give the current test its own empty in-memory cache.

    allauth keeps rate-limit counters and recently used TOTP codes in the cache. On the full stack
    the cache is Redis, where counters would leak between tests and runs, and clearing it would
    flush the Redis database the Celery broker may share; a private locmem cache avoids both.
    `settings` is pytest-django's fixture, which restores CACHES afterwards."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": name}
    }
