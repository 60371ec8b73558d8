"""What a run tells its operator: logs, a runs history, and exit codes a monitor can alert on.

- Logs go to stderr through the ``tierslieux`` logger: readable text on a terminal, or one JSON
  object per line (``--log-format json``) for log shippers (journald, Loki, Elastic, ...).
- Each run appends one JSON line to a history file beside the store (:func:`history_path`).
- The process exits with one of :class:`ExitCode`; :func:`exit_code_for` picks it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any, TextIO

from tierslieux.errors import TierslieuxError
from tierslieux.model.secrets import RedactingFilter, redact

LOGGER_NAME = "tierslieux"
log = logging.getLogger(LOGGER_NAME)


# ------------------------------------------------------------------------ exit codes


class ExitCode(IntEnum):
    """The exit status of the ``tierslieux`` command (documented in the README)."""

    #: the run did what was asked
    OK = 0
    #: an unexpected failure (unreadable dump, broken store, failed publish, bug); see the log
    ERROR = 1
    #: the command line was wrong (Click's usage errors: an unknown option, a missing argument)
    #: or the SPARQL query is invalid
    USAGE = 2
    #: published, but some pages or values were reported (see report.json and quality.csv)
    WARNINGS = 3
    #: no MediaWiki API answered at the configured address, or no Dask scheduler (or worker)
    #: at the ``--cluster`` address; nothing was changed
    UNREACHABLE = 4
    #: the new release failed validation and was not published; the previous one stays
    INVALID = 5
    #: a value of the configuration file or of an option is invalid, or names a file or
    #: folder that does not exist (a dump, the store, a release); nothing was done
    CONFIG = 6
    #: another run holds the lock on the store; nothing was done
    LOCKED = 7
    #: the wiki had no change since the last run; the release was left as it was
    UNCHANGED = 8
    #: stopped by Ctrl-C / SIGINT (the shell convention 128 + 2)
    INTERRUPTED = 130


class Outcome(StrEnum):
    """How a run ended, as written in the runs history; one per :class:`ExitCode`."""

    OK = "success"
    ERROR = "error"
    USAGE = "usage-error"
    WARNINGS = "warnings"
    UNREACHABLE = "wiki-unreachable"
    INVALID = "validation-refused"
    CONFIG = "config-error"
    LOCKED = "locked"
    UNCHANGED = "unchanged"
    INTERRUPTED = "interrupted"


def success_outcome(*, changed: bool, warnings: int) -> Outcome:
    """The outcome of a run that finished: unchanged, with warnings, or plain success."""
    if not changed:
        return Outcome.UNCHANGED
    return Outcome.WARNINGS if warnings else Outcome.OK


def outcome_for(exc: BaseException) -> Outcome:
    """The outcome of a run stopped by ``exc`` (its ``exit_code`` attribute decides)."""
    return Outcome[exit_code_for(exc).name]


def exit_code_for(outcome: Outcome | BaseException) -> ExitCode:
    """The exit code for an outcome, or for the exception that ended a run.

    The errors of tierslieux carry their code (``TierslieuxError.exit_code``); any other
    exception is an unexpected failure (1).
    """
    if isinstance(outcome, Outcome):
        return ExitCode[outcome.name]
    if isinstance(outcome, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(outcome, TierslieuxError):
        return ExitCode(outcome.exit_code)
    return ExitCode.ERROR


def exit_code_table() -> str:
    """The exit codes as a Markdown table (for the README; a test can compare them)."""
    lines = ["| Code | Outcome | Meaning |", "| ---: | --- | --- |"]
    for code in ExitCode:
        lines.append(f"| {code.value} | `{Outcome[code.name].value}` | {EXIT_MEANINGS[code]} |")
    return "\n".join(lines) + "\n"


EXIT_MEANINGS = {
    ExitCode.OK: "Success: harvested, built and published.",
    ExitCode.ERROR: "Failure while working (unreadable dump, broken store, failed publish or "
                    "push, a bug); see the log.",
    ExitCode.USAGE: "Wrong command line (unknown option, missing argument), or an invalid "
                    "SPARQL query.",
    ExitCode.WARNINGS: "Published, with warnings (pages or values reported in report.json "
                       "and quality.csv).",
    ExitCode.UNREACHABLE: "The wiki, or the Dask scheduler of `--cluster`, did not answer; "
                          "nothing changed.",
    ExitCode.INVALID: "Validation refused the new release; the previous release stays.",
    ExitCode.CONFIG: "Configuration error: a bad value in tierslieux.toml or an option, or a "
                     "dump, store, release or query file that does not exist; nothing done.",
    ExitCode.LOCKED: "Another run holds the lock on the store; nothing done.",
    ExitCode.UNCHANGED: "Nothing changed on the wiki since the last run; release left as is.",
    ExitCode.INTERRUPTED: "Interrupted (Ctrl-C); the store stays consistent, rerun to finish.",
}


# ------------------------------------------------------------------------ logging

#: attributes every LogRecord has; anything else was passed with ``extra=``
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
                    .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines: ``message key=value``; warnings and errors prefixed with their level."""

    def __init__(self, verbose: bool = False) -> None:
        super().__init__()
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        parts = []
        if self.verbose:
            parts.append(datetime.fromtimestamp(record.created).strftime("%H:%M:%S"))
        if record.levelno >= logging.WARNING or self.verbose:
            parts.append(f"{record.levelname.lower()}:")
        parts.append(record.getMessage())
        parts.extend(f"{k}={v}" for k, v in _extras(record).items())
        text = " ".join(parts)
        if record.exc_info and self.verbose:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler API; the stream is always stderr
        pass


