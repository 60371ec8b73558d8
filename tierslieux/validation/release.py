"""The validators a release must pass in its staging folder before it is published.

A validator is any callable ``(StagedRelease) -> Iterable[str]`` that returns one message per
problem (nothing when the release is fine). The build may pass its own list; the default is
``default_validators()``. ``write_release`` runs ``check_rdf_files`` first whatever the list.

- ``check_rdf_files``: every RDF file parses back (with pyoxigraph, for speed); the Turtle and
  JSON-LD dumps hold exactly the triples of the N-Triples dump (no blank nodes, so isomorphic
  means equal sets); the N-Triples dump holds as many triples as were written (two input lines
  spelling one triple differently would make it fewer); ``catalog.ttl``, ``ontology.ttl`` and
  ``shapes.ttl`` parse without a base IRI (no relative IRI); the JSON files are JSON. Above ``SET_COMPARE_LIMIT`` triples the dumps
  are compared by counts and order-independent hash sums, in parallel, without holding them.
  A release being written from segments (``StagedRelease.segments``) had each segment parsed
  back when it was rendered: its three dumps are then checked as the concatenation of those
  verified parts (``validation.frames.check_frames``), not parsed again.
- ``check_tables``: the CSV files against ``datapackage.json`` with frictionless (types,
  required values, unique ids, foreign keys, sizes and hashes); above ``FRICTIONLESS_LIMIT``
  bytes of CSV, with the same checks made streaming by ``tables.py`` (both through
  ``engine.validate_tables``).
- ``check_shacl``: the graph against the release's own SHACL shapes and ontology
  (``shapes.ttl``, ``ontology.ttl`` of the folder), streaming over the dump with the
  compiled shapes (``tierslieux.validation.shacl``), or with pyshacl
  (``engine.validate_graph(..., engine="pyshacl")``) when the shapes use what the compiler does
  not run; only results of severity violation block.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierslieux.errors import MissingInputError

if TYPE_CHECKING:
    import rdflib

    from tierslieux.validation.report import ValidationReport

#: at most this many messages of one validator are kept
MAX_MESSAGES = 20
#: above this many bytes of CSV, tables are checked by tables.py instead of frictionless
#: (same checks, streaming: frictionless takes minutes and gigabytes on big tables)
FRICTIONLESS_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class StagedRelease:
    """A release written in its staging folder, not yet published."""

    folder: Path
    #: number of distinct triples written
    triples: int
    #: every file of the release (names), SHA256SUMS excepted
    files: tuple[str, ...]
    #: processes the checks may use (None: one per core)
    workers: int | None = None
    #: how the RDF dumps were assembled from segments parsed back one by one
    #: (``validation.frames.Manifest``); None: the dumps are parsed back whole
    segments: Any = None

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
    dumps = (("tierslieux.ttl", ox.RdfFormat.TURTLE), ("tierslieux.jsonld", ox.RdfFormat.JSON_LD))
    if release.segments is not None:
        from tierslieux.validation.frames import check_frames

        messages.extend(check_frames(folder, release.segments, release.triples))
        dumps = ()  # each segment was parsed back when rendered
        nt = None
    elif release.triples > SET_COMPARE_LIMIT and _same_streaming(release, messages):
        dumps = ()  # the three dumps hold the same triples: no need for the sets below
        nt = None
    else:
        nt = parse("tierslieux.nt.gz", ox.RdfFormat.N_TRIPLES)
    if nt is not None and len(nt) != release.triples:
        messages.append(
            f"tierslieux.nt.gz holds {len(nt)} distinct triples, {release.triples} were written "
            "(some triple is spelt in two ways, or a line is not N-Triples)"
        )
    for name, fmt in dumps:
        other = parse(name, fmt)
        if nt is not None and other is not None and other != nt:
            missing, extra = len(nt - other), len(other - nt)
            sample = next(iter(nt - other or other - nt))
            messages.append(
                f"{name} differs from tierslieux.nt.gz: {missing} triples missing, {extra} extra "
                f"(e.g. {sample})"
            )
    # no base IRI: a published file must not hold a relative IRI
    for name in ("catalog.ttl", "ontology.ttl", "shapes.ttl"):
        if name in release.files:
            parse(name, ox.RdfFormat.TURTLE)
    for name in release.files:
        if name.endswith(".json") or name == "context.jsonld":
            try:
                json.loads((folder / name).read_text(encoding="utf-8"))
            except (ValueError, OSError) as exc:
                messages.append(f"{name} is not JSON: {exc}")
    yield from messages


#: above this many triples, the dumps are compared streaming (see _same_streaming)
SET_COMPARE_LIMIT = 200_000


def _dump_digest(path: str, fmt_name: str) -> tuple[int, int] | str:
    """(triples, sum of their hashes mod 2**64) of one dump, or why it does not parse."""
    import pyoxigraph as ox

    fmt = getattr(ox.RdfFormat, fmt_name)
    count = total = 0
    try:
        if fmt_name == "JSON_LD":
            batched = _jsonld_digest(path)
            if batched is not None:
                return batched
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                triples = ox.parse(stream, format=fmt)
                for triple in triples:
                    count += 1
                    total += hash(triple)
        else:
            for triple in ox.parse(path=path, format=fmt):
                count += 1
                total += hash(triple)
    except (SyntaxError, ValueError, OSError) as exc:
        return str(exc).splitlines()[0] if str(exc) else repr(exc)
    return count, total % (1 << 64)


#: JSON-LD text parsed back at a time (pyoxigraph holds a whole JSON-LD document in memory,
#: about eight times its size)
_JSONLD_BATCH = 4 << 20


def _jsonld_digest(path: str) -> tuple[int, int] | None:
    """``_dump_digest`` of a JSON-LD dump laid out by ``jsonld.write_jsonld`` — the context,
    then one node object per subject, each opening on a line ``    {`` and closing on a line
    ``    }`` — parsed back a few megabytes of nodes at a time, each batch as a document with
    the same context (the nodes are independent: no blank nodes, no embedding). None when the
    file is not laid out so (the caller then parses it whole)."""
    import pyoxigraph as ox

    count = total = 0
    with open(path, encoding="utf-8", newline="\n") as stream:
        head = []
        for line in stream:
            head.append(line)
            if line.startswith('  "@graph": ['):
                break
        else:
            return None
        if head[0] != "{\n" or head[-1] != '  "@graph": [\n':
            return None
        header = "".join(head)
        batch: list[str] = []
        size = 0
        node: list[str] = []
        closed = False

        def parse() -> None:
            nonlocal count, total
            document = header + ",\n".join(batch) + "\n]}"
            for triple in ox.parse(document.encode("utf-8"), format=ox.RdfFormat.JSON_LD):
                count += 1
                total += hash(triple)
            batch.clear()

        for line in stream:
            if closed:
                if line != "}\n":
                    return None
                closed = False
                continue
            if not node:
                if line == "  ]\n":
                    closed = True
                    continue
                if line != "    {\n":
                    return None
            node.append(line)
            if line in ("    }\n", "    },\n"):
                text = "".join(node).rstrip(",\n")
                node = []
                batch.append(text)
                size += len(text)
                if size >= _JSONLD_BATCH:
                    parse()
                    size = 0
        if node:
            return None
        if batch:
            parse()
    return count, total % (1 << 64)


def _same_streaming(release: StagedRelease, messages: list[str]) -> bool:
    """Parse the three dumps in parallel without keeping their triples: each gives its count
    and an order-independent sum of the triples' hashes (pyoxigraph hashes terms the same way
    in every process). True when they agree with one another and with the number of lines
    written; on any disagreement, False, and the caller compares sets to say what differs.
    (Unlike the sets, this does not notice one triple spelt two ways in the N-Triples dump:
    the map stage writes every term one way.)"""
    import multiprocessing

    from tierslieux.workers import process_pool

    folder = release.folder
    jobs = (("tierslieux.nt.gz", "N_TRIPLES"), ("tierslieux.jsonld", "JSON_LD"),
            ("tierslieux.ttl", "TURTLE"))
    with process_pool(min(3, release.workers or multiprocessing.cpu_count() or 1)) as pool:
        futures = {name: pool.submit(_dump_digest, str(folder / name), fmt)
                   for name, fmt in jobs}
        digests = {name: future.result() for name, future in futures.items()}
    failed = [f"{name} does not parse: {d}" for name, d in digests.items() if isinstance(d, str)]
    if failed:
        messages.extend(failed)
        return True  # nothing more to compare: the parse errors say it
    values = set(digests.values())
    return len(values) == 1 and digests["tierslieux.nt.gz"][0] == release.triples  # type: ignore


def check_tables(release: StagedRelease) -> Iterator[str]:
    package = release.folder / "datapackage.json"
    if not package.is_file():
        yield "datapackage.json is missing"
        return
    from tierslieux.validation.engine import validate_tables

    csv_bytes = sum(p.stat().st_size for p in release.folder.glob("*.csv"))
    engine = "builtin" if csv_bytes > FRICTIONLESS_LIMIT else "frictionless"
    for problem in validate_tables(package, engine=engine, limit=MAX_MESSAGES).problems:
        yield problem.describe()


def check_shacl(release: StagedRelease) -> Iterator[str]:
    """The release against its own SHACL shapes (``shapes.ttl`` of the folder, with its
    ``ontology.ttl``; the bundled files when the folder has none): streaming over the sorted
    N-Triples dump with the compiled shapes (``validation/shacl.py``), or with pyshacl on the
    whole graph when the shapes use something the compiler does not run."""
    from tierslieux.errors import ShapesError
    from tierslieux.model.lines import read_ntriples_gz
    from tierslieux.validation.engine import validate_graph
    from tierslieux.validation.shacl import Unsupported
    from tierslieux.validation.shacl_stream import validate_lines

    try:
        shapes, ontology = release_shapes(release.folder)
    except ShapesError as exc:
        yield f"SHACL: not checked: {exc}"
        return
    dump = release.folder / "tierslieux.nt.gz"
    try:
        report = validate_lines(lambda: read_ntriples_gz(dump), shapes=shapes,
                                ontology=ontology)
    except Unsupported:
        try:
            report = validate_graph(release.graph, shapes=shapes, ontology=ontology,
                                    engine="pyshacl")
        except ShapesError as exc:
            yield f"SHACL: not checked: {exc}"
            return
    yield from shacl_messages(report)


def release_shapes(folder: Path) -> tuple[rdflib.Graph | None, rdflib.Graph | None]:
    """The ``shapes.ttl`` and ``ontology.ttl`` of a release folder as graphs, each None when
    the folder has none or holds the bundled file byte for byte (the compiled bundled shapes
    are then reused). Raises ShapesError, in one line, for a file that is not Turtle."""
    from tierslieux.ontology import ONTOLOGY_FILE, SHAPES_FILE, read_text

    found: list[rdflib.Graph | None] = []
    for name, bundled in (("shapes.ttl", SHAPES_FILE), ("ontology.ttl", ONTOLOGY_FILE)):
        path = folder / name
        if not path.is_file():
            found.append(None)
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            from tierslieux.errors import ShapesError

            raise ShapesError(f"{name} cannot be read: {exc}") from None
        if text == read_text(bundled):
            found.append(None)
            continue
        found.append(_parse_turtle(name, text))
    return found[0], found[1]


def _parse_turtle(name: str, text: str) -> rdflib.Graph:
    import rdflib

    from tierslieux.errors import ShapesError

    try:
        return rdflib.Graph().parse(data=text, format="turtle")
    except Exception as exc:  # rdflib raises many kinds (BadSyntax, ValueError, …)
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ShapesError(f"{name} is not valid Turtle: {reason}") from None


def shacl_messages(report: ValidationReport) -> Iterator[str]:
    """The messages of check_shacl for a validation report (nothing when it conforms)."""
    if report.conforms:
        return
    violations = report.errors
    if not violations:
        yield "SHACL: the graph does not conform to the shapes"
    for violation in violations[:MAX_MESSAGES]:
        yield f"SHACL {violation.describe()}"


def default_validators() -> Sequence[Validator]:
    """Parse-back, Table Schema and SHACL."""
    return [check_rdf_files, check_tables, check_shacl]


def validator_name(validator: Validator) -> str:
    return getattr(validator, "__name__", type(validator).__name__)


def check_checksums(folder: Path) -> Iterator[str]:
    """Every file listed in SHA256SUMS is there with that checksum, and no file is unlisted."""
    import hashlib

    sums = folder / "SHA256SUMS"
    listed: dict[str, str] = {}
    for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), start=1):
        escaped = line.startswith("\\")   # sha256sum's form of a name with \\ or a newline
        digest, _, name = (line[1:] if escaped else line).partition("  ")
        if escaped:
            name = re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)),
                          name)
        if not name or len(digest) != 64:
            yield f"SHA256SUMS line {number} is not '<sha256>  <file>'"
            continue
        listed[name] = digest
    for name, digest in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            yield f"{name} is listed in SHA256SUMS but missing"
            continue
        with open(path, "rb") as stream:
            sha = hashlib.file_digest(stream, "sha256")
        if sha.hexdigest() != digest:
            yield f"{name} does not match its SHA-256 in SHA256SUMS"
    for path in sorted(folder.rglob("*")):   # the site/ folder's files are listed too
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name not in listed and name not in ("SHA256SUMS", "report.json"):
            yield f"{name} is not listed in SHA256SUMS"


def validate_release(folder: str | Path,
                     validators: Sequence[Validator] | None = None) -> list[str]:
    """Check a published release folder: checksums, then the validators a build runs.

    Returns one message per problem; an empty list means the release is valid. A folder with
    no ``tierslieux.nt.gz`` holds no release: MissingInputError.
    """
    folder = Path(folder)
    if not (folder / "tierslieux.nt.gz").is_file():
        raise MissingInputError(f"no release in {folder}: tierslieux.nt.gz is missing "
                                "(run 'tierslieux run' first, or give the release folder)")
    if not (folder / "SHA256SUMS").is_file():
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


@dataclass(frozen=True)
class ReleaseCheck:
    """What ``tierslieux validate`` says of a release folder."""

    folder: Path
    #: one message per problem; none for a valid release
    problems: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

    def text(self) -> str:
        """The problems, one a line (what the command prints on stdout)."""
        return "".join(f"{problem}\n" for problem in self.problems)

    def summary(self) -> str:
        """One line: valid, or how many problems."""
        if self.valid:
            return f"{self.folder}: valid release."
        return f"{self.folder}: {len(self.problems)} problem(s), listed above"


def check_release(folder: str | Path, validators: Sequence[Validator] | None = None
                  ) -> ReleaseCheck:
    """``validate_release`` as a record (MissingInputError when the folder holds no release)."""
    return ReleaseCheck(Path(folder), tuple(validate_release(folder, validators)))
