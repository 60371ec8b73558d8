"""Running as a scheduled service: configuration, lock, exit codes, runs history.

Each documented exit code is reached by a real scenario through the installed command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exportxml import Page, Rev, write_dump
from fixtures.oxigraph import free_port
from tierslieux.runner.history import ExitCode, read_runs

EXE = str(Path(sys.executable).with_name("tierslieux"))


def tierslieux(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300):
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def place(page_id: int, title: str, rev: int, *, postcode: str = "14460", items: int = 3) -> Page:
    body = "\n".join(f"* point {n} du lieu {title}" for n in range(items))
    return Page(page_id, title, [Rev(rev, (
        f"{{{{Tiers-lieu|ville=Colombelles|code postal={postcode}|site=https://example.org/{page_id}}}}}\n"
        f"== Activités ==\n{body}\n[[Catégorie:Tiers-lieux]]\n"))])


@pytest.fixture(scope="module")
def big_dump(tmp_path_factory) -> Path:
    """An export large enough that a run holds the lock for a few seconds."""
    folder = tmp_path_factory.mktemp("big")
    return write_dump(folder / "big.xml", [place(i, f"Lieu {i}", 10_000 + i, items=20)
                                           for i in range(1, 151)])


def ctrl_c_on() -> None:
    """In a child before it runs: Ctrl-C handled even when this test run was started with it
    ignored (a background job of a shell script), as a terminal user's run would have it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.02)


def test_config_file_precedence_and_display(tmp_path):
    write_dump(tmp_path / "wiki.xml", [place(1, "Le Lieu", 5)])
    (tmp_path / "tierslieux.toml").write_text(
        'dump = "wiki.xml"\nout = "from-config"\nstore = "cfg.sqlite"\n'
        'base-iri = "https://data.example.org/tl/"\n')
    assert tierslieux("run", cwd=tmp_path).returncode == 0
    assert (tmp_path / "from-config" / "tierslieux.ttl").is_file()
    assert "https://data.example.org/tl/page/Le_Lieu" in (
        tmp_path / "from-config" / "tierslieux.ttl").read_text(encoding="utf-8")
    # the command line wins over the file
    assert tierslieux("build", "--out", "from-cli", cwd=tmp_path).returncode == 0
    assert (tmp_path / "from-cli" / "tierslieux.ttl").is_file()
    shown = tierslieux("config", "--help", cwd=tmp_path)
    assert shown.returncode == 0
    shown = tierslieux("config", cwd=tmp_path, env={"TIERSLIEUX_WIKI_PASSWORD": "s3cr3t-Value"})
    assert shown.returncode == 0
    assert f'out = "{tmp_path / "from-config"}"  # config file' in shown.stdout
    assert "s3cr3t-Value" not in shown.stdout
    assert "TIERSLIEUX_WIKI_PASSWORD = \"***\"" in shown.stdout


@pytest.mark.parametrize("content,message", [
    ('dealy = 2\n', "tierslieux.toml: unknown key 'dealy' (did you mean 'delay'?)"),
    ('delay = "fast"\n', "tierslieux.toml: 'delay' must be"),
    ('password = "x"\n', "tierslieux.toml:"),
    ('out = \n', "tierslieux.toml: invalid TOML"),
])
def test_config_errors_exit_6_with_one_line(tmp_path, content, message):
    (tmp_path / "tierslieux.toml").write_text(content)
    result = tierslieux("run", cwd=tmp_path)
    assert result.returncode == ExitCode.CONFIG == 6
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert "Traceback" not in result.stderr and not (tmp_path / "exports").exists()


