"""A live harvest through a fault-injecting proxy (tests/faultproxy.py) in front of the real
MediaWiki fixture: every kind of fault a network or a wiki produces, alone and mixed.

Each harvest that can finish must give exactly the store a clean harvest gives (0 pages lost,
0 duplicated, same rows); one that cannot must stop with one line, quickly, and the runs
history must say what it did. Waits are kept small through the library's parameters
(``backoff``, ``timeout``, ``Retry-After: 0``) so the suite takes seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from faultproxy import FaultProxy
from storerows import content_rows as rows
from tierslieux.errors import HarvestError, WikiUnreachableError
from tierslieux.pipeline.harvest import STATE_KEY, harvest_wiki
from tierslieux.pipeline.store import Store
from tierslieux.pipeline.wikiapi import connect

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
ALL_NS = (0, 1, 10, 14)
#: every fault kind the proxy injects that a harvest must survive
SURVIVABLE = ("500", "501", "502", "503", "504", "507", "522", "429", "429:0", "503:0",
              "reset", "truncate", "truncate-chunked", "html200", "dberror", "dbconn", "hang")
#: small parameters: a retry after a fault costs milliseconds (a hang: the 0.5 s timeout)
FAST = {"backoff": 0.01, "timeout": 0.5, "max_retries": 8, "batch_size": 10,
        "namespaces": ALL_NS}


@pytest.fixture(scope="module")
def clean(mediawiki, tmp_path_factory) -> list[tuple]:
    """The rows of a harvest without faults."""
    path = tmp_path_factory.mktemp("clean") / "clean.sqlite"
    with Store(path) as store:
        harvest_wiki(mediawiki.api, store, **FAST)
    found = rows(path)
    assert len(found) > 10
    return found


def random_faults(kinds: tuple[str, ...], share: float, seed: int):
    """A plan failing ``share`` of the requests (chosen by a seeded draw) with one of
    ``kinds``."""
    draw = random.Random(seed)

    def plan(index: int, record: dict) -> str | None:
        return draw.choice(kinds) if draw.random() < share else None

    return plan


def harvest_through(proxy: FaultProxy, path: Path, **options):
    with Store(path) as store:
        return harvest_wiki(proxy.url + "/api.php", store, **{**FAST, **options})


# --------------------------------------------------------------------------- survived


@pytest.mark.parametrize("kind", SURVIVABLE)
def test_each_fault_kind_is_retried_and_loses_nothing(mediawiki, clean, tmp_path, kind):
    with FaultProxy(mediawiki.base, random_faults((kind,), 0.4, seed=17),
                    hang_seconds=1) as proxy:
        report = harvest_through(proxy, tmp_path / "s.sqlite")
        injected = sum(proxy.injected.values())
        assert proxy.injected[kind.split(":")[0]] >= 3   # the fault was met, several times
        seen = len(proxy.seen)
    assert rows(tmp_path / "s.sqlite") == clean   # 0 pages lost, 0 duplicated, same content
    assert report.retries == injected              # each fault cost exactly one retry
    assert report.requests == seen
    print(f"FIGURES kind={kind} requests={seen} faults={injected} pages={len(clean)}")


#: trials of the mixed-fault harvest, per share of failed requests
MIX_TRIALS = 4


@pytest.mark.parametrize("share", [0.45, 0.6])
def test_a_mix_of_every_fault_loses_nothing(mediawiki, clean, tmp_path, share):
    injected = 0
    for trial in range(MIX_TRIALS):
        path = tmp_path / f"s{trial}.sqlite"
        with FaultProxy(mediawiki.base, random_faults(SURVIVABLE, share, seed=trial),
                        hang_seconds=1) as proxy:
            report = harvest_through(proxy, path, max_retries=12, batch_size=3)
            assert report.retries == sum(proxy.injected.values())
            injected += sum(proxy.injected.values())
        assert rows(path) == clean, f"trial {trial}"
    print(f"FIGURES mix share={share} trials={MIX_TRIALS} faults={injected}")
    assert injected >= 5 * MIX_TRIALS   # faults really met in every kind of place


# --------------------------------------------------------------------------- not survived


def _always_after_the_probe(kind: str):
    return lambda index, record: kind if index >= 1 else None


@pytest.mark.parametrize(("kind", "reason"), [
    ("truncate", "truncated answer"), ("truncate-chunked", "truncated answer"),
    ("html200", "text/html body instead of JSON"),
    ("dberror", "API error internal_api_error_Wikimedia"),
    ("522", "HTTP 522"), ("reset", "connection dropped"), ("hang", "timed out"),
])
def test_a_fault_that_lasts_is_one_line(mediawiki, tmp_path, kind, reason):
    with FaultProxy(mediawiki.base, _always_after_the_probe(kind), hang_seconds=1) as proxy:
        with pytest.raises(HarvestError) as caught:
            harvest_through(proxy, tmp_path / "s.sqlite", max_retries=2)
        assert len(proxy.seen) == 1 + 3   # the probe, then one request tried 3 times
    message = str(caught.value)
    assert "\n" not in message and reason in message and "try again later" in message
    assert caught.value.__context__ is None


@pytest.mark.parametrize("kind", ["503:300", "429:300", "503:Wed, 21 Oct 2099 07:28:00 GMT"])
def test_a_wait_beyond_the_cap_is_an_error_not_a_sleep(mediawiki, tmp_path, kind):
    with FaultProxy(mediawiki.base, _always_after_the_probe(kind)) as proxy:
        with pytest.raises(HarvestError) as caught:
            harvest_through(proxy, tmp_path / "s.sqlite")
        assert len(proxy.seen) == 2   # asked once, not retried, not slept on
    assert "more than the cap of 120 s" in str(caught.value)


def test_a_wiki_answering_500_to_everything_is_unreachable_within_the_budget(tmp_path):
    with FaultProxy(None, lambda index, record: "500") as proxy:
        with pytest.raises(WikiUnreachableError) as caught:
            connect(proxy.url + "/wiki/Accueil", backoff=0.05, discovery_budget=1.0)
        asked = len(proxy.seen)
    message = str(caught.value)
    assert "\n" not in message and "HTTP 500" in message and "not tried: 1 s spent" in message
    assert caught.value.exit_code == 4
    assert asked < 20   # the budget, not 4 x 9 attempts, decided


def test_unreachable_through_the_command_line(tmp_path):
    with FaultProxy(None, lambda index, record: "500") as proxy:
        (tmp_path / "tierslieux.toml").write_text("backoff = 0.01\nretries = 2\n")
        done = subprocess.run(
            [sys.executable, "-m", "tierslieux", "harvest", "--wiki", proxy.url + "/",
             "--store", "s.sqlite"], cwd=tmp_path, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 4
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: no MediaWiki API")


def test_the_deadline_stops_the_harvest_and_the_next_run_finishes_it(mediawiki, clean,
                                                                      tmp_path):
    path = tmp_path / "s.sqlite"
    with FaultProxy(mediawiki.base) as proxy:
        with pytest.raises(HarvestError, match=r"harvest deadline of 1 s was reached") as caught:
            harvest_through(proxy, path, delay=0.2, batch_size=2, deadline=1)
        assert "\n" not in str(caught.value)
        with Store(path) as store:
            state = json.loads(store.get_meta(STATE_KEY))
            assert 0 < state["fetched"] < len(clean)   # stopped half-way, progress kept
        report = harvest_through(proxy, path)
    assert any("resumed" in note for note in report.notes)
    assert rows(path) == clean


def test_a_failed_run_records_what_it_did(mediawiki, tmp_path):
    """The runs history of a harvest that fails half-way holds its real counts."""
    fail_after = 3
    with FaultProxy(mediawiki.base, lambda index, record:
                    "503" if index >= fail_after else None) as proxy:
        (tmp_path / "tierslieux.toml").write_text(
            "backoff = 0.01\nretries = 2\ndelay = 0\nnamespaces = [0, 1, 10, 14]\n")
        done = subprocess.run(
            [sys.executable, "-m", "tierslieux", "--log-format", "json", "harvest", "--wiki",
             proxy.url + "/api.php", "--store", "s.sqlite"], cwd=tmp_path,
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120)
        sent = len(proxy.seen)
    assert done.returncode == 1
    record = json.loads((tmp_path / "s.sqlite.runs.jsonl").read_text().splitlines()[-1])
    assert record["outcome"] == "error" and "still failing" in record["message"]
    assert record["requests"] == sent > fail_after
    stored = len(rows(tmp_path / "s.sqlite"))
    assert record["pages_fetched"] == stored > 0
    assert record["pages_new"] == stored
