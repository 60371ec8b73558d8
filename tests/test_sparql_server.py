"""``serve`` and ``push`` against real Oxigraph servers on loopback."""

from __future__ import annotations

import http.server
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from fixtures.oxigraph import (
    DATASET_IRI,
    count_release_triples,
    free_port,
    make_release,
    start_serve,
)
from tierslieux.ontology import ONTOLOGY_NS
from tierslieux.sparql.cache import cache_release, default_graph
from tierslieux.sparql.push import PASSWORD_ENV, USER_ENV, push
from tierslieux.sparql.query import run_query
from tierslieux.sparql.serve import start_endpoint
from tierslieux.errors import PushError, ServeError

pytestmark = pytest.mark.integration

D = "https://w3id.org/tierslieux/movilab/"
DATA = f"""
<{D}place/Le_WIP> a tl:ThirdPlace ; tl:name "Le WIP" ; tl:town "Colombelles" .
<{D}place/La_Myne> a tl:ThirdPlace ; tl:name "La Myne" ; tl:town "Villeurbanne" .
<{D}page/Le_WIP> a tl:WikiPage ; tl:title "Le WIP" ; tl:describes <{D}place/Le_WIP> .
"""
SMALLER = f"""<{D}place/Le_WIP> a tl:ThirdPlace ; tl:name "Le WIP" .\n"""
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
NAMES = ("PREFIX tl: <https://w3id.org/tierslieux/ontology#> "
         "SELECT ?name WHERE { ?p a tl:ThirdPlace ; tl:name ?name } ORDER BY ?name")
JSON = {"Accept": "application/sparql-results+json"}
SECRET = "S3cret-pass-Word!"


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return make_release(tmp_path / "exports", DATA)


@pytest.fixture
def endpoint(release):
    with start_serve(release) as server:
        yield server


def _names(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/sparql-results+json")
    return [b["name"]["value"] for b in response.json()["results"]["bindings"]]


# --------------------------------------------------------------------------- serve


def test_serve_answers_get_and_post(endpoint):
    assert endpoint.url.startswith("http://127.0.0.1:") and endpoint.url.endswith("/query")
    get = requests.get(endpoint.url, params={"query": NAMES}, headers=JSON, timeout=10)
    assert _names(get) == ["La Myne", "Le WIP"]
    form = requests.post(endpoint.url, data={"query": NAMES}, headers=JSON, timeout=10)
    assert _names(form) == ["La Myne", "Le WIP"]
    direct = requests.post(endpoint.url, data=NAMES.encode(), timeout=10,
                           headers={**JSON, "Content-Type": "application/sparql-query"})
    assert _names(direct) == ["La Myne", "Le WIP"]


def test_serve_default_graph_holds_the_whole_release(endpoint, release):
    """The default graph is the union of the data and the vocabulary and catalogue files."""
    def count(query: str) -> int:
        answer = requests.get(endpoint.url, params={"query": query}, headers=JSON,
                              timeout=10).json()
        return int(answer["results"]["bindings"][0]["n"]["value"])

    graphs = dict((f, n) for _, f, n in endpoint.cached.graphs)
    assert count(COUNT) == sum(graphs.values())
    assert graphs["tierslieux.nt.gz"] == count_release_triples(release)
    data = default_graph(release)
    assert count(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{data}> {{ ?s ?p ?o }} }}") == \
        count_release_triples(release)


