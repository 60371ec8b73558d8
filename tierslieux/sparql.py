"""SPARQL over a published release: query it, serve it, push it to a triple store.

A release is a folder written by the exports stage (``tierslieux.nt.gz``, ``SHA256SUMS``, …).
Everything here runs on Oxigraph: the embedded ``pyoxigraph`` store for ``query`` and the
``oxigraph`` server binary (PyPI package ``oxigraph``) for ``serve``.

The query cache
    ``tierslieux.nt.gz`` is bulk-loaded once into an on-disk Oxigraph store, kept *beside* the
    release, never inside it (so it is not listed in, and cannot disturb, the release's
    ``SHA256SUMS``, and it is not mirrored with the release)::

        <parent of DIR>/.tierslieux-cache/<name of DIR>/<first 16 hex of sha256(SHA256SUMS)>/
            lock  build.json  store/

    ``TIERSLIEUX_CACHE_DIR`` (or ``cache_dir=``) replaces ``<parent of DIR>/.tierslieux-cache``,
    e.g. when the release sits in a read-only folder. The store is reused while ``SHA256SUMS``
    is unchanged; when it changes a new store is built and the older ones are removed, except
    those a running query or ``serve`` holds (a shared ``flock`` on their ``lock`` file). A
    builder loads into a hidden temporary folder and renames it into place, so concurrent
    builders never see a half-built store. The loaded files are checked against ``SHA256SUMS``.

The graphs of the store
    A query answers over the data *and* the vocabulary it uses, so that a concept's
    ``skos:prefLabel`` ("Économique"@fr) and a class's ``rdfs:label`` are there beside the
    IRIs. Each published file is loaded into its own named graph, and the default graph is
    their union (``use_default_graph_as_union`` here, ``--union-default-graph`` for ``serve``):

    - ``tierslieux.nt.gz`` into the graph named by the ``dcat:Dataset`` IRI of the catalogue
      (the graph ``push`` replaces), else the ``base_iri`` of ``report.json``;
    - ``ontology.ttl`` (classes, properties and the SKOS concept schemes) into the graph
      named by its ``owl:Ontology`` IRI;
    - ``catalog.ttl`` (DCAT-AP + VoID) into the graph named by its ``dcat:Catalog`` IRI.

    The dumps themselves stay the data alone (``push`` sends the data graph only), which
    keeps ``tierslieux.ttl``, ``tierslieux.nt.gz`` and ``tierslieux.jsonld`` isomorphic to
    each other and the vocabulary in one published place.

Results formats (``run_query``)
    ========  =====================================  ===========================================
    format    SELECT / ASK                           CONSTRUCT / DESCRIBE
    ========  =====================================  ===========================================
    table     aligned text, IRIs compacted, long     Turtle with the known prefixes, sorted
              literals cut at 80 characters
    csv       W3C SPARQL 1.1 results CSV             W3C CSV of ``?subject ?predicate ?object``
    tsv       W3C SPARQL 1.1 results TSV             W3C TSV of ``?subject ?predicate ?object``
    json      W3C SPARQL 1.1 results JSON            JSON-LD (expanded form), sorted
    ========  =====================================  ===========================================

    Queries may use the prefixes of ``PREFIXES`` (``tl:``, ``rdfs:``, ``skos:``…) without
    declaring them; the worked queries in ``tierslieux/queries/`` declare theirs so that they
    also run unchanged on ``serve`` or on any other endpoint.

Graph Store upload (``push``)
    ``endpoint`` is the Graph Store Protocol address of the store; the graph goes as
    ``?graph=<IRI>`` and is *replaced* (HTTP PUT):

    - Oxigraph: ``http://HOST:7878/store``
    - Apache Jena Fuseki: ``http://HOST:3030/DATASET/data``
    - GraphDB: ``http://HOST:7200/repositories/REPO/rdf-graphs/service``
    - Virtuoso: ``http://HOST:8890/sparql-graph-crud`` (its ``-auth`` variant asks for HTTP
      Digest, which push does not speak: grant SPARQL_UPDATE or put a Basic-auth proxy in front)

    The default graph IRI is the ``dcat:Dataset`` IRI of the release's ``catalog.ttl`` (else
    the ``base_iri`` of its ``report.json``); ``--graph IRI`` overrides it.
    Credentials come from ``TIERSLIEUX_SPARQL_USER`` / ``TIERSLIEUX_SPARQL_PASSWORD`` (HTTP Basic)
    and never appear in messages.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pyoxigraph as ox

from tierslieux.errors import MissingInputError, PushError, QueryError, ServeError
from tierslieux.front import MAX_RESULT_BYTES, QUERY_TIMEOUT, SERVICE_REFUSED, Front, uses_service
from tierslieux.ontology import ONTOLOGY_NS
from tierslieux.model.rdf import display_compactor
from tierslieux.ontology import PREFIXES as ONTOLOGY_PREFIXES

if TYPE_CHECKING:
    import requests

try:  # POSIX only; elsewhere old caches are removed without checking who uses them
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

NT_GZ = "tierslieux.nt.gz"
TURTLE = "tierslieux.ttl"
SUMS = "SHA256SUMS"
CATALOG = "catalog.ttl"

CACHE_FOLDER = ".tierslieux-cache"
CACHE_ENV = "TIERSLIEUX_CACHE_DIR"
USER_ENV = "TIERSLIEUX_SPARQL_USER"
PASSWORD_ENV = "TIERSLIEUX_SPARQL_PASSWORD"
OXIGRAPH_ENV = "TIERSLIEUX_OXIGRAPH"

FORMATS = ("table", "csv", "tsv", "json")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

#: Prefixes a query may use without declaring them, and that compact IRIs in tables: the
#: ontology's own, plus the catalogue's.
PREFIXES: dict[str, str] = {
    **ONTOLOGY_PREFIXES,
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
}

_RESULT_FORMATS = {
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
    "json": ox.QueryResultsFormat.JSON,
}
_CELL_WIDTH = 80
_BLOCK = 1 << 20


# --------------------------------------------------------------------------- the release


def release_file(data_dir: str | Path) -> Path:
    """``DIR/tierslieux.nt.gz``, or MissingInputError when DIR holds no release."""
    path = Path(data_dir) / NT_GZ
    if not path.is_file():
        raise MissingInputError(
            f"no release in {data_dir}: {NT_GZ} is missing "
            "(run 'tierslieux run' first, or give --data DIR)"
        )
    return path


def release_key(data_dir: str | Path) -> str:
    """SHA-256 of the release's ``SHA256SUMS`` (of ``tierslieux.nt.gz`` when there is none)."""
    nt = release_file(data_dir)
    sums = Path(data_dir) / SUMS
    if sums.is_file():
        return hashlib.sha256(sums.read_bytes()).hexdigest()
    return _file_sha256(nt)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _listed_sha256(data_dir: Path, name: str) -> str | None:
    """The checksum ``SHA256SUMS`` gives for ``name`` (``sha256sum`` format), if any."""
    sums = data_dir / SUMS
    if not sums.is_file():
        return None
    for line in sums.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and parts[1].lstrip("*") == name:
            return parts[0].lower()
    return None


