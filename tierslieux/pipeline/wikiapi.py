"""Talk to a live MediaWiki: find its API, open one polite mwclient session.

Everything that makes the harvester a good citizen is set here, in one place:

- a User-Agent naming the tool, its version and a contact (``TIERSLIEUX_CONTACT``): Wikimedia's
  User-Agent policy (https://meta.wikimedia.org/wiki/User-Agent_policy) requires a contact, so
  Wikimedia wikis are refused without one;
- ``maxlag=5`` on every API request, an optional delay between two requests, one request at
  a time (nothing is threaded);
- retries with bounded waits of what fails on the way (429, 5xx, dropped connections,
  timeouts, truncated bodies, HTML or internal errors instead of an API answer), counted
  for the run report: see :mod:`tierslieux.pipeline.session`.

A private wiki is read with a bot password taken from ``TIERSLIEUX_WIKI_USER`` and
``TIERSLIEUX_WIKI_PASSWORD``; the password is used for the login request only and never kept,
printed or put in an exception: every failure of the login, whatever the wiki or the network
does, is one LoginError line, raised outside any ``except`` block (no ``__context__``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

import mwclient
import requests

from tierslieux import __version__
from tierslieux.errors import HarvestError, LoginError, WikiUnreachableError
from tierslieux.model.records import SiteInfo
from tierslieux.pipeline.session import (  # re-exported: the harvest's knobs
    BACKOFF,
    BACKOFF_CAP,
    DISCOVERY_BUDGET,
    MAX_RETRIES,
    MAXLAG,
    REQUEST_BUDGET,
    TIMEOUT,
    WAIT_CAP,
    PoliteSession,
    RequestStats,
)
from tierslieux.model.secrets import forms, redact

__all__ = ["BACKOFF", "BACKOFF_CAP", "DISCOVERY_BUDGET", "MAX_RETRIES", "MAXLAG",
           "REQUEST_BUDGET", "TIMEOUT", "WAIT_CAP", "PoliteSession", "Wiki", "connect",
           "discover_api", "api_candidates", "user_agent"]

CONTACT_ENV = "TIERSLIEUX_CONTACT"
USER_ENV = "TIERSLIEUX_WIKI_USER"
PASSWORD_ENV = "TIERSLIEUX_WIKI_PASSWORD"

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
    try:
        resp = session.get(api, params={
            "action": "query", "meta": "siteinfo", "siprop": "general|namespaces",
            "format": "json", "formatversion": "2",
        })
    except requests.ConnectionError as exc:   # the session's one-line reason
        return str(exc) or "connection failed"
    except requests.RequestException as exc:
        return type(exc).__name__
    if resp.headers.get("X-Database-Lag"):
        return "database lag (maxlag)"
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
    except requests.ConnectionError as exc:
        return (str(exc) or "connection failed",)
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
            if session.probing_spent:
                tried.append(f"{api} (not tried: {session.discovery_budget:g} s spent)")
                continue
            answer = _probe(session, api)
            if isinstance(answer, tuple):
                return answer
            tried.append(f"{api} ({answer})")
        page = _normalise_url(url)
        if session.probing_spent:
            tried.append(f"the EditURI link of {page} (not tried: "
                         f"{session.discovery_budget:g} s spent)")
            raise WikiUnreachableError(
                f"no MediaWiki API found for {url}: tried {'; '.join(tried)}")
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
        return _api_call(self.site, self.api_url, **params)

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


def _api_call(site: mwclient.Site, api_url: str, **params: object) -> dict:
    """``site.get("query", formatversion=2, **params)``; every failure as one HarvestError,
    raised outside the ``except`` block (nothing of the request kept as ``__context__``)."""
    try:
        return site.get("query", formatversion=2, **params)
    except HarvestError:   # the session gave up: its message says why
        raise
    except Exception as exc:  # noqa: BLE001  (every other way, one line)
        reason = _failure(exc, api_url)
    raise HarvestError(reason)


def _failure(exc: Exception, api_url: str) -> str:
    """One line for a failed mwclient call, from safe parts of ``exc`` only."""
    if isinstance(exc, mwclient.errors.APIError):
        return f"{api_url} refused a query ({exc.code}: {exc.info})"
    if isinstance(exc, requests.HTTPError):
        status = exc.response.status_code if exc.response is not None else "?"
        return f"{api_url} answered HTTP {status}"
    if isinstance(exc, mwclient.errors.MaximumRetriesExceeded):
        return f"{api_url} kept failing (mwclient gave up retrying): try again later"
    return f"{api_url} gave an unexpected answer ({type(exc).__name__})"


def connect(url: str, *, contact: str | None = None, delay: float = 0.0,
            max_retries: int = MAX_RETRIES, backoff: float = BACKOFF,
            timeout: float = TIMEOUT, deadline: float | None = None,
            discovery_budget: float = DISCOVERY_BUDGET,
            credentials_from_env: bool = True, stats: RequestStats | None = None) -> Wiki:
    """Find the API of the wiki at ``url``, open the polite session, log in if asked.

    ``deadline``: seconds the whole harvest may take from now (None: no limit);
    ``discovery_budget``: seconds the search for the API may take, retries included;
    ``stats``: the counters the session keeps (requests sent…), for a caller that wants them
    even when connecting fails.
    """
    contact = contact or os.environ.get(CONTACT_ENV) or None
    host = (urlsplit(_normalise_url(url)).hostname or "").lower()
    if not contact and any(host == d or host.endswith("." + d) for d in _WIKIMEDIA):
        raise HarvestError(
            f"{host} is a Wikimedia wiki: its User-Agent policy requires a contact; "
            f"set {CONTACT_ENV} (an e-mail address or a web page) or pass --contact"
        )
    session = PoliteSession(user_agent=user_agent(contact), delay=delay,
                            max_retries=max_retries, backoff=backoff, timeout=timeout,
                            deadline=deadline, discovery_budget=discovery_budget)
    if stats is not None:
        session.stats = stats
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
    site.sleepers = _CappedSleepers(max_retries, backoff, lambda *_: _count_wait(session))
    logged_in_as = None
    if credentials_from_env:
        logged_in_as = _login_from_env(site, api_url)
    if "error" in answer:   # a private wiki: siteinfo only after login
        if not logged_in_as:
            raise LoginError(
                f"{api_url} is a private wiki: set {USER_ENV} and {PASSWORD_ENV} "
                "(a bot password from Special:BotPasswords) to read it"
            )
        answer = _api_call(site, api_url, meta="siteinfo", siprop="general|namespaces")
    query = answer["query"]
    return Wiki(api_url, site, session, query["general"], query["namespaces"], logged_in_as)


class _CappedSleeper(mwclient.sleep.Sleeper):
    """mwclient's own waits (a throttled login says how long) obey the same cap as the
    session's: a longer one is an error, not a sleep."""

    def sleep(self, min_time: float = 0) -> None:
        if min_time > WAIT_CAP:
            raise HarvestError(f"the wiki asks to wait {min_time:.0f} s, more than the cap of "
                               f"{WAIT_CAP:.0f} s: try again later")
        super().sleep(min_time)


