"""Cache entries that are thrown away as soon as what they were built from changes.

Each entry names the *namespaces* it was built from ("principal:17", "aggregates",
"organisations"). A namespace has a version: a random token in the cache. A change to the data
behind a namespace calls `bump`, which replaces the token at once and again when the surrounding
transaction commits — so a request that rebuilt an entry from the database before the commit
cannot leave a stale entry behind: its entry carries the token the commit replaced.

A reader fetches the entry and the versions of its namespaces in one round trip (`get_many`) and
uses the entry only when every version still matches. Nothing is ever read stale, so no TTL is
needed for correctness; the timeout only bounds memory.

With several processes the cache must be shared (Redis, as in production, ADR 0010); the in-memory
default is for one process (`make run`, tests).
"""

from __future__ import annotations

import hashlib
import pickle
import secrets
import threading
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache
from django.db import transaction

VERSION_PREFIX = "ns-version:"


def _token():
    return secrets.token_hex(8)


def _versions(keys, found):
    """The current version of each namespace key; a missing one is created."""
    versions = []
    for key in keys:
        version = found.get(key)
        if version is None:
            version = _token()
            if not cache.add(key, version, timeout=None):
                version = cache.get(key)  # another process created it first
        versions.append(version)
    return versions


MISSING = object()


class Blob:
    """Stands in an entry for a large value stored once under its content hash (`put(...,
    large=True)`): immutable, so each process keeps recent ones in memory and a warm request
    fetches only the small entry, not hundreds of kilobytes, from the cache."""

    __slots__ = ("digest",)

    def __init__(self, digest):
        self.digest = digest

    def __getstate__(self):
        return self.digest

    def __setstate__(self, state):
        self.digest = state


class _LocalBlobs:
    """The process's most recently used blobs, up to a total size."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self._items = OrderedDict()  # digest -> (value, size)
        self._size = 0
        self._lock = threading.Lock()

    def get(self, digest):
        with self._lock:
            item = self._items.get(digest)
            if item is None:
                return MISSING
            self._items.move_to_end(digest)
            return item[0]

    def put(self, digest, value, size):
        if size > self.max_bytes:
            return
        with self._lock:
            if digest in self._items:
                return
            self._items[digest] = (value, size)
            self._size += size
            while self._size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped

    def clear(self):
        with self._lock:
            self._items.clear()
            self._size = 0


local_blobs = _LocalBlobs(max_bytes=32 * 1024 * 1024)
_prefetched = ContextVar("versioned_cache_prefetched", default=None)


def _blob_key(digest):
    return f"blob:{digest}"


def get_entries(entries):
    """Look up several entries in one round trip. `entries` maps each key to the namespaces its
    value is built from; returns key -> (value, versions), where value is MISSING unless the entry
    was built from the current versions. Pass the versions to `put` with a rebuilt value.

    Inside `prefetch(...)` covering every key, answers from what the prefetch fetched."""
    prefetched = _prefetched.get()
    if prefetched is not None and all(key in prefetched for key in entries):
        return {key: prefetched[key] for key in entries}
    version_keys = sorted({VERSION_PREFIX + name for names in entries.values() for name in names})
    found = cache.get_many([*entries, *version_keys])
    current = dict(zip(version_keys, _versions(version_keys, found), strict=True))
    result = {}
    for key, names in entries.items():
        versions = [current[VERSION_PREFIX + name] for name in names]
        entry = found.get(key)
        result[key] = (entry[1] if entry is not None and entry[0] == versions else MISSING, versions)
    _resolve_blobs(result)
    return result


def _resolve_blobs(result):
    """Replace Blob stand-ins with their values: from this process's memory, else from the cache
    (one more round trip); a blob gone from the cache makes its entry MISSING."""
    wanted = {}
    for key, (value, versions) in result.items():
        if isinstance(value, Blob):
            local = local_blobs.get(value.digest)
            if local is MISSING:
                wanted.setdefault(_blob_key(value.digest), []).append(key)
            else:
                result[key] = (local, versions)
    if not wanted:
        return
    found = cache.get_many(list(wanted))
    for blob_key, keys in wanted.items():
        for key in keys:
            value = found.get(blob_key, MISSING)
            result[key] = (value, result[key][1])
        if blob_key in found:
            digest = blob_key.removeprefix("blob:")
            local_blobs.put(digest, found[blob_key], len(pickle.dumps(found[blob_key], protocol=5)))


@contextmanager
def prefetch(entries):
    """Fetch these entries now, in one round trip; `get_entries` and `get_or_build` calls inside
    the block for keys among them answer from that fetch. A `bump` inside the block ends it."""
    token = _prefetched.set(get_entries(entries) if entries else {})
    try:
        yield
    finally:
        _prefetched.reset(token)


def put(key, versions, value, timeout=300, *, large=False):
    """Store a value built from `versions` (as returned by `get_entries`). A `large` value is
    stored once under its content hash and kept in this process's memory too (see `Blob`)."""
    if None in versions:
        return
    if not large:
        cache.set(key, (versions, value), timeout)
        return
    data = pickle.dumps(value, protocol=5)
    digest = hashlib.sha256(data).hexdigest()
    # The blob outlives its entry a little, so an entry never points at a blob already gone.
    cache.set_many({_blob_key(digest): value}, timeout + 60)
    cache.set(key, (versions, Blob(digest)), timeout)
    local_blobs.put(digest, value, len(data))


def get_or_build(key, namespaces, build, timeout=300):
    """The value cached under `key` if it was built from the current versions of `namespaces`;
    otherwise `build()`, stored for the next reader."""
    value, versions = get_entries({key: namespaces})[key]
    if value is MISSING:
        value = build()
        put(key, versions, value, timeout)
    return value


def bump(*namespaces):
    """Invalidate every entry built from any of `namespaces`: now, and after the current
    transaction commits (immediately when there is none)."""

    def replace():
        cache.set_many({VERSION_PREFIX + name: _token() for name in namespaces}, timeout=None)

    replace()
    if _prefetched.get() is not None:
        _prefetched.set({})  # what the block fetched was built from the old versions
    transaction.on_commit(replace)