# --------------------------------------------------------------------------- the cache


#: Version of the cached store's layout: a cache of another layout is built again.
CACHE_LAYOUT = 2
ONTOLOGY = "ontology.ttl"
ONTOLOGY_IRI = ONTOLOGY_NS.rstrip("#/")


@dataclass(frozen=True)
class CachedStore:
    """An Oxigraph store loaded from one release, ready to open read-only."""

    folder: Path
    key: str
    #: triples of the data (``tierslieux.nt.gz``)
    triples: int
    #: True when this call loaded it, False when an earlier load was reused
    built: bool
    #: seconds the load took (when it was built)
    seconds: float
    #: (graph IRI, file loaded into it, triples), sorted by file name
    graphs: tuple[tuple[str, str, int], ...] = ()

    @property
    def store_path(self) -> Path:
        return self.folder / "store"


def cache_root(data_dir: str | Path, cache_dir: str | Path | None = None) -> Path:
    """The folder holding the cached stores of the release in ``data_dir``."""
    data = Path(data_dir).resolve()
    base = cache_dir or os.environ.get(CACHE_ENV) or data.parent / CACHE_FOLDER
    return Path(base) / (data.name or "release")


def cache_release(data_dir: str | Path, *, cache_dir: str | Path | None = None) -> CachedStore:
    """Load the release into its cached store unless a current one exists; return it."""
    data = Path(data_dir)
    nt = release_file(data)
    key = release_key(data)
    root = cache_root(data, cache_dir)
    folder = root / key[:16]
    size = nt.stat().st_size
    found = _read_build_info(folder, key, size)
    if found is not None:
        _remove_stale(root, keep=folder.name)  # caches a finished serve was still holding
        return found
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    except OSError as exc:
        raise QueryError(
            f"cannot create the query cache in {root} ({exc.strerror or exc}): "
            f"set {CACHE_ENV} to a writable folder"
        ) from None
    try:
        with _lock(tmp, exclusive=True):
            built = _build_store(data, nt, tmp, key, size)
            try:
                os.rename(tmp, folder)
            except OSError:
                # Another builder won the race, or a damaged folder is in the way.
                existing = _read_build_info(folder, key, size)
                if existing is not None:
                    return existing
                shutil.rmtree(folder, ignore_errors=True)
                os.rename(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _remove_stale(root, keep=folder.name)
    return CachedStore(folder, key, built.triples, True, built.seconds, built.graphs)


def _build_store(data: Path, nt: Path, tmp: Path, key: str, size: int) -> CachedStore:
    for path in (nt, data / ONTOLOGY, data / CATALOG):
        listed = _listed_sha256(data, path.name)
        if path.is_file() and listed is not None and _file_sha256(path) != listed:
            raise QueryError(f"{path} does not match {SUMS}: the release is damaged or "
                             "half-copied; publish it again")
    start = time.perf_counter()
    store = ox.Store(str(tmp / "store"))
    graphs = []
    try:
        data_graph = _data_graph(data)
        try:
            with gzip.open(nt, "rb") as stream:
                store.bulk_load(stream, format=ox.RdfFormat.N_TRIPLES,
                                to_graph=ox.NamedNode(data_graph))
        except (SyntaxError, OSError, EOFError) as exc:
            raise QueryError(
                f"{nt} is not valid gzipped N-Triples: {_one_line(str(exc))}") from None
        triples = len(store)
        graphs.append((data_graph, NT_GZ, triples))
        for name, kind, fallback in ((CATALOG, "http://www.w3.org/ns/dcat#Catalog", None),
                                     (ONTOLOGY, "http://www.w3.org/2002/07/owl#Ontology",
                                      ONTOLOGY_IRI)):
            path = data / name
            if not path.is_file():
                continue
            loaded = _load_turtle(path)
            graph = _single_subject(loaded, kind) or fallback or path.resolve().as_uri()
            if graph == data_graph:
                graph = path.resolve().as_uri()
            store.extend(ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(graph))
                         for q in loaded)
            graphs.append((graph, name, len(loaded)))
    finally:
        del store  # closes RocksDB before the folder is renamed
        gc.collect()
    seconds = round(time.perf_counter() - start, 3)
    graphs.sort(key=lambda g: g[1])
    info = {"key": key, "layout": CACHE_LAYOUT, "source": NT_GZ, "source_size": size,
            "triples": triples, "seconds": seconds, "pyoxigraph": ox.__version__,
            "graphs": [{"graph": g, "file": f, "triples": n} for g, f, n in graphs]}
    (tmp / "build.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    return CachedStore(tmp, key, triples, True, seconds, tuple(graphs))


def _load_turtle(path: Path) -> list[ox.Quad]:
    """The triples of a Turtle file of the release; relative IRIs (a catalogue written without
    ``--publication-url``) are resolved against the file's own address."""
    try:
        return list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE,
                             base_iri=path.resolve().as_uri()))
    except (SyntaxError, OSError, ValueError) as exc:
        raise QueryError(f"{path} is not valid Turtle: {_one_line(str(exc))}; "
                         "publish the release again") from None


