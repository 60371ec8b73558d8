"""The Wikimedia multistream dump writer of the tests: it lives in bench/multistream.py (the
benchmark writes its dumps with it too, and must run without the tests' dependencies); loaded
here by its path, so that bench/ never goes on the tests' sys.path (its modules' names, such as
``site`` or ``run``, would shadow others)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parent.parent / "bench" / "multistream.py"
_NAME = "tierslieux_bench_multistream"

if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)

write_multistream = sys.modules[_NAME].write_multistream

__all__ = ["write_multistream"]