def test_second_concurrent_run_is_locked_out(tmp_path, big_dump):
    first = subprocess.Popen([EXE, "-q", "run", "--dump", str(big_dump)], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(tmp_path / "tierslieux.sqlite.lock", first)
        second = tierslieux("run", "--dump", str(big_dump), cwd=tmp_path)
        assert second.returncode == ExitCode.LOCKED == 7, second.stderr
        assert "is in use by another run" in second.stderr
        assert f"pid {first.pid}" in second.stderr
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    outcomes = [r.outcome.value for r in read_runs(tmp_path / "tierslieux.sqlite.runs.jsonl")]
    assert sorted(outcomes) == ["locked", "success"]


def test_stale_lock_of_a_killed_run_is_taken_over(tmp_path, big_dump):
    first = subprocess.Popen([EXE, "-q", "run", "--dump", str(big_dump)], cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(tmp_path / "tierslieux.sqlite.lock", first)
    time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert (tmp_path / "tierslieux.sqlite.lock").exists()     # left behind by the dead run
    again = tierslieux("run", "--dump", str(big_dump), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "took over the lock left by a run that died" in again.stderr
    assert not (tmp_path / "tierslieux.sqlite.lock").exists()
    report = json.loads((tmp_path / "exports" / "report.json").read_text())
    assert report["graph"]["classes"]["https://w3id.org/tierslieux/ontology#ThirdPlace"] == 150


def test_interrupted_run_exits_130_and_the_rerun_finishes(tmp_path, big_dump):
    first = subprocess.Popen([EXE, "run", "--dump", str(big_dump)], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=ctrl_c_on)
    wait_for(tmp_path / "tierslieux.sqlite.lock", first)
    time.sleep(0.5)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=60)
    assert first.returncode == ExitCode.INTERRUPTED == 130, err
    assert "run the same command again" in err
    assert tierslieux("run", "--dump", str(big_dump), cwd=tmp_path).returncode == 0


def test_every_exit_code_has_a_real_scenario(tmp_path):
    good = write_dump(tmp_path / "good.xml", [place(1, "Le Lieu", 5, items=40),
                                              place(2, "La Forge", 6, items=40)])
    # 0: harvested, built, published
    assert tierslieux("run", "--dump", str(good), cwd=tmp_path).returncode == ExitCode.OK
    # 8: nothing changed since the last run
    assert tierslieux("run", "--dump", str(good), cwd=tmp_path).returncode == ExitCode.UNCHANGED
    # 3: published with warnings (a postcode that is not one)
    warn = write_dump(tmp_path / "warn.xml", [place(1, "Le Lieu", 7, postcode="1446O", items=40),
                                              place(2, "La Forge", 6, items=40)])
    result = tierslieux("run", "--dump", str(warn), cwd=tmp_path)
    assert result.returncode == ExitCode.WARNINGS, result.stderr
    assert "1446O" in result.stderr or "code postal" in result.stderr
    # 5: the release would lose most of its triples without any deletion on the wiki
    before = (tmp_path / "exports" / "SHA256SUMS").read_bytes()
    shrunk = write_dump(tmp_path / "shrunk.xml", [place(1, "Le Lieu", 8, items=1),
                                                  place(2, "La Forge", 9, items=1)])
    result = tierslieux("run", "--dump", str(shrunk), cwd=tmp_path)
    assert result.returncode == ExitCode.INVALID, result.stderr
    assert (tmp_path / "exports" / "SHA256SUMS").read_bytes() == before
    assert tierslieux("build", "--force", cwd=tmp_path).returncode == ExitCode.OK
    # 1: an unreadable dump
    (tmp_path / "broken.xml").write_text("<mediawiki><page>")
    assert tierslieux("run", "--dump", "broken.xml", cwd=tmp_path).returncode == ExitCode.ERROR
    # 2: a wrong command line, and a broken SPARQL query
    assert tierslieux("run", "--no-such-option", cwd=tmp_path).returncode == ExitCode.USAGE
    result = tierslieux("query", "SELECT ?x WHERE { ?x ?y }", cwd=tmp_path)
    assert result.returncode == ExitCode.USAGE and "line 1, column" in result.stderr
    # 4: no wiki answers at that address
    result = tierslieux("run", "--wiki", f"http://127.0.0.1:{free_port()}/", "--delay", "0",
                        "--store", "other.sqlite", cwd=tmp_path)
    assert result.returncode == ExitCode.UNREACHABLE, result.stderr
    # 6 and 7 are covered above (configuration errors, a concurrent run)
    outcomes = [r.outcome.value for r in read_runs(tmp_path / "tierslieux.sqlite.runs.jsonl")]
    assert outcomes == ["success", "unchanged", "warnings", "validation-refused", "success",
                        "error"]
