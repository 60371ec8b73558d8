"""Talk to a live MediaWiki: find its API, open one polite mwclient session.

Everything that makes the harvester a good citizen is set here, in one place:

- a User-Agent naming the tool, its version and a contact (``TIERSLIEUX_CONTACT``): Wikimedia's
  User-Agent policy (https://meta.wikimedia.org/wiki/User-Agent_policy) requires a contact, so
  Wikimedia wikis are refused without one;
- ``maxlag=5`` on every API request; mwclient waits for ``Retry-After`` when the wiki answers
  that its database replicas lag (``X-Database-Lag`` header) and retries API-level database
  errors;
- what mwclient lacks, added under it through the ``requests`` session it is given
  (``pool=``): urllib3 retries of 429, 500, 502, 503, 504, connection errors and read
  timeouts, honouring ``Retry-After`` and otherwise backing off exponentially up to a cap;
- an optional delay between two requests, and one request at a time (nothing is threaded);
- a count of the requests and retries, for the run report.

A private wiki is read with a bot password taken from ``TIERSLIEUX_WIKI_USER`` and
``TIERSLIEUX_WIKI_PASSWORD``; the password is used for the login request only and never kept,
printed or put in an exception message.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

import mwclient
import requests
from requests.adapters import HTTPAdapter
from requests.exceptions import RetryError
from urllib3.util.retry import Retry

from tierslieux import __version__
from tierslieux.errors import HarvestError, LoginError, WikiUnreachableError
from tierslieux.model.records import SiteInfo

CONTACT_ENV = "TIERSLIEUX_CONTACT"
USER_ENV = "TIERSLIEUX_WIKI_USER"
PASSWORD_ENV = "TIERSLIEUX_WIKI_PASSWORD"

#: seconds of replication lag above which the wiki should refuse our requests
MAXLAG = 5
#: HTTP statuses that are retried (after Retry-After, else with exponential backoff)
RETRY_STATUSES = (429, 500, 502, 503, 504)
#: retries of one request before giving up
MAX_RETRIES = 8
#: backoff in seconds before the 2nd retry of a request (the 1st is immediate, as urllib3
#: does), doubled at each further failure ...
BACKOFF = 1.0
#: ... up to this many seconds
BACKOFF_CAP = 120.0
#: seconds to wait for a connection and for an answer
TIMEOUT = 60.0

#: paths tried, after the address given, to find ``api.php``
API_CANDIDATES = ("/api.php", "/w/api.php", "/wiki/api.php")

_WIKIMEDIA = (
    "wikipedia.org", "wikimedia.org", "wikidata.org", "wiktionary.org", "wikibooks.org",
    "wikiquote.org", "wikisource.org", "wikinews.org", "wikiversity.org", "wikivoyage.org",
    "mediawiki.org", "wikifunctions.org",
)


def user_agent(contact: str | None) -> str:
    """``tierslieux/<version> (<contact>) mwclient/<version>``."""
    who = contact or "no contact given; set TIERSLIEUX_CONTACT"
    return f"tierslieux/{__version__} ({who}) mwclient/{mwclient.__version__}"


@dataclass
class RequestStats:
    """What the session did: HTTP requests sent (retries included), retries made (HTTP
    retries and waits for maxlag) and seconds spent waiting before retries."""

    requests: int = 0
    retries: int = 0
    waited: float = 0.0


class _CountingRetry(Retry):
    """urllib3's Retry, counting the retries (each one a request sent again) and the time
    slept into a RequestStats."""

    stats: RequestStats | None = None

    def new(self, **kw):  # type: ignore[no-untyped-def]
        retry = super().new(**kw)
        retry.stats = self.stats
        return retry

    def sleep(self, response=None) -> None:  # type: ignore[no-untyped-def]
        start = time.monotonic()
        super().sleep(response)
        if self.stats is not None:
            self.stats.requests += 1
            self.stats.retries += 1
            self.stats.waited += time.monotonic() - start


class PoliteSession(requests.Session):
    """The one ``requests`` session of a harvest, handed to mwclient as its pool."""

    def __init__(self, *, contact: str | None = None, delay: float = 0.0,
                 max_retries: int = MAX_RETRIES, backoff: float = BACKOFF,
                 backoff_cap: float = BACKOFF_CAP, timeout: float = TIMEOUT) -> None:
        super().__init__()
        self.stats = RequestStats()
        self.delay = delay
        self.timeout = timeout
        self.max_retries = max_retries
        self._backoff = (backoff, backoff_cap)
        self._last: float | None = None
        self._probing = False
        self.headers["User-Agent"] = user_agent(contact)
        self._mount(connect=max_retries)

    def _mount(self, *, connect: int) -> None:
        retry = _CountingRetry(
            total=self.max_retries, connect=connect, read=self.max_retries,
            status=self.max_retries, other=0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD", "POST"}),
            respect_retry_after_header=True,
            backoff_factor=self._backoff[0] / 2,   # urllib3 sleeps factor * 2**(n-1)
            backoff_max=self._backoff[1],
            raise_on_status=True,
        )
        retry.stats = self.stats
        adapter = HTTPAdapter(max_retries=retry)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    @contextmanager
    def probing(self) -> Iterator[None]:
        """While looking for the API, a refused connection means "not here", not "retry"."""
        self._probing = True
        self._mount(connect=0)
        try:
            yield
        finally:
            self._probing = False
            self._mount(connect=self.max_retries)

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        if self.delay and self._last is not None:
            pause = self.delay - (time.monotonic() - self._last)
            if pause > 0:
                time.sleep(pause)
        if urlsplit(url).path.endswith("api.php"):
            key = "params" if method.upper() == "GET" else "data"
            values = kwargs.get(key)
            if isinstance(values, dict) and "maxlag" not in values:
                kwargs[key] = {**values, "maxlag": MAXLAG}
        kwargs.setdefault("timeout", self.timeout)
        self.stats.requests += 1
        try:
            return super().request(method, url, *args, **kwargs)
        except (RetryError, requests.ConnectionError, requests.Timeout) as exc:
            if self._probing:
                raise
            # Retries with backoff are done: tell mwclient not to start its own round.
            where = urlsplit(url)
            raise HarvestError(
                f"{where.scheme}://{where.netloc}{where.path} still failing after "
                f"{self.max_retries} retries ({_reason(exc)}): try again later"
            ) from None
        finally:
            self._last = time.monotonic()


def _reason(exc: Exception) -> str:
    if isinstance(exc, RetryError):
        match = re.search(r"too many (\d+) error responses", str(exc))
        return f"HTTP {match.group(1)}" if match else "too many error responses"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "NameResolutionError" in text:
        return "unknown host"
    return "connection failed"


# --------------------------------------------------------------------------- discovery


class _EditUriParser(HTMLParser):
    """Finds ``<link rel="EditURI" href="…/api.php?action=rsd">`` in a MediaWiki page."""

    def __init__(self) -> None:
        super().__init__()
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link" and self.href is None:
            values = dict(attrs)
            if (values.get("rel") or "").lower() == "edituri" and values.get("href"):
                self.href = values["href"]


def _normalise_url(url: str) -> str:
    url = url.strip()
    if "://" not in url:
        url = "https://" + url.lstrip("/")
    return url


def api_candidates(url: str) -> list[str]:
    """Addresses where ``api.php`` may answer, most likely first."""
    parts = urlsplit(_normalise_url(url))
    paths: list[str] = []
    if parts.path.endswith(".php") and "/api." in parts.path:
        paths.append(parts.path)
    elif "index.php" in parts.path:
        paths.append(parts.path[: parts.path.index("index.php")] + "api.php")
    paths.extend(API_CANDIDATES)
    seen: list[str] = []
    for path in paths:
        candidate = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        if candidate not in seen:
            seen.append(candidate)
    return seen


def _probe(session: PoliteSession, api: str) -> tuple[str, dict] | str:
    """(final api address, siteinfo answer) when ``api`` is a MediaWiki API, else why not."""
    for attempt in range(session.max_retries + 1):
        try:
            resp = session.get(api, params={
                "action": "query", "meta": "siteinfo", "siprop": "general|namespaces",
                "format": "json", "formatversion": "2",
            })
        except (RetryError, requests.ConnectionError, requests.Timeout) as exc:
            return _reason(exc)
        except requests.RequestException as exc:
            return type(exc).__name__
        lag = resp.headers.get("X-Database-Lag")
        if not lag or attempt == session.max_retries:
            break
        # Replicas lag (maxlag): wait as asked, as mwclient does for the later requests.
        wait = resp.headers.get("Retry-After", "5")
        pause = float(wait) if wait.isdigit() else 5.0
        time.sleep(pause)
        session.stats.retries += 1
        session.stats.waited += pause
    if resp.status_code != 200:
        return f"HTTP {resp.status_code}"
    try:
        data = resp.json()
    except ValueError:
        kind = resp.headers.get("Content-Type", "?").split(";")[0]
        return f"not a MediaWiki API ({kind})"
    if not isinstance(data, dict):
        return "not a MediaWiki API"
    final = urlunsplit(urlsplit(resp.url)._replace(query="", fragment=""))
    if data.get("error", {}).get("code") == "maxlag":
        return "database lag (maxlag)"
    general = data.get("query", {}).get("general", {})
    if str(general.get("generator", "")).startswith("MediaWiki"):
        return final, data
    if data.get("error", {}).get("code") == "readapidenied":   # a private wiki: log in first
        return final, data
    return "not a MediaWiki API"


def _edit_uri(session: PoliteSession, url: str) -> str | None | tuple[str]:
    """The api.php address announced by the HTML page at ``url``; a 1-tuple holds why not."""
    try:
        resp = session.get(url)
    except (RetryError, requests.ConnectionError, requests.Timeout) as exc:
        return (_reason(exc),)
    except requests.RequestException as exc:
        return (type(exc).__name__,)
    # MediaWiki's "no such page" answers 404 and still carries the link.
    if "html" not in resp.headers.get("Content-Type", ""):
        return (f"HTTP {resp.status_code}" if resp.status_code != 200 else "not HTML",)
    parser = _EditUriParser()
    parser.feed(resp.text[:200_000])
    if not parser.href:
        return (f"HTTP {resp.status_code}" if resp.status_code != 200 else "no EditURI link",)
    return urlunsplit(urlsplit(urljoin(resp.url, parser.href))._replace(query="", fragment=""))


def discover_api(url: str, session: PoliteSession) -> tuple[str, dict]:
    """Find the API of the wiki at ``url`` (any address people paste).

    Tries the address itself when it names ``api.php``, the ``api.php`` next to an
    ``index.php``, then :data:`API_CANDIDATES` at the root of the host, then the EditURI link
    of the HTML page. Each candidate is checked with a siteinfo query.
    """
    tried: list[str] = []
    with session.probing():
        for api in api_candidates(url):
            answer = _probe(session, api)
            if isinstance(answer, tuple):
                return answer
            tried.append(f"{api} ({answer})")
        page = _normalise_url(url)
        edit = _edit_uri(session, page)
        if isinstance(edit, str):
            answer = _probe(session, edit)
            if isinstance(answer, tuple):
                return answer
            tried.append(f"{edit} from the EditURI link of {page} ({answer})")
        else:
            tried.append(f"the EditURI link of {page} ({edit[0]})")
    raise WikiUnreachableError(
        f"no MediaWiki API found for {url}: tried {'; '.join(tried)}"
    )


# --------------------------------------------------------------------------- session


def _server(general: dict, api_url: str) -> str:
    """$wgServer, with the scheme of ``api_url`` when it is protocol-relative."""
    server = general.get("server", "")
    if server.startswith("//"):
        server = urlsplit(api_url).scheme + ":" + server
    return server


def site_info(general: dict, namespaces: dict, api_url: str) -> SiteInfo:
    """A SiteInfo record from siteinfo's ``general`` and ``namespaces`` (formatversion 2)."""
    server = _server(general, api_url)
    return SiteInfo(
        sitename=general.get("sitename", ""),
        article_path=server + general.get("articlepath", "/index.php?title=$1"),
        script_url=server + general.get("script", "/index.php"),
        api_url=api_url,
        dbname=general.get("wikiid", ""),
        generator=general.get("generator", ""),
        lang=general.get("lang", ""),
        namespaces=tuple(sorted(
            (int(ns["id"]), ns.get("name", ns.get("*", ""))) for ns in namespaces.values()
        )),
    )


