"""Live harvests against a real MediaWiki served on loopback (tests/fixtures/mediawiki.py).

What is compared with what the wiki holds is read independently, with plain ``requests``
calls to ``api.php`` (one page at a time, by title), not through the harvester's code.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from exportxml import Page, Rev, export
from faultproxy import FaultProxy, Failing
from storerows import content_rows, page_rows
from fixtures.mediawiki import BOT_PASSWORD, BOT_USER, WIKI_SEED, MediaWikiServer, seed_pages
from tierslieux.errors import HarvestError, LoginError, WikiUnreachableError
from tierslieux.pipeline.harvest import STATE_KEY, harvest_dump, harvest_wiki
from tierslieux.pipeline.store import Store
from tierslieux.pipeline.wikiapi import connect

pytestmark = pytest.mark.integration

#: the namespaces of the sample (102: its Semantic MediaWiki property pages)
ALL_NS = (0, 1, 10, 14, 102)
#: what a harvest of the articles stores: namespace 102 is added when the wiki has it
SELECTED = (0, 102)
ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- helpers


def wiki_pages(wiki: MediaWikiServer, namespaces=ALL_NS) -> dict[int, tuple[str, int, str]]:
    """page id -> (title, latest revision id, wikitext), read one page at a time."""
    out: dict[int, tuple[str, int, str]] = {}
    with requests.Session() as http:
        for ns in namespaces:
            titles = http.get(wiki.api, params={
                "action": "query", "list": "allpages", "apnamespace": ns, "aplimit": "max",
                "format": "json"}).json()["query"]["allpages"]
            for row in titles:
                page = http.get(wiki.api, params={
                    "action": "query", "titles": row["title"], "prop": "revisions",
                    "rvprop": "ids|content", "rvslots": "main", "format": "json",
                    "formatversion": "2"}).json()["query"]["pages"][0]
                rev = page["revisions"][0]
                out[page["pageid"]] = (page["title"], rev["revid"], rev["slots"]["main"]["content"])
    return out


def store_pages(store: Store) -> dict[int, tuple[str, int, str]]:
    return {p.revision.page_id: (p.revision.title, p.revision.rev_id, p.revision.text)
            for p in store.pages()}


def harvest(wiki_url: str, path: Path, **options) -> tuple:
    with Store(path) as store:
        report = harvest_wiki(wiki_url, store, **options)
        return report, store_pages(store)


@pytest.fixture
def proxy_factory():
    """``make(upstream, failures, fail_from=, fail_if=, prefix=)``: a FaultProxy in front of
    the wiki failing what ``faultproxy.Failing`` says, closed after the test."""
    proxies: list[FaultProxy] = []

    def make(upstream: str, failures: dict[int, str] | None = None, *,
             fail_from: int | None = None, fail_if=None, prefix: str = "") -> FaultProxy:
        proxies.append(FaultProxy(upstream, Failing(failures, fail_from, fail_if),
                                  prefix=prefix))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


# --------------------------------------------------------------------------- full harvest


def test_full_harvest_equals_the_wiki_page_by_page(mediawiki, tmp_path):
    calls = []
    report, stored = harvest(mediawiki.base + "/", tmp_path / "s.sqlite", namespaces=ALL_NS,
                             batch_size=5, progress=lambda done, total: calls.append((done, total)))
    expected = wiki_pages(mediawiki)
    assert stored == expected
    # progress after each batch of 5 (total unknown while listing)
    assert [done for done, _ in calls] == sorted({done for done, _ in calls})
    assert calls[-1] == (len(expected), None) and len(calls) >= len(expected) / 5
    assert report.mode == "full"
    assert report.pages_new == report.pages_fetched == len(expected)
    assert report.pages_deleted == 0 and report.retries == 0
    with Store(tmp_path / "s.sqlite") as store:
        info = store.site_info
        assert (info.sitename, info.lang) == ("Wiki Test", "fr")
        assert info.api_url == mediawiki.api
        assert info.article_path == f"{mediawiki.base}/index.php/$1"
        assert info.script_url == f"{mediawiki.base}/index.php"
        assert (14, "Catégorie") in info.namespaces
        assert store.last_harvest(mediawiki.api).checkpoint == report.checkpoint
        by_title = {p.revision.title: p for p in store.pages()}
    # contributors are the seed's authors (users created before the import), redirects kept
    seed = seed_pages()
    assert set(seed) == set(by_title)
    for title, expected in seed.items():
        page = by_title[title].revision
        assert page.contributors == expected.contributors, title
        assert (page.contributor, page.timestamp, page.redirect) == (
            expected.contributor, expected.timestamp, expected.redirect), title


def test_full_harvest_matches_the_wikis_own_export(mediawiki, tmp_path):
    """Every stored field, checked against dumpBackup.php --full read by the dump reader."""
    export_file = tmp_path / "wiki.xml"
    export_file.write_text(mediawiki.maint("dumpBackup", "--full", "--quiet"))
    with Store(tmp_path / "dump.sqlite") as store:
        harvest_dump(export_file, store, namespaces=ALL_NS)
    harvest(mediawiki.api, tmp_path / "api.sqlite", namespaces=ALL_NS)
    from_api = content_rows(tmp_path / "api.sqlite")
    assert from_api == content_rows(tmp_path / "dump.sqlite")
    assert all(row[6] and len(row[6]) == 31 for row in from_api)   # base-36 SHA-1


def test_harvest_of_the_seeded_wiki_equals_the_seed_export_but_for_ids(mediawiki, tmp_path):
    """What the build sees is the same whether it reads the sample export or the wiki seeded
    with it, except the page and revision ids that importDump.php renumbers."""
    from tierslieux.errors import DumpError

    def by_title(store: Store) -> dict[str, tuple]:
        return {p.revision.title: (
            p.revision.namespace, p.revision.text, p.revision.timestamp, p.revision.sha1,
            p.revision.contributor, p.revision.comment, p.revision.model, p.revision.redirect,
            p.revision.contributors, p.revision.parent_id is None, p.key, p.alt_titles,
        ) for p in store.pages()}

    with Store(tmp_path / "dump.sqlite") as store:
        try:
            harvest_dump(WIKI_SEED, store, namespaces=ALL_NS)
        except DumpError:
            pytest.skip(f"{WIKI_SEED.name} has no page ids: not a full export")
        from_dump = by_title(store)
    harvest(mediawiki.api, tmp_path / "api.sqlite", namespaces=ALL_NS)
    with Store(tmp_path / "api.sqlite") as store:
        assert by_title(store) == from_dump


def test_category_filter_with_or_without_prefix(mediawiki, tmp_path):
    members = requests.get(mediawiki.api, params={
        "action": "query", "list": "categorymembers", "cmtitle": "Catégorie:Tiers-lieux",
        "cmlimit": "max", "cmnamespace": 0, "format": "json"}).json()["query"]["categorymembers"]
    assert members, "the seed has members of Catégorie:Tiers-lieux"
    expected = {m["pageid"] for m in members}
    for i, name in enumerate(("Tiers-lieux", "Catégorie:Tiers-lieux", "Category:Tiers-lieux")):
        _, stored = harvest(mediawiki.api, tmp_path / f"c{i}.sqlite", categories=[name])
        assert set(stored) == expected


def test_changing_the_selection_forces_a_full_harvest(mediawiki, tmp_path):
    path = tmp_path / "s.sqlite"
    harvest(mediawiki.api, path)
    again, _ = harvest(mediawiki.api, path)
    assert again.mode == "incremental"
    wider, stored = harvest(mediawiki.api, path, namespaces=(0, 10))
    assert wider.mode == "full" and any("selection" in note for note in wider.notes)
    assert stored == wiki_pages(mediawiki, (0, 10, 102))  # 102: added, the wiki has it
    forced, _ = harvest(mediawiki.api, path, namespaces=(0, 10), full=True)
    assert (forced.mode, forced.pages_unchanged, forced.pages_new) == ("full", len(stored), 0)


# --------------------------------------------------------------------------- incremental


def test_incremental_harvest_picks_up_exactly_the_changes(fresh_mediawiki, tmp_path):
    wiki = fresh_mediawiki
    path = tmp_path / "s.sqlite"
    site = wiki.site()
    plain = [t for t, _, text in wiki_pages(wiki, (0,)).values() if not text.startswith("#")]
    extra = [f"Page de départ {i}" for i in range(5 - len(plain))]   # a small seed
    for title in extra:
        site.pages[title].edit("Une page.", summary="test")
    first, stored = harvest(wiki.base + "/", path)
    titles = sorted(t for t, _, text in stored.values() if not text.startswith("#"))
    edited, (deleted, moved, restored) = titles[:2], titles[2:5]
    created = ["Nouveau tiers-lieu du test", "Autre lieu du test"]
    new_name = moved + " (nouveau nom)"
    with Store(path) as store:
        moved_id = store.page_id_of(0, moved)
        restored_before = store.get(store.page_id_of(0, restored))

    for title in edited:
        site.pages[title].edit(site.pages[title].text() + "\n\nModifié par le test.",
                               summary="test")
    for title in created:
        site.pages[title].edit(f"'''{title}''' est un lieu créé par le test.", summary="test")
    site.pages[deleted].delete(reason="test")
    site.pages[moved].move(new_name, reason="test")
    site.pages[restored].delete(reason="test")

    calls = []
    second, stored = harvest(wiki.base + "/", path,
                             progress=lambda done, total: calls.append((done, total)))
    assert second.mode == "incremental"
    assert calls[-1][0] == calls[-1][1] >= 8   # ids to re-read known in advance
    assert stored == wiki_pages(wiki, SELECTED)
    assert set(second.deleted_titles) == {deleted, restored}
    assert second.moved == ((moved, new_name),)
    # new: the created pages and the redirect left at the moved page's old title
    untouched_extra = len(set(extra) - set(titles[:5]))   # read again: within the overlap
    assert (second.pages_new, second.pages_changed, second.pages_unchanged) == (
        3, 3, untouched_extra)
    with Store(path) as store:
        page = store.get(moved_id)
        assert (page.revision.title, page.key, page.alt_titles) == (
            new_name, moved.replace(" ", "_"), (moved,))
        redirect = store.get(store.page_id_of(0, moved))
        assert redirect.revision.redirect == new_name and redirect.key != page.key
        assert {d["title"] for d in store.deleted()} == {deleted, restored}
        assert all(d["deleted_at"] for d in store.deleted())

    site.post("undelete", title=restored, reason="test", token=site.get_token("csrf"))
    third, stored = harvest(wiki.base + "/", path)
    assert stored == wiki_pages(wiki, SELECTED)
    assert (third.pages_new, third.pages_changed, third.pages_deleted) == (1, 0, 0)
    with Store(path) as store:
        back = store.get(restored_before.revision.page_id)
        assert back.revision == restored_before.revision and back.key == restored_before.key
    print(f"\nincremental after 2 edits, 2 new pages, 2 deletions, 1 move: "
          f"{second.requests} requests (full harvest: {first.requests}); "
          f"after 1 restore: {third.requests}")


def _generated_pages(count: int) -> str:
    pages = [Page(id=100000 + i, title=f"Lieu généré {i:03d}", revs=[Rev(
        id=900000 + i, timestamp="2025-03-01T10:00:00Z", user="Admin",
        text=f"Le '''lieu généré {i:03d}''' est une page de test.\n\n== Activités ==\n* café",
    )]) for i in range(count)]
    return export(pages)


def test_incremental_requests_grow_with_changes_not_with_wiki_size(make_mediawiki, tmp_path):
    small = make_mediawiki()
    big = make_mediawiki()
    dump = tmp_path / "generated.xml"
    dump.write_text(_generated_pages(200))
    big.import_dump(dump, "--no-updates")   # plain pages: no link tables to fill

    def edit(wiki: MediaWikiServer, titles: list[str]) -> None:
        site = wiki.site()
        token = site.get_token("csrf")
        for title in titles:
            site.post("edit", title=title, appendtext="\n* modifié", summary="test",
                      token=token)
        time.sleep(1.1)   # strictly after the checkpoint of the next run (overlap=0)

    measured = {}

    def timed(label: str, wiki: MediaWikiServer, path: Path, **options):
        t0 = time.monotonic()
        report, stored = harvest(wiki.api, path, **options)
        measured[label] = (report.requests, len(stored), time.monotonic() - t0)
        return report, stored

    for name, wiki in (("small", small), ("big", big)):
        path = tmp_path / f"{name}.sqlite"
        _, stored = timed(f"{name} wiki, full", wiki, path)
        titles = sorted(t for t, _, text in stored.values() if not text.startswith("#"))
        edit(wiki, titles[:1])
        one, _ = timed(f"{name} wiki, 1 edit, batch 5", wiki, path, batch_size=5, overlap=0)
        assert (one.mode, one.pages_changed, one.pages_unchanged) == ("incremental", 1, 0)
        if name == "big":
            edit(wiki, titles[1:21])
            many, _ = timed("big wiki, 20 edits, batch 5", wiki, path, batch_size=5, overlap=0)
            assert many.pages_changed == 20
            # 20 changed pages in batches of 5: 3 more content requests than for 1 page
            assert many.requests - one.requests == 3
            edit(wiki, titles[21:22])
            # default batch size and safety overlap (re-reads the 20 edits above)
            default, _ = timed("big wiki, 1 edit, defaults", wiki, path)
            assert default.requests <= 6
    assert measured["big wiki, full"][1] >= 200
    assert measured["big wiki, full"][0] > measured["small wiki, full"][0]
    # the size of the wiki does not change the cost of an incremental run
    assert measured["big wiki, 1 edit, batch 5"][0] == measured["small wiki, 1 edit, batch 5"][0]
    assert measured["big wiki, 1 edit, batch 5"][0] <= 5
    print("\n" + "\n".join(f"{k}: {v[0]} requests, {v[1]} pages, {v[2]:.2f} s"
                           for k, v in measured.items()))


def test_incremental_falls_back_to_a_listing_when_recentchanges_was_purged(
        fresh_mediawiki, tmp_path):
    wiki = fresh_mediawiki
    path = tmp_path / "s.sqlite"
    _, stored = harvest(wiki.api, path)
    titles = sorted(t for t, _, text in stored.values() if not text.startswith("#"))
    site = wiki.site()
    site.pages[titles[0]].edit(site.pages[titles[0]].text() + "\n* modifié", summary="test")
    site.pages[titles[1]].delete(reason="test")
    site.pages[titles[2]].move(titles[2] + " bis", reason="test")
    site.pages["Lieu ajouté avant la purge"].edit("Un lieu.", summary="test")
    # MediaWiki's own purge (a job queued by 1 save in 10) with $wgRCMaxAge = 1 s
    settings = wiki.dir / "ExtraSettings.php"
    wiki.add_settings("$wgRCMaxAge = 1;")
    time.sleep(2)
    wiki.maint("eval", input="RecentChangesUpdateJob::newPurgeJob()->run();\n")
    settings.unlink()
    left = requests.get(wiki.api, params={"action": "query", "list": "recentchanges",
                                          "format": "json"}).json()["query"]["recentchanges"]
    assert left == []
    site.pages["Lieu ajouté après la purge"].edit("Un autre lieu.", summary="test")

    report, stored = harvest(wiki.api, path)
    assert report.mode == "incremental"
    assert any("recent changes do not reach back" in note for note in report.notes)
    assert stored == wiki_pages(wiki, SELECTED)
    assert report.deleted_titles == (titles[1],)
    assert report.moved == ((titles[2], titles[2] + " bis"),)
    # only the differing pages were fetched: 1 edit, 1 move, its redirect, 2 new pages
    assert report.pages_fetched == 5 and report.pages_unchanged == 0


# --------------------------------------------------------------------------- resumable


_HARVEST_CODE = """
import sys
from tierslieux.pipeline.harvest import harvest_wiki
from tierslieux.pipeline.store import Store
with Store(sys.argv[2]) as store:
    harvest_wiki(sys.argv[1], store, namespaces=(0, 1, 10, 14), batch_size=2, delay=0.1)
