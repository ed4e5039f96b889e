"""Emptying the portal's cache between and within tests."""

from django.conf import settings
from django.core.cache import cache


def clear_portal_cache():
    """Delete the portal's cache entries. In memory, all of them; on Redis only the keys under the
    cache's prefix — the Celery broker's queues live in the same Redis database."""
    config = settings.CACHES["default"]
    if "redis" not in config["BACKEND"].lower():
        cache.clear()
        return
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{config.get('KEY_PREFIX', '')}:*", count=1000))
    if keys:
        client.delete(*keys)
