"""Write, validate and publish a release: the one entry point of the exports stage.

``write_release(triples, out_dir, meta)`` takes the N-Triples lines of the map stage (the union
of ``MappedPage.triples``: any order, duplicates allowed, no blank nodes) and publishes, in
``out_dir``:

==========================  =======================================================
``tierslieux.ttl``          Turtle, subjects / predicates / objects sorted
``tierslieux.nt.gz``        N-Triples, lines sorted (``LC_ALL=C sort -u``), gzip
``tierslieux.jsonld``       JSON-LD with the context embedded, ``@graph`` sorted by ``@id``
``ontology.ttl``            copies of the package's ontology files
``shapes.ttl``
``context.jsonld``
``*.csv``                   one table per kind of thing (``tables.yaml``)
``quality.csv``             the editors' quality report: the values of the wiki a cleaner
                            rejected or corrected, page by page (see quality.py)
``datapackage.json``        Frictionless Data Package + Table Schema of the CSV files
``catalog.ttl``             DCAT-AP + VoID (see catalog.py for what it covers)
``diff-added.nt.gz``        triples added / removed since the previous release (sorted;
``diff-removed.nt.gz``      empty when there is no previous release)
``report.json``             what the run did; the only file with the run's clock times
``SHA256SUMS``              ``sha256sum -c`` format, sorted by name: every file but
                            itself and report.json
==========================  =======================================================

Everything is written in a staging folder beside ``out_dir``, validated there, then swapped in
atomically (publish.py); the replaced release is kept as ``<out_dir>.previous``. On any failure
the current release stays byte-identical, the staging folder is removed, and ValidationError
(the data or the files are wrong) or PublishError (anything else) is raised.

Determinism: the same triples and the same meta give the same bytes in every file, except
``report.json`` (clock times) and the two diff files (they depend on the previous release; two
first releases, or two releases over the same previous one, have equal diffs). ``SHA256SUMS``
leaves report.json out so that it, too, is the same for the same data: a mirror or a portal
sees an unchanged release as unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierslieux import __version__
from tierslieux.config import (
    DEFAULT_ATTRIBUTION,
    DEFAULT_DIFF_THRESHOLD,
    DEFAULT_LICENCE,
    DEFAULT_LICENCE_NAME,
)
from tierslieux.errors import PublishError, TierslieuxError, ValidationError
from tierslieux.exports import publish as pub
from tierslieux.exports.catalog import (
    CatalogInfo,
    CatalogSettings,
    GraphStats,
    catalog_triples,
    default_publication_url,
    graph_stats,
    write_catalog,
)
from tierslieux.validation.release import (
    StagedRelease,
    Validator,
    check_rdf_files,
    default_validators,
    validator_name,
)
from tierslieux.exports.jsonld import Context, write_jsonld
from tierslieux.exports.ntriples import NTriplesGzWriter, read_ntriples_gz, write_ntriples_gz
from tierslieux.exports.quality import (
    QUALITY_FILE,
    TITLE_EN as QUALITY_TITLE_EN,
    TITLE_FR as QUALITY_TITLE_FR,
    quality_report,
    quality_resource,
    quality_rows,
    write_quality,
)
from tierslieux.exports import mediation
from tierslieux.exports.package import CSVW_FILE, csvw_metadata, datapackage
from tierslieux.exports.tables import (
    TableSpec,
    build_tables,
    dump_json,
    load_tables,
    write_table,
)
from tierslieux.exports.turtle import write_turtle
from tierslieux.model.lines import SortedLines, canonical_lines, triple_order
from tierslieux.model.rdf import CORE_PREFIXES, DEFAULT_BASE_IRI, RDF_TYPE
from tierslieux.model.records import Issue, SiteInfo

if TYPE_CHECKING:  # importlib.resources.abc is 3.11+, importlib.abc works on 3.10
    from importlib.abc import Traversable

log = logging.getLogger(__name__)

CC_BY_SA_4 = DEFAULT_LICENCE
#: Open Definition / SPDX identifiers of licences datapackage.json can name
LICENCE_IDS = {
    CC_BY_SA_4: "CC-BY-SA-4.0",
    "https://creativecommons.org/licenses/by/4.0/": "CC-BY-4.0",
    "https://creativecommons.org/publicdomain/zero/1.0/": "CC0-1.0",
    "https://www.etalab.gouv.fr/licence-ouverte-open-licence/": "etalab-2.0",
    "https://opendatacommons.org/licenses/odbl/1-0/": "ODbL-1.0",
}
WIKI_PAGE = "https://w3id.org/tierslieux/ontology#WikiPage"
RESOURCE_FILES = ("ontology.ttl", "shapes.ttl", "context.jsonld")
DIFF_ADDED, DIFF_REMOVED = "diff-added.nt.gz", "diff-removed.nt.gz"
#: entity lists in report.json are cut after this many IRIs (the diff files are complete)
REPORT_LIST_LIMIT = 10_000


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
    #: harvest / build counts (pages_seen, pages_changed, pages_deleted…), for report.json;
    #: pages_deleted also excuses a drop of the triple count (see write_release)
    stats: Mapping[str, Any] = field(default_factory=dict)
    issues: tuple[Issue, ...] = ()
    #: issues of severity "info" left out of ``issues`` (counted in report.json only: a big
    #: wiki has hundreds of thousands of them)
    info_issues: int = 0
    #: largest share of triples a release may lose unexplained (0.10 = 10 %)
    diff_threshold: float = DEFAULT_DIFF_THRESHOLD
    force: bool = False
    #: contact point, update frequency, publisher type, checksum datatype of catalog.ttl
    catalog: CatalogSettings = CatalogSettings()

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
class ReleaseDiff:
    """What changed against the previous release (by subject IRI for entities)."""

    previous_triples: int | None
    triples_added: int = 0
    triples_removed: int = 0
    #: the entities, sorted; a streaming diff keeps the first REPORT_LIST_LIMIT of each kind
    #: (the diff files are complete): a new base IRI changes every entity of a big wiki
    entities_added: tuple[str, ...] = ()
    entities_removed: tuple[str, ...] = ()
    entities_modified: tuple[str, ...] = ()
    #: how many entities of each kind, when there are more than the lists hold
    entities_counts: tuple[int, int, int] | None = None

    def count(self, kind: str) -> int:
        """Number of entities ``kind`` ("added", "removed", "modified")."""
        if self.entities_counts is not None:
            return self.entities_counts[("added", "removed", "modified").index(kind)]
        return len(getattr(self, f"entities_{kind}"))


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


class _Clock:
    """The seconds each step of a release took."""

    def __init__(self) -> None:
        import time

        self._now = time.perf_counter
        self._last = self._now()
        self.laps: list[tuple[str, float]] = []

    def lap(self, step: str) -> None:
        now = self._now()
        self.laps.append((step, round(now - self._last, 3)))
        self._last = now


def write_release(triples: Iterable[str], out_dir: str | Path, meta: ReleaseMeta | None = None,
                  *, validators: Sequence[Validator] | None = None,
                  resources_dir: Path | Traversable | None = None,
                  tables_file: Path | None = None, workers: int | None = None) -> ReleaseResult:
    """Write every published file in a staging folder, validate, and publish atomically.

    ``validators`` default to ``checks.default_validators()``; ``checks.check_rdf_files``
    (parse-back of every RDF file) runs first in any case, since it is the only check of the
    terms of the input lines and of the writers themselves. ``resources_dir`` is the folder
    of ontology.ttl, shapes.ttl and context.jsonld (default: the package's ontology folder);
    ``tables_file`` replaces the package's tables.yaml. ``workers`` caps the processes that
    write and check a big release (default: one per core).

    Issues of severity "error" in ``meta.issues`` block the release unless ``meta.force``.
    A release that loses more than ``meta.diff_threshold`` of the previous release's triples
    is refused unless ``meta.force``; deletions on the wiki excuse a proportional loss:
    ``pages_deleted / pages of the previous release`` is added to the threshold.
    """
    out_dir = Path(out_dir)
    meta = meta or ReleaseMeta()
    pub.check_target(out_dir)
    staging = pub.make_staging(out_dir)
    try:
        clock = _Clock()
        result = _build(triples, out_dir, staging, meta, clock,
                        default_validators() if validators is None else validators,
                        resources_dir, tables_file, workers)
        pub.fsync_tree(staging)
        previous = pub.publish(staging, out_dir)
        clock.lap("publish")
    except TierslieuxError:
        raise
    except Exception as exc:  # anything unexpected still leaves the release untouched
        raise PublishError(f"release not published: {type(exc).__name__}: {exc}") from exc
    finally:
        if staging.exists():
            pub.remove_tree(staging)
    return ReleaseResult(out_dir=out_dir, previous_dir=previous, timings=tuple(clock.laps),
                         **result)


# --------------------------------------------------------------------------- the build


def _build(triples: Iterable[str], out_dir: Path, staging: Path, meta: ReleaseMeta,
           clock: _Clock, validators: Sequence[Validator],
           resources_dir: Path | Traversable | None, tables_file: Path | None,
           workers: int | None = None) -> dict[str, Any]:
    errors = [i for i in meta.issues if i.severity == "error"]
    if errors and not meta.force:
        first = errors[0]
        raise ValidationError(
            f"{len(errors)} mapping errors, the first on page {first.page_title!r} "
            f"({first.field}): {first.message}"
        )
    lines = canonical_lines(triples)
    ordered = triple_order(lines)

    resources_dir = resources_dir or resources.files("tierslieux.ontology")
    copies = {}
    for name in RESOURCE_FILES:
        try:
            copies[name] = resources_dir.joinpath(name).read_bytes()
        except OSError as exc:
            raise PublishError(
                f"{name} is missing from {resources_dir}: reinstall tierslieux"
            ) from exc
    try:
        context = Context.from_document(json.loads(copies["context.jsonld"]))
    except ValueError as exc:
        raise PublishError(f"context.jsonld is not JSON: {exc}") from exc
    prefixes = {**CORE_PREFIXES, **context.prefixes}
    specs = load_tables(tables_file)

    # Every writer is a streaming pass of its own over the sorted lines: they run side by
    # side in forked processes (one per core), the longest first. A small release stays in
    # this process: forking would cost more than it saves.
    global _WRITING
    _WRITING = _Writing(lines, ordered, staging, out_dir, meta.base_iri, prefixes, context,
                        specs, meta.sitename)
    try:
        with _writers(len(lines), workers) as pool:
            tables_job = pool.submit(_run, "_write_tables")
            jsonld_job = pool.submit(_run, "_write_jsonld")
            turtle_job = pool.submit(_run, "_write_turtle")
            nt_job = pool.submit(_run, "_write_ntriples")
            diff_job = pool.submit(_run, "_diff_job")
            stats = pool.submit(_run, "_stats_job").result()
            diff, previous_pages = diff_job.result()
            _check_drop(diff, stats, meta, previous_pages)
            tables, national = tables_job.result()
            for job in (jsonld_job, turtle_job, nt_job):
                job.result()
    finally:
        _WRITING = None
    clock.lap("write")
    for name, data in copies.items():
        (staging / name).write_bytes(data)
    unchanged = (diff.previous_triples is not None and not diff.triples_added
                 and not diff.triples_removed
                 and all((out_dir / name).is_file() for name in (DIFF_ADDED, DIFF_REMOVED)))
    if unchanged:
        # Same data as the release in place: keep its diff (the change that led to this data),
        # so that rebuilding an unchanged store republishes byte-identical files.
        for name in (DIFF_ADDED, DIFF_REMOVED):
            shutil.copyfile(out_dir / name, staging / name)

    quality = quality_rows([*meta.issues, *national.issues], meta.site)
    quality_neutralised = write_quality(quality, staging)
    digests: dict[str, tuple[int, str]] = {}
    csv_files = {t.spec.file: _digest(staging / t.spec.file, digests) for t in tables}
    package = _datapackage(specs, csv_files, meta)
    package["resources"].append(
        mediation.national_resource(*_digest(staging / mediation.FILE, digests)))
    package["resources"].append(quality_resource(*_digest(staging / QUALITY_FILE, digests)))
    (staging / "datapackage.json").write_text(
        dump_json(package), encoding="utf-8", newline="\n"
    )
    (staging / CSVW_FILE).write_text(
        dump_json(csvw_metadata(package, {mediation.NAME: mediation.LIST_FIELDS})),
        encoding="utf-8", newline="\n",
    )

    described = [
        "tierslieux.ttl", "tierslieux.nt.gz", "tierslieux.jsonld", *RESOURCE_FILES,
        *csv_files, mediation.FILE, QUALITY_FILE, "datapackage.json", CSVW_FILE,
    ]
    files = {name: _digest(staging / name, digests) for name in described}
    info = CatalogInfo(
        base_iri=meta.base_iri, publication_url=meta.download_base,
        title={"fr": meta.title_fr, "en": meta.title_en},
        description={"fr": meta.description_fr, "en": meta.description_en},
        keywords=meta.keywords, publisher_name=meta.publisher_name,
        licence_iri=meta.licence_iri, licence_name=meta.licence_name,
        attribution=meta.attribution, source_url=meta.source_url,
        modified=meta.newest_revision or stats.newest_modified,
        oldest=stats.oldest_date, settings=meta.catalog,
    )
    if not meta.download_base:
        log.warning(
            "No publication URL (--publication-url, or publication-url in tierslieux.toml): "
            "catalog.ttl gives the files' addresses under %s, where nothing is served unless "
            "you publish the release there.", default_publication_url(meta.base_iri))
    titles = {t.spec.file: (t.spec.title_fr, t.spec.title_en) for t in tables}
    titles[mediation.FILE] = (mediation.TITLE_FR, mediation.TITLE_EN)
    titles[QUALITY_FILE] = (QUALITY_TITLE_FR, QUALITY_TITLE_EN)
    with open(staging / "catalog.ttl", "w", encoding="utf-8", newline="\n") as out:
        write_catalog(catalog_triples(info, files, stats, prefixes, titles), out)

    all_files = tuple(sorted(p.name for p in staging.iterdir()))
    staged = StagedRelease(folder=staging, triples=len(lines), files=all_files, workers=workers)
    clock.lap("tables and catalogue")
    ran = []
    checks = [check_rdf_files] + [v for v in validators if v is not check_rdf_files]
    for validator in checks:
        name = validator_name(validator)
        problems = list(validator(staged))
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            first = " ".join(str(problems[0]).split())  # one line, whatever the validator said
            raise ValidationError(f"{name}: {first}{more}")
        ran.append(name)
        clock.lap(f"validate: {name}")

    warnings = [w for t in tables for w in t.warnings]
    report = _report(meta, stats, diff, tables, warnings, ran, staging, all_files)
    report["tables"][mediation.FILE] = {"rows": len(national.rows), "left_out": national.left_out}
    report["quality"] = quality_report(quality, quality_neutralised, REPORT_LIST_LIMIT)
    (staging / "report.json").write_text(dump_json(report), encoding="utf-8", newline="\n")
    _write_sums(staging)
    clock.lap("report and checksums")
    return {
        "files": tuple(sorted(all_files + ("report.json", "SHA256SUMS"))),
        "triples": stats.triples,
        "entities": stats.entities,
        "diff": diff,
        "tables": tuple((t.spec.name, t.rows) for t in tables)
        + ((mediation.NAME, len(national.rows)),),
        "warnings": tuple(warnings),
        "validators": tuple(ran),
        "quality_rows": len(quality),
    }


def _digest(path: Path, cache: dict[str, tuple[int, str]]) -> tuple[int, str]:
    if path.name not in cache:
        cache[path.name] = (path.stat().st_size, sha256_file(path))
    return cache[path.name]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_sums(folder: Path) -> None:
    names = sorted(p.name for p in folder.iterdir() if p.name not in ("SHA256SUMS", "report.json"))
    text = "".join(f"{sha256_file(folder / name)}  {name}\n" for name in names)
    (folder / "SHA256SUMS").write_text(text, encoding="utf-8", newline="\n")


def _datapackage(specs: Sequence[TableSpec], csv_files: Mapping[str, tuple[int, str]],
                 meta: ReleaseMeta) -> dict[str, Any]:
    licence = {"path": meta.licence_iri, "title": meta.licence_name}
    if meta.licence_iri in LICENCE_IDS:
        licence = {"name": LICENCE_IDS[meta.licence_iri], **licence}
    sources = [{"title": meta.sitename, "path": meta.source_url}] if meta.source_url else []
    return datapackage(
        specs, csv_files, title=meta.title_fr, description=meta.description_fr,
        keywords=meta.keywords, licence=licence, sources=sources,
        homepage=meta.download_base,
    )


# --------------------------------------------------------------------------- the writers

#: below this many triples a release is written in one process
PARALLEL_TRIPLES = 100_000


@dataclass(frozen=True)
class TableSummary:
    """A table written by ``_write_tables``: what the report and the catalogue say of it."""

    spec: TableSpec
    rows: int
    neutralised: int
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Writing:
    """What the writers of one release read (set before the writer processes are forked,
    which inherit it)."""

    lines: Any
    ordered: Any
    staging: Path
    out_dir: Path
    base_iri: str
    prefixes: Mapping[str, str]
    context: Context
    specs: Sequence[TableSpec]
    sitename: str


_WRITING: _Writing | None = None


def _writers(triples: int, workers: int | None = None) -> Any:
    """The pool the writers run in: worker processes for a big release, else this process."""
    import os

    from tierslieux.workers import InlineExecutor, process_pool

    workers = workers or os.cpu_count() or 1
    if triples < PARALLEL_TRIPLES or workers < 2:
        return InlineExecutor()
    return process_pool(workers)


def _run(writer: str) -> Any:
    """Run the writer of that name (by name: what a worker process is sent)."""
    return globals()[writer]()


def _job() -> _Writing:
    assert _WRITING is not None, "a release writer ran outside write_release"
    return _WRITING


def _write_tables() -> tuple[list[TableSummary], mediation.NationalTable]:
    job = _job()
    summaries = []
    tables = build_tables(job.ordered, job.specs, sitename=job.sitename)
    for table in tables:
        write_table(table, job.staging)
        summaries.append(TableSummary(table.spec, len(table.rows), table.neutralised,
                                      tuple(table.warnings)))
    national = mediation.national_table(tables)  # from the rows of tiers_lieux.csv
    mediation.write_national(national, job.staging)
    return summaries, national


def _write_jsonld() -> None:
    job = _job()
    with open(job.staging / "tierslieux.jsonld", "w", encoding="utf-8", newline="\n") as out:
        write_jsonld(job.ordered, out, job.context)


def _write_turtle() -> None:
    job = _job()
    with open(job.staging / "tierslieux.ttl", "w", encoding="utf-8", newline="\n") as out:
        write_turtle(job.ordered, out, job.prefixes)


def _write_ntriples() -> None:
    job = _job()
    write_ntriples_gz(job.lines, job.staging / "tierslieux.nt.gz")


def _stats_job() -> GraphStats:
    job = _job()
    return graph_stats(job.ordered, job.base_iri)


def _diff_job() -> tuple[ReleaseDiff, int]:
    """The diff against the release in place, its two files written in the staging folder."""
    job = _job()
    with NTriplesGzWriter(job.staging / DIFF_ADDED) as added, \
            NTriplesGzWriter(job.staging / DIFF_REMOVED) as removed:
        diff, _, _, previous_pages = _diff(job.lines, job.out_dir, (added, removed))
    return diff, previous_pages


# --------------------------------------------------------------------------- the diff


def _subject(line: str) -> str:
    return line[1 : line.index("> ")]


def _diff(lines: list[str], out_dir: Path, sinks: tuple[Any, Any] | None = None
          ) -> tuple[ReleaseDiff, list[str], list[str], int]:
    """Compare with the release in ``out_dir`` (its N-Triples dump), if there is one.

    Returns the diff, the added and the removed lines, and the number of wiki pages
    (subjects typed tl:WikiPage) of the previous release. With ``sinks`` (two
    ``NTriplesGzWriter``), the added and removed lines are written to them as they are found
    instead of being returned: a release whose every triple changed (a new base IRI) costs no
    memory.
    """
    old_path = out_dir / "tierslieux.nt.gz"
    if not old_path.is_file():
        return ReleaseDiff(previous_triples=None), [], [], 0
    if isinstance(lines, SortedLines):
        try:
            return _diff_sorted(lines, old_path, sinks)
        except _Unsorted:
            if sinks is not None:
                for sink in sinks:
                    sink.reset()
            # an old dump not written by write_release: compare as sets below
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise PublishError(f"cannot read the previous release {old_path}: {exc}") from exc
    try:
        old = sorted(set(read_ntriples_gz(old_path)))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise PublishError(f"cannot read the previous release {old_path}: {exc}") from exc
    old_set = set(old)
    new_set = set(lines)
    added = [line for line in lines if line not in old_set]
    removed = [line for line in old if line not in new_set]
    old_subjects = {_subject(line) for line in old}
    new_subjects = {_subject(line) for line in lines}
    touched = {_subject(line) for line in added} | {_subject(line) for line in removed}
    diff = ReleaseDiff(
        previous_triples=len(old),
        triples_added=len(added),
        triples_removed=len(removed),
        entities_added=tuple(sorted(new_subjects - old_subjects)),
        entities_removed=tuple(sorted(old_subjects - new_subjects)),
        entities_modified=tuple(sorted(touched & old_subjects & new_subjects)),
    )
    page_marker = f"> <{RDF_TYPE}> <{WIKI_PAGE}> ."
    previous_pages = sum(1 for line in old if line.endswith(page_marker))
    if sinks is not None:
        for sink, found in zip(sinks, (added, removed)):
            for line in found:
                sink.write(line)
        return diff, [], [], previous_pages
    return diff, added, removed, previous_pages


class _Unsorted(Exception):
    """The previous dump is not in line order without duplicates."""


def _diff_sorted(lines: SortedLines, old_path: Path, sinks: tuple[Any, Any] | None = None
                 ) -> tuple[ReleaseDiff, list[str], list[str], int]:
    """``_diff`` in one merge pass over two sorted streams, holding neither: the lines of a
    subject are contiguous in line order, so entities are compared group by group."""
    page_marker = f"> <{RDF_TYPE}> <{WIKI_PAGE}> ."
    added: list[str] = []
    removed: list[str] = []
    add, remove = (added.append, removed.append) if sinks is None else (
        sinks[0].write, sinks[1].write)
    totals = [0, 0]
    entities_added: list[str] = []
    entities_removed: list[str] = []
    entities_modified: list[str] = []
    counts = {"old": 0, "pages": 0}

    def old_lines() -> Iterator[str]:
        previous = None
        for line in read_ntriples_gz(old_path):
            if previous is not None and line <= previous:
                raise _Unsorted
            previous = line
            counts["old"] += 1
            if line.endswith(page_marker):
                counts["pages"] += 1
            yield line

    # (line, side): 0 in both releases, 1 only in the new one, 2 only in the old one
    def events() -> Iterator[tuple[str, int]]:
        new_it, old_it = iter(lines), old_lines()
        new, old = next(new_it, None), next(old_it, None)
        while new is not None or old is not None:
            if old is None or (new is not None and new < old):
                yield new, 1  # type: ignore[misc]
                new = next(new_it, None)
            elif new is None or old < new:
                yield old, 2
                old = next(old_it, None)
            else:
                yield new, 0
                new, old = next(new_it, None), next(old_it, None)

    subject = None
    sides = 0  # bit 1: the subject is in the new release, bit 2: in the old one
    touched = False

    entity_totals = [0, 0, 0]

    def close() -> None:
        if subject is None:
            return
        # only the first REPORT_LIST_LIMIT of each kind are kept (in the dump's order)
        if sides == 1:
            entity_totals[0] += 1
            if len(entities_added) < REPORT_LIST_LIMIT:
                entities_added.append(subject)
        elif sides == 2:
            entity_totals[1] += 1
            if len(entities_removed) < REPORT_LIST_LIMIT:
                entities_removed.append(subject)
        elif touched:
            entity_totals[2] += 1
            if len(entities_modified) < REPORT_LIST_LIMIT:
                entities_modified.append(subject)

    for line, side in events():
        current = _subject(line)
        if current != subject:
            close()
            subject, sides, touched = current, 0, False
        if side == 0:
            sides |= 3
        elif side == 1:
            sides |= 1
            touched = True
            totals[0] += 1
            add(line)
        else:
            sides |= 2
            touched = True
            totals[1] += 1
            remove(line)
    close()
    diff = ReleaseDiff(
        previous_triples=counts["old"],
        triples_added=totals[0],
        triples_removed=totals[1],
        entities_added=tuple(sorted(entities_added)),
        entities_removed=tuple(sorted(entities_removed)),
        entities_modified=tuple(sorted(entities_modified)),
        entities_counts=tuple(entity_totals) if max(entity_totals) > REPORT_LIST_LIMIT
        else None,  # type: ignore[arg-type]
    )
    return diff, added, removed, counts["pages"]


def _check_drop(diff: ReleaseDiff, stats: GraphStats, meta: ReleaseMeta, pages: int) -> None:
    """Refuse a release much smaller than the previous one, unless explained or forced."""
    previous = diff.previous_triples
    if not previous or meta.force:
        return
    drop = (previous - stats.triples) / previous
    deleted = int(meta.stats.get("pages_deleted", 0) or 0)
    excused = 0.0
    if deleted:
        excused = min(1.0, deleted / pages) if pages else 1.0
    if drop > meta.diff_threshold + excused:
        raise ValidationError(
            f"the release has {stats.triples} triples, {drop:.1%} fewer than the previous one "
            f"({previous}), more than the {meta.diff_threshold:.0%} allowed"
            + (f" plus {excused:.1%} for {deleted} deleted pages" if deleted else "")
            + "; check the harvest and the mapping, or force the release"
        )


# --------------------------------------------------------------------------- the report


def _report(meta: ReleaseMeta, stats: GraphStats, diff: ReleaseDiff, tables, warnings,
            validators: Sequence[str], staging: Path, files: Sequence[str]) -> dict[str, Any]:
    def cut(kind: str) -> dict[str, Any]:
        items = getattr(diff, f"entities_{kind}")
        count = diff.count(kind)
        entry: dict[str, Any] = {"count": count, "iris": list(items[:REPORT_LIST_LIMIT])}
        if count > REPORT_LIST_LIMIT:
            entry["truncated"] = True
        return entry

    if diff.previous_triples is None:
        diff_entry: dict[str, Any] = {"previous_release": False}
    else:
        diff_entry = {
            "previous_release": True,
            "previous_triples": diff.previous_triples,
            "triples_added": diff.triples_added,
            "triples_removed": diff.triples_removed,
            "entities_added": cut("added"),
            "entities_removed": cut("removed"),
            "entities_modified": cut("modified"),
        }
    diff_entry["files"] = [DIFF_ADDED, DIFF_REMOVED]
    issues = sorted(
        meta.issues, key=lambda i: (i.page_title, i.field, i.severity, i.message, i.original)
    )
    severities = ("error", "warning", "info")
    return {
        "tool": {"name": "tierslieux", "version": __version__},
        "run": {
            "started": meta.started,
            "finished": meta.finished or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "wiki": {"sitename": meta.sitename, "address": meta.source_url},
        "newest_revision": meta.newest_revision or stats.newest_modified,
        "pages": dict(sorted(meta.stats.items())),
        "graph": {
            "triples": stats.triples,
            "entities": stats.entities,
            "distinct_subjects": stats.distinct_subjects,
            "classes": dict(stats.classes),
        },
        "tables": {
            t.spec.file: {"rows": t.rows, "neutralised_cells": t.neutralised} for t in tables
        },
        "files": {name: (staging / name).stat().st_size for name in files},
        "validation": list(validators),
        "diff": diff_entry,
        "warnings": list(warnings),
        "issues": {
            "count": {s: sum(1 for i in issues if i.severity == s)
                      + (meta.info_issues if s == "info" else 0) for s in severities},
            "list": [asdict(i) for i in issues if i.severity != "info"],
        },
    }
