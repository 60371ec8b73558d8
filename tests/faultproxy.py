"""A fault-injecting HTTP proxy for tests: loopback, in front of a real server (the MediaWiki
fixture), failing the requests a plan chooses, the ways networks and servers fail.

``FaultProxy(upstream, plan)``: ``plan(index, record)`` is called for every request (index
from 0; record = method, path, headers, body) and returns None (forward it) or a fault:

========================  ======================================================================
fault                     what the client gets
========================  ======================================================================
``"500"`` … ``"599"``,    that status, no Retry-After, a short text body
``"401"``, ``"403"``…
``"429"``                 429 without Retry-After
``"429:N"``, ``"503:N"``  that status with ``Retry-After: N``
``"reset"``               the connection closed before any answer
``"truncate"``            the upstream's status and headers (its Content-Length), half the body,
                          then the connection closed
``"truncate-chunked"``    a chunked answer cut in the middle of a chunk
``"html200"``             200 with an HTML page (a captive portal, a maintenance page)
``"dberror"``             200 with MediaWiki's JSON for an internal DBQueryError (the code
                          of MediaWiki >= 1.32: ``internal_api_error_Wikimedia\\Rdbms\\…``)
``"dbconn"``              200 with the older code of a DBConnectionError
``"hang"``                nothing at all until ``hang_seconds`` pass, then the connection closed
``"echo"``                the ``echo_status`` status, the request's headers and body as text
(status, headers, body)   that answer, as given (``body`` and header values may hold
                          ``{echo}``: the request's headers and body, on one line)
========================  ======================================================================

``injected`` counts the faults by kind; ``seen`` keeps every request. ``prefix`` serves the
upstream under a sub-folder (``/site/api.php`` is the upstream's ``/api.php``; 404 elsewhere).
``Failing(...)`` makes the plans of the live-harvest tests: chosen requests, or every request
from one on, answered 503, 429, 502, MediaWiki's maxlag answer or a reset.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Plan = Callable[[int, dict], "str | None"]

_DB_ERROR = {
    # MediaWiki >= 1.32 names the exception class with its namespace; older ones did not
    "dberror": ("internal_api_error_Wikimedia\\Rdbms\\DBQueryError",
                "[abc123] Caught exception of type Wikimedia\\Rdbms\\DBQueryError"),
    "dbconn": ("internal_api_error_DBConnectionError",
               "[abc123] Caught exception of type Wikimedia\\Rdbms\\DBConnectionError"),
}


class FaultProxy:
    def __init__(self, upstream: str | None, plan: Plan | None = None, *,
                 hang_seconds: float = 5.0, echo_status: int = 522, prefix: str = "") -> None:
        self.upstream = upstream
        self.prefix = prefix
        self.plan = plan
        self.hang_seconds = hang_seconds
        self.echo_status = echo_status
        self.seen: list[dict] = []
        self.injected: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._closing = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:   # quiet
                pass

            def do_GET(self) -> None:
                proxy.handle(self)

            def do_POST(self) -> None:
                proxy.handle(self)

            def do_PUT(self) -> None:
                proxy.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ one request
    def handle(self, req: BaseHTTPRequestHandler) -> None:
        body = req.rfile.read(int(req.headers.get("Content-Length") or 0))
        record = {"time": time.monotonic(), "path": req.path, "method": req.command,
                  "headers": dict(req.headers), "body": body}
        with self.lock:
            index = len(self.seen)
            self.seen.append(record)
        fault = self.plan(index, record) if self.plan else None
        if isinstance(fault, tuple):
            status, headers, text = fault
            echo = "; ".join(f"{k}: {v}" for k, v in req.headers.items()) + " " + body[
                :200].decode("utf-8", "replace").replace("\n", " ")
            with self.lock:
                self.injected["custom"] += 1
            self._answer(req, status, {k: v.replace("{echo}", echo) for k, v in headers.items()},
                         text.replace("{echo}", echo).encode())
            return
        if fault:
            with self.lock:
                self.injected[fault.split(":")[0]] += 1
        if fault == "reset":
            self._drop(req)
        elif fault == "hang":
            self._closing.wait(self.hang_seconds)
            self._drop(req)
        elif fault == "html200":
            self._answer(req, 200, {"Content-Type": "text/html; charset=utf-8"},
                         b"<!DOCTYPE html><html><body><h1>Maintenance</h1>"
                         b"<p>Back soon.</p></body></html>")
        elif fault in _DB_ERROR:
            code, info = _DB_ERROR[fault]
            payload = json.dumps({"error": {"code": code, "info": info,
                                            "errorclass": "Wikimedia\\Rdbms\\DBQueryError"},
                                  "servedby": "proxy"}).encode()
            self._answer(req, 200, {"Content-Type": "application/json; charset=utf-8"}, payload)
        elif fault == "echo":
            text = "".join(f"{k}: {v}\n" for k, v in req.headers.items()).encode() + body
            self._answer(req, self.echo_status, {"Content-Type": "text/plain"}, text)
        elif fault in ("truncate", "truncate-chunked"):
            status, headers, payload = self._forward(req, body)
            self._truncated(req, status, headers, payload, chunked=fault == "truncate-chunked")
        elif fault:
            status, _, wait = fault.partition(":")
            headers = {"Content-Type": "text/plain"}
            if wait:
                headers["Retry-After"] = wait
            self._answer(req, int(status), headers, f"fault {status}\n".encode())
        else:
            status, headers, payload = self._forward(req, body)
            self._answer(req, status, headers, payload)

    def _forward(self, req: BaseHTTPRequestHandler, body: bytes
                 ) -> tuple[int, dict[str, str], bytes]:
        path = req.path
        if self.prefix:
            if not path.startswith(self.prefix):
                return 404, {"Content-Type": "text/plain"}, b"not here\n"
            path = path[len(self.prefix):] or "/"
        if self.upstream is None:
            return 404, {"Content-Type": "text/plain"}, b"no upstream\n"
        host = self.upstream.split("//", 1)[1].rstrip("/")
        conn = http.client.HTTPConnection(host, timeout=60)
        headers = {k: v for k, v in req.headers.items()
                   if k.lower() not in {"host", "accept-encoding", "connection"}}
        try:
            conn.request(req.command, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            kept = {k: v for k, v in resp.getheaders()
                    if k.lower() not in {"transfer-encoding", "connection", "content-length"}}
            return resp.status, kept, payload
        finally:
            conn.close()

    @staticmethod
    def _answer(req: BaseHTTPRequestHandler, status: int, headers: dict[str, str],
                payload: bytes) -> None:
        req.send_response(status)
        for name, value in headers.items():
            req.send_header(name, value)
        req.send_header("Content-Length", str(len(payload)))
        req.end_headers()
        req.wfile.write(payload)

    @staticmethod
    def _truncated(req: BaseHTTPRequestHandler, status: int, headers: dict[str, str],
                   payload: bytes, *, chunked: bool) -> None:
        req.send_response(status)
        for name, value in headers.items():
            req.send_header(name, value)
        half = payload[: max(1, len(payload) // 2)]
        if chunked:
            req.send_header("Transfer-Encoding", "chunked")
            req.end_headers()
            req.wfile.write(f"{len(payload):x}\r\n".encode() + half)
        else:
            req.send_header("Content-Length", str(len(payload)))
            req.end_headers()
            req.wfile.write(half)
        req.wfile.flush()
        FaultProxy._drop(req)

    @staticmethod
    def _drop(req: BaseHTTPRequestHandler) -> None:
        req.close_connection = True
        try:
            req.wfile.flush()
            req.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


#: the answers ``Failing`` gives: (status, headers, body) for each kind
FAILURES: dict[str, tuple[int, dict[str, str], str] | str] = {
    "503": (503, {"Retry-After": "1"}, "busy"),
    "429": (429, {"Retry-After": "1"}, "slow down"),
    "502": (502, {}, "bad gateway"),
    "503-no-retry-after": (503, {}, "down"),
    # what MediaWiki answers when its replicas lag: HTTP 200, X-Database-Lag, Retry-After
    "maxlag": (200, {"Retry-After": "1", "X-Database-Lag": "7",
                     "Content-Type": "application/json"},
               json.dumps({"error": {"code": "maxlag", "lag": 7, "host": "db1",
                                     "info": "Waiting for db1: 7 seconds lagged."}})),
    "reset": "reset",
}


@dataclass
class Failing:
    """A plan: ``failures`` maps the index of a request to a kind of ``FAILURES``;
    ``fail_from`` fails every request from that index on, and ``fail_if(record)`` every
    request it is true for, with a 503 without Retry-After. Its fields may be changed while
    the proxy runs (``proxy.plan.fail_if = None``: the wiki is back)."""

    failures: dict[int, str] | None = None
    fail_from: int | None = None
    fail_if: Callable[[dict], bool] | None = None

    def __call__(self, index: int, record: dict):
        kind = (self.failures or {}).get(index)
        if kind is None and ((self.fail_from is not None and index >= self.fail_from)
                             or (self.fail_if is not None and self.fail_if(record))):
            kind = "503-no-retry-after"
        return FAILURES[kind] if kind else None
