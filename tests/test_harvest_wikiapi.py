"""Live-harvest helpers that need no server: API addresses, User-Agent, SHA-1 form."""

from __future__ import annotations

import hashlib

import pytest

from tierslieux import __version__
from tierslieux.errors import HarvestError
from tierslieux.pipeline.harvest import _base36_sha1, _shift
from tierslieux.pipeline.wikiapi import api_candidates, connect, user_agent


@pytest.mark.parametrize(("url", "first"), [
    ("https://movilab.org/", "https://movilab.org/api.php"),
    ("https://movilab.org/wiki/Une_page", "https://movilab.org/api.php"),
    ("https://host.example/w/api.php", "https://host.example/w/api.php"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/api.php"),
    ("https://host.example/w/index.php?title=X", "https://host.example/w/api.php"),
    ("https://host.example/mw/index.php/X", "https://host.example/mw/api.php"),
    ("movilab.org", "https://movilab.org/api.php"),
])
def test_api_candidates_start_with_the_most_likely(url, first):
    candidates = api_candidates(url)
    assert candidates[0] == first
    assert "https://movilab.org/w/api.php" in api_candidates("https://movilab.org/")
    assert len(candidates) == len(set(candidates))


def test_user_agent_names_tool_version_contact_and_mwclient():
    agent = user_agent("ops@example.org")
    assert agent.startswith(f"tierslieux/{__version__} (ops@example.org) mwclient/0.")
    assert "TIERSLIEUX_CONTACT" in user_agent(None)


def test_wikimedia_wikis_need_a_contact(monkeypatch):
    monkeypatch.delenv("TIERSLIEUX_CONTACT", raising=False)
    with pytest.raises(HarvestError, match="TIERSLIEUX_CONTACT") as caught:
        connect("https://fr.wikipedia.org/wiki/Tiers-lieu")   # refused before any request
    assert "\n" not in str(caught.value)


def test_sha1_is_stored_in_the_export_form():
    text = "Le '''Wip''' est un tiers-lieu."
    digest = hashlib.sha1(text.encode()).hexdigest()
    value = _base36_sha1(digest)
    assert len(value) == 31 and int(value, 36) == int(digest, 16)
    assert _base36_sha1("0" * 39 + "1") == "0" * 30 + "1"
    assert _base36_sha1(None) is None


def test_checkpoint_overlap_is_subtracted():
    assert _shift("2026-01-01T00:02:00Z", 300) == "2025-12-31T23:57:00Z"


def test_a_harvest_that_cannot_connect_says_what_it_did(tmp_path):
    """``on_stop`` gets the requests sent before the harvest stopped: here every API address
    tried on a loopback server that is no MediaWiki."""
    import http.server
    import threading

    from tierslieux.errors import WikiUnreachableError
    from tierslieux.pipeline.harvest import harvest_wiki
    from tierslieux.pipeline.store import Store

    seen: list[str] = []

    class NotAWiki(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server name
            seen.append(self.path)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotAWiki)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stops = []
    try:
        with Store(tmp_path / "s.sqlite") as store:
            with pytest.raises(WikiUnreachableError):
                harvest_wiki(f"http://127.0.0.1:{server.server_port}/", store, max_retries=0,
                             on_stop=stops.append)
    finally:
        server.shutdown()
        server.server_close()
    (report,) = stops
    assert report.requests == len(seen) > 0 and report.pages_fetched == 0