def _single_subject(quads: list[ox.Quad], cls: str) -> str | None:
    found = sorted({q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)
                    and q.predicate.value == RDF_TYPE and q.object == ox.NamedNode(cls)})
    return found[0] if len(found) == 1 else None


def _data_graph(data: Path) -> str:
    """The IRI of the graph holding the data: the one ``push`` uses by default."""
    try:
        return default_graph(data)
    except PushError:
        return (data / NT_GZ).resolve().as_uri()


def _read_build_info(folder: Path, key: str, size: int) -> CachedStore | None:
    try:
        info = json.loads((folder / "build.json").read_text())
    except (OSError, ValueError):
        return None
    if (info.get("key") != key or info.get("source_size") != size
            or info.get("layout") != CACHE_LAYOUT):
        return None
    graphs = tuple((g["graph"], g["file"], int(g["triples"])) for g in info.get("graphs", ()))
    return CachedStore(folder, key, int(info["triples"]), False, float(info["seconds"]), graphs)


def _remove_stale(root: Path, keep: str) -> None:
    """Remove the cached stores of older releases that nobody is using."""
    for old in root.iterdir():
        if old.name == keep or not old.is_dir():
            continue
        if old.name.startswith(".build-") and time.time() - old.stat().st_mtime < 60:
            continue  # a builder may not have taken its lock yet
        try:
            with _lock(old, exclusive=True, wait=False):
                shutil.rmtree(old)
        except BlockingIOError:
            continue  # a query, a serve or a builder is using it
        except OSError:
            continue


