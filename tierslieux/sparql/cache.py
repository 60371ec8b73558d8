"""The release a query reads, and its Oxigraph store cached beside it.

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
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from tierslieux.errors import DataGraphError, MissingInputError, QueryError
from tierslieux.ontology import ONTOLOGY_NS
from tierslieux.sparql.format import one_line

try:  # POSIX only; elsewhere old caches are removed without checking who uses them
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None


NT_GZ = "tierslieux.nt.gz"
SUMS = "SHA256SUMS"
CATALOG = "catalog.ttl"
CACHE_FOLDER = ".tierslieux-cache"
CACHE_ENV = "TIERSLIEUX_CACHE_DIR"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
BLOCK = 1 << 20


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
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def listed_sha256(data_dir: Path, name: str) -> str | None:
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
        with lock(tmp, exclusive=True):
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
        listed = listed_sha256(data, path.name)
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
                f"{nt} is not valid gzipped N-Triples: {one_line(str(exc))}") from None
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
        raise QueryError(f"{path} is not valid Turtle: {one_line(str(exc))}; "
                         "publish the release again") from None


def _single_subject(quads: list[ox.Quad], cls: str) -> str | None:
    found = sorted({q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)
                    and q.predicate.value == RDF_TYPE and q.object == ox.NamedNode(cls)})
    return found[0] if len(found) == 1 else None


def _data_graph(data: Path) -> str:
    """The IRI of the graph holding the data: the one ``push`` uses by default."""
    try:
        return default_graph(data)
    except DataGraphError:
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
            with lock(old, exclusive=True, wait=False):
                shutil.rmtree(old)
        except BlockingIOError:
            continue  # a query, a serve or a builder is using it
        except OSError:
            continue


@contextlib.contextmanager
def lock(folder: Path, *, exclusive: bool, wait: bool = True) -> Iterator[None]:
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


def default_graph(data_dir: str | Path) -> str:
    """The graph IRI push uses by default (DataGraphError when the release does not say).

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
            raise DataGraphError(f"{catalog} is not valid Turtle") from None
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
    raise DataGraphError(f"cannot tell which graph to replace ({CATALOG} names no single "
                         "dcat:Dataset)")
