"""The build's SHACL check, streaming over the merged runs in a worker process.

The build's SHACL check: the compiled shapes, checked streaming over the merged runs and
the ontology in a worker process while the release is written; the release's validators read
its report (``validators``)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from tierslieux.pipeline.cache import FLAG_CLASS_AXIOMS, BuildCache
from tierslieux.pipeline.runs import RunSet, run_id, run_paths, write_run
from tierslieux.runner import pages as tasks
from tierslieux.workers import SharedPool


@dataclass(frozen=True)
class Shacl:
    """The streaming SHACL check running aside, what it reads, and the validators that wait
    for its report; no check: the default validators (pyshacl)."""

    validators: list | None = None
    future: Future | None = None
    paths: list[str] | None = None
    unresolved: frozenset[tuple[str, str]] = frozenset()
    #: runs the check reads (kept in the cache)
    keep: frozenset[str] = frozenset()


def start_shacl(pool: SharedPool, cache: BuildCache, version: str, checker: Any,
                release: RunSet, unresolved: frozenset[tuple[str, str]], flags: int) -> Shacl:
    """Phase "shacl": the streaming check, started aside (the release reads its report when
    it validates)."""
    if checker is None or not release.names or flags & FLAG_CLASS_AXIOMS:
        return Shacl()
    ontology_run = _ontology_run(cache, version)
    unresolved = frozenset(unresolved | checker.local_class_failures(_ontology_lines()))
    paths = [str(release.merged_paths()[1]), str(run_paths(cache.run_dir, ontology_run)[1])]
    # the results of unchanged groups of subjects, beside the run files' folder
    results = cache.run_dir.with_name(cache.run_dir.name[:-len(".d")] + ".shacl.d")
    future = pool.submit(tasks.validate_runs, paths, unresolved, str(results))
    return Shacl(validators(future), future, paths, unresolved, frozenset({ontology_run}))


def checker() -> Any:
    """The compiled shapes, or None when shapes.ttl needs pyshacl."""
    from tierslieux.validation.shacl import Unsupported, default_checker, ontology_lines

    try:
        compiled = default_checker()
        ontology_lines()
    except Unsupported:
        return None
    return compiled


def _ontology_lines() -> tuple[str, ...]:
    from tierslieux.validation.shacl import ontology_lines

    return ontology_lines()


def _ontology_run(cache: BuildCache, version: str) -> str:
    """The ontology as a run of its own: the data graph SHACL validates includes it."""
    name = run_id(version, ["ontology"])
    if not all(p.is_file() for p in run_paths(cache.run_dir, name)):
        write_run(cache.run_dir, name, [_ontology_lines()])
    return name


def validators(shacl_future: Future) -> list:
    """The default validators, with SHACL read from the streaming check running aside."""
    from tierslieux.validation.release import default_validators, shacl_messages, validator_name

    def check_shacl(release: Any) -> Iterator[str]:
        yield from shacl_messages(shacl_future.result())

    return [v for v in default_validators() if validator_name(v) != "check_shacl"] + [
        check_shacl]
