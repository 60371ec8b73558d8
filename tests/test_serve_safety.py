"""``serve`` and ``query`` are safe to expose by default: no SERVICE (the server would fetch
what a client names), queries stopped by a timeout that cancels the engine's work, answers
bounded in size; all through the real Oxigraph server behind the front (tierslieux/sparql/front.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from fixtures.oxigraph import free_port, make_release, start_serve
from tierslieux.sparql.query import run_query
from tierslieux.errors import QueryError
from tierslieux.sparql.front import uses_service

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
JSON = {"Accept": "application/sparql-results+json"}
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


class Listener:
    """A loopback TCP listener counting the connections made to it (answers an empty
    SPARQL result, so that an allowed SERVICE call succeeds)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.hits = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        body = b'{"head":{"vars":[]},"results":{"bindings":[{}]}}'
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.hits += 1
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results"
                                 b"+json\r\nContent-Length: " + str(len(body)).encode()
                                 + b"\r\nConnection: close\r\n\r\n" + body)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def listener():
    found = Listener()
    yield found
    found.close()


@pytest.fixture
def release(tmp_path: Path) -> Path:
    rows = "\n".join(f'<https://x.example/s{i}> <https://x.example/p> "{i}" .'
                     for i in range(2000))
    return make_release(tmp_path / "exports", rows)




def service_queries(url: str) -> list[str]:
    """Ways of writing a federated query (each one reaches ``url`` when allowed)."""
    return [
        f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?x ?y ?z .SERVICE<{url}>{{ ?s ?p ?o }} }} LIMIT 1",
        f"SELECT * WHERE {{ OPTIONAL {{ SeRvIcE <{url}> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
        f"SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"# a comment\nSELECT * WHERE {{ # SERVICE in a comment, then for real\n"
        f"SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"ASK {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"PREFIX r: <{url}>\nSELECT * WHERE {{ BIND(r: AS ?e) SERVICE r: {{ ?s ?p ?o }} }}",
    ]


HARMLESS = [
    'SELECT * WHERE { ?s ?p "SERVICE <http://127.0.0.1:1/x> { }" } LIMIT 1',
    "SELECT * WHERE { ?s ?p ?o # SERVICE <http://127.0.0.1:1/x>\n} LIMIT 1",
    "SELECT ?service WHERE { ?service ?p ?o } LIMIT 1",
    "PREFIX ex: <https://x.example/> SELECT * WHERE { ?s ex:SERVICE ?o } LIMIT 1",
    "SELECT * WHERE { ?s ?p ?o FILTER(STR(?s) != 'service') } LIMIT 1",
]


# --------------------------------------------------------------------------- SERVICE


def test_serve_never_fetches_what_a_client_names(release, listener):
    queries = service_queries(listener.url)
    with start_serve(release) as endpoint:
        for query in queries:
            got = requests.get(endpoint.url, params={"query": query}, headers=JSON, timeout=30)
            assert got.status_code == 403, (query, got.text)
            assert "SERVICE is refused" in got.text
            posted = requests.post(endpoint.url, data={"query": query}, headers=JSON,
                                   timeout=30)
            assert posted.status_code == 403
            direct = requests.post(endpoint.url, data=query.encode(), timeout=30, headers={
                **JSON, "Content-Type": "application/sparql-query"})
            assert direct.status_code == 403
        for query in HARMLESS:   # no false alarm on the word itself
            got = requests.get(endpoint.url, params={"query": query}, headers=JSON, timeout=30)
            assert got.status_code == 200, (query, got.text)
        assert requests.get(endpoint.url, params={"query": "ASK {}"}, headers=JSON,
                            timeout=30).json()["boolean"] is True
    assert listener.hits == 0


def test_service_is_an_opt_in(release, listener):
    with start_serve(release, allow_service=True) as endpoint:
        got = requests.get(endpoint.url, params={"query": service_queries(listener.url)[0]},
                           headers=JSON, timeout=30)
    assert got.status_code == 200, got.text
    assert listener.hits >= 1   # the listener does count what reaches it