class _CappedSleepers(mwclient.sleep.Sleepers):
    def make(self, args=None):  # type: ignore[no-untyped-def]
        return _CappedSleeper(None, self.max_retries, self.retry_timeout, self.callback)


def _count_wait(session: PoliteSession) -> None:
    """mwclient's own retries (a login throttled) count as retries too."""
    session.stats.retries += 1


def _login_from_env(site: mwclient.Site, api_url: str) -> str | None:
    user = os.environ.get(USER_ENV, "").strip()
    password = os.environ.get(PASSWORD_ENV, "")
    if not user and not password:
        return None
    if not user or not password:
        missing = USER_ENV if not user else PASSWORD_ENV
        raise LoginError(f"{missing} is not set: both {USER_ENV} and {PASSWORD_ENV} are needed")
    refused, reason = _try_login(site, user, password, api_url)
    if reason is None:
        return user
    reason = redact(reason, forms(password, user)).rstrip(".")
    del password   # not even in the raising frame's locals
    if refused:
        raise LoginError(
            f"login to {api_url} as {user} failed ({reason}): check {USER_ENV} and "
            f"{PASSWORD_ENV} (a bot password: user 'Name@app', secret from Special:BotPasswords)"
        )
    raise LoginError(f"login to {api_url} as {user} failed: {reason}")


def _try_login(site: mwclient.Site, user: str, password: str, api_url: str
               ) -> tuple[bool, str | None]:
    """(the wiki refused the credentials, why not logged in; None when logged in).

    Every exception is turned into a reason here and dropped: mwclient's own carry the login
    request (``MaximumRetriesExceeded`` holds ``('lgpassword', …)``, an ``HTTPError`` its
    response's request body).
    """
    try:
        site.login(user, password)
    except mwclient.errors.LoginError as exc:
        return True, str(exc.info or exc.code or "refused")
    except mwclient.errors.APIError as exc:
        return True, f"{exc.code}: {exc.info}"
    except HarvestError as exc:   # the session gave up: retries, timeouts, deadline
        return False, str(exc)
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        return False, f"{api_url} answered HTTP {status} to the login request"
    except Exception as exc:  # noqa: BLE001  (an odd answer: one line, whatever it is)
        return False, _failure(exc, api_url)
    finally:
        site.credentials = None   # mwclient keeps them for nothing we use
    return False, None
