"""The front of ``serve``: what a client may ask of the public SPARQL endpoint.

``serve`` runs ``oxigraph serve-read-only`` on an internal loopback port and this small HTTP
front on the public address. Oxigraph speaks the SPARQL 1.1 Protocol; the front decides what
reaches it and what comes back:

- **no SERVICE** (unless ``allow_service``): a query holding the ``SERVICE`` keyword would
  make the server request any address the client names (an internal service, a cloud
  metadata address), so it is refused with HTTP 403 before Oxigraph sees it. The keyword is
  looked for as the SPARQL parser sees it: after ``\\uXXXX`` escapes are decoded (the
  grammar decodes them before parsing), outside strings, IRIs and comments, in any case;
- **bounded work**: Oxigraph is started with ``--timeout-s``, which cancels the evaluation
  itself (the core is freed, not just the reply dropped); the front answers such a query
  with HTTP 504 and a one-line reason instead of the half-written result Oxigraph streams;
- **bounded results**: an answer larger than ``max_result_bytes`` is cut off at the
  source (the front closes its connection to Oxigraph, whose writer stops) and the client
  gets HTTP 507 and a one-line reason;
- **bounded requests**: a request body above :data:`MAX_REQUEST_BYTES` gets 413; at most
  :data:`MAX_CONCURRENT` requests are forwarded at once, the others get 503 with
  ``Retry-After: 1``;
- the data IRIs' paths and the release's files (``/release/…``) are answered by
  :mod:`tierslieux.sparql.conneg` (303 by ``Accept``, 404 page), before any of the above;
- everything else (SPARQL content negotiation, ``/store`` reads, the 403 Oxigraph answers to
  updates, CORS headers when enabled) passes through unchanged.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tierslieux.sparql.conneg import Negotiator

#: largest request body forwarded (a query, not a dataset)
MAX_REQUEST_BYTES = 1 << 20
#: requests forwarded to Oxigraph at the same time
MAX_CONCURRENT = 8
#: default largest answer, in bytes
MAX_RESULT_BYTES = 64 << 20
#: default seconds a query may run
QUERY_TIMEOUT = 30

_CANCELLED = b"The SPARQL operation has been cancelled"
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer",
        "upgrade", "proxy-connection"}
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# what hides a keyword: comments, strings (long ones first), IRIs
_NOT_CODE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|' r"'''(?:[^'\\]|\\.|'(?!''))*'''|"
    r'"(?:[^"\\\n\r]|\\.)*"|' r"'(?:[^'\\\n\r]|\\.)*'|"
    r'<[^<>"{}|^`\\\x00-\x20]*>|'
    r"#[^\n\r]*",
    re.DOTALL,
)
# not after or before a name character: ?SERVICE, ex:SERVICE, SERVICE:x are names
_SERVICE = re.compile(r"(?<![\w?$:])SERVICE(?![\w:])", re.IGNORECASE)


def uses_service(sparql: str) -> bool:
    """True when ``sparql`` holds the ``SERVICE`` keyword (a federated query).

    Looked for in the text as written and with its ``\\u`` escapes decoded: whichever way
    the engine reads it, a SERVICE it would see is seen here (a false alarm only refuses a
    query that names SERVICE in an odd place).
    """
    decoded = _ESCAPE.sub(lambda m: _codepoint(m.group(1) or m.group(2)), sparql)
    return any(_SERVICE.search(_NOT_CODE.sub(" ", text)) for text in {sparql, decoded})


def _codepoint(hexdigits: str) -> str:
    value = int(hexdigits, 16)
    return chr(value) if value <= 0x10FFFF else "\ufffd"


SERVICE_REFUSED = ("SERVICE is refused by this endpoint: it would make the server fetch an "
                   "address chosen by the client (start it with --allow-service to allow "
                   "federated queries)")


class Front(ThreadingHTTPServer):
    """The public listener, forwarding to Oxigraph at ``upstream`` (``host:port``)."""

    daemon_threads = True

    def __init__(self, bind: tuple[str, int], upstream: str, *, allow_service: bool = False,
                 timeout_s: float = QUERY_TIMEOUT, max_result_bytes: int = MAX_RESULT_BYTES,
                 cors: bool = True, negotiator: Negotiator | None = None) -> None:
        if ":" in bind[0]:
            import socket
            self.address_family = socket.AF_INET6
        super().__init__(bind, _Handler)
        self.upstream = upstream
        self.allow_service = allow_service
        self.timeout_s = timeout_s
        self.max_result_bytes = max_result_bytes
        self.cors = cors
        self.negotiator = negotiator
        self.slots = threading.BoundedSemaphore(MAX_CONCURRENT)
        self.thread = threading.Thread(target=self.serve_forever, name="serve-front",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.shutdown()
            self.thread.join()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Front
    protocol_version = "HTTP/1.0"   # one request a connection: nothing to keep alive
    server_version = "tierslieux-serve"

    def log_message(self, *args) -> None:  # quiet: the endpoint is not a web log
        pass

    def do_GET(self) -> None:  # noqa: N802
        if not self._negotiate():
            self._forward()

    def do_HEAD(self) -> None:  # noqa: N802
        if not self._negotiate():
            self._forward()

    def _negotiate(self) -> bool:
        """Answer a data IRI's path or a release file (True when done so)."""
        if self.server.negotiator is None:
            return False
        answer = self.server.negotiator.answer(self.path, self.headers.get("Accept"))
        if answer is None:
            return False
        try:
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            if self.server.cors:
                self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)
        except OSError:
            pass   # the client went away
        return True

    def do_POST(self) -> None:  # noqa: N802
        self._forward()

    def do_PUT(self) -> None:  # noqa: N802
        self._forward()

    def do_DELETE(self) -> None:  # noqa: N802
        self._forward()

    def do_PATCH(self) -> None:  # noqa: N802
        self._forward()

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._forward()

    # ------------------------------------------------------------------ checks
    def _forward(self) -> None:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or self.headers.get("Content-Encoding"):
            self._error(411 if self.headers.get("Transfer-Encoding") else 415,
                        "send the query with a Content-Length and no Content-Encoding")
            return
        try:
            size = int(length or 0)
        except ValueError:
            self._error(400, "invalid Content-Length")
            return
        if size > MAX_REQUEST_BYTES:
            self._error(413, f"request body over {MAX_REQUEST_BYTES} bytes")
            return
        body = self.rfile.read(size) if size else b""
        if not self.server.allow_service:
            texts = self._sparql_texts(body)
            if texts is None:
                self._error(400, "the request is not valid UTF-8")
                return
            if any(uses_service(text) for text in texts):
                self._error(403, SERVICE_REFUSED)
                return
        if not self.server.slots.acquire(blocking=False):
            self._error(503, "too many queries at once: try again in a moment",
                        {"Retry-After": "1"})
            return
        try:
            self._relay(body)
        finally:
            self.server.slots.release()

    def _sparql_texts(self, body: bytes) -> list[str] | None:
        """Every query or update the request carries (URL, form body, direct body)."""
        try:
            query = urllib.parse.urlsplit(self.path).query
            texts = [v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True,
                                                          errors="strict")
                     if k in ("query", "update")]
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if body and kind == "application/x-www-form-urlencoded":
                texts += [v for k, v in urllib.parse.parse_qsl(
                    body.decode("utf-8"), keep_blank_values=True, errors="strict")
                    if k in ("query", "update")]
            elif body:   # a direct query or update, or anything Oxigraph may read as one
                texts.append(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return texts

    # ------------------------------------------------------------------ relay
    def _relay(self, body: bytes) -> None:
        host, _, port = self.server.upstream.rpartition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=self.server.timeout_s + 30)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in _HOP and k.lower() != "host"}
        headers["Host"] = self.server.upstream
        start = time.monotonic()
        limit = self.server.max_result_bytes
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            chunks, total = [], 0
            while block := resp.read1(1 << 16) if self.command != "HEAD" else b"":
                total += len(block)
                if total > limit:
                    conn.close()   # Oxigraph's writer fails and stops the evaluation
                    self._error(507, f"the answer is larger than the limit of {limit} bytes "
                                     "(--max-result-mb): ask for less (LIMIT, fewer variables)")
                    return
                chunks.append(block)
            payload = b"".join(chunks)
        except TimeoutError:
            conn.close()
            self._error(504, f"the query did not finish within {self.server.timeout_s:g} s")
            return
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self._error(502, f"the SPARQL engine did not answer ({type(exc).__name__})")
            return
        conn.close()
        if resp.status == 200 and self._failed_midway(resp, payload, time.monotonic() - start):
            return
        self.send_response(resp.status, resp.reason)
        for name, value in resp.getheaders():
            if name.lower() not in _HOP and name.lower() not in ("server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _failed_midway(self, resp: http.client.HTTPResponse, payload: bytes,
                       elapsed: float) -> bool:
        """Oxigraph streams: an error met while writing results ends the 200 body with its
        message. Answer it as an error instead (True when done so)."""
        tail = payload[-200:].rstrip()
        if tail.endswith(_CANCELLED):
            self._error(504, f"the query did not finish within {self.server.timeout_s:g} s "
                             "and was stopped")
            return True
        kind = (resp.getheader("Content-Type") or "").split(";")[0].strip()
        if kind in ("application/sparql-results+json", "application/json",
                    "application/ld+json"):
            try:
                json.loads(payload)
            except ValueError:
                self._error(500, "the query failed while its results were written")
                return True
        return False

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None
               ) -> None:
        data = (message + "\n").encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if self.server.cors:
                self.send_header("Access-Control-Allow-Origin", "*")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError:
            pass   # the client went away