"""


def _progress(path: Path) -> int | None:
    """Pages done by the harvest in progress in the store at ``path``, None when none runs."""
    if not path.exists():
        return -1
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", ("x:" + STATE_KEY,)).fetchone()
    except sqlite3.OperationalError:
        return -1
    finally:
        db.close()
    return json.loads(row[0])["done"] if row else None


def test_killed_harvest_resumes_to_the_same_store(mediawiki, tmp_path):
    path = tmp_path / "killed.sqlite"
    kills = 0
    while True:
        before = _progress(path)
        proc = subprocess.Popen([sys.executable, "-c", _HARVEST_CODE, mediawiki.api, str(path)],
                                cwd=ROOT)
        try:
            end = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < end:
                now = _progress(path)
                if now is not None and now != -1 and now != before and kills < 4:
                    proc.send_signal(signal.SIGKILL)   # after a batch committed
                    kills += 1
                    break
                time.sleep(0.01)
        finally:
            returncode = proc.wait(timeout=60)
        if returncode == 0:
            break
        assert returncode == -signal.SIGKILL
    assert kills >= 2
    with Store(path) as store:
        records = store.harvests()
        assert [(r.mode, r.status) for r in records] == [("full", "done")]
        assert any("resumed" in note for note in records[0].stats["notes"])
        assert store.get_meta(STATE_KEY) is None
    harvest(mediawiki.api, tmp_path / "whole.sqlite", namespaces=ALL_NS, batch_size=2)
    assert page_rows(path) == page_rows(tmp_path / "whole.sqlite")
    assert len(page_rows(path)[0]) == len(wiki_pages(mediawiki))


def test_interrupted_incremental_resumes(fresh_mediawiki, tmp_path, proxy_factory):
    """An incremental run that fails mid-way (the wiki goes down) is finished by the next."""
    wiki = fresh_mediawiki
    path = tmp_path / "s.sqlite"
    harvest(wiki.api, path)
    site = wiki.site()
    created = [f"Lieu ajouté {i}" for i in range(6)]
    for title in created:
        site.pages[title].edit("Un lieu.", summary="test")
    batches = []

    def down_after_the_first_batch(record: dict) -> bool:
        if "rvprop=" in record["path"] and "pageids=" in record["path"]:
            batches.append(record)
        return len(batches) > 1

    proxy = proxy_factory(wiki.base, fail_if=down_after_the_first_batch)
    with pytest.raises(HarvestError, match="still failing after 1 retries"):
        harvest(proxy.url + "/api.php", path, batch_size=2, max_retries=1, backoff=0.01)
    with Store(path) as store:
        state = json.loads(store.get_meta(STATE_KEY))
        assert state["mode"] == "incremental" and 0 < len(state["todo"]) < len(created)
    proxy.plan.fail_if = None
    report, stored = harvest(proxy.url + "/api.php", path, batch_size=2)
    assert any("resumed" in note for note in report.notes)
    assert stored == wiki_pages(wiki, SELECTED)
    assert report.pages_new == len(created)


# --------------------------------------------------------------------------- politeness


def test_busy_wiki_is_waited_for_then_harvested(mediawiki, tmp_path, proxy_factory):
    failures = {0: "503", 1: "429", 3: "maxlag", 5: "502", 6: "reset"}
    proxy = proxy_factory(mediawiki.base, failures)
    t0 = time.monotonic()
    report, stored = harvest(proxy.url + "/api.php", tmp_path / "s.sqlite", namespaces=ALL_NS,
                             contact="ops@example.org", backoff=0.2)
    elapsed = time.monotonic() - t0
    assert stored == wiki_pages(mediawiki)
    assert report.retries == len(failures)
    assert report.requests == len(proxy.seen)
    assert elapsed >= 3   # three answers asked for a 1 s wait
    api_calls = [r for r in proxy.seen if r["path"].startswith("/api.php")]
    assert all("maxlag=5" in r["path"] or b"maxlag=5" in r["body"] for r in api_calls)
    agents = {r["headers"]["User-Agent"] for r in proxy.seen}
    assert len(agents) == 1 and agents.pop().startswith("tierslieux/0.")
    assert "(ops@example.org) mwclient/" in proxy.seen[0]["headers"]["User-Agent"]


def test_wiki_that_stays_down_gives_a_clear_error(mediawiki, tmp_path, proxy_factory):
    proxy = proxy_factory(mediawiki.base, fail_from=1)
    with pytest.raises(HarvestError) as caught:
        harvest(proxy.url + "/", tmp_path / "s.sqlite", max_retries=2, backoff=0.01)
    message = str(caught.value)
    assert "\n" not in message and "HTTP 503" in message and "try again later" in message
    assert len(proxy.seen) == 1 + 3   # the probe, then one request tried 3 times


def test_endless_database_lag_gives_a_clear_error(mediawiki, tmp_path, proxy_factory):
    proxy = proxy_factory(mediawiki.base, {i: "maxlag" for i in range(1, 20)})
    with pytest.raises(HarvestError, match=r"maxlag=5\) after 2 retries: try again later"):
        harvest(proxy.url + "/api.php", tmp_path / "s.sqlite", max_retries=2)
    assert len(proxy.seen) == 1 + 3   # the probe, then one request tried 3 times


def test_delay_between_requests(mediawiki, tmp_path, proxy_factory):
    proxy = proxy_factory(mediawiki.base)
    harvest(proxy.url + "/api.php", tmp_path / "s.sqlite", delay=0.2, batch_size=2)
    times = [r["time"] for r in proxy.seen]
    assert len(times) >= 3
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.19


# --------------------------------------------------------------------------- discovery


@pytest.mark.parametrize("form", [
    "{base}/", "{base}", "{base}/api.php", "{base}/index.php?title=La_Myne",
    "{base}/index.php/La_Myne", "{base}/wiki/Une_page",
])
def test_api_is_discovered_from_the_addresses_people_paste(mediawiki, form):
    wiki = connect(form.format(base=mediawiki.base))
    try:
        assert wiki.api_url == mediawiki.api
        assert wiki.info.sitename == "Wiki Test"
        assert wiki.session.stats.requests <= 2
    finally:
        wiki.session.close()


def test_api_is_discovered_through_the_edit_uri_link(mediawiki, proxy_factory):
    proxy = proxy_factory(mediawiki.base, prefix="/site")   # api.php at none of the guesses
    wiki = connect(proxy.url + "/site/La_Myne")
    wiki.session.close()
    # the page's <link rel="EditURI"> names the wiki's own address ($wgServer)
    assert wiki.api_url == mediawiki.api
    tried = [r["path"].split("?")[0] for r in proxy.seen]
    assert tried == ["/api.php", "/w/api.php", "/wiki/api.php", "/site/La_Myne"]
    wiki = connect(proxy.url + "/site/index.php?title=La_Myne")   # next to index.php
    wiki.session.close()
    assert wiki.api_url == proxy.url + "/site/api.php"


def test_unreachable_wiki_error_lists_what_was_tried():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(WikiUnreachableError) as caught:
        connect(f"http://127.0.0.1:{port}/wiki/Accueil")
    message = str(caught.value)
    assert time.monotonic() - t0 < 5
    assert "\n" not in message
    for path in ("/api.php", "/w/api.php", "/wiki/api.php", "EditURI"):
        assert path in message
    assert message.count("connection refused") == 4
    assert caught.value.exit_code == 4


# --------------------------------------------------------------------------- private wiki


def test_private_wiki_with_a_bot_password_that_never_leaks(make_mediawiki, tmp_path,
                                                            monkeypatch, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    wiki = make_mediawiki(settings="$wgGroupPermissions['*']['read'] = false;")
    monkeypatch.delenv("TIERSLIEUX_WIKI_USER", raising=False)
    monkeypatch.delenv("TIERSLIEUX_WIKI_PASSWORD", raising=False)
    with pytest.raises(LoginError, match="private wiki"):
        harvest(wiki.api, tmp_path / "none.sqlite")

    wrong = "wrongwrongwrongwrongwrongwrong0123"
    monkeypatch.setenv("TIERSLIEUX_WIKI_USER", BOT_USER)
    monkeypatch.setenv("TIERSLIEUX_WIKI_PASSWORD", wrong)
    with pytest.raises(LoginError) as caught:
        harvest(wiki.api, tmp_path / "wrong.sqlite")
    assert BOT_USER in str(caught.value) and "\n" not in str(caught.value)
    for text in (str(caught.value), repr(caught.value), repr(caught.value.__context__),
                 repr(caught.value.__cause__)):
        assert wrong not in text

    monkeypatch.setenv("TIERSLIEUX_WIKI_PASSWORD", BOT_PASSWORD)
    path = tmp_path / "private.sqlite"
    report, stored = harvest(wiki.api, path)
    assert report.pages_new == len(stored) > 0
    anonymous = requests.get(wiki.api, params={"action": "query", "list": "allpages",
                                               "format": "json"}).json()
    assert anonymous["error"]["code"] == "readapidenied"

    files = b"".join(p.read_bytes() for p in tmp_path.glob("*.sqlite*"))
    out = capsys.readouterr()
    for secret in (wrong, BOT_PASSWORD):
        assert secret.encode() not in files
        assert secret not in caplog.text and secret not in out.out + out.err
    assert os.environ["TIERSLIEUX_WIKI_PASSWORD"] == BOT_PASSWORD
