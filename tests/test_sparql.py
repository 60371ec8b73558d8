"""``tierslieux.sparql``: query a release through its cached Oxigraph store (no server)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from fixtures.oxigraph import make_release
from tierslieux.ontology import ONTOLOGY_NS
from tierslieux.sparql.cache import (
    CACHE_ENV,
    ONTOLOGY_IRI,
    cache_release,
    default_graph,
    lock,
    open_release_store,
)
from tierslieux.sparql.format import _cell, release_prefixes, render_table
from tierslieux.sparql.push import _safe_url
from tierslieux.sparql.query import query_store, run_query, worked_queries, worked_query
from tierslieux.sparql.serve import OXIGRAPH_ENV, oxigraph_binary
from tierslieux.errors import MissingInputError, QueryError, TierslieuxError

D = "https://w3id.org/tierslieux/movilab/"
DATA = rf"""
<{D}place/Le_WIP> a tl:ThirdPlace ; tl:name "Le WIP" ; tl:postalCode "14460" ;
    tl:town "Colombelles" ; tl:description "ligne 1\nligne 2"@fr ; tl:theme tl:theme-gouvernance .
<{D}place/La_Myne> a tl:ThirdPlace ; tl:name "La Myne" .
<{D}page/Le_WIP> a tl:WikiPage ; tl:title "Le WIP" ; tl:describes <{D}place/Le_WIP> ;
    tl:pageId 2121 .
