"""An edit on a real wiki shows up, after harvest and build, as exactly that change in the
release diff."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from click.testing import CliRunner

from tierslieux.cli import cli

pytestmark = pytest.mark.integration

D = "https://w3id.org/tierslieux/movilab/"


def run(wiki, tmp_path):
    result = CliRunner().invoke(cli, ["-q", "run", "--wiki", wiki.base + "/", "--delay", "0",
                                      "--store", str(tmp_path / "s.sqlite"),
                                      "--out", str(tmp_path / "exports")])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads((tmp_path / "exports" / "report.json").read_text(encoding="utf-8"))


def lines(path):
    return set(gzip.decompress(path.read_bytes()).decode("utf-8").splitlines())


def test_one_edit_is_exactly_one_change_in_the_diff(fresh_mediawiki, tmp_path):
    first = run(fresh_mediawiki, tmp_path)
    assert first["diff"]["previous_release"] is False
    site = fresh_mediawiki.site()
    page = site.pages["Le WIP"]
    time.sleep(1.1)   # the edit must be strictly after the harvest's checkpoint
    # another spelling of the same town: the place stays in the same commune
    page.edit(page.text().replace("|ville=Colombelles", "|ville=COLOMBELLES"), summary="test: ville")

    second = run(fresh_mediawiki, tmp_path)
    assert second["pages"]["pages_changed"] == 1
    assert second["pages"]["pages_fetched"] == 1          # an incremental harvest
    diff = second["diff"]
    place = f"{D}place/Le_WIP"
    town = "<https://w3id.org/tierslieux/ontology#town>"
    added = lines(tmp_path / "exports" / "diff-added.nt.gz")
    removed = lines(tmp_path / "exports" / "diff-removed.nt.gz")
    # nothing else changed but the page's provenance (a new revision): its entities only
    touched = (set(diff["entities_modified"]["iris"]) | set(diff["entities_added"]["iris"])
               | set(diff["entities_removed"]["iris"]))
    assert place in touched
    # Besides the edit itself, only provenance moved: the new revision, its editor, and the
    # prov:wasDerivedFrom / modified / revisionId links of what the page yields.
    page = f"<{D}page/Le_WIP>"
    revision_facts = ("<http://purl.org/dc/terms/modified>",
                      "<https://w3id.org/tierslieux/ontology#revisionId>",
                      "<http://purl.org/dc/terms/contributor>")

    def content(triples):
        kept = set()
        for line in triples:
            s, p, _ = line.split(" ", 2)
            if ("oldid=" in s or p == "<http://www.w3.org/ns/prov#wasDerivedFrom>"
                    or (s == page and p in revision_facts) or s == f"<{D}person/admin>"):
                continue
            kept.add(line)
        return kept

    assert content(added) == {f'<{place}> {town} "COLOMBELLES" .'}
    assert content(removed) == {f'<{place}> {town} "Colombelles" .'}
    assert diff["triples_added"] == len(added) and diff["triples_removed"] == len(removed)
