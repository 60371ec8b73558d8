"""Pushing a release into an external triple store.

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

import gzip
import hashlib
import os
import re
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tierslieux.errors import DataGraphError, PushError
from tierslieux.sparql.cache import BLOCK, NT_GZ, SUMS, default_graph, listed_sha256, release_file
from tierslieux.sparql.format import one_line

if TYPE_CHECKING:
    import requests


USER_ENV = "TIERSLIEUX_SPARQL_USER"
PASSWORD_ENV = "TIERSLIEUX_SPARQL_PASSWORD"


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
            while block := f.read(BLOCK):
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
            while block := f.read(BLOCK):
                size += len(block)
                lines = (pending + block).split(b"\n")
                pending = lines.pop()
                triples += sum(1 for ln in lines if ln.strip() and not ln.lstrip().startswith(b"#"))
            if pending.strip() and not pending.lstrip().startswith(b"#"):
                triples += 1
        digest.update(raw.read())  # gzip trailer bytes GzipFile may not have asked for
    return size, triples, digest.hexdigest()




def push(data_dir: str | Path, endpoint: str, graph: str | None = None, *,
         timeout: float = 3600.0) -> PushResult:
    """Replace ``graph`` on a Graph Store Protocol endpoint with the release (HTTP PUT)."""
    import requests

    data = Path(data_dir)
    nt = release_file(data)
    parsed = urllib.parse.urlsplit(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise PushError(f"the endpoint must be an http(s) address, got {_safe_url(endpoint)!r}")
    if not graph:
        try:
            graph = default_graph(data)
        except DataGraphError as exc:
            raise PushError(f"{exc}: give --graph IRI") from None
    if not urllib.parse.urlsplit(graph).scheme:
        raise PushError(f"the graph must be an absolute IRI, got {graph!r}")
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    secrets = _push_secrets(user, password, parsed)
    auth = (user, password or "") if user else None
    safe = _safe_url(endpoint)

    size, triples, digest = _measure(nt)
    listed = listed_sha256(data, NT_GZ)
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
    status = f"HTTP {response.status_code} {one_line(response.reason or '')}".rstrip()
    if 300 <= response.status_code < 400 and response.headers.get("Location"):
        target = _redact(_safe_url(one_line(response.headers["Location"])), secrets)
        return (f"{safe} answered {status}: it moved to {target[:200]}; give that address "
                "as the endpoint")
    if response.status_code not in (200, 201, 204):
        body = response.text.strip().splitlines()
        first = _redact(one_line(body[0]), secrets)[:200] if body else ""
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
