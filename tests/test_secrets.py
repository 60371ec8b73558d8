"""Secrets never leak: a marker password through every failure path of the wiki login and of
``push``, looked for (plain, URL-encoded, base64) in stdout, stderr (text and JSON logs), the
store, the runs history, every file the run left, and the exceptions the library raises.

The wiki side is the real MediaWiki fixture behind a fault-injecting proxy
(tests/faultproxy.py) that fails only the login POST, the one request carrying the password.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from faultproxy import FaultProxy
from fixtures.mediawiki import BOT_PASSWORD, BOT_USER
from secretscan import exception_texts, leaks, leaks_in_files
from tierslieux.errors import HarvestError, LoginError
from tierslieux.pipeline.wikiapi import connect

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
MARKER = "Mk9-sekret-Q7zX-marker-0c4f1e"
#: statuses a login POST may get from a wiki or a proxy in front of it
LOGIN_FAULTS = ("522", "501", "507", "401", "500", "403", "reset", "truncate", "html200",
                "dberror", "echo")


def _login_post(record: dict) -> bool:
    return record["method"] == "POST" and b"lgpassword" in record["body"]


def _fail_login(fault: str):
    return lambda index, record: fault if _login_post(record) else None


def run_cli(args: list[str], cwd: Path, password: str, *, fmt: str = "text"
            ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSLIEUX_")}
    env.update(TIERSLIEUX_WIKI_USER=BOT_USER, TIERSLIEUX_WIKI_PASSWORD=password,
               PYTHONPATH=str(ROOT))
    # small retry parameters: the faults are retried, then reported, in well under a second
    (cwd / "tierslieux.toml").write_text("retries = 2\nbackoff = 0.01\ndelay = 0\n")
    return subprocess.run([sys.executable, "-m", "tierslieux", "--log-format", fmt, *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def assert_no_leak(secret: str, done: subprocess.CompletedProcess, folder: Path) -> None:
    assert leaks(secret, done.stdout) == []
    assert leaks(secret, done.stderr) == []
    assert leaks_in_files(secret, folder) == {}


def assert_one_line_error(done: subprocess.CompletedProcess, fmt: str) -> str:
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    if fmt == "json":
        records = [json.loads(line) for line in lines]   # every line is JSON
        errors = [r for r in records if r["level"] == "error"]
        assert len(errors) == 1 and "\n" not in errors[0]["message"]
        return errors[0]["message"]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("fault", LOGIN_FAULTS)
def test_a_failing_login_post_never_shows_the_password(mediawiki, tmp_path, fault, fmt):
    with FaultProxy(mediawiki.base, _fail_login(fault), hang_seconds=1) as proxy:
        done = run_cli(["harvest", "--wiki", proxy.url + "/api.php", "--store", "s.sqlite"],
                       tmp_path, MARKER, fmt=fmt)
        assert proxy.injected[fault] >= 1   # the fault was really met
    assert done.returncode == 1, done.stderr
    message = assert_one_line_error(done, fmt)
    assert "login to" in message and BOT_USER in message
    assert_no_leak(MARKER, done, tmp_path)
    runs = (tmp_path / "s.sqlite.runs.jsonl").read_text()
    assert json.loads(runs.splitlines()[-1])["outcome"] == "error"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_refused_password_and_a_good_one_never_show(mediawiki, make_mediawiki, tmp_path, fmt):
    wiki = make_mediawiki(settings="$wgGroupPermissions['*']['read'] = false;")
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    done = run_cli(["harvest", "--wiki", wiki.api, "--store", "s.sqlite"], wrong, MARKER,
                   fmt=fmt)
    assert done.returncode == 1
    assert "login to" in assert_one_line_error(done, fmt)
    assert_no_leak(MARKER, done, wrong)

    good = tmp_path / "good"
    good.mkdir()
    done = run_cli(["run", "--wiki", wiki.api, "--store", "s.sqlite", "--out", "exports"],
                   good, BOT_PASSWORD, fmt=fmt)
    assert done.returncode in (0, 3), done.stderr   # published (with warnings or not)
    assert (good / "exports" / "SHA256SUMS").is_file()
    assert_no_leak(BOT_PASSWORD, done, good)


@pytest.mark.parametrize("fault", LOGIN_FAULTS)
def test_login_errors_hold_no_secret(mediawiki, monkeypatch, fault):
    """The exception itself (args, attributes, __cause__, __context__) holds no secret."""
    monkeypatch.setenv("TIERSLIEUX_WIKI_USER", BOT_USER)
    monkeypatch.setenv("TIERSLIEUX_WIKI_PASSWORD", MARKER)
    with FaultProxy(mediawiki.base, _fail_login(fault), hang_seconds=1) as proxy:
        with pytest.raises(HarvestError) as caught:
            connect(proxy.url + "/api.php", max_retries=1, backoff=0.01, timeout=0.5)
    assert isinstance(caught.value, LoginError)
    assert "\n" not in str(caught.value)
    assert leaks(MARKER, exception_texts(caught.value)) == []
    assert caught.value.__cause__ is None and caught.value.__context__ is None


# --------------------------------------------------------------------------- push

PUSH_USER = "alice"
#: characters that URL-encoding changes, so that every encoded form differs from the plain one
PUSH_MARKER = "Pw9 sekret/Q7z+X@mark&er=0c4f"


def _push_answers(marker: str) -> list[tuple[int, dict, str]]:
    import base64
    import urllib.parse

    basic = base64.b64encode(f"{PUSH_USER}:{marker}".encode()).decode()
    quoted, plus = urllib.parse.quote(marker, safe=""), urllib.parse.quote_plus(marker)
    other = "http://store.example.org/ds/data"
    return [
        (401, {"Content-Type": "text/plain"}, "denied, you sent: {echo}"),
        (403, {"Content-Type": "text/plain"}, "forbidden: {echo}"),
        (500, {"Content-Type": "text/plain"}, "crash while handling {echo}"),
        (502, {"Content-Type": "text/html"}, "<html>bad gateway {echo}</html>"),
        (400, {"Content-Type": "text/plain"}, f"bad credentials {basic} ({quoted})"),
        (302, {"Location": f"http://{PUSH_USER}:{quoted}@store.example.org/ds/data"}, ""),
        (301, {"Location": f"{other}?token={quoted}"}, ""),
        (307, {"Location": f"{other}?auth={basic}"}, ""),
        (308, {"Location": f"{other}?p={plus}#{marker}"}, ""),
        (303, {"Location": "{echo}"}, ""),
    ]


@pytest.mark.parametrize("answer", range(10))
@pytest.mark.parametrize("where", ["environment", "url"])
def test_push_errors_never_show_the_credentials(tmp_path, monkeypatch, answer, where):
    from click.testing import CliRunner

    from fixtures.oxigraph import make_release
    from tierslieux.cli import cli
    from tierslieux.errors import PushError
    from tierslieux.sparql.push import push

    release = make_release(tmp_path / "exports", "<https://x.example/a> a <https://x.example/B> .")
    chosen = _push_answers(PUSH_MARKER)[answer]
    monkeypatch.delenv("TIERSLIEUX_SPARQL_USER", raising=False)
    monkeypatch.delenv("TIERSLIEUX_SPARQL_PASSWORD", raising=False)
    with FaultProxy(None, lambda index, record: chosen) as store:
        if where == "environment":
            monkeypatch.setenv("TIERSLIEUX_SPARQL_USER", PUSH_USER)
            monkeypatch.setenv("TIERSLIEUX_SPARQL_PASSWORD", PUSH_MARKER)
            endpoint = store.url + "/ds/data"
        else:   # credentials in the endpoint's address
            import urllib.parse
            endpoint = (f"http://{PUSH_USER}:{urllib.parse.quote(PUSH_MARKER, safe='')}"
                        f"@127.0.0.1:{store.port}/ds/data")
        with pytest.raises(PushError) as caught:
            push(release, endpoint, "https://example.org/g")
        result = CliRunner().invoke(cli, ["--log-format", "json", "push", "--data",
                                          str(release), "--endpoint", endpoint])
        sent = store.seen[0]["headers"].get("Authorization", "")
    assert sent.startswith("Basic ")   # the credentials were really sent (and echoed)
    message = str(caught.value)
    assert str(chosen[0]) in message and "\n" not in message
    assert leaks(PUSH_MARKER, exception_texts(caught.value)) == []
    assert result.exit_code == 1
    assert leaks(PUSH_MARKER, result.output) == []
    assert leaks(PUSH_MARKER, sent[len("Basic "):].encode()) != []   # the scan can see it


def test_a_throttled_login_asking_for_a_long_wait_is_an_error(mediawiki, monkeypatch):
    monkeypatch.setenv("TIERSLIEUX_WIKI_USER", BOT_USER)
    monkeypatch.setenv("TIERSLIEUX_WIKI_PASSWORD", MARKER)
    throttled = (200, {"Content-Type": "application/json"},
                 '{"login": {"result": "Throttled", "wait": 300}}')
    with FaultProxy(mediawiki.base, lambda i, r: throttled if _login_post(r) else None) as proxy:
        with pytest.raises(LoginError, match="asks to wait 300 s, more than the cap") as caught:
            connect(proxy.url + "/api.php", max_retries=2, backoff=0.01)
        assert sum(1 for r in proxy.seen if _login_post(r)) == 1   # no sleep, no retry
    assert leaks(MARKER, exception_texts(caught.value)) == []


def test_a_bug_prints_its_traceback_without_the_secrets(monkeypatch):
    """An unexpected exception (a bug) keeps its traceback for the report, masked."""
    import base64

    from click.testing import CliRunner

    from tierslieux.sparql import query
    from tierslieux.cli import cli

    monkeypatch.setenv("TIERSLIEUX_SPARQL_USER", PUSH_USER)
    monkeypatch.setenv("TIERSLIEUX_SPARQL_PASSWORD", PUSH_MARKER)
    basic = base64.b64encode(f"{PUSH_USER}:{PUSH_MARKER}".encode()).decode()

    def broken(*args, **kwargs):
        raise RuntimeError(f"a bug holding {PUSH_MARKER} and Basic {basic}")

    monkeypatch.setattr(query, "run_query", broken)
    for fmt in ("text", "json"):
        result = CliRunner().invoke(cli, ["--log-format", fmt, "query", "ASK {}"])
        assert result.exit_code == 1
        assert "Traceback" in result.output and "RuntimeError: a bug holding ***" in result.output
        assert "unexpected failure" in result.output
        assert leaks(PUSH_MARKER, result.output) == []
