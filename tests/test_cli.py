"""The real command line: exit codes, one-line errors, determinism, round trips."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner
from rdflib.compare import isomorphic

from exportxml import Page, Rev, export
from tierslieux.cli import cli
from tierslieux.ontology.namespace import TL

#: every command Click knows (not a hand-kept list)
COMMANDS = sorted(cli.commands)
README = Path(__file__).resolve().parent.parent / "README.md"
HELP_BEGIN = "<!-- begin: every command's --help (UPDATE_README=1 pytest tests/test_cli.py) -->"
HELP_END = "<!-- end: every command's --help -->"


def tierslieux(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed console script, as a user would."""
    exe = Path(sys.executable).with_name("tierslieux")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


RDF_TYPE, TL_NS = str(rdflib.RDF.type), str(TL)


def digest(folder: Path, skip: set[str] = frozenset()) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file() and p.name not in skip}


def test_run_without_arguments_publishes_the_sample(tmp_path):
    first = tierslieux("run", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""           # data goes to files, messages to stderr
    out = tmp_path / "exports"
    for name in ["tierslieux.ttl", "tierslieux.nt.gz", "tierslieux.jsonld", "tiers_lieux.csv",
                 "pages.csv", "sections.csv", "elements_liste.csv", "SHA256SUMS",
                 "catalog.ttl", "datapackage.json", "report.json"]:
        assert (out / name).is_file(), name
    assert "Published" in first.stderr
    # the sample's #ask is recorded, not evaluated, and the console says so (with the count of
    # tl:Query the release holds)
    with gzip.open(out / "tierslieux.nt.gz", "rt", encoding="utf-8") as fh:
        queries = sum(f"<{RDF_TYPE}> <{TL_NS}Query> ." in line for line in fh)
    assert queries >= 1
    noun = "query" if queries == 1 else "queries"
    assert f"{queries} Semantic MediaWiki {noun} (#ask, #show) recorded" in first.stderr
    again = tierslieux("run", cwd=tmp_path)
    assert again.returncode == 8, again.stderr          # nothing changed
    assert "Nothing changed" in again.stderr


def test_two_builds_are_byte_identical_and_round_trip(tmp_path, sample_run):
    # b: a copy of the store (so no build cache beside it) parsed by two worker processes
    store = sample_run / "store.sqlite"
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(store, copy)
    for name, args in (("a", ["--store", str(store)]),
                       ("b", ["--store", str(copy), "--workers", "2"])):
        result = CliRunner().invoke(cli, ["-q", "build", *args, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "copy.sqlite.buildcache.sqlite").is_file()
    a, b = digest(tmp_path / "a", {"report.json"}), digest(tmp_path / "b", {"report.json"})
    assert a == b and len(a) > 10
    turtle = rdflib.Graph().parse(tmp_path / "a" / "tierslieux.ttl", format="turtle")
    jsonld = rdflib.Graph().parse(tmp_path / "a" / "tierslieux.jsonld", format="json-ld")
    assert len(turtle) > 1000
    assert isomorphic(turtle, jsonld)


@pytest.mark.parametrize("content,message", [
    ("<mediawiki><page><title>X</title>", "not a well-formed XML export"),
    ('<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "b">]><mediawiki>&a;</mediawiki>',
     "refused a hostile XML construct"),
    ("PK\x03\x04 this is a zip file", "not a well-formed XML export"),
], ids=["truncated", "hostile", "garbage"])
def test_bad_dump_is_one_line_error(tmp_path, content, message):
    dump = tmp_path / "bad.xml"
    dump.write_text(content)
    result = tierslieux("run", "--dump", str(dump), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], lines
    assert not (tmp_path / "exports").exists()


def test_failed_run_leaves_last_release_untouched(tmp_path):
    good = tmp_path / "good.xml"
    good.write_text(export([Page(1, "Le Lieu", [Rev(5, "== Titre ==\n* un\n* deux\n")])]))
    assert tierslieux("run", "--dump", str(good), cwd=tmp_path).returncode == 0
    before = digest(tmp_path / "exports")
    bad = tmp_path / "bad.xml"
    bad.write_text(good.read_text()[:-40])
    result = tierslieux("run", "--dump", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert digest(tmp_path / "exports") == before


def test_harvest_needs_a_source(tmp_path):
    result = CliRunner().invoke(cli, ["harvest", "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2
    assert "give --wiki URL or --dump FILE" in result.output


def test_build_without_store_says_what_to_do(tmp_path):
    result = tierslieux("build", "--store", "absent.sqlite", cwd=tmp_path)
    assert result.returncode == 6
    assert result.stderr.strip() == ("Error: no store at absent.sqlite: run 'tierslieux harvest' "
                                     "first")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert result.output.startswith(f"Usage: cli {command}") or "Usage:" in result.output


def help_reference() -> str:
    """The README's command reference: ``tierslieux --help`` and each command's, verbatim."""
    parts = []
    for args in [[], *([name] for name in COMMANDS)]:
        result = CliRunner().invoke(cli, [*args, "--help"], prog_name="tierslieux")
        assert result.exit_code == 0, result.output
        title = " ".join(["tierslieux", *args])
        parts.append(f"#### `{title}`\n\n```text\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


def test_readme_command_reference_is_each_commands_help():
    """The README's command reference cannot drift: it is exactly what --help prints."""
    text = README.read_text(encoding="utf-8")
    assert text.count(HELP_BEGIN) == 1 and text.count(HELP_END) == 1
    head, rest = text.split(HELP_BEGIN)
    documented, tail = rest.split(HELP_END)
    expected = "\n" + help_reference() + "\n"
    if os.environ.get("UPDATE_README"):
        README.write_text(head + HELP_BEGIN + expected + HELP_END + tail, encoding="utf-8")
        documented = expected
    assert documented == expected, "README command reference out of date: UPDATE_README=1"
    for command in COMMANDS:   # and the prose names every command
        assert f"**`tierslieux {command}" in head, command


def test_readme_exit_codes_are_the_table_of_the_code():
    from tierslieux.runner.history import exit_code_table

    assert exit_code_table() in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("args", [
    ["validate", "nowhere"],
    ["query", "--data", "nowhere", "ASK {}"],
    ["serve", "--data", "nowhere", "--port", "1"],
    ["push", "--data", "nowhere", "--endpoint", "http://127.0.0.1:9/store"],
    ["build", "--store", "nowhere.sqlite"],
    ["run", "--dump", "nowhere.xml"],
    ["query", "-f", "nowhere.rq"],
    ["query", "-f", "no-such-worked-query"],
], ids=lambda args: " ".join(args[:2]))
def test_a_missing_input_is_one_code_and_one_line(tmp_path, args):
    """A release, store, dump or query that does not exist: exit 6, one line, no file left."""
    result = tierslieux(*args, cwd=tmp_path)
    assert result.returncode == 6, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and "nowhere" in line or "no-such" in line, line
    assert list(tmp_path.iterdir()) == []


def test_query_file_that_does_not_exist_says_so(tmp_path):
    result = tierslieux("query", "-f", "missing.rq", cwd=tmp_path)
    assert result.stderr.strip() == "Error: missing.rq: no such file (nor a worked query: see --list)"


def test_validate_a_release_and_a_tampered_copy(tmp_path, sample_release):
    import shutil

    ok = CliRunner().invoke(cli, ["validate", str(sample_release)])
    assert ok.exit_code == 0, ok.output
    copy = tmp_path / "copy"
    shutil.copytree(sample_release, copy)
    with open(copy / "pages.csv", "a", encoding="utf-8") as fh:
        fh.write("x\n")
    bad = CliRunner().invoke(cli, ["validate", str(copy)])
    assert bad.exit_code == 5
    assert "pages.csv does not match its SHA-256 in SHA256SUMS" in bad.output
    assert "problem(s), listed above" in bad.output


def test_rebuilding_an_unchanged_store_republishes_the_same_bytes(tmp_path):
    """Even the diff files: a rebuild with no change keeps the diff that led to this data."""
    store, out = str(tmp_path / "s.sqlite"), str(tmp_path / "exports")
    one = tmp_path / "one.xml"
    one.write_text(export([Page(1, "Le Lieu", [Rev(5, "== A ==\n* un\n* deux\n")])]))
    two = tmp_path / "two.xml"
    two.write_text(export([Page(1, "Le Lieu", [Rev(6, "== A ==\n* un\n* trois\n")])]))
    runner = CliRunner()
    assert runner.invoke(cli, ["-q", "run", "--dump", str(one), "--store", store,
                               "--out", out]).exit_code == 0
    assert runner.invoke(cli, ["-q", "run", "--dump", str(two), "--store", store,
                               "--out", out]).exit_code == 0
    first = digest(tmp_path / "exports", {"report.json"})
    assert runner.invoke(cli, ["-q", "build", "--store", store, "--out", out]).exit_code == 0
    assert digest(tmp_path / "exports", {"report.json"}) == first
    import gzip
    added = gzip.decompress((tmp_path / "exports" / "diff-added.nt.gz").read_bytes()).decode()
    assert '"trois"' in added and '"deux"' not in added


def test_json_log_lines_for_log_shippers(tmp_path):
    import json

    ok = tierslieux("--log-format", "json", "run", cwd=tmp_path)
    assert ok.returncode == 0
    events = [json.loads(line) for line in ok.stderr.splitlines()]
    assert [e["level"] for e in events] == ["info", "warning", "info", "info"]
    assert events[1]["message"].startswith("No publication URL")  # the sample has none
    assert events[2]["message"].startswith("Published ")
    assert events[3]["message"].startswith("1 Semantic MediaWiki query")  # the sample's #ask
    before = sorted(p.name for p in tmp_path.iterdir())
    bad = tierslieux("--log-format", "json", "run", "--dump", "absent.xml", cwd=tmp_path)
    assert bad.returncode == 6   # an option naming a file that does not exist
    (event,) = [json.loads(line) for line in bad.stderr.splitlines()]
    assert event["level"] == "error" and event["exit_code"] == 6
    assert event["message"] == "absent.xml: no such file"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_failed_first_run_leaves_no_new_file(tmp_path):
    """A dump that does not exist: no store, no lock, no runs history, no release."""
    result = tierslieux("run", "--dump", "missing.xml", cwd=tmp_path)
    assert result.returncode == 6
    assert result.stderr.strip() == "Error: missing.xml: no such file"
    assert list(tmp_path.iterdir()) == []
    empty = tmp_path / "empty.xml"
    empty.write_text('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/">')
    result = tierslieux("run", "--dump", str(empty), cwd=tmp_path)
    assert result.returncode == 1 and "Error: " in result.stderr
    # the failure is recorded, but the store it could not fill is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "empty.xml", "tierslieux.sqlite.runs.jsonl"]


def test_progress_is_silent_on_a_pipe_unless_asked(tmp_path):
    quiet = tierslieux("run", cwd=tmp_path)
    assert "pages built" not in quiet.stderr
    asked = tierslieux("--progress", "build", "--out", "again", cwd=tmp_path)
    assert asked.returncode == 0
    assert "pages built: 16/16" in asked.stderr


def test_query_a_worked_question_from_the_command_line(sample_release):
    result = CliRunner().invoke(cli, ["query", "--data", str(sample_release), "-f",
                                      "closed-places", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("place,name,closedSince")
    assert [line.split(",")[1] for line in lines[1:]] == ["Au Comptoir Numérique", "Le WIP"]
    listed = CliRunner().invoke(cli, ["query", "--list"])
    assert "closed-places:" in listed.output and len(listed.output.splitlines()) >= 10


@pytest.mark.integration
def test_push_the_sample_into_a_real_triple_store(oxigraph, sample_release):
    import gzip

    graph = "https://example.org/graphs/tierslieux"
    result = tierslieux("push", "--data", str(sample_release), "--endpoint", oxigraph.store,
                        "--graph", graph, cwd=sample_release.parent,
                        env={"TIERSLIEUX_SPARQL_USER": "u", "TIERSLIEUX_SPARQL_PASSWORD": "pw-9f3a"})
    assert result.returncode == 0, result.stderr
    assert "pw-9f3a" not in result.stderr + result.stdout
    with gzip.open(sample_release / "tierslieux.nt.gz", "rt", encoding="utf-8") as fh:
        local = sum(1 for line in fh if line.strip())
    (row,) = oxigraph.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert int(row["n"]) == local
    assert f"Pushed {local} triples into <{graph}>" in result.stderr


#: what ``validate`` and ``survey`` print, byte for byte (stdout, stderr, exit code), kept in
#: tests/cases/cli/ through the golden loader: the printing lives in the library
#: (``validation.release.ReleaseCheck``, ``pipeline.survey.render_survey``), not here
OUTPUTS = {
    "validate-ok": ["validate", "exports"],
    "validate-tampered": ["validate", "tampered"],
    "validate-json-logs": ["--log-format", "json", "validate", "tampered"],
    "survey-table": ["survey", "--store", "store.sqlite"],
    "survey-json": ["survey", "--store", "store.sqlite", "--format", "json"],
    "survey-quiet": ["-q", "survey", "--store", "store.sqlite"],
    "survey-json-logs": ["--log-format", "json", "survey", "--store", "store.sqlite"],
}


@pytest.fixture(scope="module")
def printing_folder(tmp_path_factory, sample_run: Path) -> Path:
    folder = tmp_path_factory.mktemp("printing")
    shutil.copytree(sample_run / "exports", folder / "exports")
    shutil.copyfile(sample_run / "store.sqlite", folder / "store.sqlite")
    shutil.copytree(sample_run / "exports", folder / "tampered")
    with open(folder / "tampered" / "pages.csv", "a", encoding="utf-8") as fh:
        fh.write("x\n")
    return folder


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_validate_and_survey_print_the_same_bytes(name: str, printing_folder: Path) -> None:
    import json

    from golden import CASES, Case

    done = tierslieux(*OUTPUTS[name], cwd=printing_folder)
    stderr = ""
    for line in done.stderr.splitlines():
        if line.startswith("{"):  # a JSON log line: the same, its clock aside
            record = json.loads(line)
            assert record.pop("time")
            line = json.dumps(record, ensure_ascii=False, sort_keys=True)
        stderr += line + "\n"
    case = Case("cli", name, CASES / "cli" / name)
    case.check({"stdout.txt": done.stdout, "stderr.txt": stderr,
                "exit_code.txt": f"{done.returncode}\n"})
