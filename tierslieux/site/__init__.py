"""The release as a Linked Data site: entity pages, the landing page, the ontology's page.

``write_site`` (a writer of the release's registry, exports/writers.py) writes the ``site/``
folder in one streaming pass, or one share of its entities (``join_site`` puts the shares'
summaries together); ``write_landing`` writes ``index.html`` once the files it lists have their
checksums. See paths.py for where each IRI's documents are, and record.py for how a
rebuild links the documents that did not change from the published release.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from tierslieux.model.rdf import Triple
from tierslieux.site import paths
from tierslieux.site.landing import LandingInfo, write_landing, write_site_files
from tierslieux.site.pages import SiteSummary, TurtleWriter, write_entity_pages
from tierslieux.site.record import RECORD_FILE, Reuse, SiteRecord, pending_path, setup_digest
from tierslieux.site.vocabulary import Vocabulary, load_vocabulary

__all__ = ["LandingInfo", "SiteSummary", "Vocabulary", "join_site", "load_vocabulary", "paths",
           "write_landing", "write_site"]


def write_site(triples: Iterable[Triple], release_dir: Path, base: str,
               prefixes: Mapping[str, str], write_turtle: TurtleWriter, sitename: str,
               vocabulary: Vocabulary | None = None, *, cache_folder: Path | None = None,
               published: Path | None = None, share: tuple[int, int] = (0, 1)) -> SiteSummary:
    """The ``site/`` folder of a release: every entity's documents and the site's own files.

    With ``cache_folder`` (where the record of the last site published is kept) and
    ``published`` (the release in place), the documents that did not change are linked from
    ``published`` instead of rendered (record.py); the new record is written in
    ``cache_folder`` (``SiteSummary.record_file``), for the caller to keep once the release is
    published (``record.keep_site_record``).

    ``share`` ``(k, n)``: only the documents of the k-th of n shares of the entities
    (pages.share_of), the site's own files with the first; ``join_site`` of the n summaries,
    once all are written, is the site's (and writes its record).
    """
    vocabulary = vocabulary or load_vocabulary()
    site_dir = Path(release_dir) / paths.SITE_DIR
    if share[0] == 0:
        write_site_files(site_dir, vocabulary, sitename)
    else:
        site_dir.mkdir(parents=True, exist_ok=True)
    reuse = None
    if cache_folder is not None:
        setup = setup_digest(prefixes, base, sitename)
        record = SiteRecord.load(Path(cache_folder) / RECORD_FILE, setup) \
            if published is not None else None
        reuse = Reuse(setup, None if published is None else Path(published) / paths.SITE_DIR,
                      record, pending_path(Path(cache_folder)))
    return write_entity_pages(triples, site_dir, base, vocabulary, prefixes, write_turtle,
                              sitename, reuse, share)


def join_site(parts: Sequence[SiteSummary], cache_folder: Path | None = None) -> SiteSummary:
    """The summary of a site written in shares (``write_site`` with ``share``), from theirs
    in share order; with ``cache_folder``, its record is written there, as ``write_site``
    writes the record of a whole site."""
    first = parts[0]
    if len(parts) == 1 and first.record is None:
        return first
    sums: dict[str, str] = {}
    entities: dict[str, str] = {}
    for part in parts:
        sums.update(part.sums)
        if part.record is not None:
            entities.update(part.record.entities)
    record_file = None
    if first.record is not None and cache_folder is not None:
        pending = pending_path(Path(cache_folder))
        if SiteRecord(first.record.setup, entities).save(pending):
            record_file = pending
    return replace(first, files=sum(p.files for p in parts), sums=sums,
                   reused=sum(p.reused for p in parts),
                   rendered=sum(p.rendered for p in parts), record_file=record_file,
                   record=None)