"""
SELECT = "SELECT ?name ?town WHERE { ?p a tl:ThirdPlace ; tl:name ?name OPTIONAL { ?p tl:town ?town } } ORDER BY ?name"


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return make_release(tmp_path / "exports", DATA)


# --------------------------------------------------------------------------- formats


def test_select_table_is_aligned_and_compacts_iris(release):
    out = run_query(release, "SELECT ?p ?name ?theme WHERE { ?p tl:name ?name "
                                    "OPTIONAL { ?p tl:theme ?theme } } ORDER BY ?name")
    assert out == (
        "p                                                    name     theme\n"
        "---------------------------------------------------  -------  --------------------\n"
        f"<{D}place/La_Myne>  La Myne\n"
        f"<{D}place/Le_WIP>   Le WIP   tl:theme-gouvernance\n"
        "(2 rows)\n"
    )


def test_select_table_keeps_multiline_literals_on_one_row(release):
    out = run_query(release, "SELECT ?d WHERE { ?p tl:description ?d }")
    assert out.splitlines()[2] == "ligne 1 ligne 2"
    assert out.endswith("(1 row)\n")


def test_select_csv_tsv_json_are_the_w3c_formats(release):
    assert run_query(release, SELECT, "csv") == (
        "name,town\r\nLa Myne,\r\nLe WIP,Colombelles\r\n")
    assert run_query(release, SELECT, "tsv") == (
        '?name\t?town\n"La Myne"\t\n"Le WIP"\t"Colombelles"\n')
    answer = json.loads(run_query(release, SELECT, "json"))
    assert answer["head"]["vars"] == ["name", "town"]
    assert answer["results"]["bindings"] == [
        {"name": {"type": "literal", "value": "La Myne"}},
        {"name": {"type": "literal", "value": "Le WIP"},
         "town": {"type": "literal", "value": "Colombelles"}},
    ]


def test_typed_values_keep_their_datatype_in_json(release):
    answer = json.loads(run_query(release, "SELECT ?id WHERE { ?p tl:pageId ?id }", "json"))
    assert answer["results"]["bindings"] == [{"id": {
        "type": "literal", "value": "2121",
        "datatype": "http://www.w3.org/2001/XMLSchema#integer"}}]


def test_ask(release):
    assert run_query(release, "ASK { ?p tl:town 'Colombelles' }") == "true\n"
    assert run_query(release, "ASK { ?p tl:town 'Lyon' }") == "false\n"
    assert json.loads(run_query(release, "ASK { ?p tl:town 'Lyon' }", "json")) == {
        "head": {}, "boolean": False}


def test_construct_as_turtle_csv_and_jsonld(release):
    query = "CONSTRUCT { ?p tl:name ?n } WHERE { ?p a tl:ThirdPlace ; tl:name ?n }"
    turtle = run_query(release, query)
    assert turtle.startswith("@prefix tl: <https://w3id.org/tierslieux/ontology#> .\n")
    triples = {q.triple for q in ox.parse(turtle, format=ox.RdfFormat.TURTLE)}
    assert triples == {
        ox.Triple(ox.NamedNode(f"{D}place/La_Myne"), ox.NamedNode(ONTOLOGY_NS + "name"),
                  ox.Literal("La Myne")),
        ox.Triple(ox.NamedNode(f"{D}place/Le_WIP"), ox.NamedNode(ONTOLOGY_NS + "name"),
                  ox.Literal("Le WIP")),
    }
    rows = list(csv.reader(io.StringIO(run_query(release, query, "csv"))))
    assert rows == [["subject", "predicate", "object"],
                    [f"{D}place/La_Myne", ONTOLOGY_NS + "name", "La Myne"],
                    [f"{D}place/Le_WIP", ONTOLOGY_NS + "name", "Le WIP"]]
    jsonld = run_query(release, query, "json")
    assert {q.triple for q in ox.parse(jsonld, format=ox.RdfFormat.JSON_LD)} == triples


def test_describe(release):
    out = run_query(release, f"DESCRIBE <{D}place/Le_WIP>", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {(r["predicate"].rsplit("#", 1)[1], r["object"]) for r in rows} == {
        ("type", ONTOLOGY_NS + "ThirdPlace"), ("name", "Le WIP"), ("postalCode", "14460"),
        ("town", "Colombelles"), ("description", "ligne 1\nligne 2"),
        ("theme", ONTOLOGY_NS + "theme-gouvernance")}


def test_declared_prefixes_are_used_in_tables(release):
    out = run_query(release, f"PREFIX place: <{D}place/>\n"
                                    "SELECT ?p WHERE { ?p tl:town ?t }")
    assert out.splitlines()[2] == "place:Le_WIP"


def test_unknown_format(release):
    with pytest.raises(QueryError, match="unknown format 'xml'"):
        run_query(release, SELECT, "xml")


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("query, message", [
    ("SELECT ?p WHERE {\n  ?p tl:name ?n .\n  ?p ?q\n}",
     r"^line 4, column 2: syntax error near \"}\": expected "),
    ("PREFIX a: <x:>\nSELECT * WHERE {\n  ?s foo:bar ?o }",
     r"^line 3, column 13: syntax error near \"\?s foo:bar \?o }\": undeclared prefix"),
    ("SELECT ?z WHERE { ?s ?p ?o } GROUP BY ?s",
     r"^line 1, column \d+: syntax error near .*: the SELECT contains a variable that is unbound$"),
    ("INSERT DATA { <a:b> <a:c> <a:d> }", r"^SPARQL Update is not allowed"),
    ("# a comment\nPREFIX tl: <x:>\nDELETE WHERE { ?s ?p ?o }", r"^SPARQL Update is not allowed"),
])
def test_broken_query_gives_one_line_with_position(release, query, message):
    with pytest.raises(QueryError, match=message) as caught:
        run_query(release, query)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_missing_release(tmp_path):
    with pytest.raises(MissingInputError, match=r"no release in .*tierslieux.nt.gz is missing") \
            as caught:
        run_query(tmp_path, SELECT)
    assert caught.value.exit_code == 6   # as for every file or folder that does not exist


@pytest.mark.parametrize("query, message", [
    ("SELEC * WHERE { ?s ?p ?o }",
     'near "SELEC * WHERE { ?s ?p ?o }": "SELEC" is not a SPARQL keyword (did you mean '
     "SELECT?); a query starts with SELECT, ASK, CONSTRUCT or DESCRIBE"),
    ("PREFIX tl: <https://w3id.org/tierslieux/ontology#>\n"
     "SELECT * WHERE { ?s tl:name ?o } ORDER BY ?o LIMT 3",
     'near "} ORDER BY ?o LIMT 3": "LIMT" is not a SPARQL keyword (did you mean LIMIT?)'),
    ("SELECT * WHERE { ?s ?p ?o ", "at the end of the query: the query ends too soon"),
])
def test_syntax_error_names_the_whole_token_and_a_hint(release, query, message):
    with pytest.raises(QueryError) as caught:
        run_query(release, query)
    assert message in str(caught.value)


def test_damaged_release_is_refused(tmp_path):
    release = make_release(tmp_path / "exports", DATA)
    other = make_release(tmp_path / "other", DATA + f"<{D}x> tl:name 'x' .")
    (release / "tierslieux.nt.gz").write_bytes((other / "tierslieux.nt.gz").read_bytes())
    with pytest.raises(QueryError, match="does not match SHA256SUMS"):
        run_query(release, SELECT)


def test_invalid_ntriples_is_a_query_error(tmp_path):
    import gzip

    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "tierslieux.nt.gz").write_bytes(gzip.compress(b"<a:b> <a:c> oops .\n"))
    with pytest.raises(QueryError, match="is not valid gzipped N-Triples"):
        run_query(folder, SELECT)


# --------------------------------------------------------------------------- graphs


def _with_vocabulary(release: Path, ontology: bytes | None = None) -> Path:
    """The release plus the bundled ontology.ttl, listed in SHA256SUMS as the exports do."""
    from importlib.resources import files

    (release / "ontology.ttl").write_bytes(
        ontology or (files("tierslieux") / "ontology" / "ontology.ttl").read_bytes())
    names = sorted(p.name for p in release.iterdir() if p.name != "SHA256SUMS")
    (release / "SHA256SUMS").write_text("".join(
        f"{hashlib.sha256((release / n).read_bytes()).hexdigest()}  {n}\n" for n in names))
    return release


def test_data_vocabulary_and_catalogue_are_named_graphs_and_their_union(release):
    _with_vocabulary(release)
    cached = cache_release(release)
    catalogue = (release / "catalog.ttl").resolve().as_uri()  # it types no dcat:Catalog
    assert cached.graphs == ((catalogue, "catalog.ttl", 1),
                             (ONTOLOGY_IRI, "ontology.ttl", cached.graphs[1][2]),
                             (f"{D}dataset", "tierslieux.nt.gz", 12))
    assert cached.triples == 12 and cached.graphs[1][2] > 1000
    graphs = run_query(release, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g "
                                       "{ ?s ?p ?o } } GROUP BY ?g", "csv")
    rows = list(csv.DictReader(io.StringIO(graphs)))
    assert sorted((r["g"], int(r["n"])) for r in rows) == sorted(
        (g, n) for g, _, n in cached.graphs)
    # the default graph is the union: a theme of the data with its label from the vocabulary
    out = run_query(release, "SELECT ?label WHERE { ?p tl:theme ?t . ?t skos:prefLabel "
                                    "?label FILTER(LANG(?label) = 'fr') }", "csv")
    assert out == "label\r\nGouvernance\r\n"
    # a query that names its dataset gets that dataset, not the union
    only_data = run_query(release, f"SELECT (COUNT(*) AS ?n) FROM <{D}dataset> "
                                          "WHERE { ?s ?p ?o }", "csv")
    assert only_data == "n\r\n12\r\n"


def test_the_catalogue_gets_its_own_graph(tmp_path):
    release = make_release(tmp_path / "exports", DATA)
    (release / "catalog.ttl").write_text(
        f"<{D}catalog> a <http://www.w3.org/ns/dcat#Catalog> ; "
        f"<http://www.w3.org/ns/dcat#dataset> <{D}dataset> .\n"
        f"<{D}dataset> a <http://www.w3.org/ns/dcat#Dataset> ; "
        "<http://www.w3.org/ns/dcat#downloadURL> <tierslieux.nt.gz> .\n")
    _with_vocabulary(release)
    cached = cache_release(release)
    assert [(g, f, n) for g, f, n in cached.graphs][0] == (f"{D}catalog", "catalog.ttl", 4)
    # a relative IRI (a run without --publication-url) is resolved against the file
    url = run_query(release, "SELECT ?u WHERE { ?d dcat:downloadURL ?u }", "csv")
    assert url.splitlines()[1] == (release / "tierslieux.nt.gz").resolve().as_uri()


def test_a_tampered_ontology_is_refused(release):
    _with_vocabulary(release)
    text = (release / "ontology.ttl").read_text(encoding="utf-8")
    (release / "ontology.ttl").write_text(text.replace('"Gouvernance"@fr', '"Pirate"@fr'),
                                          encoding="utf-8")
    with pytest.raises(QueryError, match="ontology.ttl does not match SHA256SUMS"):
        run_query(release, SELECT)


def test_a_broken_ontology_is_one_line(release):
    _with_vocabulary(release, b"@prefix tl: <x#> . tl:a tl:b .\n")
    with pytest.raises(QueryError) as caught:
        run_query(release, SELECT)
    assert "ontology.ttl is not valid Turtle" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_cache_of_the_previous_layout_is_built_again(release):
    first = cache_release(release)
    info = json.loads((first.folder / "build.json").read_text())
    del info["layout"]
    (first.folder / "build.json").write_text(json.dumps(info))
    again = cache_release(release)
    assert again.built and again.folder == first.folder
    assert run_query(release, "ASK { ?p tl:town 'Colombelles' }") == "true\n"


def test_errors_belong_to_the_tree():
    from tierslieux.errors import PushError, ServeError

    assert issubclass(PushError, TierslieuxError) and issubclass(ServeError, TierslieuxError)


# --------------------------------------------------------------------------- the cache


def _sha256sum_check(folder: Path) -> None:
    """What ``sha256sum -c SHA256SUMS`` does, and no file appeared that it does not list."""
    listed = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(None, 1)
        listed[name] = digest
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert {p.name for p in folder.iterdir()} == set(listed) | {"SHA256SUMS"}


def test_cache_sits_beside_the_release_and_is_reused(release):
    first = cache_release(release)
    assert first.built and first.triples == 12
    assert first.folder.parent == release.parent / ".tierslieux-cache" / "exports"
    info = first.folder / "build.json"
    stamp = info.stat().st_mtime_ns, info.stat().st_ino
    second = cache_release(release)
    assert not second.built
    assert second.folder == first.folder
    assert (info.stat().st_mtime_ns, info.stat().st_ino) == stamp
    assert run_query(release, "ASK { ?p tl:town 'Colombelles' }") == "true\n"
    assert (info.stat().st_mtime_ns, info.stat().st_ino) == stamp
    _sha256sum_check(release)


def test_changed_release_rebuilds_and_drops_the_old_cache(tmp_path):
    release = make_release(tmp_path / "exports", DATA)
    old = cache_release(release)
    make_release(release, DATA + f'<{D}place/X> a tl:ThirdPlace ; tl:name "X" .')
    assert "X" in run_query(release, SELECT, "csv")
    new = cache_release(release)
    assert not new.built and new.folder != old.folder and new.triples == 14
    assert not old.folder.exists()
    assert [p.name for p in new.folder.parent.iterdir()] == [new.folder.name]


def test_a_cache_in_use_is_kept_until_released(tmp_path):
    release = make_release(tmp_path / "exports", DATA)
    old = cache_release(release)
    with lock(old.folder, exclusive=False):  # what a running serve holds
        make_release(release, DATA + f'<{D}place/X> a tl:ThirdPlace ; tl:name "X" .')
        new = cache_release(release)
        assert new.built and old.folder.exists()
        ask = "ASK { GRAPH ?g { ?s ?p 'X' } }"
        assert not ox.Store.read_only(str(old.store_path)).query(ask)
        assert ox.Store.read_only(str(new.store_path)).query(ask)
    cache_release(release)
    assert not old.folder.exists()


def test_cache_dir_from_the_environment(release, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "elsewhere"))
    cached = cache_release(release)
    assert cached.folder.parent == tmp_path / "elsewhere" / "exports"
    assert not (release.parent / ".tierslieux-cache").exists()


def test_unwritable_cache_dir_says_what_to_do(release, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(QueryError, match=f"set {CACHE_ENV} to a writable folder"):
        cache_release(release, cache_dir=blocker)


def test_concurrent_builders_agree(release):
    code = ("import sys; from tierslieux.sparql.cache import cache_release; "
            "c = cache_release(sys.argv[1]); print(c.folder, c.triples)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(release)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    assert len({out for out, _ in outputs}) == 1
    root = Path(outputs[0][0].split()[0]).parent
    assert [p.name for p in root.iterdir()] == [Path(outputs[0][0].split()[0]).name]


def test_open_release_store_is_read_only(release):
    store = open_release_store(release)
    assert len(store) == 12 + 1  # the data and the catalogue's one triple
    with pytest.raises(RuntimeError, match="read-write"):
        store.update("INSERT DATA { <a:b> <a:c> <a:d> }")


def test_release_prefixes_come_from_the_turtle_file(release):
    prefixes = release_prefixes(release)
    assert prefixes["tl"] == ONTOLOGY_NS
    assert prefixes["dcterms"] == "http://purl.org/dc/terms/"


def test_a_second_query_is_much_faster_than_the_first(tmp_path):
    import gzip
    import time

    folder = tmp_path / "big"
    folder.mkdir()
    lines = "".join(f'<{D}place/p{i}> <{ONTOLOGY_NS}name> "lieu {i}" .\n'
                    for i in range(20000))
    (folder / "tierslieux.nt.gz").write_bytes(gzip.compress(lines.encode(), mtime=0))
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    start = time.perf_counter()
    assert run_query(folder, query, "csv") == "n\r\n20000\r\n"
    first = time.perf_counter() - start
    start = time.perf_counter()
    assert run_query(folder, query, "csv") == "n\r\n20000\r\n"
    second = time.perf_counter() - start
    assert second < first / 2, (first, second)


# --------------------------------------------------------------------------- worked queries


def test_worked_queries_are_documented_and_parse():
    queries = worked_queries()
    assert len(queries) >= 10
    empty = ox.Store()
    for query in queries:
        assert query.question.endswith("?"), query.name
        assert query.question_fr.endswith("?"), query.name
        assert query.text.startswith("# Question: "), query.name
        empty.query(query.text)  # parses on a bare engine: declares every prefix it uses


def test_worked_query_by_name():
    assert worked_query("obstacles.rq").name == "obstacles"
    with pytest.raises(MissingInputError, match="no worked query 'nope': choose one of "):
        worked_query("nope")


def test_worked_queries_ship_as_package_data():
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert '"queries/*.rq"' in pyproject


def test_table_literals_are_cut_at_80_characters_but_not_iris():
    out = render_table(["a"], [["x" * 10]])
    assert out == "a\n----------\nxxxxxxxxxx\n(1 row)\n"
    cell = _cell(ox.Literal("y" * 100), lambda iri: iri)
    assert len(cell) == 80 and cell.endswith("…")
    iri = "https://example.org/" + "z" * 100
    assert _cell(ox.NamedNode(iri), lambda iri: f"<{iri}>") == f"<{iri}>"


def test_empty_select_table():
    store = ox.Store()
    assert query_store(store, "SELECT ?s WHERE { ?s ?p ?o }") == "s\n-\n(0 rows)\n"


def test_nothing_is_printed_or_left_in_the_release(release, capsys):
    run_query(release, SELECT)
    assert capsys.readouterr() == ("", "")
    _sha256sum_check(release)


# --------------------------------------------------------------------------- push: graph name


def test_default_graph_is_the_dataset_of_the_catalogue(release):
    assert default_graph(release) == "https://w3id.org/tierslieux/movilab/dataset"


def test_default_graph_picks_the_dataset_distributed_as_ntriples(release):
    (release / "catalog.ttl").write_text(
        "@prefix dcat: <http://www.w3.org/ns/dcat#> .\n"
        "<https://example.org/ontology-dataset> a dcat:Dataset ; dcat:distribution [\n"
        "  dcat:downloadURL <https://example.org/files/ontology.ttl> ] .\n"
        "<https://example.org/data> a dcat:Dataset ; dcat:distribution [\n"
        "  dcat:downloadURL <https://example.org/files/tierslieux.nt.gz> ] .\n")
    assert default_graph(release) == "https://example.org/data"


def test_default_graph_falls_back_to_the_base_iri_of_the_report(tmp_path):
    from tierslieux.errors import DataGraphError

    release = make_release(tmp_path / "exports", DATA, dataset=None)
    with pytest.raises(DataGraphError, match=r"names no single dcat:Dataset\)$"):
        default_graph(release)
    (release / "report.json").write_text(json.dumps({"base_iri": D}))
    assert default_graph(release) == D


def test_credentials_are_cut_from_addresses():
    assert _safe_url("https://bob:pw@example.org:8443/store?x=1") == (
        "https://example.org:8443/store?x=1")
    assert _safe_url("http://example.org/a@b") == "http://example.org/a@b"


def test_missing_oxigraph_binary_says_how_to_install_it(monkeypatch, tmp_path):
    from tierslieux.errors import ServeError

    monkeypatch.setenv(OXIGRAPH_ENV, str(tmp_path / "nope"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServeError, match=r"pip install 'oxigraph>=0.5,<0.6'"):
        oxigraph_binary()


def test_oxigraph_binary_from_the_environment(monkeypatch, tmp_path):
    fake = tmp_path / "my-oxigraph"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv(OXIGRAPH_ENV, str(fake))
    assert oxigraph_binary() == str(fake)