class Wiki:
    """A connected wiki: its API address, siteinfo, and the mwclient Site to query it."""

    def __init__(self, api_url: str, site: mwclient.Site, session: PoliteSession,
                 general: dict, namespaces: dict, logged_in_as: str | None = None) -> None:
        self.api_url = api_url
        self.site = site
        self.session = session
        self.general = general
        self.info = site_info(general, namespaces, api_url)
        self.logged_in_as = logged_in_as

    def __repr__(self) -> str:
        return f"<Wiki {self.api_url}>"

    @property
    def canonical_api(self) -> str:
        """The API address the wiki gives itself ($wgServer + $wgScriptPath): the same
        whichever address (proxy, alias, http or https) it was reached through."""
        server = _server(self.general, self.api_url)
        if not server:
            return self.api_url
        script = urlsplit(self.api_url).path.rpartition("/")[2]
        return f"{server}{self.general.get('scriptpath', '')}/{script}"

    @property
    def server_time(self) -> str | None:
        """The wiki's clock when siteinfo was read (``YYYY-MM-DDTHH:MM:SSZ``)."""
        return self.general.get("time")

    def namespace_name(self, number: int) -> str:
        return dict(self.info.namespaces).get(number, "")

    def call(self, **params: object) -> dict:
        """One ``action=query`` request (formatversion 2), through mwclient."""
        try:
            return self.site.get("query", formatversion=2, **params)
        except mwclient.errors.MaximumRetriesExceeded:
            raise HarvestError(
                f"{self.api_url} still asks to wait (database lag, maxlag={MAXLAG}) after "
                f"{self.session.max_retries} retries: try again later"
            ) from None
        except mwclient.errors.APIError as exc:
            raise HarvestError(f"{self.api_url} refused a query ({exc.code}: {exc.info})") \
                from None
        except mwclient.errors.MwClientError as exc:
            raise HarvestError(f"{self.api_url} gave an unexpected answer "
                               f"({type(exc).__name__})") from None
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            raise HarvestError(f"{self.api_url} answered HTTP {status}") from None

    def query(self, params: dict, start: dict | None = None) -> Iterator[tuple[dict, dict | None]]:
        """Answers to ``params``, following API continuation from ``start``.

        Yields (answer, continuation to request next or None when done).
        """
        cont = dict(start or {})
        while True:
            answer = self.call(**params, **cont)
            nxt = answer.get("continue")
            yield answer, nxt
            if not nxt:
                return
            cont = nxt

    def page_batches(self, params: dict, start: dict | None = None
                     ) -> Iterator[tuple[list[dict], dict | None]]:
        """Complete batches of pages: the parts of each page spread over continued answers
        (revisions, contributors, categories) are merged until ``batchcomplete``.

        Yields (pages, continuation that starts the next batch or None when done).
        """
        pages: dict[object, dict] = {}
        for answer, nxt in self.query(params, start):
            for page in answer.get("query", {}).get("pages", []):
                key = page.get("pageid") or (page.get("ns"), page.get("title"))
                merged = pages.setdefault(key, {})
                for name, value in page.items():
                    if isinstance(value, list) and isinstance(merged.get(name), list):
                        merged[name].extend(value)
                    else:
                        merged[name] = value
            if answer.get("batchcomplete") or not nxt:
                yield list(pages.values()), nxt
                pages = {}


