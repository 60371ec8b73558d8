"""A whole job, as cron runs it: the lock, the runs history, harvest then build if changed.

:func:`run`, :func:`harvest` and :func:`build` are what the ``run``, ``harvest`` and ``build``
commands call, and what a script calls to get the same contract without the command line:

- one job at a time per store (:mod:`tierslieux.runner.lock`); a job that finds the store locked
  raises :class:`~tierslieux.errors.LockedError` and records it;
- one line appended to the runs history (:mod:`tierslieux.runner.history`) however the job ends,
  with what was done before it failed;
- the build skipped when the harvest changed nothing and a release exists (``unchanged``);
- what can be checked before anything is touched (the dump exists, the store exists for a
  build) is checked first: such a job fails leaving no new file behind, not even a history line.
  A job whose harvest fails on a store it created removes that store again.

The result is a :class:`JobResult`: its ``outcome`` is the :class:`Outcome` the history records
and the command line turns into an exit code. Failures are the typed exceptions of
:mod:`tierslieux.errors`, raised after they are recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tierslieux.config import Config
from tierslieux.errors import ConfigError, MissingInputError, TierslieuxError
from tierslieux.model.records import HarvestCounts
from tierslieux.pipeline.harvest_record import HarvestReport, now_utc
from tierslieux.runner.build import BuildResult
from tierslieux.runner.history import (
    Outcome,
    RunRecord,
    append_run,
    exit_code_for,
    history_path,
    outcome_for,
    success_outcome,
)

log = logging.getLogger("tierslieux")

#: progress callback of one phase: (done, total or None)
Tick = Callable[[int, int | None], None]


class Progress(Protocol):
    """Where a job reports its progress (the command line draws it on a terminal)."""

    def phase(self, label: str) -> Tick | None:
        """A callback for the phase called ``label`` ("pages fetched", "pages built"...)."""

    def end(self) -> None:
        """The phase is over (a terminal clears its progress line)."""


class _Silent:
    def phase(self, label: str) -> Tick | None:
        return None

    def end(self) -> None:
        pass


@dataclass(frozen=True)
class JobResult:
    """How a job ended, and what its harvest and build did (None when they did not run)."""

    outcome: Outcome
    harvest: HarvestReport | None = None
    build: BuildResult | None = None


def run(config: Config, *, full: bool = False, force: bool = False,
        progress: Progress | None = None) -> JobResult:
    """Harvest ``config``'s source (the bundled sample without one), then build if it changed.

    The build is skipped (``Outcome.UNCHANGED``) when the harvest changed nothing and a release
    exists in ``config.out``, unless ``force``.
    """
    progress = progress or _Silent()
    _check_source(config)
    with _Job(config, "run", _source(config)) as job:
        started = now_utc()
        report = job.harvest = _harvest(config, full=full, progress=progress, job=job)
        # a page whose problems changed (reported, or no longer) changes the release too
        changed = _changed(report) or bool(report.problems_changed)
        if not changed and (config.out / "SHA256SUMS").exists() and not force:
            log.info("Nothing changed since the last run; %s/ left as it was.", config.out)
            job.outcome = Outcome.UNCHANGED
        else:
            job.build = _build(config, harvest=HarvestCounts.of(report), started=started, force=force,
                               progress=progress)
            job.outcome = success_outcome(changed=True, warnings=len(job.build.warnings))
    return job.result()


def harvest(config: Config, *, full: bool = False,
            progress: Progress | None = None) -> JobResult:
    """Fill the store from ``config.wiki`` or ``config.dump`` (one of them is required)."""
    if not config.wiki and not config.dump:
        raise ConfigError("give --wiki URL or --dump FILE (or set one in tierslieux.toml)")
    progress = progress or _Silent()
    _check_source(config)
    with _Job(config, "harvest", _source(config)) as job:
        report = job.harvest = _harvest(config, full=full, progress=progress, job=job)
        job.outcome = success_outcome(changed=_changed(report), warnings=0)
    if job.outcome is Outcome.UNCHANGED:
        log.info("Nothing changed since the last harvest.")
    return job.result()


def build(config: Config, *, force: bool = False, progress: Progress | None = None) -> JobResult:
    """Parse, map, validate and publish the store into ``config.out`` (no network)."""
    progress = progress or _Silent()
    if not config.store.is_file():
        raise MissingInputError(f"no store at {config.store}: run 'tierslieux harvest' first")
    with _Job(config, "build", "") as job:
        job.build = _build(config, harvest=None, started=now_utc(), force=force, progress=progress)
        job.outcome = success_outcome(changed=True, warnings=len(job.build.warnings))
    return job.result()


def build_dump(config: Config, *, force: bool = False,
               progress: Progress | None = None) -> JobResult:
    """Build ``config.dump``'s partitions into ``config.out``, no store: the state, its lock
    and runs history in ``config.state`` (``runner/partitions.py``)."""
    from dataclasses import replace

    from tierslieux.runner.partitions import dump_index

    progress = progress or _Silent()
    if config.state.exists() and not config.state.is_dir():
        raise ConfigError(f"{config.state}: is a file, not a state folder (--state)")
    dump_index(config.dump, config.dump_index)  # bad input leaves no new state folder
    config.state.mkdir(parents=True, exist_ok=True)
    with _Job(replace(config, store=config.state / "state"), "build", str(config.dump)) as job:
        job.build = _build(config, harvest=None, started=now_utc(), force=force,
                           progress=progress, from_dump=True)
        job.outcome = success_outcome(changed=True, warnings=len(job.build.warnings))
    return job.result()


# ------------------------------------------------------------------------ the contract


class _Job:
    """Holds the store's lock and appends one history line, whatever happens inside."""

    def __init__(self, config: Config, command: str, source: str) -> None:
        self.config, self.command, self.source = config, command, source
        self.outcome: Outcome | None = None
        self.harvest: HarvestReport | None = None
        self.build: BuildResult | None = None
        self._new_store = not config.store.exists()
        self.start = now_utc()

    def __enter__(self) -> _Job:
        from tierslieux.runner.lock import acquire_lock

        try:
            self._lock = acquire_lock(self.config.store, command=self.command)
        except TierslieuxError as exc:
            self._record(outcome_for(exc), str(exc))
            raise
        if self._lock.took_over_stale:
            log.warning("took over the lock left by a run that died (%s)",
                        self._lock.stale.describe())
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc is None:
                self._record(self.outcome or Outcome.OK, "")
                return
            if self._new_store:
                _remove_empty_store(self.config.store)
            outcome = Outcome.ERROR if isinstance(exc, SystemExit) else outcome_for(exc)
            self._record(outcome, str(exc)[:500])
        finally:
            self._lock.release()

    def _record(self, outcome: Outcome, message: str) -> None:
        counts = {}
        if self.harvest is not None:
            report = self.harvest
            counts.update(pages_fetched=report.pages_fetched, pages_new=report.pages_new,
                          pages_changed=report.pages_changed,
                          pages_deleted=report.pages_deleted, requests=report.requests)
        if self.build is not None:
            counts.update(triples=self.build.triples, warnings=len(self.build.warnings))
        append_run(history_path(self.config.store), RunRecord(
            start=self.start, end=now_utc(),
            command=self.command, source=self.source, outcome=outcome,
            exit_code=int(exit_code_for(outcome)), message=message, **counts))

    def result(self) -> JobResult:
        return JobResult(outcome=self.outcome or Outcome.OK, harvest=self.harvest,
                         build=self.build)