def setup_logging(fmt: str = "text", quiet: bool = False, verbose: bool = False,
                  stream: TextIO | None = None) -> logging.Logger:
    """Send the ``tierslieux`` logger to stderr (or ``stream``) in ``fmt`` ("text" or "json").

    ``quiet`` keeps warnings and errors only; ``verbose`` adds debug messages. Calling it again
    replaces the handler it installed before.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r}")
    handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(verbose))
    handler.addFilter(RedactingFilter())   # no secret reaches a log line, whoever logs it
    handler._tierslieux = True  # type: ignore[attr-defined]
    # mwclient's own warnings (retries, API warnings) go the same way, not to Python's bare
    # last-resort handler: one format on stderr, and redacted.
    for logger in (log, logging.getLogger("mwclient")):
        for old in [h for h in logger.handlers if getattr(h, "_tierslieux", False)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
    logging.getLogger("mwclient").propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    return log


# ------------------------------------------------------------------------ runs history


@dataclass(frozen=True)
class RunRecord:
    """One run, as one line of the runs history."""

    start: str
    end: str
    command: str
    #: the wiki address or the dump path harvested ("" when the run did not harvest)
    source: str
    outcome: Outcome
    exit_code: int
    pages_fetched: int = 0
    pages_new: int = 0
    pages_changed: int = 0
    pages_deleted: int = 0
    requests: int = 0
    triples: int = 0
    warnings: int = 0
    #: the one-line error message of a failed run
    message: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> RunRecord:
        """Parse a history line; unknown keys (from newer versions) are ignored."""
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["outcome"] = Outcome(values["outcome"])
        return cls(**values)


def history_path(store_path: str | Path) -> Path:
    """The runs history of a store: ``<store>.runs.jsonl`` beside it."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".runs.jsonl")


def append_run(path: str | Path, record: RunRecord) -> None:
    """Append one line to the history, in a single O_APPEND write (never truncates).

    Concurrent writers (a locked-out run records its outcome too) each add whole lines.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = replace(record, source=redact(record.source), message=redact(record.message))
    data = (record.to_json() + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        written = os.write(fd, data)
        while written < len(data):  # a short write happens only on a full disk or a signal
            written += os.write(fd, data[written:])
    finally:
        os.close(fd)


def read_runs(path: str | Path) -> list[RunRecord]:
    """Every run of the history, oldest first; [] when there is no history yet.

    A damaged line (e.g. cut by a full disk) is skipped with a warning naming its number.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    runs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            runs.append(RunRecord.from_json(line))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("skipped damaged line %d of %s: %s", number, path, exc)
    return runs