def connect(url: str, *, contact: str | None = None, delay: float = 0.0,
            max_retries: int = MAX_RETRIES, backoff: float = BACKOFF,
            timeout: float = TIMEOUT, credentials_from_env: bool = True) -> Wiki:
    """Find the API of the wiki at ``url``, open the polite session, log in if asked."""
    contact = contact or os.environ.get(CONTACT_ENV) or None
    host = (urlsplit(_normalise_url(url)).hostname or "").lower()
    if not contact and any(host == d or host.endswith("." + d) for d in _WIKIMEDIA):
        raise HarvestError(
            f"{host} is a Wikimedia wiki: its User-Agent policy requires a contact; "
            f"set {CONTACT_ENV} (an e-mail address or a web page) or pass --contact"
        )
    session = PoliteSession(contact=contact, delay=delay, max_retries=max_retries,
                            backoff=backoff, timeout=timeout)
    try:
        return _open(url, session, max_retries, backoff, timeout, credentials_from_env)
    except BaseException:
        session.close()
        raise


def _open(url: str, session: PoliteSession, max_retries: int, backoff: float, timeout: float,
          credentials_from_env: bool) -> Wiki:
    api_url, answer = discover_api(url, session)
    parts = urlsplit(api_url)
    folder, _, script = parts.path.rpartition("/")
    site = mwclient.Site(
        parts.netloc, path=folder + "/", ext=script[len("api"):], scheme=parts.scheme,
        pool=session, max_retries=max_retries, retry_timeout=backoff,
        wait_callback=lambda *_: _count_wait(session), max_lag=MAXLAG,
        connection_options={"timeout": timeout}, do_init=False,
    )
    logged_in_as = None
    if credentials_from_env:
        logged_in_as = _login_from_env(site, api_url)
    if "error" in answer:   # a private wiki: siteinfo only after login
        if not logged_in_as:
            raise LoginError(
                f"{api_url} is a private wiki: set {USER_ENV} and {PASSWORD_ENV} "
                "(a bot password from Special:BotPasswords) to read it"
            )
        answer = site.get("query", meta="siteinfo", siprop="general|namespaces",
                          formatversion=2)
    query = answer["query"]
    return Wiki(api_url, site, session, query["general"], query["namespaces"], logged_in_as)


def _count_wait(session: PoliteSession) -> None:
    """mwclient's own retries (maxlag, database errors) count as retries too."""
    session.stats.retries += 1


def _login_from_env(site: mwclient.Site, api_url: str) -> str | None:
    user = os.environ.get(USER_ENV, "").strip()
    password = os.environ.get(PASSWORD_ENV, "")
    if not user and not password:
        return None
    if not user or not password:
        missing = USER_ENV if not user else PASSWORD_ENV
        raise LoginError(f"{missing} is not set: both {USER_ENV} and {PASSWORD_ENV} are needed")
    reason = None
    try:
        site.login(user, password)
    except mwclient.errors.LoginError as exc:
        reason = str(exc.info or exc.code or "refused")
    except mwclient.errors.APIError as exc:
        reason = f"{exc.code}: {exc.info}"
    finally:
        site.credentials = None   # mwclient keeps them for nothing we use
    if reason is not None:
        reason = reason.replace(password, "***").rstrip(".")
        raise LoginError(
            f"login to {api_url} as {user} failed ({reason}): check {USER_ENV} and "
            f"{PASSWORD_ENV} (a bot password: user 'Name@app', secret from Special:BotPasswords)"
        )
    return user
