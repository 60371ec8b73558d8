"""The build at the limit (issue 16): the shortcuts of the hot paths give what the long way
gives.

Each test compares a fast path with the slow one it replaces: rdflib's own constructor, the
line-by-line gzip writer, validators run one after the other.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from rdflib import Literal

from tierslieux.errors import ValidationError
from tierslieux.exports.ntriples import write_ntriples_gz
from tierslieux.model.rdf import int_literal, nt_term, text_literal
from tierslieux.pipeline.runs import RunSet, write_run
from tierslieux.validation import release as checks
from test_exports import case_lines, release  # noqa: E402 - helpers of the exports tests


def _state(literal: Literal) -> tuple:
    return (type(literal), str(literal), literal.language, literal.datatype, literal.value,
            literal.ill_typed, hash(literal), nt_term(literal))


@pytest.mark.parametrize("text", ["Le WIP", "", "ligne\nsuivante \"citée\" \\", "\ud800 seul",
                                  "  espaces  ", "é" * 300])
@pytest.mark.parametrize("language", [None, "fr", "en-GB"])
def test_text_literal_is_the_literal_rdflib_makes(text: str, language: str | None) -> None:
    made = text_literal(text, language)
    expected = Literal(text, lang=language)
    assert _state(made) == _state(expected)
    assert made == expected and made.eq(expected)


@pytest.mark.parametrize("number", [0, 1, -7, 2**70, True, False])
def test_int_literal_is_the_literal_rdflib_makes(number: int) -> None:
    assert _state(int_literal(number)) == _state(Literal(number))


def test_what_is_not_a_plain_str_or_int_goes_through_rdflib() -> None:
    given = Literal("x", lang="fr")
    assert _state(text_literal(given)) == _state(Literal(given))
    assert _state(int_literal(2.5)) == _state(Literal(2.5))  # type: ignore[arg-type]


def test_the_dump_compressed_from_the_merged_file_has_the_bytes_of_the_line_writer(
        tmp_path: Path) -> None:
    lines = case_lines("third_place")
    write_run(tmp_path, "a", [lines[::2]])
    write_run(tmp_path, "b", [lines[1::2]])
    merged = RunSet(tmp_path, ["a", "b"])
    assert merged.line_bytes() is None  # not merged yet: the lines one by one
    slow = tmp_path / "slow.nt.gz"
    assert write_ntriples_gz(merged, slow) == len(set(lines))
    assert merged.line_bytes() is not None  # the first pass kept the merged file
    fast = tmp_path / "fast.nt.gz"
    assert write_ntriples_gz(merged, fast) == len(set(lines))
    assert fast.read_bytes() == slow.read_bytes()
    assert gzip.decompress(fast.read_bytes()).decode("utf-8").splitlines() == sorted(set(lines))


def test_validators_run_side_by_side_but_the_first_problem_in_their_order_is_reported(
        tmp_path: Path) -> None:
    ran: list[str] = []

    def late_problem(staged):
        ran.append("late")
        return ["the second validator's problem"]

    def first_problem(staged):
        ran.append("first")
        return ["the first validator's problem", "and another"]

    lines = case_lines("third_place")
    out = tmp_path / "out"
    with pytest.raises(ValidationError, match=r"^first_problem: the first validator's problem "
                                              r"\(and 1 more\)$"):
        release(lines, out, validators=[checks.check_tables, first_problem, late_problem])
    assert sorted(ran) == ["first", "late"]  # both ran
    assert not out.exists()  # nothing published
    result = release(lines, out, validators=[checks.check_tables])
    assert result.validators == ("check_rdf_files", "check_tables")
