"""The build: store -> parse -> map -> validate -> publish.

A build never touches the network. Parsing and mapping a page is a pure function of its stored
revision; a page that cannot be parsed or mapped is reported and the rest goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.resources import as_file, files
from pathlib import Path

from tierslieux.errors import ParseError, StoreError
from tierslieux.pipeline.records import Issue, MappedPage, SiteInfo, StoredPage
from tierslieux.pipeline.store import Store

#: Default root of the data IRIs; a deployment sets its own (``--base-iri``).
DEFAULT_BASE_IRI = "https://w3id.org/tierslieux/movilab/"

#: called with (pages done, total) while building
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BuildOptions:
    """Everything a build needs besides the store and the output folder."""

    base_iri: str = DEFAULT_BASE_IRI
    #: None builds every harvested namespace
    namespaces: tuple[int, ...] | None = None
    mapping_path: Path | None = None
    publication_url: str = ""
    licence: str = "https://creativecommons.org/licenses/by-sa/4.0/"
    licence_name: str = "CC BY-SA 4.0"
    attribution: str = "Movilab contributors, https://movilab.org/wiki/Accueil"
    force: bool = False
    diff_threshold: float = 0.10
    #: harvest statistics of the run, copied into report.json
    stats: dict = field(default_factory=dict)
    started: str = ""


@dataclass(frozen=True)
class BuildResult:
    """What a build published."""

    out_dir: Path
    pages: int
    triples: int
    issues: tuple[Issue, ...]
    files: tuple[str, ...]

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity in ("warning", "error"))


def sample_dump() -> Path:
    """The bundled sample wiki (a MediaWiki XML export) as a real file path."""
    resource = files("tierslieux") / "sample" / "movilab-sample.xml"
    with as_file(resource) as path:
        return Path(path)


def map_pages(
    pages: Iterable[StoredPage], site: SiteInfo, options: BuildOptions,
) -> Iterator[MappedPage]:
    """Parse and map every page; a failing page becomes a MappedPage with only an issue."""
    from tierslieux.ontology import load_mapping
    from tierslieux.pipeline.map import Mapper
    from tierslieux.pipeline.parse import parse_page

    mapper = Mapper(load_mapping(options.mapping_path), site, options.base_iri)
    for page in pages:
        rev = page.revision
        try:
            yield mapper.map_page(parse_page(page))
        except ParseError as exc:
            yield MappedPage(
                page_id=rev.page_id, rev_id=rev.rev_id, title=rev.title, triples=(),
                issues=(Issue(rev.title, "warning", "page", "", "", f"not parsed: {exc}"),),
            )


def build(store_path: str | Path, out_dir: str | Path, options: BuildOptions = BuildOptions(),
          *, progress: Progress | None = None) -> BuildResult:
    """Build and publish a release from a harvested store."""
    from tierslieux.exports.release import ReleaseMeta, write_release

    out_dir = Path(out_dir)
    with Store(store_path, create=False) as store:
        site = store.site_info
        if site is None or store.count() == 0:
            raise StoreError(f"{store_path} holds no harvested page: run 'tierslieux harvest' first")
        total = store.count()
        triples: set[str] = set()
        issues: list[Issue] = []
        done = 0
        for mapped in map_pages(store.pages(options.namespaces), site, options):
            triples.update(mapped.triples)
            issues.extend(mapped.issues)
            done += 1
            if progress:
                progress(done, total)
        newest = store.newest_timestamp(options.namespaces)
        stats = {**options.stats, "pages_built": done}
    meta = ReleaseMeta(
        base_iri=options.base_iri,
        publication_url=options.publication_url,
        licence_iri=options.licence,
        licence_name=options.licence_name,
        attribution=options.attribution,
        site=site,
        newest_revision=newest,
        started=options.started,
        stats=stats,
        issues=tuple(issues),
        diff_threshold=options.diff_threshold,
        force=options.force,
    )
    result = write_release(sorted(triples), out_dir, meta)
    return BuildResult(
        out_dir=out_dir, pages=done, triples=len(triples), issues=tuple(issues),
        files=tuple(getattr(result, "files", ())),
    )


