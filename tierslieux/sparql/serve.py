"""``tierslieux serve``: the release as a SPARQL 1.1 Protocol endpoint.

The Oxigraph server, behind the front of :mod:`tierslieux.sparql.front`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tierslieux.errors import ServeError
from tierslieux.model.rdf import DEFAULT_BASE_IRI
from tierslieux.sparql.conneg import Negotiator
from tierslieux.sparql.front import MAX_RESULT_BYTES, QUERY_TIMEOUT, Front
from tierslieux.sparql.cache import CachedStore, cache_release, lock


OXIGRAPH_ENV = "TIERSLIEUX_OXIGRAPH"


def release_base_iri(data_dir: str | Path) -> str:
    """The base IRI a release was built with (``void:uriSpace`` of its catalogue)."""
    import re

    try:
        text = (Path(data_dir) / "catalog.ttl").read_text(encoding="utf-8")
    except OSError:
        return DEFAULT_BASE_IRI
    found = re.search(r'void:uriSpace\s+"([^"]+)"', text)
    return found.group(1) if found else DEFAULT_BASE_IRI


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
    (:mod:`tierslieux.sparql.front`) that listens on the public address."""

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
    holder.enter_context(lock(cached.folder, exclusive=False))
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
                               cors=cors, negotiator=Negotiator(Path(data_dir),
                                                                release_base_iri(data_dir)))
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
