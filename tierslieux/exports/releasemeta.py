"""What a release says besides its triples, and what a published one gives back.

``ReleaseMeta`` and ``ReleaseResult``: the frozen records ``release.write_release`` takes and
returns (re-exported there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tierslieux.config import (
    DEFAULT_ATTRIBUTION,
    DEFAULT_DIFF_THRESHOLD,
    DEFAULT_LICENCE,
    DEFAULT_LICENCE_NAME,
)
from tierslieux.exports.catalog import CatalogSettings
from tierslieux.exports.diff import ReleaseDiff
from tierslieux.model.rdf import DEFAULT_BASE_IRI
from tierslieux.model.records import Issue, RunCounts, SiteInfo

CC_BY_SA_4 = DEFAULT_LICENCE
#: Open Definition / SPDX identifiers of licences datapackage.json can name
LICENCE_IDS = {
    CC_BY_SA_4: "CC-BY-SA-4.0",
    "https://creativecommons.org/licenses/by/4.0/": "CC-BY-4.0",
    "https://creativecommons.org/publicdomain/zero/1.0/": "CC0-1.0",
    "https://www.etalab.gouv.fr/licence-ouverte-open-licence/": "etalab-2.0",
    "https://opendatacommons.org/licenses/odbl/1-0/": "ODbL-1.0",
}


@dataclass(frozen=True)
class ReleaseMeta:
    """Everything a release says besides its triples."""

    #: root of the data IRIs (void:uriSpace); catalogue nodes are minted under it
    base_iri: str = DEFAULT_BASE_IRI
    #: where the files will be served from; "" puts the catalogue's download addresses under
    #: ``{base_iri}release/`` (catalog.default_publication_url) and logs a warning
    publication_url: str = ""
    licence_iri: str = CC_BY_SA_4
    licence_name: str = DEFAULT_LICENCE_NAME
    attribution: str = DEFAULT_ATTRIBUTION
    publisher_name: str = "Movilab"
    site: SiteInfo | None = None
    title_fr: str = "Tiers-lieux et collectivités : les données ouvertes de Movilab"
    title_en: str = "Third places and local governments: Movilab open data"
    description_fr: str = (
        "Les pages du wiki Movilab (tiers-lieux, collectivités, réseaux, documentation) en "
        "données liées : leurs sections, listes et fiches, avec la provenance de chaque "
        "révision. Graphe RDF (Turtle, N-Triples, JSON-LD) et tables CSV."
    )
    description_en: str = (
        "The pages of the Movilab wiki (third places, local governments, networks, "
        "documentation) as linked data: their sections, lists and records, with the provenance "
        "of every revision. RDF graph (Turtle, N-Triples, JSON-LD) and CSV tables."
    )
    keywords: tuple[str, ...] = ("tiers-lieux", "collectivités", "Movilab", "wiki", "données liées")
    #: newest revision timestamp (xsd:dateTime) -> dcterms:issued / modified;
    #: "" takes the newest dcterms:modified of the data
    newest_revision: str = ""
    #: the run's start and end (ISO 8601), for report.json only
    started: str = ""
    finished: str = ""
    #: harvest / build counts, for report.json; their pages_deleted also excuses a drop of
    #: the triple count (see write_release)
    counts: RunCounts = RunCounts()
    issues: tuple[Issue, ...] = ()
    #: issues of severity "info" left out of ``issues`` (counted in report.json only: a big
    #: wiki has hundreds of thousands of them)
    info_issues: int = 0
    #: largest share of triples a release may lose unexplained (0.10 = 10 %)
    diff_threshold: float = DEFAULT_DIFF_THRESHOLD
    force: bool = False
    #: contact point, update frequency, publisher type, checksum datatype of catalog.ttl
    catalog: CatalogSettings = CatalogSettings()
    #: write the Linked Data site (``site/`` and ``index.html``); False leaves both out
    linked_data_site: bool = True

    @property
    def sitename(self) -> str:
        return self.site.sitename if self.site else "Movilab"

    @property
    def source_url(self) -> str:
        """The wiki's address (the article path without its ``$1``)."""
        if self.site and self.site.article_path:
            return self.site.article_path.replace("$1", "")
        return ""

    @property
    def download_base(self) -> str:
        url = self.publication_url
        return url if not url or url.endswith("/") else url + "/"


@dataclass(frozen=True)
class ReleaseResult:
    """A published release."""

    out_dir: Path
    #: where the replaced release was kept, None for a first release
    previous_dir: Path | None
    files: tuple[str, ...]
    triples: int
    entities: int
    diff: ReleaseDiff
    #: table name -> rows
    tables: tuple[tuple[str, int], ...]
    warnings: tuple[str, ...]
    validators: tuple[str, ...]
    #: rows of quality.csv (values of the wiki rejected or corrected)
    quality_rows: int = 0
    #: (step, seconds) of the release: "write", "validate: <validator>", "publish"...
    timings: tuple[tuple[str, float], ...] = ()
    #: the segment cache to prune once published, and the dump's record to keep in it
    #: (always None in the result returned)
    segment_cache: Any = None
    dump_record: Any = None
    #: the cache of the tables' pieces to prune once published (always None in the result)
    piece_cache: Any = None
    #: the record of the site written (its file in the segment cache), to keep once
    #: published (always None in the result returned)
    site_record: Path | None = None
