"""Shared fixtures. Server fixtures (a real MediaWiki, a real Oxigraph) live in tests/fixtures/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierslieux.pipeline.build import sample_dump

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def sample_xml() -> Path:
    """The bundled sample wiki export."""
    return sample_dump()