def test_query_refuses_service_too(release, listener):
    for query in service_queries(listener.url):
        with pytest.raises(QueryError, match="SERVICE is refused"):
            run_query(release, query, "json")
    assert listener.hits == 0
    run_query(release, service_queries(listener.url)[0], "json", allow_service=True)
    assert listener.hits >= 1


def test_service_keyword_is_found_as_the_parser_sees_it():
    for query in service_queries("http://127.0.0.1:1/x"):
        assert uses_service(query), query
    for query in HARMLESS:
        assert not uses_service(query), query


# --------------------------------------------------------------------------- bounded work


def test_a_runaway_query_is_stopped_and_the_server_stays_responsive(release):
    with start_serve(release, timeout_s=1) as endpoint:
        assert "--timeout-s" in endpoint.process.args
        got = requests.get(endpoint.url, params={"query": CARTESIAN}, headers=JSON, timeout=60)
        assert got.status_code == 504, got.text[:300]
        assert "did not finish within 1 s" in got.text and "\n" not in got.text.strip()
        count = "SELECT (COUNT(*) AS ?n) WHERE { ?s <https://x.example/p> ?o }"
        after = requests.get(endpoint.url, params={"query": count}, headers=JSON, timeout=10)
        assert after.status_code == 200
        assert after.json()["results"]["bindings"][0]["n"]["value"] == "2000"


def test_serve_has_a_timeout_by_default(release):
    with start_serve(release) as endpoint:
        args = endpoint.process.args
        assert args[args.index("--timeout-s") + 1] == "30"


def test_an_oversized_answer_is_refused_and_the_server_stays_responsive(release):
    with start_serve(release, max_result_bytes=20_000) as endpoint:
        big = requests.get(endpoint.url, params={"query": "SELECT * WHERE { ?s ?p ?o }"},
                           headers=JSON, timeout=30)
        assert big.status_code == 507
        assert "larger than the limit of 20000 bytes" in big.text
        small = requests.get(endpoint.url, params={
            "query": "SELECT * WHERE { ?s ?p ?o } LIMIT 3"}, headers=JSON, timeout=30)
        assert small.status_code == 200 and len(small.json()["results"]["bindings"]) == 3


def test_the_serve_command_is_safe_by_default(release, listener):
    """The real command: SERVICE refused, a runaway query stopped, CORS as documented."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tierslieux", "serve", "--data", str(release), "--port",
         str(port), "--timeout", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, start_new_session=True)
    try:
        url = proc.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}/query", proc.stderr.read()
        refused = requests.get(url, params={"query": service_queries(listener.url)[0]},
                               headers={**JSON, "Origin": "https://yasgui.example.org"},
                               timeout=30)
        assert refused.status_code == 403
        assert refused.headers["Access-Control-Allow-Origin"] == "*"
        stopped = requests.get(url, params={"query": CARTESIAN}, headers=JSON, timeout=60)
        assert stopped.status_code == 504
        assert requests.get(url, params={"query": "ASK {}"}, headers=JSON,
                            timeout=10).status_code == 200
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130   # stopped by a signal: "interrupted"
    assert listener.hits == 0


def test_cors_can_be_turned_off(release):
    with start_serve(release, cors=False) as endpoint:
        got = requests.get(endpoint.url, params={"query": "ASK {}"},
                           headers={**JSON, "Origin": "https://elsewhere.example"}, timeout=10)
    assert got.status_code == 200
    assert "Access-Control-Allow-Origin" not in got.headers


def test_time_is_not_spent_after_the_answer(release):
    """The engine's work stops with the timeout: the server's CPU time stops growing."""
    with start_serve(release, timeout_s=1) as endpoint:
        requests.get(endpoint.url, params={"query": CARTESIAN}, headers=JSON, timeout=60)
        stat = Path(f"/proc/{endpoint.process.pid}/stat")
        if not stat.exists():
            pytest.skip("no /proc")

        def cpu() -> int:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])   # utime + stime, in clock ticks

        before = cpu()
        time.sleep(1.5)
        assert cpu() - before < os.sysconf("SC_CLK_TCK") // 2   # under half a core-second
