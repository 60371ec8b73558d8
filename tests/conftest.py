"""Shared fixtures. Server fixtures (a real MediaWiki, a real Oxigraph) live in tests/fixtures/."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.mediawiki import *  # noqa: F401,F403  (a real MediaWiki: tests/fixtures)
from fixtures.oxigraph import *  # noqa: F401,F403  (a real Oxigraph server)
from tierslieux.pipeline.build import sample_dump

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def sample_xml() -> Path:
    """The bundled sample wiki export."""
    return sample_dump()