@contextlib.contextmanager
def _lock(folder: Path, *, exclusive: bool, wait: bool = True) -> Iterator[None]:
    """An flock on ``folder/lock``: shared by readers, exclusive for builders and removal."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        fcntl.flock(fd, mode if wait else mode | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def open_release_store(data_dir: str | Path, *, cache_dir: str | Path | None = None) -> ox.Store:
    """The release as a read-only pyoxigraph store (loaded on first use, then cached).

    Read-only, so that several queries and a ``serve`` can share it. Each file is in its
    own named graph (see "The graphs of the store"): query with
    ``use_default_graph_as_union=True`` to see them all as the default graph.
    """
    cached = cache_release(data_dir, cache_dir=cache_dir)
    return ox.Store.read_only(str(cached.store_path))


# --------------------------------------------------------------------------- query


def run_query(data_dir: str | Path, sparql: str, fmt: str = "table", *,
              cache_dir: str | Path | None = None, allow_service: bool = False) -> str:
    """Answer a SELECT, ASK, CONSTRUCT or DESCRIBE query over the release, formatted.

    A query using SERVICE (which makes the engine fetch the address it names) is refused
    unless ``allow_service``.
    """
    if fmt not in FORMATS:
        raise QueryError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    cached = cache_release(data_dir, cache_dir=cache_dir)
    with _lock(cached.folder, exclusive=False):
        store = ox.Store.read_only(str(cached.store_path))
        return query_store(store, sparql, fmt, prefixes=release_prefixes(data_dir),
                           allow_service=allow_service)


def query_store(store: ox.Store, sparql: str, fmt: str = "table", *,
                prefixes: dict[str, str] | None = None, allow_service: bool = False) -> str:
    """Run ``sparql`` on an open store and format the answer (see the module docstring).

    SERVICE (the engine would fetch the address the query names) is refused unless
    ``allow_service``.
    """
    if not allow_service and uses_service(sparql):
        raise QueryError(SERVICE_REFUSED.replace("by this endpoint", "by tierslieux"))
    known = {**PREFIXES, **(prefixes or {})}
    try:
        # The default graph is the union of the release's graphs, unless the query names its
        # own dataset (pyoxigraph would otherwise let the union win over FROM).
        union = not _FROM.search(_strip_comments(sparql))
        result = store.query(sparql, prefixes=known, use_default_graph_as_union=union)
        known.update(_declared_prefixes(sparql))
        if isinstance(result, ox.QueryBoolean):
            return _format_boolean(result, fmt)
        if isinstance(result, ox.QuerySolutions):
            return _format_solutions(result, fmt, known)
        return _format_triples(result, fmt, known)
    except SyntaxError as exc:
        raise QueryError(_syntax_message(sparql, str(exc))) from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise QueryError(f"the query failed: {_one_line(str(exc))}") from None


_UPDATE = re.compile(
    r"^\s*(?:(?:PREFIX\s+[^:\s]*:\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*"
    r"(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b",
    re.IGNORECASE,
)
_FROM = re.compile(r"\bFROM\s+(?:NAMED\s+)?(?:<|[A-Za-z][\w.-]*:|:)", re.IGNORECASE)
_POSITION = re.compile(r"error at (\d+):(\d+): (.*)", re.DOTALL)


def _syntax_message(sparql: str, message: str) -> str:
    """Oxigraph's ``error at L:C: ...`` as ``line L, column C: ...`` on one line."""
    if _UPDATE.match(_strip_comments(sparql)):
        return ("SPARQL Update is not allowed: the release is read-only "
                "(ask with SELECT, ASK, CONSTRUCT or DESCRIBE)")
    match = _POSITION.match(message)
    if not match:
        return f"SPARQL syntax error: {_one_line(message)}"
    line, column, detail = int(match[1]), int(match[2]), _one_line(match[3])
    if "Prefix not found" in detail:
        detail = "undeclared prefix (add a PREFIX line)"
    else:
        detail = _unknown_word_hint(sparql) or _shorten_expected(detail)
    lines = sparql.rstrip().splitlines()
    near = " at the end of the query"
    if 0 < line <= len(lines) and (line < len(lines) or column <= len(lines[-1]) + 1):
        excerpt = _excerpt(lines[line - 1], column - 1)
        if excerpt:
            near = f' near "{excerpt}"'
    elif detail == "unexpected text":
        detail = "the query ends too soon (a { or ( left open?)"
    return f"line {line}, column {column}: syntax error{near}: {detail}"


def _excerpt(text: str, at: int, reach: int = 20) -> str:
    """About ``reach`` characters either side of ``at``, widened to whole tokens."""
    start, end = max(0, at - reach), min(len(text), at + reach)
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[start:end].strip()


#: the words SPARQL 1.1 knows (keywords and built-in functions), for "did you mean"
_KEYWORDS = frozenset("""
    SELECT ASK CONSTRUCT DESCRIBE WHERE PREFIX BASE DISTINCT REDUCED FROM NAMED OPTIONAL FILTER
    UNION MINUS GRAPH SERVICE SILENT BIND AS VALUES GROUP BY HAVING ORDER ASC DESC LIMIT OFFSET
    NOT EXISTS IN UNDEF A TRUE FALSE LATERAL STR LANG LANGMATCHES DATATYPE BOUND IRI URI BNODE
    RAND ABS CEIL FLOOR ROUND CONCAT STRLEN UCASE LCASE ENCODE_FOR_URI CONTAINS STRSTARTS STRENDS
    STRBEFORE STRAFTER YEAR MONTH DAY HOURS MINUTES SECONDS TIMEZONE TZ NOW UUID STRUUID MD5 SHA1
    SHA256 SHA384 SHA512 COALESCE IF STRLANG STRDT SAMETERM ISIRI ISURI ISBLANK ISLITERAL
    ISNUMERIC REGEX SUBSTR REPLACE COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT SEPARATOR
    INSERT DELETE DATA LOAD CLEAR DROP CREATE ADD MOVE COPY WITH INTO USING DEFAULT ALL TO
""".split())
_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
#: strings, IRIs and comments, whose words are not SPARQL's
_NOT_WORDS = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"'
                        r"|'(?:[^'\\\n]|\\.)*'|<[^<>\"{}|^`\\\s]*>|#[^\n]*")
#: a bare word: not a ?variable, $variable, prefixed name, @language tag or number
_WORD = re.compile(r"(?<![\w?$:@.\-])[A-Za-z_][\w]*(?![\w:\-])")


