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
