"""The release as a Linked Data site: entity pages, the landing page, the ontology's page.

``write_site`` (a writer of the release's registry, exports/writers.py) writes the ``site/``
folder in one streaming pass; ``write_landing`` writes ``index.html`` once the files it lists
have their checksums. See paths.py for where each IRI's documents are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from tierslieux.model.rdf import Triple
from tierslieux.site import paths
from tierslieux.site.landing import LandingInfo, write_landing, write_site_files
from tierslieux.site.pages import SiteSummary, TurtleWriter, write_entity_pages
from tierslieux.site.vocabulary import Vocabulary, load_vocabulary

__all__ = ["LandingInfo", "SiteSummary", "Vocabulary", "load_vocabulary", "paths", "write_landing",
           "write_site"]


def write_site(triples: Iterable[Triple], release_dir: Path, base: str,
               prefixes: Mapping[str, str], write_turtle: TurtleWriter, sitename: str,
               vocabulary: Vocabulary | None = None) -> SiteSummary:
    """The ``site/`` folder of a release: every entity's documents and the site's own files."""
    vocabulary = vocabulary or load_vocabulary()
    site_dir = Path(release_dir) / paths.SITE_DIR
    write_site_files(site_dir, vocabulary, sitename)
    return write_entity_pages(triples, site_dir, base, vocabulary, prefixes, write_turtle,
                              sitename)
