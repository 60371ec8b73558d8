"""Logs (text and JSON lines), the runs history, and the exit-code table."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from tierslieux import errors
from tierslieux.runner.history import (
    EXIT_MEANINGS,
    ExitCode,
    Outcome,
    RunRecord,
    append_run,
    exit_code_for,
    exit_code_table,
    history_path,
    outcome_for,
    read_runs,
    setup_logging,
    success_outcome,
)


@pytest.fixture
def restore_logger():
    logger = logging.getLogger("tierslieux")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


# ------------------------------------------------------------------------ logging


def test_json_lines_parse_and_carry_the_fields(restore_logger) -> None:
    stream = io.StringIO()
    setup_logging("json", stream=stream)
    log = logging.getLogger("tierslieux.pipeline.harvest")
    log.info("harvested %d pages", 12, extra={"event": "harvest-done", "pages_changed": 3})
    log.debug("not shown without --verbose")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("page « Tiers-lieu A » failed", extra={"title": "Tiers-lieu A"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "info"
    assert first["message"] == "harvested 12 pages"
    assert first["event"] == "harvest-done" and first["pages_changed"] == 3
    assert first["logger"] == "tierslieux.pipeline.harvest"
    assert first["time"].endswith("Z") and first["time"][10] == "T"
    assert second["level"] == "error" and second["title"] == "Tiers-lieu A"
    assert second["message"] == "page « Tiers-lieu A » failed"
    assert "ValueError: boom" in second["exception"]


def test_text_format_and_levels(restore_logger) -> None:
    stream = io.StringIO()
    setup_logging("text", stream=stream)
    log = logging.getLogger("tierslieux")
    log.info("Published 10 triples", extra={"pages": 2})
    log.warning("page X: postcode 7500 rejected")
    log.debug("hidden")
    assert stream.getvalue() == (
        "Published 10 triples pages=2\nwarning: page X: postcode 7500 rejected\n")

    quiet = io.StringIO()
    setup_logging("text", quiet=True, stream=quiet)
    log.info("hidden")
    log.warning("kept")
    assert quiet.getvalue() == "warning: kept\n"
    assert stream.getvalue().count("\n") == 2  # the first handler was replaced, not kept

    verbose = io.StringIO()
    setup_logging("text", verbose=True, stream=verbose)
    log.debug("details")
    assert verbose.getvalue().endswith(" debug: details\n")


def test_logs_go_to_stderr_not_stdout() -> None:
    """In a real process: JSON log lines on stderr, stdout left to the data."""
    code = (
        "import logging\n"
        "from tierslieux.runner.history import setup_logging\n"
        "setup_logging('json')\n"
        "print('data')\n"
        "logging.getLogger('tierslieux.runner.lock').info('took over', extra={'pid': 42})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout == "data\n"
    entry = json.loads(done.stderr)
    assert (entry["message"], entry["pid"], entry["level"]) == ("took over", 42, "info")


def test_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="xml"):
        setup_logging("xml")


# ------------------------------------------------------------------------ runs history


def record(n: int, outcome: Outcome = Outcome.OK, **kw) -> RunRecord:
    return RunRecord(start=f"2025-01-0{n}T02:00:00Z", end=f"2025-01-0{n}T02:03:00Z",
                     command="tierslieux run", source="https://movilab.org/wiki/Accueil",
                     outcome=outcome, exit_code=int(exit_code_for(outcome)), **kw)


def test_history_appends_and_reads_back(tmp_path: Path) -> None:
    path = history_path(tmp_path / "data" / "movilab.sqlite")
    assert path == tmp_path / "data" / "movilab.sqlite.runs.jsonl"
    assert read_runs(path) == []
    first = record(1, pages_fetched=120, pages_new=120, requests=7, triples=5400, warnings=2,
                   outcome=Outcome.WARNINGS)
    second = record(2, Outcome.LOCKED, message="store is in use by another run: pid 1")
    append_run(path, first)
    append_run(path, second)
    assert read_runs(path) == [first, second]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["outcome"] == "warnings"
    assert json.loads(lines[1])["exit_code"] == 7


def test_history_is_never_truncated_and_survives_a_damaged_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "runs.jsonl"
    append_run(path, record(1))
    with path.open("a", encoding="utf-8") as f:
        f.write('{"start": "2025-01-02T0')  # a line cut by a full disk
        f.write("\n")
    append_run(path, record(3))
    with caplog.at_level(logging.WARNING, logger="tierslieux"):
        runs = read_runs(path)
    assert [r.start[:10] for r in runs] == ["2025-01-01", "2025-01-03"]
    assert "skipped damaged line 2" in caplog.text


def test_history_ignores_fields_of_newer_versions(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    entry = json.loads(record(1).to_json()) | {"cpu_seconds": 12.5}
    path.write_text(json.dumps(entry) + "\n", encoding="utf-8")
    assert read_runs(path) == [record(1)]


def test_concurrent_appends_keep_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    code = (
        "import sys\n"
        "from tierslieux.runner.history import RunRecord, Outcome, append_run\n"
        "for i in range(200):\n"
        "    append_run(sys.argv[1], RunRecord('s', 'e', 'c' * 500, sys.argv[2],\n"
        "               Outcome.OK, 0, pages_fetched=i))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), f"writer-{w}"])
             for w in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    runs = read_runs(path)
    assert len(runs) == 800
    for w in range(4):
        mine = [r.pages_fetched for r in runs if r.source == f"writer-{w}"]
        assert mine == list(range(200))


# ------------------------------------------------------------------------ exit codes


def test_exit_codes_agree_with_the_error_classes() -> None:
    assert exit_code_for(errors.WikiUnreachableError("x")) == ExitCode.UNREACHABLE == 4
    assert exit_code_for(errors.ValidationError("x")) == ExitCode.INVALID == 5
    assert exit_code_for(errors.ConfigError("x")) == ExitCode.CONFIG == 6
    assert exit_code_for(errors.LockedError("x")) == ExitCode.LOCKED == 7
    assert exit_code_for(errors.QueryError("x")) == ExitCode.USAGE == 2
    assert exit_code_for(errors.DumpError("x")) == ExitCode.ERROR == 1
    assert exit_code_for(RuntimeError("bug")) == ExitCode.ERROR
    assert exit_code_for(KeyboardInterrupt()) == ExitCode.INTERRUPTED == 130
    # every code an error class declares is in the table
    stack = [errors.TierslieuxError]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        assert cls.exit_code in ExitCode._value2member_map_, cls


def test_each_outcome_has_its_own_code_and_meaning() -> None:
    assert [o.name for o in Outcome] == [c.name for c in ExitCode]
    assert len({int(c) for c in ExitCode}) == len(ExitCode)
    assert set(EXIT_MEANINGS) == set(ExitCode)
    assert outcome_for(errors.LockedError("x")) is Outcome.LOCKED
    assert exit_code_for(Outcome.UNCHANGED) == 8
    table = exit_code_table()
    assert "| 7 | `locked` |" in table and "| 0 | `success` |" in table
    assert len(table.splitlines()) == 2 + len(ExitCode)


@pytest.mark.parametrize(("changed", "warnings", "expected"), [
    (True, 0, Outcome.OK),
    (True, 3, Outcome.WARNINGS),
    (False, 0, Outcome.UNCHANGED),
    (False, 3, Outcome.UNCHANGED),
])
def test_success_outcome(changed: bool, warnings: int, expected: Outcome) -> None:
    assert success_outcome(changed=changed, warnings=warnings) is expected
