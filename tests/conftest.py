"""Shared fixtures. Server fixtures (a real MediaWiki, a real Oxigraph) live in tests/fixtures/."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.mediawiki import *  # noqa: F401,F403  (a real MediaWiki: tests/fixtures)
from fixtures.oxigraph import *  # noqa: F401,F403  (a real Oxigraph server)
from fixtures.browser import *  # noqa: F401,F403  (a real Chromium, for the site)
from tierslieux.runner.build import sample_dump

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def sample_xml() -> Path:
    """The bundled sample wiki export."""
    return sample_dump()


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> Path:
    """A folder where ``tierslieux run`` has built the bundled sample: store.sqlite, exports/."""
    from click.testing import CliRunner

    from tierslieux.cli import cli

    folder = tmp_path_factory.mktemp("sample")
    result = CliRunner().invoke(cli, ["--quiet", "run", "--store", str(folder / "store.sqlite"),
                                      "--out", str(folder / "exports")])
    assert result.exit_code == 0, (result.output, result.exception)
    return folder


@pytest.fixture(scope="session")
def sample_release(sample_run: Path) -> Path:
    """The release that ``tierslieux run`` publishes from the bundled sample."""
    return sample_run / "exports"


# --------------------------------------------------------------------------- the sample, mapped


@pytest.fixture(scope="session")
def mapping():
    """The bundled mapping.yaml."""
    from tierslieux.ontology.mapping import load_mapping

    return load_mapping()


@pytest.fixture(scope="session")
def sample(sample_xml: Path) -> dict:
    """The sample's pages as the store gives them: {title: StoredPage}."""
    from tierslieux.model.records import StoredPage
    from tierslieux.pipeline.dump import read_dump

    return {rev.title: StoredPage(rev, rev.title.replace(" ", "_"))
            for rev in read_dump(sample_xml)}


@pytest.fixture(scope="session")
def sample_site(sample_xml: Path):
    from tierslieux.pipeline.dump import read_site_info

    return read_site_info(sample_xml)


@pytest.fixture(scope="session")
def mapper(mapping, sample_site):
    """The bundled mapping on the sample's wiki (test files may define their own)."""
    from tierslieux.pipeline.map import Mapper

    return Mapper(mapping, sample_site)


@pytest.fixture(scope="session")
def sample_mapped(sample: dict, mapper) -> dict:
    """The sample's pages mapped: {title: MappedPage}."""
    from tierslieux.pipeline.parse import parse_page

    return {title: mapper.map_page(parse_page(page)) for title, page in sample.items()}


@pytest.fixture(scope="session")
def sample_graph(sample_mapped: dict):
    """Every line of the mapped sample as one rdflib graph."""
    from storedpage import graph_of

    return graph_of(*sample_mapped.values())
