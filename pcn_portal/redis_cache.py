"""Django's Redis cache backend, keeping one redis-py client per connection pool.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` for every cache call, and each
build fills its table of ~170 response callbacks: measured here, that was about a third of the
time of a cached dashboard request (four cache calls). A `redis.Redis` is safe to share between
threads (each command borrows a connection from the pool), so one per pool is kept instead.
Everything else — serialisation, pools, options — is Django's, except the memcached key
warnings (below).
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusingClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingClient

    def validate_key(self, key):
        """Django warns about keys memcached would refuse; Redis takes any key, and checking every
        character of every key costs each request more than the warning is worth here."""
