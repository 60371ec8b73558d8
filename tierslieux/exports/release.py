"""Write, validate and publish a release: the one entry point of the exports stage.

``write_release(triples, out_dir, meta)`` takes the N-Triples lines of the map stage (the union
of ``MappedPage.triples``: any order, duplicates allowed, no blank nodes) and publishes, in
``out_dir``:

==========================  =======================================================
``tierslieux.ttl``          Turtle, subjects / predicates / objects sorted
``tierslieux.nt.gz``        N-Triples, lines sorted (``LC_ALL=C sort -u``), gzip (one
                            gzip member per segment of subjects: segments.py)
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
``index.html``              the landing page, and one page per entity with its RDF
``site/``                   (tierslieux.site; SHA256SUMS lists the files of site/ too); both
                            left out when ``ReleaseMeta.linked_data_site`` is False
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

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierslieux.errors import PublishError, TierslieuxError, ValidationError
from tierslieux.exports import mediation
from tierslieux.exports import publish as pub
from tierslieux.exports.catalog import (
    CatalogInfo,
    GraphStats,
    catalog_triples,
    default_publication_url,
    write_catalog,
)
from tierslieux.exports.diff import (
    RECORD_FILE,
    REPORT_LIST_LIMIT,
    DumpRecord,
    ReleaseDiff,
    check_drop,
    keep_record,
    keep_unchanged_diff,
    previous_record,
    write_diff_files,
)
from tierslieux.exports.jsonld import Context
from tierslieux.model.lines import canonical_lines, triple_order
from tierslieux.exports.package import CSVW_FILE, csvw_metadata, datapackage
from tierslieux.exports.releasemeta import LICENCE_IDS, ReleaseMeta, ReleaseResult
from tierslieux.exports.quality import (
    QUALITY_FILE,
    TITLE_EN as QUALITY_TITLE_EN,
    TITLE_FR as QUALITY_TITLE_FR,
    quality_report,
    quality_resource,
    quality_rows,
    write_quality,
)
from tierslieux.exports.report import release_report, sha256_file, write_sums
from tierslieux.exports.segwrite import SegmentsPass, write_segments
from tierslieux.exports.tablepieces import Tables, TablesSetup, collect_index
from tierslieux.exports.tables import TableSpec, dump_json, load_tables
from tierslieux.model.rdf import CORE_PREFIXES
from tierslieux.exports.writers import (
    FORMATS,
    DiffPass,
    WriterInput,
    write_diff,
    write_format,
    writer_pool,
)
from tierslieux.site import LandingInfo, SiteSummary, load_vocabulary, paths, write_landing
from tierslieux.site.record import keep_site_record
from tierslieux.exports.gate import Clock as _Clock
from tierslieux.exports.gate import validate as _validate
from tierslieux.validation.release import StagedRelease, Validator, default_validators

if TYPE_CHECKING:  # importlib.resources.abc is 3.11+, importlib.abc works on 3.10
    from importlib.abc import Traversable

log = logging.getLogger(__name__)

RESOURCE_FILES = ("ontology.ttl", "shapes.ttl", "context.jsonld")


def write_release(triples: Iterable[str], out_dir: str | Path, meta: ReleaseMeta | None = None,
                  *, validators: Sequence[Validator] | None = None,
                  resources_dir: Path | Traversable | None = None,
                  tables_file: Path | None = None, workers: int | None = None,
                  segment_cache: Path | None = None,
                  segment_renderer: Any = None) -> ReleaseResult:
    """Write every published file in a staging folder, validate, and publish atomically.

    ``validators`` default to ``checks.default_validators()``; ``checks.check_rdf_files``
    (parse-back of every RDF file) runs first in any case, since it is the only check of the
    terms of the input lines and of the writers themselves. ``resources_dir`` is the folder
    of ontology.ttl, shapes.ttl and context.jsonld (default: the package's ontology folder);
    ``tables_file`` replaces the package's tables.yaml. ``workers`` caps the processes that
    write and check a big release (default: one per core). ``segment_cache`` is a folder
    where the RDF dumps' segments are kept from one release to the next (segments.py), with the
    record of the site (site/record.py); without it every segment and page is rendered, and
    the files are the same bytes. ``segment_renderer`` (a
    Dask engine's) renders the segments on a cluster instead of the writers' pool.

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
        result = _stage(triples, out_dir, staging, meta, clock,
                        default_validators() if validators is None else validators,
                        resources_dir, tables_file, workers, segment_cache, segment_renderer)
        pub.fsync_tree(staging)
        previous = pub.publish(staging, out_dir)
        clock.lap("publish")
        if result.segment_cache is not None:
            result.segment_cache.prune()
            keep_record(result.dump_record, result.segment_cache.folder / RECORD_FILE)
        if result.piece_cache is not None:
            result.piece_cache.prune()
        if segment_cache is not None:  # what is now in place (None: no site)
            keep_site_record(segment_cache, result.site_record)
    except TierslieuxError:
        raise
    except Exception as exc:  # anything unexpected still leaves the release untouched
        raise PublishError(f"release not published: {type(exc).__name__}: {exc}") from exc
    finally:
        if staging.exists():
            pub.remove_tree(staging)
    return replace(result, previous_dir=previous, timings=tuple(clock.laps), segment_cache=None,
                   dump_record=None, piece_cache=None, site_record=None)


# --------------------------------------------------------------------------- the phases


def _stage(triples: Iterable[str], out_dir: Path, staging: Path, meta: ReleaseMeta,
           clock: _Clock, validators: Sequence[Validator],
           resources_dir: Path | Traversable | None, tables_file: Path | None,
           workers: int | None = None, segment_cache: Path | None = None,
           segment_renderer: Any = None) -> ReleaseResult:
    """Every file of the release in ``staging``, validated: the phases of a release."""
    _refuse_errors(meta)
    lines = canonical_lines(triples)
    copies = _resource_copies(resources_dir)
    context = _context(copies)
    job = WriterInput(lines, triple_order(lines), staging, out_dir, meta.base_iri,
                      {**CORE_PREFIXES, **context.prefixes}, context, load_tables(tables_file),
                      meta.sitename, cache_folder=segment_cache)
    written = _write_formats(job, meta, workers, segment_cache, segment_renderer)
    flush = pub.Flush(path for path in sorted(staging.iterdir()) if path.is_file())
    clock.lap("write")
    log.debug("segments: %d, %d rendered, %d from the cache", written.segments.segments,
              written.segments.rendered, written.segments.reused)
    if written.site is not None:
        log.debug("site: %d entities, %d rendered, %d linked from the release in place",
                  written.site.pages, written.site.rendered, written.site.reused)
    for name, data in copies.items():
        (staging / name).write_bytes(data)
    keep_unchanged_diff(written.diff, out_dir, staging)
    digests = written.segments.manifest.digests()  # hashed while written, as the tables
    digests.update(written.tables.sums)
    quality = _write_package(job, written.tables, meta, digests)
    _write_catalog(job, written, meta, digests)
    if written.site is not None:
        _write_landing(job, written, meta, digests)
    all_files = tuple(sorted(p.name for p in staging.iterdir() if p.is_file()))
    clock.lap("tables and catalogue")
    ran = _validate(StagedRelease(folder=staging, triples=len(lines), files=all_files,
                                  workers=workers, segments=written.segments.manifest),
                   validators, clock)
    tables = written.tables.summaries
    national = written.tables.national
    warnings = [w for t in tables for w in t.warnings]
    report = release_report(meta, written.stats, written.diff, tables, warnings, ran, staging,
                            all_files)
    report["tables"][mediation.FILE] = {"rows": len(national.rows), "left_out": national.left_out}
    report["quality"] = quality_report(quality.rows, quality.neutralised, REPORT_LIST_LIMIT)
    site = written.site
    report["site"] = None if site is None else {
        "pages": site.pages, "files": site.files, "skipped_iris": site.skipped}
    (staging / "report.json").write_text(dump_json(report), encoding="utf-8", newline="\n")
    known = {name: sha for name, (_, sha) in digests.items()}
    if site is not None:  # hashed as they were written
        known.update((f"{paths.SITE_DIR}/{name}", sha) for name, sha in site.sums.items())
    write_sums(staging, known)
    flush.wait()
    clock.lap("report and checksums")
    return ReleaseResult(
        out_dir=out_dir, previous_dir=None,
        files=tuple(sorted(all_files + ("report.json", "SHA256SUMS"))),
        triples=written.stats.triples, entities=written.stats.entities, diff=written.diff,
        tables=tuple((t.spec.name, t.rows) for t in tables)
        + ((mediation.NAME, len(national.rows)),),
        warnings=tuple(warnings), validators=tuple(ran), quality_rows=len(quality.rows),
        segment_cache=written.segments.cache, dump_record=written.record,
        piece_cache=written.segments.pieces,
        site_record=None if written.site is None else written.site.record_file,
    )


def _refuse_errors(meta: ReleaseMeta) -> None:
    """Mapping errors block the release, unless forced."""
    errors = [i for i in meta.issues if i.severity == "error"]
    if errors and not meta.force:
        first = errors[0]
        raise ValidationError(
            f"{len(errors)} mapping errors, the first on page {first.page_title!r} "
            f"({first.field}): {first.message}"
        )


def _resource_copies(resources_dir: Path | Traversable | None) -> dict[str, bytes]:
    """The bytes of ontology.ttl, shapes.ttl and context.jsonld, published as they are."""
    resources_dir = resources_dir or resources.files("tierslieux.ontology")
    copies = {}
    for name in RESOURCE_FILES:
        try:
            copies[name] = resources_dir.joinpath(name).read_bytes()
        except OSError as exc:
            raise PublishError(
                f"{name} is missing from {resources_dir}: reinstall tierslieux"
            ) from exc
    return copies


def _context(copies: Mapping[str, bytes]) -> Context:
    try:
        return Context.from_document(json.loads(copies["context.jsonld"]))
    except ValueError as exc:
        raise PublishError(f"context.jsonld is not JSON: {exc}") from exc


@dataclass(frozen=True)
class _Written:
    """What the streaming passes over the lines gave."""

    tables: Tables
    stats: GraphStats
    diff: ReleaseDiff
    #: None when the release has no site (``ReleaseMeta.linked_data_site``)
    site: SiteSummary | None
    segments: SegmentsPass
    #: how the N-Triples dump is made of members (kept for the next release's diff)
    record: DumpRecord | None = None


def _write_formats(job: WriterInput, meta: ReleaseMeta, workers: int | None,
                   segment_cache: Path | None, segment_renderer: Any = None) -> _Written:
    """Every format of the registry and the diff, each a streaming pass of its own over the
    sorted lines, side by side in forked processes (one per core), the longest first, and the
    RDF dumps with the statistics, from segments rendered in the same processes. A small
    release stays in this process: forking would cost more than it saves. With a record of
    the dump in place (diff.py) the diff reads only the members that changed, here, once the
    dumps are written. A release much smaller than the previous one is refused as soon as both
    are known."""
    record_file = segment_cache / RECORD_FILE if segment_cache is not None else None
    previous = previous_record(job.out_dir, record_file)
    # the tables' index, before the pool forks: its workers make the pieces (tablepieces.py)
    job = replace(job, tables=TablesSetup(tuple(job.specs), job.sitename,
                                          collect_index(job.lines, job.specs)))
    job.tables.digest  # noqa: B018 - with the concepts' labels, inherited by the workers
    with writer_pool(job, len(job.lines), workers) as pool:
        names = [name for name in FORMATS if name != "site" or meta.linked_data_site]

        def submit(name: str) -> list[Any]:
            """The format's pass, or one share per worker for a format with a join (the
            site: one pass would hold one core long after the other is done)."""
            if FORMATS[name].join is None:
                return [pool.submit(write_format, name)]
            return [pool.submit(write_format, name, (k, pool.workers))
                    for k in range(pool.workers)]

        def start() -> list[Any]:
            return [submit(name) for name in names] + ([] if previous
                                                        else [pool.submit(write_diff)])

        segments = write_segments(job, pool, segment_cache, workers or os.cpu_count() or 1,
                                  start=start, remote=segment_renderer)
        formats = dict(zip(names, segments.started))
        stats = segments.stats
        record = DumpRecord.of_manifest(segments.manifest, dict(stats.classes))
        if previous is not None:  # only the members that changed (diff.py)
            compared = DiffPass(*write_diff_files(job.lines, job.out_dir, job.staging,
                                                  previous, record))
        else:
            compared = segments.started[-1].result()
        check_drop(compared.diff, stats.triples, threshold=meta.diff_threshold,
                   deleted=meta.counts.pages_deleted,
                   pages=compared.previous_pages, force=meta.force)
        done = {name: FORMATS[name].join(job, [f.result() for f in futures])
                if FORMATS[name].join is not None else futures[0].result()
                for name, futures in formats.items()}
    return _Written(tables=segments.tables, stats=stats, diff=compared.diff,
                    site=done.get("site"), segments=segments, record=record)


@dataclass(frozen=True)
class _Quality:
    rows: Sequence[Any]
    neutralised: int


def _write_package(job: WriterInput, tables: Tables, meta: ReleaseMeta,
                   digests: dict[str, tuple[int, str]]) -> _Quality:
    """quality.csv, then datapackage.json and the CSVW metadata that describe every table."""
    staging = job.staging
    quality = quality_rows([*meta.issues, *tables.national.issues], meta.site)
    quality_neutralised = write_quality(quality, staging)
    csv_files = {t.spec.file: _digest(staging / t.spec.file, digests) for t in tables.summaries}
    package = _datapackage(job.specs, csv_files, meta)
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
    return _Quality(quality, quality_neutralised)


def _write_catalog(job: WriterInput, written: _Written, meta: ReleaseMeta,
                   digests: dict[str, tuple[int, str]]) -> None:
    """catalog.ttl: DCAT-AP + VoID of every file written so far."""
    staging, stats = job.staging, written.stats
    csv_files = [t.spec.file for t in written.tables.summaries]
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
        oldest=stats.oldest_date, settings=meta.catalog, site=meta.linked_data_site,
    )
    if not meta.download_base:
        log.warning(
            "No publication URL (--publication-url, or publication-url in tierslieux.toml): "
            "catalog.ttl gives the files' addresses under %s, where nothing is served unless "
            "you publish the release there.", default_publication_url(meta.base_iri))
    titles = {t.spec.file: (t.spec.title_fr, t.spec.title_en) for t in written.tables.summaries}
    titles[mediation.FILE] = (mediation.TITLE_FR, mediation.TITLE_EN)
    titles[QUALITY_FILE] = (QUALITY_TITLE_FR, QUALITY_TITLE_EN)
    with open(staging / "catalog.ttl", "w", encoding="utf-8", newline="\n") as out:
        write_catalog(catalog_triples(info, files, stats, job.prefixes, titles), out)


def _write_landing(job: WriterInput, written: _Written, meta: ReleaseMeta,
                   digests: dict[str, tuple[int, str]]) -> None:
    """index.html: the landing page, with the files the catalogue describes and their sums."""
    stats = written.stats
    info = LandingInfo(
        base_iri=meta.base_iri, title_fr=meta.title_fr, title_en=meta.title_en,
        description_fr=meta.description_fr, description_en=meta.description_en,
        sitename=meta.sitename, source_url=meta.source_url, licence_iri=meta.licence_iri,
        licence_name=meta.licence_name, attribution=meta.attribution,
        publisher_name=meta.publisher_name, keywords=meta.keywords,
        modified=meta.newest_revision or stats.newest_modified, oldest=stats.oldest_date,
        triples=stats.triples, entities=stats.entities, files=dict(digests),
        download_base=meta.download_base,
    )
    write_landing(job.staging, info, written.site, load_vocabulary())


def _digest(path: Path, cache: dict[str, tuple[int, str]]) -> tuple[int, str]:
    if path.name not in cache:
        cache[path.name] = (path.stat().st_size, sha256_file(path))
    return cache[path.name]


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
