"""The one loader of the golden cases of every stage: ``tests/cases/<stage>/<name>/``.

A case is a folder of input files and expected files. ``cases(stage, marker)`` gives one
pytest parameter per folder that holds ``marker`` (its input), ``Case.check`` compares what a
stage made with the expected files, or, under ``UPDATE_GOLDEN=1``, rewrites them and skips::

    UPDATE_GOLDEN=1 pytest tests/test_parse.py tests/test_map_cases.py tests/test_exports.py \
        tests/test_validation_cases.py

then read the diff of every rewritten file before keeping it.

Where two engines run the same cases (the validation engines and their references), every
engine is checked against the same expected files; an engine that knowingly answers otherwise
on a case says so in the case's ``case.json`` (``"differs": {"engine": "why"}``) and is checked
against an expected file of its own (``Case.expected``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CASES = Path(__file__).parent / "cases"


@dataclass(frozen=True)
class Case:
    """One golden case: its stage, its name and its folder."""

    stage: str
    name: str
    folder: Path

    def text(self, name: str) -> str:
        """A file of the case, as it is (UTF-8, no newline translation)."""
        return (self.folder / name).read_bytes().decode("utf-8")

    def json(self, name: str, default: Any = None) -> Any:
        """A JSON file of the case, or ``default`` when the case has none."""
        path = self.folder / name
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default

    def differs(self) -> dict[str, str]:
        """Engines that knowingly give another answer on this case, with the reason: the
        ``differs`` table of the case's ``case.json`` (engine name -> why)."""
        return dict(self.json("case.json", {}).get("differs", {}))

    def expected(self, name: str, engine: str) -> str:
        """The expected file of ``engine`` for ``name``: ``name`` itself, shared by every
        engine, or ``<stem>.<engine><suffix>`` when ``case.json`` documents that the engine
        differs on this case (``expected.json`` -> ``expected.pyshacl.json``)."""
        if engine not in self.differs():
            return name
        stem, dot, suffix = name.partition(".")
        return f"{stem}.{engine}{dot}{suffix}"

    def check(self, got: Mapping[str, str]) -> None:
        """Compare ``got`` (file name in the case folder -> text) with the expected files,
        byte for byte; UPDATE_GOLDEN rewrites them and skips the test."""
        assert got, f"{self.folder}: nothing to compare"
        if os.environ.get("UPDATE_GOLDEN"):
            for name, text in sorted(got.items()):
                path = self.folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(text.encode("utf-8"))
            pytest.skip(f"golden files of {self.stage}/{self.name} rewritten: review them")
        for name, text in sorted(got.items()):
            path = self.folder / name
            assert path.is_file(), f"{path} is missing (UPDATE_GOLDEN=1 writes it)"
            assert text == self.text(name), f"{self.stage}/{self.name}/{name}"


def case_folders(stage: str, marker: str) -> list[Path]:
    return sorted(p for p in (CASES / stage).iterdir() if (p / marker).is_file())


def cases(stage: str, marker: str) -> list[Any]:
    """One pytest parameter per case of ``stage`` (the folders that hold ``marker``)."""
    return [pytest.param(Case(stage, folder.name, folder), id=folder.name)
            for folder in case_folders(stage, marker)]
