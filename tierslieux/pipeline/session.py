"""The one HTTP session of a harvest: polite, patient within bounds, never silent.

Every request of a harvest goes through :class:`PoliteSession` (mwclient is given it as its
``pool``), which retries, itself and in one place, what a network or a busy wiki does:

- HTTP 429 and every 5xx status (500 … 599: a proxy's 522 as well as a 503);
- refused or dropped connections, read timeouts, truncated bodies (a connection closed
  before the announced ``Content-Length`` or in the middle of a chunk);
- from ``api.php``: a 200 answer that is not JSON (an HTML maintenance page or captive
  portal), MediaWiki's internal errors (``internal_api_error_DBQueryError``,
  ``…DBConnectionError`` and the other ``internal_api_error_*``) and database lag
  (``X-Database-Lag``, the ``maxlag`` error).

Waits: ``Retry-After`` is honoured up to :data:`WAIT_CAP` seconds; a wiki asking for more
gets no sleep but a clear error at once ("try again later"). Without ``Retry-After`` the
first retry is immediate, then the wait doubles from ``backoff`` up to the same cap. A
request gives up after ``max_retries`` retries or after :data:`REQUEST_BUDGET` seconds of
waiting, whichever comes first; while the API is being looked for, all retries together
get :data:`DISCOVERY_BUDGET` seconds, so that a wiki answering 500 to everything is
reported unreachable in seconds. An optional ``deadline`` bounds the whole harvest: no
request starts, and no wait ends, after it.

Every way of giving up is one :class:`~tierslieux.errors.HarvestError` line naming the
address (never a query string or a form body, which may hold a password) and the reason.
It is raised outside any ``except`` block, so it keeps no ``__context__`` that could hold
the request. ``stats`` counts requests sent, retries and seconds waited.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from tierslieux.errors import HarvestError

#: seconds of replication lag above which the wiki should refuse our requests
MAXLAG = 5
#: retries of one request before giving up
MAX_RETRIES = 8
#: seconds before the 2nd retry of a request (the 1st is immediate), doubled at each
#: further failure ...
BACKOFF = 1.0
#: ... up to this many seconds; ``Retry-After`` is honoured up to the same cap, and a wiki
#: asking for a longer wait gets an error instead of a sleep
WAIT_CAP = 120.0
BACKOFF_CAP = WAIT_CAP
#: seconds to wait for a connection and for an answer
TIMEOUT = 60.0
#: seconds one request may spend waiting between its retries
REQUEST_BUDGET = 300.0
#: seconds the search for the API may take, retries included
DISCOVERY_BUDGET = 20.0

_MAXLAG_WAIT = 5.0


@dataclass
class RequestStats:
    """What the session did: HTTP requests sent (retries included), retries made (HTTP
    retries and waits for maxlag) and seconds spent waiting before retries."""

    requests: int = 0
    retries: int = 0
    waited: float = 0.0


class _Failure:
    """Why one attempt failed, and how long the server asked us to wait (None: not said)."""

    def __init__(self, reason: str, wait: float | None = None, *, lag: bool = False,
                 connection: bool = False, response: requests.Response | None = None) -> None:
        self.reason = reason
        self.wait = wait
        self.lag = lag
        self.connection = connection
        self.response = response


class PoliteSession(requests.Session):
    """The one ``requests`` session of a harvest, handed to mwclient as its pool."""

    def __init__(self, *, user_agent: str, delay: float = 0.0,
                 max_retries: int = MAX_RETRIES, backoff: float = BACKOFF,
                 backoff_cap: float = WAIT_CAP, timeout: float = TIMEOUT,
                 deadline: float | None = None, request_budget: float = REQUEST_BUDGET,
                 discovery_budget: float = DISCOVERY_BUDGET) -> None:
        super().__init__()
        self.stats = RequestStats()
        self.delay = delay
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.cap = backoff_cap
        self.request_budget = request_budget
        self.discovery_budget = discovery_budget
        #: seconds the whole harvest may take (None: no limit), counted from now
        self.deadline_s = deadline
        self._deadline = None if not deadline else time.monotonic() + deadline
        self._last: float | None = None
        self._probe_until: float | None = None
        self.headers["User-Agent"] = user_agent
        adapter = HTTPAdapter(max_retries=0)   # retries are made here, not by urllib3
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    # ------------------------------------------------------------------ discovery
    @contextmanager
    def probing(self) -> Iterator[None]:
        """While looking for the API: a refused connection means "not here" (raised at
        once), and all retries share :attr:`discovery_budget` seconds."""
        self._probe_until = time.monotonic() + self.discovery_budget
        try:
            yield
        finally:
            self._probe_until = None

    @property
    def probing_spent(self) -> bool:
        """True once the discovery budget is spent (the other candidates are not tried)."""
        return self._probe_until is not None and time.monotonic() >= self._probe_until

    # ------------------------------------------------------------------ requests
    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.netloc}{parts.path}"
        api = parts.path.endswith("api.php")
        key = "params" if method.upper() == "GET" else "data"
        values = kwargs.get(key)
        if api and isinstance(values, dict) and "maxlag" not in values:
            kwargs[key] = values = {**values, "maxlag": MAXLAG}
        wants_json = api and isinstance(values, dict) and values.get("format") == "json"
        timeout = kwargs.pop("timeout", None) or self.timeout
        retries = 0
        waited = 0.0
        while True:
            self._pause()
            self._check_deadline(where)
            attempt_timeout = self._attempt_timeout(timeout)
            failure = None
            self.stats.requests += 1
            try:
                resp = super().request(method, url, *args, timeout=attempt_timeout, **kwargs)
            except requests.exceptions.ChunkedEncodingError:
                failure = _Failure("truncated answer")
            except requests.exceptions.ContentDecodingError:
                failure = _Failure("undecodable answer")
            except requests.Timeout:
                failure = _Failure("timed out", connection=True)
            except requests.ConnectionError as exc:
                failure = _Failure(_connection_reason(exc), connection=True)
            except requests.RequestException as exc:
                failure = _Failure(f"request failed ({type(exc).__name__})")
            finally:
                self._last = time.monotonic()
            if failure is None:
                failure = _judge(resp, wants_json)
                if failure is None:
                    return resp
            # ---- retry, or give up with one line
            probing = self._probe_until is not None
            if probing and failure.connection and failure.reason != "timed out":
                raise requests.ConnectionError(failure.reason)   # "not here": next candidate
            wait = self._wait(retries + 1, failure)
            budget_left = ((self._probe_until - time.monotonic()) if probing
                           else self.request_budget - waited)
            if failure.wait is not None and failure.wait > self.cap:
                message = (f"{where} asks to wait {failure.wait:.0f} s ({failure.reason}, "
                           f"Retry-After), more than the cap of {self.cap:.0f} s: "
                           "try again later")
            elif retries >= self.max_retries or wait > budget_left:
                if probing and failure.response is not None:
                    return failure.response   # let discovery say what it got
                if probing:
                    raise requests.ConnectionError(failure.reason)
                if failure.lag:
                    message = (f"{where} still asks to wait (database lag, maxlag={MAXLAG}) "
                               f"after {retries} retries: try again later")
                else:
                    message = (f"{where} still failing after {retries} retries "
                               f"({failure.reason}): try again later")
            elif self._deadline is not None and time.monotonic() + wait > self._deadline:
                message = self._deadline_message(where)
            else:
                time.sleep(wait)
                retries += 1
                waited += wait
                self.stats.retries += 1
                self.stats.waited += wait
                continue
            raise HarvestError(message)

    def _wait(self, retry: int, failure: _Failure) -> float:
        if failure.wait is not None:
            return max(0.0, failure.wait)
        if retry <= 1:
            return 0.0
        return min(self.cap, self.backoff * 2 ** (retry - 2))

    def _pause(self) -> None:
        if self.delay and self._last is not None:
            pause = self.delay - (time.monotonic() - self._last)
            if pause > 0:
                time.sleep(pause)

    def _attempt_timeout(self, timeout: float | tuple) -> float | tuple:
        limit = None
        if self._deadline is not None:
            limit = self._deadline - time.monotonic()
        if self._probe_until is not None:
            left = self._probe_until - time.monotonic()
            limit = left if limit is None else min(limit, left)
        if limit is None or isinstance(timeout, tuple):
            return timeout
        return max(0.1, min(timeout, limit))

    def _check_deadline(self, where: str) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise HarvestError(self._deadline_message(where))

    def _deadline_message(self, where: str) -> str:
        return (f"the harvest deadline of {self.deadline_s:g} s was reached (next request: "
                f"{where}, {self.stats.requests} requests made): the store keeps what was "
                "fetched; run the same command again to go on")


def _judge(resp: requests.Response, wants_json: bool) -> _Failure | None:
    """None when ``resp`` is an answer to keep, else why it should be asked again."""
    status = resp.status_code
    if status == 429 or 500 <= status <= 599:
        return _Failure(f"HTTP {status}", _retry_after(resp), response=resp)
    if resp.headers.get("X-Database-Lag"):
        wait = _retry_after(resp)
        return _Failure("database lag", _MAXLAG_WAIT if wait is None else wait, lag=True,
                        response=resp)
    if not wants_json or status != 200:
        return None
    kind = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if "json" not in kind:
        return _Failure(f"HTTP 200 with a {kind or 'untyped'} body instead of JSON",
                        response=resp)
    content = resp.content
    if len(content) < 65536 and b'"error"' in content:
        try:
            error = json.loads(content).get("error") or {}
        except (ValueError, AttributeError):
            return None   # mwclient reports what it cannot read
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        if code == "maxlag":
            wait = _retry_after(resp)
            return _Failure("database lag", _MAXLAG_WAIT if wait is None else wait, lag=True,
                            response=resp)
        if code.startswith("internal_api_error_"):
            return _Failure(f"API error {code}", _retry_after(resp), response=resp)
    return None


def _retry_after(resp: requests.Response) -> float | None:
    """Seconds asked by ``Retry-After`` (seconds or an HTTP date), None when absent."""
    value = (resp.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _connection_reason(exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "NameResolutionError" in text \
            or "nodename nor servname" in text:
        return "unknown host"
    if "RemoteDisconnected" in text or "Connection aborted" in text \
            or "Connection reset" in text:
        return "connection dropped"
    return "connection failed"
