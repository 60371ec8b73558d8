"""The validators a release must pass in its staging folder before it is published.

A validator is any callable ``(StagedRelease) -> Iterable[str]`` that returns one message per
problem (nothing when the release is fine). The build may pass its own list; the default is
``default_validators()``. ``write_release`` runs ``check_rdf_files`` first whatever the list.

- ``check_rdf_files``: every RDF file parses back (with pyoxigraph, for speed); the Turtle and
  JSON-LD dumps hold exactly the triples of the N-Triples dump (no blank nodes, so isomorphic
  means equal sets); the N-Triples dump holds as many triples as were written (two input lines
  spelling one triple differently would make it fewer); ``catalog.ttl``, ``ontology.ttl`` and
  ``shapes.ttl`` parse; the JSON files are JSON.
- ``check_tables``: the CSV files against ``datapackage.json`` with frictionless (types,
  required values, unique ids, foreign keys, sizes and hashes).
- ``check_shacl``: the graph against the SHACL shapes, with ``validate_graph`` of
  ``tierslieux.pipeline.validate`` (or ``tierslieux.ontology.validate``), when installed;
  only results of severity violation block.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import rdflib

#: at most this many messages of one validator are kept
MAX_MESSAGES = 20


@dataclass(frozen=True)
class StagedRelease:
    """A release written in its staging folder, not yet published."""

    folder: Path
    #: number of distinct triples written
    triples: int
    #: every file of the release (names), SHA256SUMS excepted
    files: tuple[str, ...]

    @cached_property
    def graph(self) -> rdflib.Graph:
        """The data as an rdflib graph (loaded on first use, from the N-Triples dump)."""
        import rdflib

        with gzip.open(self.folder / "tierslieux.nt.gz", "rb") as stream:
            return rdflib.Graph().parse(stream, format="nt")


Validator = Callable[[StagedRelease], Iterable[str]]


def check_rdf_files(release: StagedRelease) -> Iterator[str]:
    import pyoxigraph as ox

    folder = release.folder

    def parse(name: str, fmt: Any, *, base: str | None = None) -> set | None:
        try:
            if name.endswith(".gz"):
                with gzip.open(folder / name, "rb") as stream:
                    data = stream.read()
            else:
                data = (folder / name).read_bytes()
            return set(ox.parse(data, format=fmt, base_iri=base))
        except (SyntaxError, ValueError, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else repr(exc)
            messages.append(f"{name} does not parse: {reason}")
            return None

    messages: list[str] = []
    nt = parse("tierslieux.nt.gz", ox.RdfFormat.N_TRIPLES)
    if nt is not None and len(nt) != release.triples:
        messages.append(
            f"tierslieux.nt.gz holds {len(nt)} distinct triples, {release.triples} were written "
            "(some triple is spelt in two ways, or a line is not N-Triples)"
        )
    dumps = (("tierslieux.ttl", ox.RdfFormat.TURTLE), ("tierslieux.jsonld", ox.RdfFormat.JSON_LD))
    for name, fmt in dumps:
        other = parse(name, fmt)
        if nt is not None and other is not None and other != nt:
            missing, extra = len(nt - other), len(other - nt)
            sample = next(iter(nt - other or other - nt))
            messages.append(
                f"{name} differs from tierslieux.nt.gz: {missing} triples missing, {extra} extra "
                f"(e.g. {sample})"
            )
    base = (folder / "catalog.ttl").resolve().as_uri()
    for name in ("catalog.ttl", "ontology.ttl", "shapes.ttl"):
        if name in release.files:
            parse(name, ox.RdfFormat.TURTLE, base=base)
    for name in release.files:
        if name.endswith(".json") or name == "context.jsonld":
            try:
                json.loads((folder / name).read_text(encoding="utf-8"))
            except (ValueError, OSError) as exc:
                messages.append(f"{name} is not JSON: {exc}")
    yield from messages


def check_tables(release: StagedRelease) -> Iterator[str]:
    import frictionless

    package = release.folder / "datapackage.json"
    if not package.is_file():
        yield "datapackage.json is missing"
        return
    report = frictionless.validate(str(package))
    if not report.valid:
        for kind, message in report.flatten(["type", "message"])[:MAX_MESSAGES]:
            yield f"table schema ({kind}): {message}"


#: where ``validate_graph(graph) -> report`` (with ``conforms`` and ``violations``) may live
SHACL_MODULES = ("tierslieux.pipeline.validate", "tierslieux.ontology.validate")


def _shacl_module() -> str | None:
    for name in SHACL_MODULES:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except ModuleNotFoundError:
            continue
    return None


def check_shacl(release: StagedRelease) -> Iterator[str]:
    name = _shacl_module()
    if name is None:
        yield "SHACL: no validate_graph module is installed"
        return
    report = importlib.import_module(name).validate_graph(release.graph)
    if report.conforms:
        return
    violations = [
        v for v in getattr(report, "violations", ())
        if getattr(v, "severity", "violation") == "violation"
    ]
    if not violations:
        yield "SHACL: the graph does not conform to the shapes"
    for violation in violations[:MAX_MESSAGES]:
        describe = getattr(violation, "describe", None)
        yield f"SHACL {describe() if callable(describe) else violation}"


def default_validators() -> Sequence[Validator]:
    """Parse-back, Table Schema, and SHACL when a validate_graph module is installed."""
    validators: list[Validator] = [check_rdf_files, check_tables]
    if _shacl_module() is not None:
        validators.append(check_shacl)
    return validators


def validator_name(validator: Validator) -> str:
    return getattr(validator, "__name__", type(validator).__name__)


def check_checksums(folder: Path) -> Iterator[str]:
    """Every file listed in SHA256SUMS is there with that checksum, and no file is unlisted."""
    import hashlib

    sums = folder / "SHA256SUMS"
    listed: dict[str, str] = {}
    for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), start=1):
        digest, _, name = line.partition("  ")
        if not name or len(digest) != 64:
            yield f"SHA256SUMS line {number} is not '<sha256>  <file>'"
            continue
        listed[name] = digest
    for name, digest in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            yield f"{name} is listed in SHA256SUMS but missing"
            continue
        sha = hashlib.sha256()
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                sha.update(block)
        if sha.hexdigest() != digest:
            yield f"{name} does not match its SHA-256 in SHA256SUMS"
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name not in listed and path.name not in ("SHA256SUMS",
                                                                            "report.json"):
            yield f"{path.name} is not listed in SHA256SUMS"


def validate_release(folder: str | Path,
                     validators: Sequence[Validator] | None = None) -> list[str]:
    """Check a published release folder: checksums, then the validators a build runs.

    Returns one message per problem; an empty list means the release is valid.
    """
    folder = Path(folder)
    if not (folder / "SHA256SUMS").is_file() or not (folder / "tierslieux.nt.gz").is_file():
        return [f"{folder} is not a tierslieux release (no SHA256SUMS or tierslieux.nt.gz)"]
    problems = list(check_checksums(folder))
    try:
        with gzip.open(folder / "tierslieux.nt.gz", "rt", encoding="utf-8") as stream:
            triples = sum(1 for line in stream if line.strip() and not line.startswith("#"))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        return [*problems, f"tierslieux.nt.gz cannot be read: {exc}"]
    files = tuple(sorted(p.name for p in folder.iterdir()
                         if p.is_file() and p.name != "SHA256SUMS"))
    release = StagedRelease(folder=folder, triples=triples, files=files)
    for validator in validators if validators is not None else default_validators():
        problems.extend(validator(release))
    return problems