def test_serve_sends_cors_headers(endpoint):
    origin = {"Origin": "https://yasgui.example.org"}
    response = requests.get(endpoint.url, params={"query": "ASK {}"},
                            headers={**JSON, **origin}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = requests.options(endpoint.url, timeout=10, headers={
        **origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_serve_refuses_updates(endpoint):
    update = requests.post(endpoint.base + "/update", data=b"INSERT DATA { <a:b> <a:c> <a:d> }",
                           headers={"Content-Type": "application/sparql-update"}, timeout=10)
    assert update.status_code == 403
    put = requests.put(endpoint.base + "/store?default", data=b"<a:b> <a:c> <a:d> .",
                       headers={"Content-Type": "application/n-triples"}, timeout=10)
    assert put.status_code == 403
    after = requests.get(endpoint.url, params={"query": "ASK { <a:b> ?p ?o }"}, headers=JSON,
                         timeout=10)
    assert after.json()["boolean"] is False


def test_query_and_serve_share_the_cache(endpoint, release):
    assert run_query(release, NAMES, "csv") == "name\r\nLa Myne\r\nLe WIP\r\n"
    assert cache_release(release).folder == endpoint.cached.folder


def test_serve_reports_a_taken_port(release, endpoint):
    port = int(endpoint.url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(ServeError, match=r"could not serve on 127\.0\.0\.1:\d+: Address already in use \(choose another --port\)$"):
        start_endpoint(release, port=port).stop()  # stop it if it ever starts


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_started_in_the_background_stops_on_a_signal_with_130(release, signum):
    """As a shell script starts it with '&': SIGINT ignored, no terminal. It still stops."""
    port = free_port()
    exe = Path(sys.executable).with_name("tierslieux")
    proc = subprocess.Popen([str(exe), "serve", "--data", str(release), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        url = proc.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}/query", proc.stderr.read()
        assert requests.get(url, params={"query": "ASK {}"}, timeout=10).status_code == 200
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err.strip() == "Interrupted."
    with pytest.raises(requests.ConnectionError):
        requests.get(url, params={"query": "ASK {}"}, timeout=5)


# --------------------------------------------------------------------------- push


def _graph_count(server, graph: str) -> int:
    rows = server.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return int(rows[0]["n"])


def test_push_then_count_on_the_external_store(oxigraph, release):
    result = push(release, oxigraph.store)
    assert result.graph == DATASET_IRI
    assert result.status in (201, 204)
    assert result.triples == count_release_triples(release) == 9
    assert _graph_count(oxigraph, DATASET_IRI) == 9
    # locally, the data is the dataset's named graph (beside the catalogue's)
    local = run_query(release, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{DATASET_IRI}> "
                                      "{ ?s ?p ?o } }", "csv")
    assert local == f"n\r\n{_graph_count(oxigraph, DATASET_IRI)}\r\n"
    names = oxigraph.select(f"PREFIX tl: <{ONTOLOGY_NS}> SELECT ?n WHERE "
                            f"{{ GRAPH <{DATASET_IRI}> {{ ?p tl:name ?n }} }} ORDER BY ?n")
    assert [r["n"] for r in names] == ["La Myne", "Le WIP"]


def test_push_twice_replaces_the_graph(oxigraph, release, tmp_path):
    graph = "https://example.org/graph/tierslieux"
    other = "https://example.org/graph/other"
    oxigraph.run_update(f"INSERT DATA {{ GRAPH <{other}> {{ <a:x> <a:y> <a:z> }} }}")
    push(release, oxigraph.store, graph)
    push(release, oxigraph.store, graph)
    assert _graph_count(oxigraph, graph) == 9
    smaller = make_release(tmp_path / "smaller", SMALLER)
    result = push(smaller, oxigraph.store, graph)
    assert result.triples == 2
    assert _graph_count(oxigraph, graph) == 2
    assert _graph_count(oxigraph, other) == 1  # other graphs untouched


def test_push_accepts_an_endpoint_with_a_query_string(oxigraph, release):
    push(release, oxigraph.store + "?no_transaction", "https://example.org/g")
    assert _graph_count(oxigraph, "https://example.org/g") == 9


def test_push_needs_a_graph_when_the_catalogue_has_none(oxigraph, tmp_path):
    bare = make_release(tmp_path / "bare", DATA, dataset=None)
    with pytest.raises(PushError, match="give --graph IRI"):
        push(bare, oxigraph.store)


def test_push_reports_http_errors_with_status_and_first_line(oxigraph, release, monkeypatch):
    monkeypatch.setenv(USER_ENV, "alice")
    monkeypatch.setenv(PASSWORD_ENV, SECRET)
    with pytest.raises(PushError) as caught:
        push(release, oxigraph.base + "/nowhere", "https://example.org/g")
    message = str(caught.value)
    assert message.startswith(f"{oxigraph.base}/nowhere answered HTTP 404")
    assert "\n" not in message and SECRET not in message


def test_push_refused_by_a_read_only_server(endpoint, release, monkeypatch):
    monkeypatch.setenv(USER_ENV, "alice")
    monkeypatch.setenv(PASSWORD_ENV, SECRET)
    with pytest.raises(PushError, match=r"answered HTTP 403 Forbidden: The server is read-only$"):
        push(release, endpoint.base + "/store", "https://example.org/g")


def test_push_to_nothing_never_shows_credentials(release, monkeypatch):
    monkeypatch.setenv(USER_ENV, "alice")
    monkeypatch.setenv(PASSWORD_ENV, SECRET)
    port = free_port()
    url = f"http://bob:{SECRET}@127.0.0.1:{port}/store"
    with pytest.raises(PushError) as caught:
        push(release, url, "https://example.org/g")
    message = str(caught.value)
    # one line a person can act on, not urllib3's repr
    assert message == f"cannot reach http://127.0.0.1:{port}/store: connection refused"
    assert SECRET not in message and "bob" not in message


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A stand-in store that only records what it was sent and refuses it."""

    seen: list[dict] = []

    def do_PUT(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        self.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path.startswith("/moved"):
            self.send_response(301)
            self.send_header("Location", "https://store.example.org/ds/data")
            self.end_headers()
            return
        self.send_response(401)
        self.end_headers()
        self.wfile.write(f"Unauthorized for alice:{SECRET}\nsecond line".encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_push_does_not_follow_redirects(recorder, release):
    with pytest.raises(PushError, match=(
            r"answered HTTP 301 Moved Permanently: it moved to https://store\.example\.org/ds/data; "
            r"give that address as the endpoint$")):
        push(release, recorder + "/moved", "https://example.org/g")


def test_push_sends_basic_auth_and_a_sized_ntriples_body(release, monkeypatch):
    import base64
    import gzip

    monkeypatch.setenv(USER_ENV, "alice")
    monkeypatch.setenv(PASSWORD_ENV, SECRET)
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/ds/data"
        with pytest.raises(PushError) as caught:
            push(release, url, "https://example.org/g?x=1")
    finally:
        server.shutdown()
        server.server_close()
    sent = _Recorder.seen[-1]
    assert sent["path"] == "/ds/data?graph=https%3A%2F%2Fexample.org%2Fg%3Fx%3D1"
    assert sent["headers"]["Content-Type"] == "application/n-triples"
    assert "Transfer-Encoding" not in sent["headers"]
    expected = gzip.decompress((release / "tierslieux.nt.gz").read_bytes())
    assert sent["body"] == expected
    assert sent["headers"]["Authorization"] == (
        "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode())
    assert str(caught.value) == f"{url} answered HTTP 401 Unauthorized: Unauthorized for ***:***"


def test_push_refuses_a_damaged_release(oxigraph, release, tmp_path):
    other = make_release(tmp_path / "other", SMALLER)
    (release / "tierslieux.nt.gz").write_bytes((other / "tierslieux.nt.gz").read_bytes())
    with pytest.raises(PushError, match="does not match SHA256SUMS"):
        push(release, oxigraph.store, "https://example.org/g")
    assert _graph_count(oxigraph, "https://example.org/g") == 0


def test_push_wants_an_http_endpoint(release):
    with pytest.raises(PushError, match="must be an http"):
        push(release, "ftp://127.0.0.1/store", "https://example.org/g")


def test_oxigraph_fixture_is_emptied_between_tests(oxigraph, oxigraph_server):
    assert oxigraph is oxigraph_server
    assert oxigraph.select("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }") == []