def _unknown_word_hint(sparql: str) -> str:
    """A hint naming the first word that is no SPARQL keyword, with the nearest one."""
    import difflib

    words = _WORD.findall(_NOT_WORDS.sub(" ", sparql))
    for index, word in enumerate(words):
        if word.upper() in _KEYWORDS:
            continue
        close = difflib.get_close_matches(word.upper(), sorted(_KEYWORDS), n=1, cutoff=0.6)
        hint = f'"{word}" is not a SPARQL keyword'
        if close:
            hint += f" (did you mean {close[0]}?)"
        if index == 0 or (words[:index] and words[index - 1].upper() in ("PREFIX", "BASE")):
            hint += "; a query starts with " + ", ".join(_FORMS[:-1]) + " or " + _FORMS[-1]
        return hint
    return ""


def _shorten_expected(detail: str) -> str:
    """Keep the keywords of ``expected one of ...`` and drop the character classes."""
    if not detail.startswith("expected one of "):
        return detail if len(detail) <= 120 else detail[:119] + "…"
    items, depth, current = [], 0, ""
    for char in detail[len("expected one of "):] + ",":
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        depth += {"[": 1, "]": -1}.get(char, 0)
        current += char
    sentences = [i for i in items if " " in i and i[:1].isupper()]
    if sentences:  # a semantic error hidden among the expected tokens
        return sentences[0][0].lower() + sentences[0][1:]
    words = [i for i in items if i and not i.startswith(("[", "'", '"'))]
    if not words:
        return "unexpected text"
    shown = ", ".join(words[:8]) + (", …" if len(words) > 8 else "")
    return f"expected one of {shown}"


def _strip_comments(sparql: str) -> str:
    # Good enough to find the first keyword: '#' inside IRIs/strings is rare before it.
    return "\n".join(re.sub(r"#[^\n<>\"']*$", "", line) for line in sparql.splitlines())


def _declared_prefixes(sparql: str) -> dict[str, str]:
    return dict(re.findall(r"PREFIX\s+([A-Za-z][\w.-]*|):\s*<([^>]*)>", sparql, re.IGNORECASE))


def release_prefixes(data_dir: str | Path) -> dict[str, str]:
    """The ``@prefix`` declarations at the top of the release's Turtle file, if any."""
    found: dict[str, str] = {}
    try:
        with open(Path(data_dir) / TURTLE, encoding="utf-8") as f:
            for number, line in enumerate(f):
                text = line.strip()
                match = re.match(r"(?:@prefix|PREFIX)\s+([\w.-]*):\s*<([^>]*)>", text, re.I)
                if match:
                    found[match[1]] = match[2]
                elif text and not text.startswith(("#", "@base", "BASE")) or number > 500:
                    break
    except OSError:
        pass
    return found


def _format_boolean(result: ox.QueryBoolean, fmt: str) -> str:
    if fmt == "table":
        return ("true" if bool(result) else "false") + "\n"
    return result.serialize(format=_RESULT_FORMATS[fmt]).decode("utf-8")


def _format_solutions(result: ox.QuerySolutions, fmt: str, prefixes: dict[str, str]) -> str:
    if fmt != "table":
        return result.serialize(format=_RESULT_FORMATS[fmt]).decode("utf-8")
    names = [v.value for v in result.variables]
    compact = display_compactor(prefixes)
    rows = [[_cell(solution[name], compact) for name in names] for solution in result]
    return render_table(names, rows)


