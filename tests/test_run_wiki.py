"""`tierslieux run --wiki` on a real MediaWiki seeded with the sample publishes the same
entities and statements as `tierslieux run` on the sample export, apart from the addresses that
name the wiki and the ids MediaWiki gave the imported pages and revisions."""

from __future__ import annotations

import gzip
import re

import pytest
from click.testing import CliRunner

from tierslieux.cli import cli

pytestmark = pytest.mark.integration

TL = "https://w3id.org/tierslieux/ontology#"
IDS = {f"<{TL}pageId>", f"<{TL}revisionId>"}


def statements(release, wiki_prefixes: list[str]) -> set[str]:
    """The release's triples, with revision addresses replaced by their page and the wiki's
    own addresses by a placeholder."""
    with gzip.open(release / "tierslieux.nt.gz", "rt", encoding="utf-8") as fh:
        lines = [line.rstrip("\n") for line in fh if line.strip()]
    revision_page = {}
    for line in lines:
        s, p, o = line[:-2].split(" ", 2)
        if p == f"<{TL}ofPage>":
            revision_page[s] = o
    out = set()
    for line in lines:
        s, p, o = line[:-2].split(" ", 2)
        if p in IDS:
            continue
        s, o = revision_page.get(s, s), revision_page.get(o, o)
        triple = re.sub(r"révision \d+", "révision N", f"{s} {p} {o}")
        triple = re.sub(r"oldid=\d+", "oldid=N", triple)
        for prefix in wiki_prefixes:
            triple = triple.replace(prefix, "WIKI/")
        out.add(triple)
    return out


def test_run_on_the_live_wiki_equals_run_on_the_dump(tmp_path, mediawiki, sample_release):
    result = CliRunner().invoke(cli, [
        "--quiet", "run", "--wiki", mediawiki.base + "/", "--delay", "0",
        "--store", str(tmp_path / "live.sqlite"), "--out", str(tmp_path / "live")])
    assert result.exit_code == 0, (result.output, result.exception)
    live = statements(tmp_path / "live", [f"{mediawiki.base}/index.php/",
                                          f"{mediawiki.base}/index.php", f"{mediawiki.base}/"])
    dump = statements(sample_release, ["https://movilab.org/wiki/",
                                       "https://movilab.org/index.php", "https://movilab.org/"])
    assert len(dump) > 1000
    assert sorted(live - dump) == [] and sorted(dump - live) == []