def _remove_empty_store(store: Path) -> None:
    """Remove a store this job created and put no page in (and SQLite's side files).

    A store holding pages stays: the next run goes on from them.
    """
    from tierslieux.pipeline.store import Store

    try:
        with Store(store, create=False) as opened:
            if opened.count():
                return
    except TierslieuxError:
        pass
    for path in (store, *(store.with_name(store.name + s) for s in ("-wal", "-shm", "-journal"))):
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------------ the phases


def _engine(config: Config) -> Callable[[int, Any], Any]:
    """Where a multistream dump is parsed: the cluster, else ``processes`` local processes."""
    from tierslieux.runner.engine import open_engine

    def engine(processes: int, shared: Any) -> Any:
        # no local process besides this one when the cluster parses
        return open_engine(config.cluster, 1 if config.cluster else processes, shared)

    return engine


def _check_source(config: Config) -> None:
    if config.dump is not None and not config.dump.is_file():
        raise MissingInputError(f"{config.dump}: no such file")
    if config.dump_index is not None and not config.dump_index.is_file():
        raise MissingInputError(f"{config.dump_index}: no such file (--dump-index)")


def _source(config: Config) -> str:
    if config.wiki:
        return config.wiki
    if config.dump:
        return str(config.dump)
    return "bundled sample"