def render_table(header: list[str], rows: list[list[str]]) -> str:
    """Aligned plain text: a header, a rule, the rows, and ``(N rows)``."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    lines = []
    if header:
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
    lines.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(lines) + "\n"


def _cell(term, compact: Callable[[str], str]) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        text = compact(term.value)
    elif isinstance(term, ox.BlankNode):
        text = f"_:{term.value}"
    elif isinstance(term, ox.Literal):
        text = " ".join(term.value.split())  # newlines and tabs would break the columns
    elif isinstance(term, ox.Triple):
        parts = (_cell(term.subject, compact), _cell(term.predicate, compact),
                 _cell(term.object, compact))
        text = "<< " + " ".join(parts) + " >>"
    else:  # pragma: no cover
        text = str(term)
    text = unicodedata.normalize("NFC", text)
    if isinstance(term, ox.Literal) and len(text) > _CELL_WIDTH:
        return text[:_CELL_WIDTH - 1] + "…"  # IRIs stay whole, to be copied into a query
    return text


def _format_triples(result: ox.QueryTriples, fmt: str, prefixes: dict[str, str]) -> str:
    triples = sorted(result, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    if fmt == "table":
        used = _used_prefixes(triples, prefixes)
        return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=used).decode("utf-8")
    if fmt == "json":
        return ox.serialize(triples, format=ox.RdfFormat.JSON_LD).decode("utf-8") + "\n"
    graph = ox.Store()
    graph.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    table = graph.query("SELECT ?subject ?predicate ?object WHERE { ?subject ?predicate ?object } "
                        "ORDER BY ?subject ?predicate ?object")
    return table.serialize(format=_RESULT_FORMATS[fmt]).decode("utf-8")


def _used_prefixes(triples: list[ox.Triple], prefixes: dict[str, str]) -> dict[str, str]:
    iris = set()
    for t in triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal) and term.language is None:
                iris.add(term.datatype.value)
    iris.discard("http://www.w3.org/2001/XMLSchema#string")
    return {p: ns for p, ns in sorted(prefixes.items())
            if ns and any(i.startswith(ns) for i in iris)}


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- worked queries


@dataclass(frozen=True)
class WorkedQuery:
    """One of the research questions shipped in ``tierslieux/queries/``."""

    name: str
    question: str
    question_fr: str
    text: str


def worked_queries() -> tuple[WorkedQuery, ...]:
    """Every shipped worked query, sorted by name."""
    folder = files("tierslieux") / "queries"
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            text = entry.read_text(encoding="utf-8")
            found.append(WorkedQuery(entry.name[:-3], _header(text, "Question"),
                                     _header(text, "Question (fr)"), text))
    return tuple(found)


def worked_query(name: str) -> WorkedQuery:
    """The worked query called ``name`` (file name without ``.rq``)."""
    queries = {q.name: q for q in worked_queries()}
    stem = name[:-3] if name.endswith(".rq") else name
    if stem not in queries:
        raise MissingInputError(
            f"no worked query {name!r}: choose one of {', '.join(sorted(queries))}")
    return queries[stem]


def load_query(file_or_name: str) -> str:
    """The text of the query file ``file_or_name``, or of the worked query of that name."""
    path = Path(file_or_name)
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MissingInputError(f"{path}: cannot read it ({exc})") from None
    bare = path.name == file_or_name   # no folder in it
    if bare and path.suffix in ("", ".rq") and path.stem in {q.name for q in worked_queries()}:
        return worked_query(file_or_name).text
    if path.suffix or not bare:
        raise MissingInputError(f"{file_or_name}: no such file (nor a worked query: see --list)")
    return worked_query(file_or_name).text


def _header(text: str, label: str) -> str:
    match = re.search(rf"^#\s*{re.escape(label)}\s*:\s*(.+)$", text, re.MULTILINE)
    return match[1].strip() if match else ""


# --------------------------------------------------------------------------- serve


def oxigraph_binary() -> str:
    """The ``oxigraph`` server command: $TIERSLIEUX_OXIGRAPH, beside Python, or on PATH."""
    candidates = [os.environ.get(OXIGRAPH_ENV), str(Path(sys.executable).parent / "oxigraph"),
                  shutil.which("oxigraph")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return candidate
    raise ServeError("the oxigraph server is not installed: pip install 'oxigraph>=0.5,<0.6'")


@dataclass
class Endpoint:
    """A running read-only Oxigraph server over a cached release, behind the front
    (:mod:`tierslieux.front`) that listens on the public address."""

    url: str
    process: subprocess.Popen
    cached: CachedStore
    _lock: contextlib.ExitStack = field(repr=False)
    _log: IO[bytes] = field(repr=False)
    front: Front | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return self.url.rsplit("/", 1)[0]

    def stop(self, timeout: float = 10) -> int:
        """Stop the front, terminate the server (only the process this object started) and
        wait for it."""
        if self.front is not None:
            self.front.stop()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._lock.close()
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_endpoint(data_dir: str | Path, host: str = "127.0.0.1", port: int = 7878, *,
                   cache_dir: str | Path | None = None, timeout_s: int | None = QUERY_TIMEOUT,
                   allow_service: bool = False, max_result_bytes: int = MAX_RESULT_BYTES,
                   cors: bool = True, wait: float = 30.0) -> Endpoint:
    """Start ``oxigraph serve-read-only`` over the release on an internal loopback port, and
    the front on ``host:port``; wait until it answers.

    ``timeout_s``: seconds a query may run before Oxigraph cancels it (None or 0: no limit);
    ``max_result_bytes``: largest answer; ``allow_service``: let queries use SERVICE (the
    server then fetches the addresses clients name); ``cors``: answer browsers of any origin.
    """
    binary = oxigraph_binary()
    cached = cache_release(data_dir, cache_dir=cache_dir)
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    # Checked first: otherwise the readiness probe could be answered by whoever holds the port.
    _check_port(host, port, bind)
    inner = f"127.0.0.1:{_free_loopback_port()}"
    command = [binary, "serve-read-only", "--location", str(cached.store_path), "--bind", inner,
               "--union-default-graph"]
    if cors:
        command.append("--cors")
    if timeout_s:
        command += ["--timeout-s", str(int(timeout_s))]
    holder = contextlib.ExitStack()
    holder.enter_context(_lock(cached.folder, exclusive=False))
    log = tempfile.TemporaryFile()
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    except OSError as exc:
        holder.close()
        log.close()
        raise ServeError(f"cannot start {binary}: {exc.strerror or exc}") from None
    url = f"http://{bind}/query"
    endpoint = Endpoint(url, process, cached, holder, log)
    deadline = time.monotonic() + wait
    while not _answers(f"http://{inner}/query?query=ASK%7B%7D"):
        if process.poll() is not None:
            reason = _server_error(log)
            endpoint.stop()
            raise ServeError(f"oxigraph could not serve on {bind}: {reason}")
        if time.monotonic() > deadline:
            endpoint.stop()
            raise ServeError(f"oxigraph did not answer on {bind} within {wait:.0f} s")
        time.sleep(0.05)
    try:
        endpoint.front = Front((host, port), inner, allow_service=allow_service,
                               timeout_s=timeout_s or 0, max_result_bytes=max_result_bytes,
                               cors=cors)
    except OSError as exc:
        endpoint.stop()
        raise ServeError(f"could not serve on {bind}: {exc.strerror or exc}"
                         " (choose another --port)") from None
    endpoint.front.start()
    return endpoint


def _free_loopback_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _check_port(host: str, port: int, bind: str) -> None:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServeError(f"oxigraph could not serve on {bind}: {exc.strerror or exc}"
                             " (choose another --port)") from None


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _server_error(log: IO[bytes]) -> str:
    log.seek(0)
    lines = log.read().decode("utf-8", "replace").splitlines()
    for line in lines:
        if line.startswith("Error:"):
            return line[len("Error:"):].strip()
    return lines[0].strip() if lines else "it exited at once"


def serve(data_dir: str | Path, host: str = "127.0.0.1", port: int = 7878, *,
          cache_dir: str | Path | None = None, timeout_s: int | None = QUERY_TIMEOUT,
          allow_service: bool = False, max_result_bytes: int = MAX_RESULT_BYTES,
          cors: bool = True, on_ready: Callable[[str], None] | None = None) -> str:
    """Serve the release as a SPARQL 1.1 Protocol endpoint until Ctrl-C (or SIGTERM).

    ``on_ready`` gets the query URL once the server answers. SIGINT and SIGTERM stop the
    server, then raise KeyboardInterrupt (the command exits 130, "interrupted"); returns the URL
    if the server ends by itself cleanly; raises ServeError when it cannot start or dies.
    """
    endpoint = start_endpoint(data_dir, host, port, cache_dir=cache_dir, timeout_s=timeout_s,
                              allow_service=allow_service, max_result_bytes=max_result_bytes,
                              cors=cors)
    restore = {}
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C, the SIGTERM of systemd and docker, and a SIGINT sent to a serve that a shell
        # started in the background (with SIGINT ignored) all stop the child the same way.
        for signum in (signal.SIGINT, signal.SIGTERM):
            restore[signum] = signal.signal(signum, signal.default_int_handler)
    try:
        if on_ready:
            on_ready(endpoint.url)
        code = endpoint.process.wait()
        if code not in (0, -signal.SIGINT, -signal.SIGTERM):
            reason = _server_error(endpoint._log)
            raise ServeError(f"oxigraph stopped on its own (exit {code}): {reason}")
    finally:
        endpoint.stop()
        for signum, handler in restore.items():
            signal.signal(signum, handler)
    return endpoint.url


# --------------------------------------------------------------------------- push


@dataclass(frozen=True)
class PushResult:
    """What ``push`` sent."""

    url: str  # the endpoint, without credentials
    graph: str
    triples: int
    bytes: int
    status: int
    seconds: float


class _NTriplesBody:
    """The decompressed N-Triples, streamed block by block with a known length.

    A known length lets requests send ``Content-Length`` instead of chunked encoding, which
    every Graph Store implementation accepts; nothing is held in memory or copied to disk.
    """

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        with gzip.open(self.path, "rb") as f:
            while block := f.read(_BLOCK):
                yield block


def _measure(path: Path) -> tuple[int, int, str]:
    """(decompressed bytes, triples, sha256 of the compressed file) in one pass."""
    digest = hashlib.sha256()
    size = triples = 0
    with open(path, "rb") as raw:
        class Hashing:
            def read(self, n: int = -1) -> bytes:
                block = raw.read(n)
                digest.update(block)
                return block

        with gzip.GzipFile(fileobj=Hashing(), mode="rb") as f:  # type: ignore[arg-type]
            pending = b""
            while block := f.read(_BLOCK):
                size += len(block)
                lines = (pending + block).split(b"\n")
                pending = lines.pop()
                triples += sum(1 for ln in lines if ln.strip() and not ln.lstrip().startswith(b"#"))
            if pending.strip() and not pending.lstrip().startswith(b"#"):
                triples += 1
        digest.update(raw.read())  # gzip trailer bytes GzipFile may not have asked for
    return size, triples, digest.hexdigest()


def default_graph(data_dir: str | Path) -> str:
    """The graph IRI push uses by default.

    The ``dcat:Dataset`` of the release's ``catalog.ttl`` (the one distributed as
    ``tierslieux.nt.gz`` when the catalogue lists several), else the ``base_iri`` recorded in
    ``report.json``.
    """
    data = Path(data_dir)
    catalog = data / CATALOG
    if catalog.is_file():
        graph = ox.Store()
        try:
            # The catalogue may name its files relatively (<tierslieux.nt.gz>).
            graph.load(path=str(catalog), format=ox.RdfFormat.TURTLE,
                       base_iri=catalog.resolve().as_uri())
        except (SyntaxError, OSError):
            raise PushError(f"{catalog} is not valid Turtle: give --graph IRI") from None
        found = sorted(s["d"].value for s in graph.query(
            "PREFIX dcat: <http://www.w3.org/ns/dcat#> "
            "SELECT DISTINCT ?d WHERE { ?d a dcat:Dataset FILTER(isIRI(?d)) }"))
        if len(found) > 1:
            found = sorted(s["d"].value for s in graph.query(
                "PREFIX dcat: <http://www.w3.org/ns/dcat#> SELECT DISTINCT ?d WHERE { "
                "?d a dcat:Dataset ; "
                "(dcat:distribution/(dcat:downloadURL|dcat:accessURL))|<http://rdfs.org/ns/void#dataDump> ?u "
                f'FILTER(isIRI(?d) && STRENDS(STR(?u), "{NT_GZ}")) }}'))
        if len(found) == 1:
            return found[0]
    try:
        base = json.loads((data / "report.json").read_text(encoding="utf-8")).get("base_iri")
    except (OSError, ValueError, AttributeError):
        base = None
    if isinstance(base, str) and urllib.parse.urlsplit(base).scheme:
        return base
    raise PushError(f"cannot tell which graph to replace ({CATALOG} names no single "
                    "dcat:Dataset): give --graph IRI")


def push(data_dir: str | Path, endpoint: str, graph: str | None = None, *,
         timeout: float = 3600.0) -> PushResult:
    """Replace ``graph`` on a Graph Store Protocol endpoint with the release (HTTP PUT)."""
    import requests

    data = Path(data_dir)
    nt = release_file(data)
    parsed = urllib.parse.urlsplit(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise PushError(f"the endpoint must be an http(s) address, got {_safe_url(endpoint)!r}")
    graph = graph or default_graph(data)
    if not urllib.parse.urlsplit(graph).scheme:
        raise PushError(f"the graph must be an absolute IRI, got {graph!r}")
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    secrets = _push_secrets(user, password, parsed)
    auth = (user, password or "") if user else None
    safe = _safe_url(endpoint)

    size, triples, digest = _measure(nt)
    listed = _listed_sha256(data, NT_GZ)
    if listed is not None and digest != listed:
        raise PushError(f"{nt} does not match {SUMS}: the release is damaged; publish it again")
    start = time.perf_counter()
    try:
        response = requests.put(
            endpoint, params={"graph": graph}, data=_NTriplesBody(nt, size), auth=auth,
            headers={"Content-Type": "application/n-triples",
                     "User-Agent": "tierslieux-push (+https://w3id.org/tierslieux)"},
            timeout=(30, timeout), allow_redirects=False,  # a streamed body cannot be re-sent
        )
    except requests.RequestException as exc:
        failure = f"cannot reach {safe}: {_network_reason(exc)}"
    else:
        failure = _push_failure(response, safe, secrets)
    if failure is not None:   # raised here: no __context__ holding the request
        raise PushError(_redact(failure, secrets))
    return PushResult(safe, graph, triples, size, response.status_code,
                      round(time.perf_counter() - start, 3))


def _push_failure(response: requests.Response, safe: str, secrets: list[str]) -> str | None:
    """Why the upload failed, in one line with no credential in any form; None: it did not."""
    status = f"HTTP {response.status_code} {_one_line(response.reason or '')}".rstrip()
    if 300 <= response.status_code < 400 and response.headers.get("Location"):
        target = _redact(_safe_url(_one_line(response.headers["Location"])), secrets)
        return (f"{safe} answered {status}: it moved to {target[:200]}; give that address "
                "as the endpoint")
    if response.status_code not in (200, 201, 204):
        body = response.text.strip().splitlines()
        first = _redact(_one_line(body[0]), secrets)[:200] if body else ""
        return f"{safe} answered {status}" + (f": {first}" if first else "")
    return None


def _push_secrets(user: str | None, password: str | None,
                  parsed: urllib.parse.SplitResult) -> list[str]:
    """Every form the credentials may come back in: plain, URL-encoded, base64 (HTTP Basic
    ``user:password``), from the environment and from the endpoint's ``user:password@``."""
    from tierslieux.model.secrets import forms

    found: set[str] = {name for name in (user, parsed.username) if name}
    found |= forms(password or "", user)
    if parsed.password:
        for secret, name in ((parsed.password, parsed.username),
                             (urllib.parse.unquote(parsed.password),
                              urllib.parse.unquote(parsed.username or ""))):
            found |= forms(secret, name or None)
    return sorted(found, key=len, reverse=True)
def _network_reason(exc: BaseException) -> str:
    """What a failed request says a person can act on, in a few words (no library repr).

    requests wraps urllib3, which wraps the socket error: the innermost OSError says it
    ("connection refused", "name or service not known"...).
    """
    import requests

    if isinstance(exc, requests.Timeout):
        return "no answer in time (timed out)"
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend([*item.args, getattr(item, "reason", None), item.__cause__,
                     item.__context__])
    for found in reversed(seen):
        if isinstance(found, OSError) and found.strerror:
            return found.strerror[0].lower() + found.strerror[1:]
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed (certificate?)"
    return "the connection failed"


def _safe_url(url: str) -> str:
    """The URL without ``user:password@``."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@", r"\1", url)


def _redact(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text
