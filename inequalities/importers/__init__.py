"""Importers for the national data sources, one per source, registered by `ImportRun.Kind`.

Use `import_file(kind, path)` for a synchronous import, or `IMPORTERS[kind].parse(...)` then
`apply_parsed(kind, parsed, run=...)` to orchestrate one (see `base`)."""

from . import epcn, imd, lsoa_lookup, partitions, practice_map, registrations  # noqa: F401
from .base import (
    IMPORTERS,
    MAX_ERRORS,
    Importer,
    ImportRejected,
    Parsed,
    apply_parsed,
    file_sha256,
    import_file,
)

__all__ = [
    "IMPORTERS",
    "MAX_ERRORS",
    "ImportRejected",
    "Importer",
    "Parsed",
    "apply_parsed",
    "file_sha256",
    "import_file",
]
