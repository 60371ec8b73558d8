"""The exception tree of tierslieux.

Library code raises these; only ``tierslieux.cli`` turns them into messages and exit codes.
Messages are one line, say what went wrong and, where possible, what to do next. They never
contain secrets (passwords, tokens).
"""

from __future__ import annotations


class TierslieuxError(Exception):
    """Base class of every error tierslieux raises on purpose."""

    exit_code = 1


class DumpError(TierslieuxError):
    """An XML export could not be read: missing, malformed, truncated or hostile."""


class ParseError(TierslieuxError):
    """A page's wikitext could not be parsed."""

    def __init__(self, title: str, reason: str) -> None:
        # both in args, so the error survives pickling to and from worker processes
        super().__init__(title, reason)
        self.title = title
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot parse page {self.title!r}: {self.reason}"


class StoreError(TierslieuxError):
    """The SQLite store is missing, locked by another writer, or not a tierslieux store."""


class HarvestError(TierslieuxError):
    """A live harvest failed."""


class WikiUnreachableError(HarvestError):
    """No MediaWiki API answered at the given address."""

    exit_code = 4


class LoginError(HarvestError):
    """Logging in to a private wiki failed."""


class MappingError(TierslieuxError):
    """The mapping or ontology data is invalid."""


class ValidationError(TierslieuxError):
    """The built release did not pass validation (SHACL, Table Schema, parse-back)."""

    exit_code = 5


class ShapesError(TierslieuxError):
    """The SHACL shapes, or the ontology they are checked with, cannot be read or used."""

    exit_code = 5


class PublishError(TierslieuxError):
    """The release could not be published."""


class ConfigError(TierslieuxError):
    """The configuration file or an option is invalid."""

    exit_code = 6


class MissingInputError(ConfigError):
    """A file or folder the command needs does not exist: a dump, a store, a release, a query."""


class LockedError(TierslieuxError):
    """Another run holds the lock on this store."""

    exit_code = 7


class QueryError(TierslieuxError):
    """A SPARQL query could not be parsed or answered."""

    exit_code = 2


class ServeError(TierslieuxError):
    """The local SPARQL endpoint could not be started (oxigraph missing, port taken)."""


class PushError(TierslieuxError):
    """Uploading a release to an external triple store failed."""


class DataGraphError(TierslieuxError):
    """A release does not say which named graph holds its data (no single dataset in its
    catalogue, no base IRI in its report)."""


class GeographyError(TierslieuxError):
    """The official geography data (or a package given to refresh it) cannot be read."""


class ClusterError(TierslieuxError):
    """The Dask cluster named by ``--cluster`` failed the build (a worker without its data)."""


class ClusterUnreachableError(ClusterError):
    """No Dask scheduler answered at the ``--cluster`` address, or it has no worker."""

    exit_code = 4
