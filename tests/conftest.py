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