def _changed(report: HarvestReport) -> bool:
    return bool(report.pages_new or report.pages_changed or report.pages_deleted)


def _harvest(config: Config, *, full: bool, progress: Progress, job: _Job) -> HarvestReport:
    from tierslieux.runner.build import sample_dump
    from tierslieux.pipeline.harvest import harvest_dump, harvest_wiki
    from tierslieux.pipeline.multistream import multistream_reader
    from tierslieux.pipeline.store import Store

    def stopped(done: HarvestReport) -> None:
        job.harvest = done   # the runs history gets what was done, whatever stopped it

    with Store(config.store) as store:
        if config.wiki:
            report = harvest_wiki(
                config.wiki, store, namespaces=config.namespaces,
                categories=config.categories, full=full, contact=config.contact or None,
                delay=config.delay, max_retries=config.retries, backoff=config.backoff,
                timeout=config.timeout, deadline=config.deadline or None,
                progress=progress.phase("pages fetched"), on_stop=stopped,
            )
        else:
            dump = config.dump or sample_dump()
            report = harvest_dump(dump, store, namespaces=config.namespaces,
                                  progress=progress.phase("pages read"),
                                  reader=multistream_reader(dump, config.dump_index,
                                                            _engine(config),
                                                            workers=config.workers))
    progress.end()
    log.info(f"Harvested {report.source} into {config.store} ({report.mode}): "
             f"{report.pages_fetched} pages fetched, {report.pages_new} new, "
             f"{report.pages_changed} changed, {report.pages_deleted} deleted"
             + (f", {report.requests} requests" if report.requests else "") + ".")
    for note in report.notes:
        log.info(f"Note: {note}")
    return report


def build_options(config: Config, *, harvest: HarvestCounts | None = None, started: str = "",
                  force: bool = False):
    """The :class:`~tierslieux.runner.build.BuildOptions` of ``config``."""
    from tierslieux.exports.catalog import CatalogSettings
    from tierslieux.runner.build import BuildOptions

    return BuildOptions(
        base_iri=config.base_iri, namespaces=None, mapping_path=config.mapping,
        publication_url=config.publication_url, force=force,
        diff_threshold=config.diff_threshold, harvest=harvest, started=started,
        licence=config.licence, licence_name=config.licence_name,
        attribution=config.attribution, workers=config.workers or None,
        site=config.site,
        cluster=config.cluster,
        catalog=CatalogSettings(
            contact_point=config.contact_point, accrual_periodicity=config.accrual_periodicity,
            publisher_type=config.publisher_type, checksum_datatype=config.checksum_datatype),
    )


def _build(config: Config, *, harvest: HarvestCounts | None, started: str, force: bool,
           progress: Progress, from_dump: bool = False) -> BuildResult:
    from tierslieux.runner.build import build as build_release

    options = build_options(config, harvest=harvest, started=started, force=force)
    if from_dump:  # straight from a multistream dump's partitions
        from tierslieux.runner.partitions import build_from_dump

        result = build_from_dump(config.dump, config.state, config.out, options,
                                 index=config.dump_index, namespaces=config.namespaces,
                                 progress=progress.phase("pages built"))
    else:
        result = build_release(config.store, config.out, options,
                               progress=progress.phase("pages built"))
    progress.end()
    log.debug("Build phases (s): %s; %d of %d pages parsed, the others from the cache.",
              ", ".join(f"{name} {seconds}" for name, seconds in result.timings),
              result.pages_parsed, result.pages)
    log.info(f"Published {result.triples} triples from {result.pages} pages to "
             f"{config.out}/ ({len(result.warnings)} warnings).")
    if result.smw_queries:
        log.info(f"{result.smw_queries} Semantic MediaWiki "
                 f"{'query' if result.smw_queries == 1 else 'queries'} (#ask, #show) recorded "
                 "as tl:Query, not evaluated: their results are not in the release.")
    for issue in result.warnings[:10]:
        log.warning("%s: %s: %s", issue.page_title, issue.field, issue.message)
    if len(result.warnings) > 10:
        log.warning("... and %d more warnings (see %s/report.json)",
                    len(result.warnings) - 10, config.out)
    return result
